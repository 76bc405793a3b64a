"""Tests of scripts/check-lit-files.py, the lint of the lit suite: it must
fail on each kind of bad file and pass on good ones."""

import pathlib
import subprocess
import sys

import pytest

SCRIPT = (pathlib.Path(__file__).resolve().parents[2] / "scripts" /
          "check-lit-files.py")


def run(*dirs):
    result = subprocess.run([sys.executable, str(SCRIPT), *map(str, dirs)],
                            capture_output=True, text=True, check=False)
    # Problems go to stderr, the summary to stdout; check them together.
    result.stdout += result.stderr
    return result


GOOD = {
    "ops.mlir": "// RUN: clusopt-opt %s | FileCheck %s\n"
                "// CHECK-LABEL: func.func @f\n",
    "errors.mlir": "// RUN: clusopt-opt %s -verify-diagnostics\n"
                   "// expected-error @+1 {{bad}}\n",
    "prefix.mlir": "// RUN: clusopt-opt %s | FileCheck %s "
                   "--check-prefixes=A,B\n// B-NEXT: x\n",
    "lint.test": "# RUN: %python lint.py | FileCheck %s\n# CHECK: ok\n",
    "prose.mlir": "// RUN: true | FileCheck %s\n// RUNTIME notes are prose.\n"
                  "// CHECK: x\n",
    # Files that other tests read have no RUN line and are not tests.
    "Inputs/data.mlir": "// RUN clusopt-opt\n",
    "notes.txt": "// RUN no colon, but not a test file\n",
}

BAD = {
    "run-no-colon.mlir": "// RUN clusopt-opt %s | FileCheck %s\n// CHECK: x\n",
    "run-space-colon.test": "# RUN : true\n# CHECK: x\n",
    "hash-run.test": "#RUN true\n",
    "no-check.mlir": "// RUN: clusopt-opt %s\n",
    "check-no-colon.mlir": "// RUN: clusopt-opt %s | FileCheck %s\n"
                           "// CHECK: a\n// CHECK-NEXT b\n",
    "wrong-prefix.mlir": "// RUN: clusopt-opt %s | FileCheck %s "
                         "--check-prefix=FOO\n// BAR: x\n",
}


def write(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_good_files_pass(tmp_path):
    write(tmp_path, GOOD)
    result = run(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "checked 5 test files, 0 problems" in result.stdout


@pytest.mark.parametrize("name", sorted(BAD))
def test_each_bad_file_fails(tmp_path, name):
    write(tmp_path, GOOD)
    write(tmp_path, {name: BAD[name]})
    result = run(tmp_path)
    assert result.returncode == 1, result.stdout
    assert f"/{name}" in result.stdout
    # Only the bad file is listed.
    for good in GOOD:
        assert f"/{good}:" not in result.stdout


def test_reports_line_and_count(tmp_path):
    write(tmp_path, BAD)
    result = run(tmp_path)
    assert result.returncode == 1
    assert "run-no-colon.mlir:1: RUN directive without ':'" in result.stdout
    assert "check-no-colon.mlir:3: CHECK directive without ':'" in result.stdout
    assert "no-check.mlir: has a RUN: line but no CHECK" in result.stdout
    assert f"checked {len(BAD)} test files, 6 problems" in result.stdout


def test_several_dirs(tmp_path):
    write(tmp_path / "a", GOOD)
    write(tmp_path / "b", {"x.mlir": BAD["no-check.mlir"]})
    assert run(tmp_path / "a").returncode == 0
    result = run(tmp_path / "a", tmp_path / "b")
    assert result.returncode == 1
    assert "checked 6 test files, 1 problems" in result.stdout


def test_usage_errors(tmp_path):
    assert run().returncode == 2
    assert run(tmp_path / "missing").returncode == 2


def test_repository_suite_is_clean():
    result = run(SCRIPT.parents[1] / "test")
    assert result.returncode == 0, result.stdout
