"""clusopt-tune and the tuning database: keys, concurrent writers, locked
files, target separation, and a tiny search whose record clusopt-compile
then uses. Timings are never asserted."""

import json
import os
import pathlib
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time

import pytest

from clusopt.toolchain import build_dir, target_runs_here

ATTENTION = """
func.func @attention(%q: tensor<1x2x{n}x24xf32>, %k: tensor<1x2x7x24xf32>)
    -> tensor<1x2x{n}x24xf32> {{
  %init = tensor.empty() : tensor<1x2x{n}x24xf32>
  %o = clus.attention %q, [%k, %k] outs(%init) {attrs}
      : tensor<1x2x{n}x24xf32>, [tensor<1x2x7x24xf32>, tensor<1x2x7x24xf32>]
      -> tensor<1x2x{n}x24xf32>
  return %o : tensor<1x2x{n}x24xf32>
}}
"""

POOL = """
func.func @pool(%l: tensor<1x8x{n}x{t}>, %x: tensor<1x{n}x16x{t}>)
    -> tensor<1x8x16x{t}> {{
  %z_init = tensor.empty() : tensor<1x8x{n}x{t}>
  %z = clus.soft_assign %l outs(%z_init) : tensor<1x8x{n}x{t}>
  %y_init = tensor.empty() : tensor<1x8x16x{t}>
  %y = clus.pool %z, %x outs(%y_init) : tensor<1x8x{n}x{t}>, tensor<1x{n}x16x{t}>
      -> tensor<1x8x16x{t}>
  return %y : tensor<1x8x16x{t}>
}}
"""


def tool(name):
    return str(build_dir() / "bin" / name)


def run(*args, check=True, env=None):
    return subprocess.run(list(args), check=check, capture_output=True,
                          text=True, env=env)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def keys(tmp_path, text, target="x86-64-v3", name="k.mlir"):
    src = write(tmp_path, name, text)
    out = run(tool("clusopt-tune"), str(src), f"--target={target}",
              "--print-keys")
    return [k["hash"] for k in json.loads(out.stdout)]


def attention(n=50, attrs="", ssa="%o"):
    return ATTENTION.format(n=n, attrs=attrs).replace("%o", ssa)


def test_key_stability(tmp_path):
    base = keys(tmp_path, attention())
    assert len(base) == 1
    # Same op, shape and target: same key, whatever the SSA names,
    # locations, function name or clus.lowering_config say.
    assert keys(tmp_path, attention(ssa="%renamed")) == base
    assert keys(tmp_path, attention().replace("@attention", "@other")) == base
    assert keys(tmp_path, attention(
        attrs="{clus.lowering_config = #clus.lowering_config<rows = 2, cols = 16>}")) == base
    located = attention().replace(
        "-> tensor<1x2x50x24xf32>\n  return",
        "-> tensor<1x2x50x24xf32> loc(\"x.py\":3:4)\n  return")
    assert "loc(" in located
    assert keys(tmp_path, located) == base
    # Shape, attribute, dtype and target each change it.
    assert keys(tmp_path, attention(n=51)) != base
    assert keys(tmp_path, attention(attrs="{my.hint = 1 : i64}")) != base
    assert keys(tmp_path, attention(), target="x86-64-v4") != base
    assert keys(tmp_path, attention(), target="x86-64") != base
    f32 = keys(tmp_path, POOL.format(n=64, t="f32"))
    bf16 = keys(tmp_path, POOL.format(n=64, t="bf16"))
    # Only the pool has knobs; the soft_assign it fuses has none.
    assert len(f32) == 1 and f32[0] != bf16[0]


def key_json(tmp_path, text, target):
    src = write(tmp_path, "key.mlir", text)
    out = run(tool("clusopt-tune"), str(src), f"--target={target}",
              "--print-keys")
    return json.loads(out.stdout)[0]["key"]


def record(key, uid, rows=2, cols=8):
    return {"uid": uid, "key": key, "tile": {"rows": rows, "cols": cols},
            "median_ns": 1000.0, "default_tile": {"rows": 4, "cols": 128},
            "default_median_ns": 1100.0, "speedup": 1.1, "measured": 1,
            "pruned": 0, "elapsed_s": 0.1, "created": "2025-01-01T00:00:00Z",
            "measurements": [{"tile": {"rows": rows, "cols": cols},
                              "phase": "paired", "median_ns": 1000.0,
                              "spread_ns": 1.0, "samples": 5}]}


def import_records(tmp_path, db, records, name="records.json"):
    path = write(tmp_path, name, json.dumps(
        {"format": "clusopt-tuning/1", "records": records}))
    return run(tool("clusopt-tune"), f"--import={path}", f"--db={db}")


def manifest_ops(tmp_path, src, target, *flags, env=None):
    out = tmp_path / "k.so"
    run(tool("clusopt-compile"), str(src), f"--target={target}", "--emit=so",
        "-o", str(out), *flags, env=env)
    manifest = json.loads((tmp_path / "k.json").read_text())
    return manifest["entry_points"][0]["ops"]


def test_concurrent_writers(tmp_path):
    key = key_json(tmp_path, attention(), "x86-64-v3")
    db = tmp_path / "shared.sqlite"
    procs = []
    for writer in range(2):
        path = write(tmp_path, f"w{writer}.json", json.dumps({
            "format": "clusopt-tuning/1",
            "records": [record(key, f"w{writer}-{i}") for i in range(150)]}))
        procs.append(subprocess.Popen(
            [tool("clusopt-tune"), f"--import={path}", f"--db={db}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    con = sqlite3.connect(db)
    assert con.execute("select count(*) from records").fetchone()[0] == 300
    assert con.execute("select count(*) from measurements").fetchone()[0] == 300


def test_locked_database(tmp_path):
    key = key_json(tmp_path, attention(), "x86-64-v3")
    db = tmp_path / "locked.sqlite"
    import_records(tmp_path, db, [record(key, "first")])
    src = write(tmp_path, "a.mlir", attention())
    # Read before locking: closing any descriptor of the file would drop
    # the holder's POSIX locks.
    before = db.read_bytes()
    holder = sqlite3.connect(db, isolation_level=None)
    # In WAL mode only exclusive locking mode keeps readers out too; the
    # lock is taken by the first access inside the transaction.
    holder.execute("pragma locking_mode = exclusive")
    holder.execute("begin exclusive")
    holder.execute("select count(*) from records").fetchone()
    env = dict(os.environ, CLUSOPT_TUNING_DB_TIMEOUT_MS="200")
    try:
        for args in ([tool("clusopt-tune"), f"--db={db}", "--import=" + str(
                write(tmp_path, "r.json", json.dumps({
                    "format": "clusopt-tuning/1",
                    "records": [record(key, "second")]})))],
                     [tool("clusopt-compile"), str(src), "--emit=mlir", "-o",
                      os.devnull, f"--tuning-db={db}"]):
            res = run(*args, check=False, env=env)
            assert res.returncode != 0, (args, res.stdout)
            assert f"tuning database {db}" in res.stderr
            assert "locked by another process" in res.stderr
    finally:
        holder.execute("rollback")
        holder.close()
    assert db.read_bytes() == before


def test_newer_schema_refused(tmp_path):
    key = key_json(tmp_path, attention(), "x86-64-v3")
    db = tmp_path / "future.sqlite"
    import_records(tmp_path, db, [record(key, "a")])
    con = sqlite3.connect(db)
    con.execute("pragma user_version = 7")
    con.commit()
    con.close()
    before = db.read_bytes()
    res = run(tool("clusopt-tune"), "--list", f"--db={db}", check=False)
    assert res.returncode != 0
    assert "schema version 7 is newer" in res.stderr and str(db) in res.stderr
    assert db.read_bytes() == before


def test_record_never_applies_to_another_target(tmp_path):
    """A record for x86-64-v4 (or for another compiler version) is not used
    when compiling for x86-64-v3."""
    if not target_runs_here("x86-64-v3"):
        pytest.skip("x86-64-v3 does not run on this CPU")
    db = tmp_path / "targets.sqlite"
    v4 = key_json(tmp_path, attention(), "x86-64-v4")
    v3_other = dict(key_json(tmp_path, attention(), "x86-64-v3"),
                    compiler="clusopt+src.0000000000000000 llvm-0")
    import_records(tmp_path, db, [record(v4, "v4", rows=3, cols=16),
                                  record(v3_other, "old", rows=3, cols=8)])
    src = write(tmp_path, "a.mlir", attention())
    ops = manifest_ops(tmp_path, src, "x86-64-v3", f"--tuning-db={db}")
    assert ops[0]["tile_source"] == "default"
    # The default cols = 128, clamped to the 7 clusters padded to 8 lanes.
    assert ops[0]["tile"] == {"rows": 4, "cols": 8}
    if target_runs_here("x86-64-v4"):
        ops = manifest_ops(tmp_path, src, "x86-64-v4", f"--tuning-db={db}")
        assert ops[0]["tile_source"] == "tuning-db"
        assert ops[0]["tile"] == {"rows": 3, "cols": 16}


DYNAMIC_ATTENTION = """
func.func @attention(%q: tensor<?x2x?x24xf32>, %k: tensor<?x2x?x24xf32>)
    -> tensor<?x2x?x24xf32> {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %b = tensor.dim %q, %c0 : tensor<?x2x?x24xf32>
  %n = tensor.dim %q, %c2 : tensor<?x2x?x24xf32>
  %o_init = tensor.empty(%b, %n) : tensor<?x2x?x24xf32>
  %o = clus.attention %q, [%k, %k] outs(%o_init)
      : tensor<?x2x?x24xf32>, [tensor<?x2x?x24xf32>, tensor<?x2x?x24xf32>]
      -> tensor<?x2x?x24xf32>
  return %o : tensor<?x2x?x24xf32>
}
"""


def test_dynamic_entry_point_tuned_at_named_shapes(tmp_path):
    """A short search of a dynamic attention at --shape sizes: the record
    is keyed by the dynamic op, clusopt-compile then uses it for the
    dynamic module, and no tile past the 7 clusters (padded to 8 lanes) is
    measured apart from the unclamped default."""
    if not target_runs_here("x86-64-v3"):
        pytest.skip("x86-64-v3 does not run on this CPU")
    db = tmp_path / "tune.sqlite"
    report = tmp_path / "report.json"
    src = write(tmp_path, "d.mlir", DYNAMIC_ATTENTION)
    res = run(tool("clusopt-tune"), str(src), "--target=x86-64-v3",
              "--budget=3", f"--db={db}", "--jobs=2",
              "--shape", "arg0=1x2x50x24", "--shape", "@attention:arg1=1x2x7x24",
              f"--report-json={report}", check=False)
    assert res.returncode == 0, res.stderr
    assert "clus.attention" in res.stdout
    op = json.loads(report.read_text())["ops"][0]
    assert op["shapes"] == {"arg0": [1, 2, 50, 24], "arg1": [1, 2, 7, 24]}
    rec = op["record"]
    assert "tensor<?x2x?x24xf32>" in rec["key"]["signature"]
    default = rec["default_tile"]
    assert default == {"rows": 4, "cols": 128}
    measured = {(m["tile"]["rows"], m["tile"]["cols"])
                for m in rec["measurements"]}
    assert len(measured) >= 2
    assert all(cols == 8 or (rows, cols) == (4, 128)
               for rows, cols in measured), measured

    ops = manifest_ops(tmp_path, src, "x86-64-v3", f"--tuning-db={db}")
    assert ops[0]["tile_source"] == "tuning-db"
    assert ops[0]["tile"] == rec["tile"]


def test_missing_default_database_is_no_records(tmp_path):
    if not target_runs_here("x86-64-v3"):
        pytest.skip("x86-64-v3 does not run on this CPU")
    src = write(tmp_path, "a.mlir", attention())
    env = dict(os.environ, CLUSOPT_TUNING_DB=str(tmp_path / "none.sqlite"))
    ops = manifest_ops(tmp_path, src, "x86-64-v3", env=env)
    assert ops[0]["tile_source"] == "default"
    assert not (tmp_path / "none.sqlite").exists()


def test_tiny_search_end_to_end(tmp_path):
    """A few-second search on the CPU; clusopt-compile then takes its
    record, unless --no-tune, --tile or an attribute pins the tile."""
    if not target_runs_here("x86-64-v3"):
        pytest.skip("x86-64-v3 does not run on this CPU")
    db = tmp_path / "tune.sqlite"
    src = write(tmp_path, "a.mlir", attention(n=50))
    res = run(tool("clusopt-tune"), str(src), "--target=x86-64-v3",
              "--budget=3", f"--db={db}", "--jobs=2")
    assert "best against default:" in res.stdout
    assert "clus.attention" in res.stdout
    # Plain progress lines when stderr is not a terminal.
    assert "\r" not in res.stderr and "screened" in res.stderr

    listed = json.loads(run(tool("clusopt-tune"), "--list",
                            f"--db={db}").stdout)
    assert len(listed) == 1
    rec = listed[0]
    assert rec["key"]["target"]["cpu"] == "x86-64-v3"
    con = sqlite3.connect(db)
    # Every measurement is kept, not only the winner's.
    phases = {p for (p,) in con.execute("select phase from measurements")}
    assert {"screen", "paired"} <= phases
    assert con.execute("select count(distinct rows || 'x' || cols) from "
                       "measurements").fetchone()[0] >= 2

    ops = manifest_ops(tmp_path, src, "x86-64-v3", f"--tuning-db={db}")
    assert ops[0]["tile_source"] == "tuning-db"
    assert ops[0]["tuning_record"] == {"db": str(db), "id": rec["id"],
                                       "key": rec["key_hash"]}
    assert ops[0]["tile"] == rec["tile"]
    assert manifest_ops(tmp_path, src, "x86-64-v3", f"--tuning-db={db}",
                        "--no-tune")[0]["tile_source"] == "default"
    assert manifest_ops(tmp_path, src, "x86-64-v3", f"--tuning-db={db}",
                        "--tile=rows=1,cols=8")[0]["tile_source"] == "--tile"
    pinned = write(tmp_path, "p.mlir", attention(
        n=50, attrs="{clus.lowering_config = #clus.lowering_config<rows = 5, cols = 8>}"))
    ops = manifest_ops(tmp_path, pinned, "x86-64-v3", f"--tuning-db={db}")
    assert ops[0]["tile_source"] == "attribute"
    assert ops[0]["tile"] == {"rows": 5, "cols": 8}

    # Export and import carry the record to another database.
    exported = tmp_path / "export.json"
    run(tool("clusopt-tune"), f"--export={exported}", f"--db={db}")
    other = tmp_path / "other.sqlite"
    run(tool("clusopt-tune"), f"--import={exported}", f"--db={other}")
    ops = manifest_ops(tmp_path, src, "x86-64-v3", f"--tuning-db={other}")
    assert ops[0]["tile_source"] == "tuning-db"
    assert ops[0]["tile"] == rec["tile"]
    assert len(json.loads(exported.read_text())["records"][0][
        "measurements"]) == con.execute(
            "select count(*) from measurements").fetchone()[0]


def scratch_env(tmp_path):
    """A TMPDIR of the test's own, so what is left in it is the tools'."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    return tmp, dict(os.environ, TMPDIR=str(tmp))


def test_scratch_removed_and_stale_swept(tmp_path):
    """A run removes its scratch directory, and the directories that runs
    killed with SIGKILL left (their pid is gone) but nothing else; the
    report and export replace a symlink planted at their path."""
    if not target_runs_here("x86-64-v3"):
        pytest.skip("x86-64-v3 does not run on this CPU")
    tmp, env = scratch_env(tmp_path)
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = [tmp / f"clusopt-tune-{dead.pid}-a1b2c3",
             tmp / f"clusopt-compile-{dead.pid}-d4e5f6"]
    for d in stale:
        (d / "sub").mkdir(parents=True)
        (d / "sub" / "c0_r1_c8.so").write_text("left by kill -9")
    kept = [tmp / f"clusopt-tune-{os.getpid()}-a1b2c3",  # still running
            tmp / f"unrelated-{dead.pid}-a1b2c3"]
    for d in kept:
        d.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    for name in ("report.json", "export.json"):
        (tmp_path / name).symlink_to(victim)
    db = tmp_path / "tune.sqlite"
    src = write(tmp_path, "a.mlir", attention(n=50))
    run(tool("clusopt-tune"), str(src), "--target=x86-64-v3", "--budget=1",
        f"--db={db}", "--jobs=2", f"--report-json={tmp_path / 'report.json'}",
        env=env)
    run(tool("clusopt-tune"), f"--export={tmp_path / 'export.json'}",
        f"--db={db}", env=env)
    assert sorted(os.listdir(tmp)) == sorted(d.name for d in kept)
    assert victim.read_text() == "keep me"
    for name in ("report.json", "export.json"):
        assert not (tmp_path / name).is_symlink()
    assert json.loads((tmp_path / "report.json").read_text())["ops"]
    assert json.loads((tmp_path / "export.json").read_text())["records"]
    assert not list(tmp_path.glob(".*.tmp-*"))


def test_help_says_where_scratch_goes():
    out = run(tool("clusopt-tune"), "--help").stdout
    assert "clusopt-tune-<pid>-XXXXXX" in out
    assert "killed with SIGKILL" in out


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT,
                                 signal.SIGHUP], ids=lambda s: s.name)
def test_interrupted_run_leaves_nothing(tmp_path, sig):
    """SIGTERM/SIGINT/SIGHUP in the middle of compiling candidates: the
    tuner stops its clusopt-compile children, and neither leaves a file in
    TMPDIR."""
    if not target_runs_here("x86-64-v3"):
        pytest.skip("x86-64-v3 does not run on this CPU")
    tmp, env = scratch_env(tmp_path)
    src = write(tmp_path, "a.mlir", attention(n=50))
    proc = subprocess.Popen(
        [tool("clusopt-tune"), str(src), "--target=x86-64-v3", "--budget=60",
         f"--db={tmp_path / 'tune.sqlite'}", "--jobs=2"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        # Whatever this test runs under (nohup ignores SIGHUP), the tuner
        # starts with the default actions.
        preexec_fn=lambda: signal.signal(sig, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 60
        # Candidate modules beyond the default: the parallel compiles run.
        while (len(list(tmp.glob("clusopt-tune-*/c*.mlir"))) < 2
               and time.monotonic() < deadline and proc.poll() is None):
            time.sleep(0.02)
        time.sleep(0.2)
        assert proc.poll() is None, "the tuner finished before the signal"
        proc.send_signal(sig)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == -sig
    assert os.listdir(tmp) == []


# --- Bad requests fail at once, naming the flag -------------------------

@pytest.mark.parametrize("flags,message", [
    (["--budget=-1"], "--budget must be a number of seconds in (0, 86400], "
                      "got -1"),
    (["--budget=nan"], "--budget must be a number of seconds in (0, 86400], "
                       "got nan"),
    (["--budget=inf"], "got inf"),
    (["--budget=0"], "got 0"),
    (["--budget=1e9"], "got 1e+09"),
    (["--jobs=0"], "--jobs must be in [1, 1024], got 0"),
    (["--jobs=5000"], "--jobs must be in [1, 1024], got 5000"),
    (["--exhaustive", "--budget=3"], "--exhaustive measures every legal "
                                     "tile with no budget"),
    (["--print-keys", "--budget=3"], "--budget does not apply to "
                                     "--print-keys"),
    (["--list"], "--list works on the database and takes no input file"),
    (["--tile=rows=2,rows=3"], "Unknown command line argument '--tile"),
])
def test_tune_rejects_bad_flags(tmp_path, flags, message):
    src = write(tmp_path, "a.mlir", attention())
    db = tmp_path / "t.sqlite"
    res = run(tool("clusopt-tune"), str(src), f"--db={db}", *flags,
              check=False)
    assert res.returncode != 0, res.stdout
    assert message in res.stderr, res.stderr
    assert not db.exists()


@pytest.mark.parametrize("flags,message", [
    (["--list", "--export=-"], "--list and --export cannot be combined"),
    (["--list", "--budget=3"], "--budget applies only when tuning a "
                               "module, not with --list"),
    (["--export=-", "--target=host"], "--target does not apply to --export"),
    (["--list", "--db="], "--db needs a path"),
    (["--export=/nonexistent-dir/x.json"],
     "--export=/nonexistent-dir/x.json: directory /nonexistent-dir does not "
     "exist"),
])
def test_database_actions_reject_bad_flags(flags, message):
    res = run(tool("clusopt-tune"), *flags, check=False)
    assert res.returncode != 0, res.stdout
    assert message in res.stderr, res.stderr


@pytest.mark.parametrize("tile,message", [
    ("rows=2,rows=3", "--tile=rows=2,rows=3: rows is given twice"),
    ("rows=2,depth=1", "unknown key 'depth'; the keys are rows and cols"),
    ("rows=2,,cols=8", "empty entry; expected rows=R,cols=C"),
    ("rows=two", "rows must be an integer, got 'two'"),
    ("rows=0", "rows must be in [1, 8], got 0"),
    ("cols=12", "cols must be a multiple of the vector width 8 in [8, 4096], "
                "got 12"),
])
def test_compile_rejects_bad_tile(tmp_path, tile, message):
    src = write(tmp_path, "a.mlir", attention())
    res = run(tool("clusopt-compile"), str(src), "--target=x86-64-v3",
              "--emit=mlir", "-o", os.devnull, f"--tile={tile}", check=False)
    assert res.returncode != 0
    assert f"clusopt-compile: error: --tile={tile}: " in res.stderr
    assert message in res.stderr, res.stderr


@pytest.mark.parametrize("where", ["missing-dir/r.json", "."])
def test_report_json_path_checked_before_tuning(tmp_path, where):
    src = write(tmp_path, "a.mlir", attention())
    db = tmp_path / "t.sqlite"
    report = tmp_path / where
    start = time.monotonic()
    res = run(tool("clusopt-tune"), str(src), f"--db={db}", "--budget=5",
              f"--report-json={report}", check=False)
    assert time.monotonic() - start < 1.0
    assert res.returncode != 0
    assert f"--report-json={report}: " in res.stderr
    assert ("does not exist" if "missing" in where else "is a directory") \
        in res.stderr
    assert "compiled" not in res.stderr and not db.exists()


# --- Damaged, locked and read-only databases ----------------------------

def filled_db(tmp_path, target="x86-64-v3", count=40, name="t.sqlite"):
    """A database of `count` records (several pages) for attention()."""
    key = key_json(tmp_path, attention(), target)
    db = tmp_path / name
    res = import_records(tmp_path, db, [record(key, f"r{i}")
                                        for i in range(count)])
    assert res.returncode == 0, res.stderr
    return db


def compile_with(tmp_path, db, target="x86-64-v3", env=None):
    src = write(tmp_path, "a.mlir", attention())
    return run(tool("clusopt-compile"), str(src), f"--target={target}",
               "--emit=mlir", "-o", os.devnull, f"--tuning-db={db}",
               check=False, env=env)


def test_corrupt_page_is_an_error_everywhere(tmp_path):
    db = filled_db(tmp_path)
    con = sqlite3.connect(db)
    pages, size = (con.execute("pragma page_count").fetchone()[0],
                   con.execute("pragma page_size").fetchone()[0])
    con.close()
    assert pages >= 4
    data = bytearray(db.read_bytes())
    middle = pages // 2 * size
    data[middle:middle + size] = b"\xde\xad\xbe\xef" * (size // 4)
    db.write_bytes(bytes(data))
    src = write(tmp_path, "a.mlir", attention())
    for args in ([tool("clusopt-tune"), "--list", f"--db={db}"],
                 [tool("clusopt-tune"), f"--export=-", f"--db={db}"],
                 [tool("clusopt-tune"), str(src), "--target=x86-64-v3",
                  "--budget=1", f"--db={db}"],
                 [tool("clusopt-compile"), str(src), "--target=x86-64-v3",
                  "--emit=mlir", "-o", os.devnull, f"--tuning-db={db}"]):
        res = run(*args, check=False)
        assert res.returncode != 0, (args, res.stdout)
        assert f"tuning database {db} is corrupt (PRAGMA integrity_check: " \
            in res.stderr, res.stderr
        assert "remove or replace the file" in res.stderr
        assert "another row available" not in res.stderr
        assert "screened" not in res.stderr
    assert "--no-tune compiles without the database" in res.stderr
    assert db.read_bytes() == bytes(data)


def damage_row(db, sql):
    """Runs `sql` on `db` after dropping the NOT NULL constraints, as an
    old or foreign writer could have left the file."""
    con = sqlite3.connect(db)
    con.execute("pragma writable_schema = on")
    con.execute("update sqlite_master set sql = replace(sql, ' NOT NULL', "
                "'') where type = 'table'")
    con.commit()
    con.close()
    con = sqlite3.connect(db)
    con.execute(sql)
    con.commit()
    con.close()


@pytest.mark.parametrize("sql,problem", [
    ("update records set rows = 99 where id = 2",
     "tile rows=99,cols=8: rows must be in [1, 8], got 99"),
    ("update records set rows = NULL where id = 2", "rows is NULL"),
    ("update records set cols = 'wide' where id = 2",
     "cols is text 'wide', expected an integer"),
    ("update records set speedup = -1 where id = 2",
     "speedup must be a finite number > 0, got -1"),
    ("update records set key_json = '{' where id = 2", "key_json is not JSON"),
])
def test_bad_row_is_named(tmp_path, sql, problem):
    db = filled_db(tmp_path, count=2)
    damage_row(db, sql)
    for args in ([tool("clusopt-tune"), "--list", f"--db={db}"],
                 [tool("clusopt-tune"), "--export=-", f"--db={db}"]):
        res = run(*args, check=False)
        assert res.returncode != 0
        assert f"tuning database {db}: record 2 (clus.attention, key " \
            in res.stderr, res.stderr
        assert problem in res.stderr
        assert "another row available" not in res.stderr
    if "key_json" in sql:
        return  # the row no longer matches the key compile looks up
    # Record 2 is the newest for this key, so compile reads it too.
    res = compile_with(tmp_path, db)
    assert res.returncode != 0
    assert f"tuning database {db}: record 2 (clus.attention" in res.stderr
    assert problem in res.stderr


def test_bad_measurement_row_is_named(tmp_path):
    db = filled_db(tmp_path, count=2)
    damage_row(db, "update measurements set phase = NULL where id = 2")
    res = run(tool("clusopt-tune"), "--export=-", f"--db={db}", check=False)
    assert res.returncode != 0
    assert (f"tuning database {db}: measurement 2 of record 2 "
            "(clus.attention): phase is NULL") in res.stderr


def test_record_tile_illegal_for_its_target(tmp_path):
    """cols = 12 is a legal size somewhere, but not a multiple of the
    8 lanes of the x86-64-v3 target the record's key names."""
    db = filled_db(tmp_path, count=1)
    damage_row(db, "update records set cols = 12")
    res = compile_with(tmp_path, db)
    assert res.returncode != 0
    assert f"tuning database {db}: record 1 (clus.attention, key " \
        in res.stderr
    assert ("tile rows=2,cols=12 is not legal for --target=x86-64-v3: cols "
            "must be a multiple of the vector width 8") in res.stderr


def test_tune_fails_before_measuring_when_locked(tmp_path):
    db = filled_db(tmp_path, count=1)
    src = write(tmp_path, "a.mlir", attention())
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("begin immediate")  # the write lock; readers still read
    env = dict(os.environ, CLUSOPT_TUNING_DB_TIMEOUT_MS="200")
    try:
        start = time.monotonic()
        res = run(tool("clusopt-tune"), str(src), "--target=x86-64-v3",
                  "--budget=5", f"--db={db}", check=False, env=env)
        assert time.monotonic() - start < 3
    finally:
        holder.execute("rollback")
        holder.close()
    assert res.returncode != 0
    assert (f"tuning database {db}: cannot take the write lock: the database "
            "is locked by another process") in res.stderr
    assert "past the 200 ms timeout (CLUSOPT_TUNING_DB_TIMEOUT_MS)" \
        in res.stderr
    assert "compiled" not in res.stderr and "screened" not in res.stderr


def test_lock_taken_during_tuning_keeps_the_results(tmp_path):
    if not target_runs_here("x86-64-v3"):
        pytest.skip("x86-64-v3 does not run on this CPU")
    db = filled_db(tmp_path, count=1)
    src = write(tmp_path, "a.mlir", attention())
    env = dict(os.environ, CLUSOPT_TUNING_DB_TIMEOUT_MS="200")
    proc = subprocess.Popen(
        [tool("clusopt-tune"), str(src), "--target=x86-64-v3", "--budget=2",
         f"--db={db}", "--jobs=2"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=env)
    # The first line comes once the database is open and checked, before
    # any candidate is compiled; take the write lock then.
    first = proc.stderr.readline()
    assert "clusopt-tune: tuning " in first
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("begin immediate")
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        holder.execute("rollback")
        holder.close()
    assert proc.returncode != 0
    assert "keeping the results and trying again at the end" in err
    assert f"could not store 1 measured record(s) in {db}:" in err
    kept = [p for p in tmp_path.iterdir() if ".unsaved-" in p.name]
    assert len(kept) == 1 and f"they are kept in {kept[0]}" in err
    assert f"--import={kept[0]} --db={db}" in err
    assert "clus.attention" in out and "records in" not in out
    run(tool("clusopt-tune"), f"--import={kept[0]}", f"--db={db}")
    listed = json.loads(run(tool("clusopt-tune"), "--list",
                            f"--db={db}").stdout)
    assert len(listed) == 2


def test_lookups_never_write(tmp_path):
    """--list, --export and compile open the database read-only: the file
    keeps its bytes and its modification time."""
    db = filled_db(tmp_path, count=3)
    before, mtime = db.read_bytes(), db.stat().st_mtime_ns
    run(tool("clusopt-tune"), "--list", f"--db={db}")
    run(tool("clusopt-tune"), "--export=-", f"--db={db}")
    assert compile_with(tmp_path, db).returncode == 0
    assert db.read_bytes() == before and db.stat().st_mtime_ns == mtime


def test_read_only_database_as_another_user(tmp_path):
    """Permissions only bind a user without root's override: as nobody, a
    0444 database in a 0555 directory can be listed and compiled against,
    and clusopt-tune says it cannot write it before measuring anything."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to run as another user")
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    if run(*nobody, tool("clusopt-tune"), "--help",
           check=False).returncode != 0:
        pytest.skip("the build is not readable by nobody")
    shared = pathlib.Path(tempfile.mkdtemp(prefix="clusopt-ro-"))
    try:
        db = filled_db(tmp_path, count=2)
        (shared / "t.sqlite").write_bytes(db.read_bytes())
        src = shared / "a.mlir"
        src.write_text(attention())
        db = shared / "t.sqlite"
        db.chmod(0o444)
        shared.chmod(0o555)
        listed = run(*nobody, tool("clusopt-tune"), "--list", f"--db={db}")
        assert len(json.loads(listed.stdout)) == 2
        res = run(*nobody, tool("clusopt-compile"), str(src),
                  "--target=x86-64-v3", "--emit=mlir", "-o", os.devnull,
                  f"--tuning-db={db}", check=False)
        assert res.returncode == 0, res.stderr
        res = run(*nobody, tool("clusopt-tune"), str(src),
                  "--target=x86-64-v3", "--budget=1", f"--db={db}",
                  check=False)
        assert res.returncode != 0
        assert f"tuning database {db} is read-only" in res.stderr
        assert "compiled" not in res.stderr
    finally:
        shared.chmod(0o755)
        shutil.rmtree(shared)


def test_ignored_sighup_stays_ignored(tmp_path):
    """Under nohup (SIGHUP ignored from the start) a SIGHUP in the middle of
    a run neither stops the tuner nor loses its work: the run finishes,
    stores its record and removes its scratch directory."""
    if not target_runs_here("x86-64-v3"):
        pytest.skip("x86-64-v3 does not run on this CPU")
    tmp, env = scratch_env(tmp_path)
    src = write(tmp_path, "a.mlir", attention(n=50))
    db = tmp_path / "tune.sqlite"
    proc = subprocess.Popen(
        [tool("clusopt-tune"), str(src), "--target=x86-64-v3", "--budget=60",
         f"--db={db}", "--jobs=2"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    try:
        deadline = time.monotonic() + 60
        while (not list(tmp.glob("clusopt-tune-*/c*.mlir"))
               and time.monotonic() < deadline and proc.poll() is None):
            time.sleep(0.01)
        assert proc.poll() is None, "the tuner finished before the signal"
        proc.send_signal(signal.SIGHUP)
        proc.wait(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert os.listdir(tmp) == []
    con = sqlite3.connect(db)
    assert con.execute("select count(*) from records").fetchone()[0] >= 1
    con.close()
