"""The documentation lives in the repository: no tracked file may cite a
document that is not in it (the project's private specification, its model
notes or prior-art list, or a sibling `shared` folder). Op semantics are
cited as docs/dialect/ClusDialect.md, numerics as docs/numerics.md, model
definitions as docs/models.md."""

import pathlib
import re
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]

# Spelled in pieces so that this file does not match itself.
FORBIDDEN = re.compile("|".join([
    r"\b" + "SP" + r"EC\b",
    "MOD" + r"ELS\.md",
    "PRIOR" + "-ART",
    r"\.\./" + "shared",
    "/work/" + "shared",
]))


def tracked_files():
    try:
        out = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"],
                             capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: cannot list the tracked files")
    return [REPO / name for name in out.decode().split("\0") if name]


def test_no_reference_points_outside_the_repository():
    offenders = []
    for path in tracked_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue  # binary files, deleted but not yet staged, submodules
        for number, line in enumerate(text.splitlines(), 1):
            match = FORBIDDEN.search(line)
            if match:
                offenders.append(f"{path.relative_to(REPO)}:{number}: "
                                 f"'{match.group(0)}' in: {line.strip()}")
    assert not offenders, (
        "these lines cite documents that are not in the repository; cite "
        "docs/dialect/ClusDialect.md (op semantics), docs/numerics.md or "
        "docs/models.md instead, or state the fact inline:\n"
        + "\n".join(offenders))
