"""clusopt-tune and the tuning database: keys, concurrent writers, locked
files, target separation, and a tiny search whose record clusopt-compile
then uses. Timings are never asserted."""

import json
import os
import sqlite3
import subprocess

import pytest

from clusopt.toolchain import build_dir, target_runs_here

ATTENTION = """
func.func @attention(%q: tensor<1x2x{n}x24xf32>, %k: tensor<1x2x7x24xf32>)
    -> tensor<1x2x{n}x24xf32> {{
  %o = clus.attention %q, [%k, %k] {attrs}
      : tensor<1x2x{n}x24xf32>, [tensor<1x2x7x24xf32>, tensor<1x2x7x24xf32>]
  return %o : tensor<1x2x{n}x24xf32>
}}
"""

POOL = """
func.func @pool(%l: tensor<1x8x{n}x{t}>, %x: tensor<1x{n}x16x{t}>)
    -> tensor<1x8x16x{t}> {{
  %z = clus.soft_assign %l : tensor<1x8x{n}x{t}>
  %y = clus.pool %z, %x : tensor<1x8x{n}x{t}>, tensor<1x{n}x16x{t}>
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
    # locations, function name or clus.tile say.
    assert keys(tmp_path, attention(ssa="%renamed")) == base
    assert keys(tmp_path, attention().replace("@attention", "@other")) == base
    assert keys(tmp_path, attention(
        attrs="{clus.tile = {rows = 2 : i64, cols = 16 : i64}}")) == base
    located = attention().replace(
        "[tensor<1x2x7x24xf32>, tensor<1x2x7x24xf32>]\n",
        "[tensor<1x2x7x24xf32>, tensor<1x2x7x24xf32>] loc(\"x.py\":3:4)\n")
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
        n=50, attrs="{clus.tile = {rows = 5 : i64, cols = 8 : i64}}"))
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
