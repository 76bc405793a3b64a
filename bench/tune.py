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

SHAPES = {
    # PaCa-ViT stage 1: 3136 queries against 100 clusters, 2 heads of 48.
    "attention": """
func.func @attention(%q: tensor<1x2x3136x48xf32>, %k: tensor<1x2x100x48xf32>,
                     %v: tensor<1x2x100x48xf32>) -> tensor<1x2x3136x48xf32> {
  %o = clus.attention %q, [%k, %v]
      : tensor<1x2x3136x48xf32>, [tensor<1x2x100x48xf32>, tensor<1x2x100x48xf32>]
  return %o : tensor<1x2x3136x48xf32>
}
""",
    # PaCa-ViT stage 1 clustering: soft_assign over 3136 tokens fused into
    # the pool of 96 channels.
    "pool": """
func.func @pool(%l: tensor<1x100x3136xf32>, %x: tensor<1x3136x96xf32>)
    -> tensor<1x100x96xf32> {
  %z = clus.soft_assign %l : tensor<1x100x3136xf32>
  %y = clus.pool %z, %x : tensor<1x100x3136xf32>, tensor<1x3136x96xf32>
  return %y : tensor<1x100x96xf32>
}
""",
}

# Small enough to measure every legal tile (7 clusters: cols is one vector).
SMALL = """
func.func @attention(%q: tensor<1x2x784x48xf32>, %k: tensor<1x2x49x48xf32>)
    -> tensor<1x2x784x48xf32> {
  %o = clus.attention %q, [%k, %k]
      : tensor<1x2x784x48xf32>, [tensor<1x2x49x48xf32>, tensor<1x2x49x48xf32>]
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
            "%o = clus.attention %q, [%k, %k]",
            "%o = clus.attention %q, [%k, %k] {clus.tile = {rows = "
            f"{tile['rows']} : i64, cols = {tile['cols']} : i64}}}}"))
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
    print(f"# clusopt-tune benchmark, target {args.target}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        for name, text in SHAPES.items():
            src = tmp / f"{name}.mlir"
            src.write_text(text)
            report, table, elapsed = tune(src, tmp / f"{name}.sqlite", *flags)
            print(f"\n## {name}: default budget, wall {elapsed:.1f} s")
            print(table.rstrip())

        src = tmp / "small.mlir"
        src.write_text(SMALL)
        searched, table, t_search = tune(src, tmp / "search.sqlite", *flags)
        full, table_full, t_full = tune(src, tmp / "full.sqlite", *flags,
                                        "--exhaustive")
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
