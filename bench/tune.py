#!/usr/bin/env python3
"""clusopt-tune on CPU benchmark shapes: tuned against default, tuning
time, and, on a small space, the search's pick against an exhaustive
search of the same space (both re-timed by the exhaustive run's
measurements). Not a test; run on a quiet machine:

    python3 bench/tune.py [--budget SECONDS] > bench/results/tune.txt
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(os.environ.get("CLUSOPT_BUILD_DIR", ROOT / "build")) / "bin"
sys.path.insert(0, str(ROOT / "python"))
from clusopt.toolchain import isa_name  # noqa: E402

def _t(*dims):
    return "tensor<" + "x".join(map(str, dims)) + "xf32>"


def _attention(b, h, n, m, d):
    q, kv = _t(b, h, n, d), _t(b, h, m, d)
    return f"""
func.func @attention(%q: {q}, %k: {kv}, %v: {kv}) -> {q} {{
  %init = tensor.empty() : {q}
  %o = clus.attention %q, [%k, %v] outs(%init) : {q}, [{kv}, {kv}] -> {q}
  return %o : {q}
}}
"""


def _pool(b, m, n, c):
    lg, x, y = _t(b, m, n), _t(b, n, c), _t(b, m, c)
    return f"""
func.func @pool(%l: {lg}, %x: {x}) -> {y} {{
  %z_init = tensor.empty() : {lg}
  %z = clus.soft_assign %l outs(%z_init) : {lg}
  %y_init = tensor.empty() : {y}
  %y = clus.pool %z, %x outs(%y_init) : {lg}, {x} -> {y}
  return %y : {y}
}}
"""


def _dpc_knn(n, c, m):
    x = _t(1, n, c)
    return f"""
func.func @dpc_knn(%x: {x}) -> (tensor<1x1x{n}xi32>, tensor<1x1x{m}xi32>) {{
  %a_init = tensor.empty() : tensor<1x1x{n}xi32>
  %c_init = tensor.empty() : tensor<1x1x{m}xi32>
  %a, %c = clus.dpc_knn %x clusters = [{m}] outs(%a_init, %c_init) : {x}
      -> tensor<1x1x{n}xi32>, tensor<1x1x{m}xi32>
  return %a, %c : tensor<1x1x{n}xi32>, tensor<1x1x{m}xi32>
}}
"""


def _cluster_attention(b, h, n, d, m, kappa):
    t, a = _t(b, h, n, d), _t(b, h, n, m)
    mem = f"tensor<{b}x{m}x{kappa}xi32>"
    return f"""
func.func @cluster_attention(%q: {t}, %k: {t}, %v: {t}, %mem: {mem},
                             %aq: {a}, %ak: {a}) -> {t} {{
  %init = tensor.empty() : {t}
  %o = clus.cluster_attention %q, %k, %v members(%mem) affinities(%aq, %ak)
      outs(%init) : {t}, {t}, {t}, {mem}, {a}, {a} -> {t}
  return %o : {t}
}}
"""


# Every shape of the CPU benchmark (bench/cpu_kernels.py) with a tunable
# kernel: PaCa stages 1-3 (N, C, heads) at batch 1 and 8, ClusTR dpc_knn,
# CAST cluster_attention.
SHAPES = {}
for _s, (_n, _c, _h) in enumerate([(3136, 96, 2), (784, 192, 4),
                                   (196, 320, 8)], start=1):
    for _b in (1, 8):
        SHAPES[f"attention s{_s} B={_b}"] = _attention(_b, _h, _n, 100,
                                                       _c // _h)
        SHAPES[f"pool s{_s} B={_b}"] = _pool(_b, 100, _n, _c)
for _m in (49, 196):
    SHAPES[f"dpc_knn N=3136 M={_m}"] = _dpc_knn(3136, 64, _m)
SHAPES["cluster_attention N=196 M=14"] = _cluster_attention(1, 3, 196, 64,
                                                            14, 28)

# Small enough to measure every legal tile (7 clusters: cols is one vector).
SMALL = """
func.func @attention(%q: tensor<1x2x784x48xf32>, %k: tensor<1x2x49x48xf32>)
    -> tensor<1x2x784x48xf32> {
  %o_init = tensor.empty() : tensor<1x2x784x48xf32>
  %o = clus.attention %q, [%k, %k] outs(%o_init)
      : tensor<1x2x784x48xf32>,
        [tensor<1x2x49x48xf32>, tensor<1x2x49x48xf32>] -> tensor<1x2x784x48xf32>
  return %o : tensor<1x2x784x48xf32>
}
"""


def tune(src, db, *flags):
    report = pathlib.Path(db).with_suffix(".report.json")
    start = time.monotonic()
    out = subprocess.run([str(BIN / "clusopt-tune"), str(src), f"--db={db}",
                          f"--report-json={report}", *flags], check=True,
                         capture_output=True, text=True)
    elapsed = time.monotonic() - start
    return json.loads(report.read_text()), out.stdout, elapsed


def paired_ratio(tmp, text, a, b, rounds=300):
    """Median over interleaved rounds of time(a) / time(b): sequential
    medians drift with machine load, paired ratios do not."""
    sys.path.insert(0, str(ROOT / "python"))
    import ctypes
    import numpy as np
    from clusopt import kernels
    libs = []
    for name, tile in (("a", a), ("b", b)):
        src = tmp / f"paired_{name}.mlir"
        src.write_text(text.replace(
            "%o = clus.attention %q, [%k, %k] outs(%o_init)",
            "%o = clus.attention %q, [%k, %k] outs(%o_init) "
            "{clus.lowering_config = "
            f"#clus.lowering_config<rows = {tile['rows']}, "
            f"cols = {tile['cols']}>}}"))
        so = tmp / f"paired_{name}.so"
        subprocess.run([str(BIN / "clusopt-compile"), str(src), "--no-tune",
                        "-o", str(so)], check=True)
        libs.append(ctypes.CDLL(str(so))._mlir_ciface_attention)
    rng = np.random.default_rng(0)
    q = rng.standard_normal((1, 2, 784, 48)).astype(np.float32)
    k = rng.standard_normal((1, 2, 49, 48)).astype(np.float32)
    args = [ctypes.byref(kernels._descriptor(x)) for x in (q, k)]
    res = kernels._descriptor_type(4)()
    free = ctypes.CDLL(None).free

    def once(fn, n=20):
        start = time.perf_counter()
        for _ in range(n):
            fn(ctypes.byref(res), *args)
            free(ctypes.c_void_p(res.allocated))
        return time.perf_counter() - start

    for fn in libs:
        once(fn, 50)
    ratios = []
    for i in range(rounds):
        order = libs if i % 2 else libs[::-1]
        t = {id(fn): once(fn) for fn in order}
        ratios.append(t[id(libs[0])] / t[id(libs[1])])
    return float(np.median(ratios))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=None,
                        help="clusopt-tune --budget (default: its own)")
    parser.add_argument("--target", default="host")
    args = parser.parse_args()
    flags = [f"--target={args.target}"]
    if args.budget:
        flags.append(f"--budget={args.budget}")
    print(f"# clusopt-tune benchmark, target {args.target}: "
          f"ISA {isa_name(args.target)}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        summary = []
        for i, (name, text) in enumerate(SHAPES.items()):
            src = tmp / f"case{i}.mlir"
            src.write_text(text)
            report, table, elapsed = tune(src, tmp / f"case{i}.sqlite",
                                          *flags)
            print(f"\n## {name}: wall {elapsed:.1f} s", flush=True)
            print(table.rstrip(), flush=True)
            summary.append((name, elapsed, table))
        print("\n## summary: tuning wall time per kernel")
        for name, elapsed, _ in summary:
            print(f"{name:32s} {elapsed:6.1f} s")

        src = tmp / "small.mlir"
        src.write_text(SMALL)
        searched, table, t_search = tune(src, tmp / "search.sqlite", *flags)
        # --exhaustive has no budget (clusopt-tune refuses both).
        unbudgeted = [f for f in flags if not f.startswith("--budget")]
        full, table_full, t_full = tune(src, tmp / "full.sqlite",
                                        *unbudgeted, "--exhaustive")
        pick = searched["ops"][0]["record"]["tile"]
        best = full["ops"][0]["record"]["tile"]
        print(f"\n## small attention [1,2,784,48] x [1,2,49,48]: search "
              f"against an exhaustive search of every legal tile")
        print(f"search:     {pick} in {t_search:.1f} s")
        print(table.rstrip())
        print(f"exhaustive: {best} in {t_full:.1f} s")
        print(table_full.rstrip())
        ratio = paired_ratio(tmp, SMALL, pick, best)
        print(f"search pick / exhaustive pick, interleaved paired timing: "
              f"{ratio:.3f} ({'within' if ratio <= 1.05 else 'NOT within'} "
              f"5%)")

if __name__ == "__main__":
    sys.exit(main())
