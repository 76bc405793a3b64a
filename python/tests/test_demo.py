"""scripts/demo.sh, the main job, in its CI size (--quick): it must pass the
oracle check, run paca_tiny on the bundled photo with the random-weights
disclaimer, print latencies and a summary table, and leave no tuning
database in the user's cache nor scratch files behind."""

import importlib.util
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
DEMO = REPO / "scripts" / "demo.sh"
NUMBER = r"(\d+(?:\.\d+)?(?:e[+-]?\d+)?)"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One --quick run with an empty cache directory of its own."""
    home = tmp_path_factory.mktemp("home")
    env = dict(os.environ, XDG_CACHE_HOME=str(home / "cache"),
               HOME=str(home))
    env.pop("CLUSOPT_TUNING_DB", None)
    out = subprocess.run([str(DEMO), "--quick"], capture_output=True,
                         text=True, timeout=600, env=env, cwd=REPO)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout, home


def test_oracle_check_passes(demo):
    stdout, _ = demo
    checked = {}
    for name, err, tol, verdict in re.findall(
            rf"^  (\w+) +-> \S+ +max \|error\| {NUMBER}, tolerance "
            rf"{NUMBER}: (PASS|FAIL)$", stdout, re.M):
        checked[name] = (float(err), float(tol), verdict)
    assert set(checked) == {"assign_pool", "cluster_attention"}, stdout
    for name, (err, tol, verdict) in checked.items():
        assert verdict == "PASS" and err <= tol, (name, err, tol)
        assert 1e-4 <= tol < 1e-3  # 1e-4 x max(1, max |reference|)


def test_layer_tuned_and_compiled(demo):
    stdout, _ = demo
    assert "clusopt-tune docs/examples/paca_layer.mlir --target=host " \
           "--budget=1 --db=" in stdout
    assert re.search(r"assign_pool: clus\.pool tile rows=\d+,cols=\d+ "
                     r"\(from tuning-db\)", stdout), stdout
    assert re.search(r"cluster_attention: clus\.attention tile "
                     r"rows=\d+,cols=\d+ \(from tuning-db\)", stdout), stdout


def test_photo_names_classes_and_disclaims_weights(demo):
    stdout, _ = demo
    names = (REPO / "runtime" / "data" / "imagenet-classes.txt") \
        .read_text().splitlines()
    assert "--image runtime/data/cat.jpg" in stdout
    assert 'photo: runtime/data/cat.jpg (Chelsea, a tabby cat; ImageNet ' \
           'class 281 "tabby")' in stdout
    assert "random weights (seed 0), not trained ones: the predicted class " \
           "is meaningless" in stdout
    block = stdout.split("predicted top-3 (class, probability, name):\n")[1]
    rows = re.findall(rf"^ +(\d+)  {NUMBER}  (.+)$", block, re.M)[:3]
    assert len(rows) == 3, block
    for cls, prob, name in rows:
        assert names[int(cls)] == name and 0 < float(prob) < 1
    top_class, _, top_name = rows[0]
    assert re.search(rf'^  photo with paca_tiny +class {top_class} '
                     rf'"{re.escape(top_name)}" \(random weights\) ', stdout,
                     re.M), stdout


def test_latencies_are_numbers(demo):
    stdout, _ = demo
    match = re.search(rf"^  224x224 +1 +{NUMBER} ms +{NUMBER} ms +{NUMBER}x$",
                      stdout, re.M)
    assert match, stdout
    clustered, dense, speedup = map(float, match.groups())
    assert clustered > 0 and dense > 0
    assert speedup == pytest.approx(dense / clustered, abs=0.06)
    assert "448x448" not in stdout  # --quick times 224 only


def test_summary_table(demo):
    stdout, _ = demo
    summary = stdout.split("\nSummary\n")[1].splitlines()
    assert re.match(r"  step +result +time$", summary[0])
    steps = {}
    for line in summary[1:]:
        match = re.match(rf"  (\S+(?: \S+)*?)  +(.*?) *{NUMBER}s$", line)
        if match:
            steps[match[1]] = (match[2], float(match[3]))
    assert list(steps) == ["setup + build", "tune + compile layer",
                           "layer vs oracle", "photo with paca_tiny",
                           "latency at 224", "total"], summary
    assert steps["layer vs oracle"][0].startswith("PASS")
    assert re.match(rf"{NUMBER} ms vs dense {NUMBER} ms: {NUMBER}x",
                    steps["latency at 224"][0])
    assert "load average" in summary[-1]


def test_no_tuning_db_in_user_cache_and_scratch_removed(demo):
    stdout, home = demo
    assert not (home / "cache" / "clusopt").exists()
    scratch = re.search(r"scratch files in (\S+)$", stdout, re.M)[1]
    assert f"--db={scratch}/tuning.sqlite" in stdout
    assert not pathlib.Path(scratch).exists()


def test_help_and_unknown_option():
    help_out = subprocess.run([str(DEMO), "--help"], capture_output=True,
                              text=True, timeout=30)
    assert help_out.returncode == 0
    assert help_out.stdout.startswith("Usage: scripts/demo.sh [--quick]")
    assert "--keep" in help_out.stdout
    bad = subprocess.run([str(DEMO), "--fast"], capture_output=True,
                         text=True, timeout=30)
    assert bad.returncode == 2
    assert "demo.sh: unknown option '--fast' (see --help)" in bad.stderr


def demo_module():
    """scripts/demo.py as a module, for its steps' failure paths."""
    spec = importlib.util.spec_from_file_location(
        "clusopt_demo", REPO / "scripts" / "demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def small_manifest():
    def spec(*shape):
        return {"dtype": "f32", "shape": list(shape)}
    return {"entry_points": [
        {"name": "assign_pool", "arguments": [spec(1, 3, 7), spec(1, 7, 4)]},
        {"name": "cluster_attention",
         "arguments": [spec(1, 2, 7, 4), spec(1, 2, 3, 4), spec(1, 2, 3, 4)]},
    ]}


class FakeLibrary:
    """Entry points that return the oracle's result plus `offset`."""

    def __init__(self, demo, offset):
        for name, oracle in demo.ORACLE.items():
            setattr(self, name, lambda *args, oracle=oracle:
                    (oracle(*args) + offset).astype("float32"))


@pytest.mark.parametrize("offset,passes", [(1e-6, True), (1e-3, False)])
def test_oracle_check_fails_beyond_tolerance(monkeypatch, capsys, offset,
                                             passes):
    demo = demo_module()
    monkeypatch.setattr(demo.clusopt, "load",
                        lambda path: FakeLibrary(demo, offset))
    ok, worst = demo.check_oracle("fake.so", small_manifest())
    out = capsys.readouterr().out
    assert ok is passes
    verdict = "PASS" if passes else "FAIL"
    assert out.count(f": {verdict}\n") == 2, out
    assert (worst <= 1) is passes


def test_oracle_check_names_a_wrong_shape(monkeypatch):
    demo = demo_module()
    lib = FakeLibrary(demo, 0)
    lib.assign_pool = lambda logits, x: x
    monkeypatch.setattr(demo.clusopt, "load", lambda path: lib)
    with pytest.raises(demo.DemoError,
                       match=r"assign_pool returned shape \(1, 7, 4\), the "
                             r"oracle \(1, 3, 4\)"):
        demo.check_oracle("fake.so", small_manifest())


def test_failed_command_is_named(capsys):
    demo = demo_module()
    with pytest.raises(demo.DemoError,
                       match=r"^false failed \(exit status 1\)$"):
        demo.run(["false"])
    assert "  $ false\n" in capsys.readouterr().out


def test_interrupt_cleans_up(tmp_path):
    """Ctrl-C during clusopt-tune: exit status 130, and neither the demo's
    scratch directory nor clusopt-tune's candidates stay in $TMPDIR."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = dict(os.environ, TMPDIR=str(scratch))
    demo_py = REPO / "scripts" / "demo.py"
    proc = subprocess.Popen([sys.executable, str(demo_py)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=REPO)
    for line in proc.stdout:
        if "$ build/bin/clusopt-tune " in line:
            break
    time.sleep(1.5)  # inside the search: candidates on disk
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "demo: interrupted" in stderr
    assert list(scratch.iterdir()) == []
