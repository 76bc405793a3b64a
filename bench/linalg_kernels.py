#!/usr/bin/env python3
"""linalg.matmul through clusopt-compile against the runtime's Linear and
torch.nn.functional.linear, at paca_tiny's projection shapes.

Each shape is y = x · Wᵀ + b with x [M, K], W [N, K] (PyTorch's layout, a
transposed B for the compiled matmul) and b [N]:
- compiled: a `linalg.matmul` (transposed B through its indexing maps)
  plus a bias `linalg.generic`, compiled by `clusopt-compile --target=host`
  (clus-linalg-to-ukernel makes it one micro-kernel call; the result is a
  fresh buffer on every call, as a compiled function returns it);
- runtime: `runtime::Linear` (weights packed once; bench/linear_shim.cpp,
  built here against build/lib);
- torch: `torch.nn.functional.linear`, same threads.
All on the same number of threads (--threads, default 2), medians over
interleaved rounds (each round times every contender once per shape).
Prints the medians, the ratios and the ISA.

    python3 bench/linalg_kernels.py [--threads 2] [--rounds 15]
                                    [--statistic median|min]

--statistic min reports each contender's fastest round instead of the
median: on a loaded machine the medians measure the other processes.
"""

import argparse
import ctypes
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))

# (name, M, K, N): paca_tiny at 224, batch 1.
SHAPES = [
    ("stage1 q/k/v/proj", 3136, 96, 96),
    ("stage1 qkv fused", 3136, 96, 288),
    ("stage1 fc1", 3136, 96, 384),
    ("stage1 fc2", 3136, 384, 96),
    ("stage3 fc1", 196, 320, 1280),
    ("stage3 fc2", 196, 1280, 320),
    ("stage4 fc2", 49, 1536, 384),
]

SOURCE = """
func.func @linear(%x: tensor<{m}x{k}xf32>, %w: tensor<{n}x{k}xf32>,
                  %b: tensor<{n}xf32>) -> tensor<{m}x{n}xf32> {{
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<{m}x{n}xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(i, j, l) -> (i, l)>,
                                      affine_map<(i, j, l) -> (j, l)>,
                                      affine_map<(i, j, l) -> (i, j)>]
       ins(%x, %w : tensor<{m}x{k}xf32>, tensor<{n}x{k}xf32>)
       outs(%acc : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  %r = linalg.generic {{indexing_maps = [affine_map<(i, j) -> (i, j)>,
                                        affine_map<(i, j) -> (j)>,
                                        affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}}
       ins(%y, %b : tensor<{m}x{n}xf32>, tensor<{n}xf32>)
       outs(%e : tensor<{m}x{n}xf32>) {{
  ^bb0(%a: f32, %bv: f32, %o: f32):
    %s = arith.addf %a, %bv : f32
    linalg.yield %s : f32
  }} -> tensor<{m}x{n}xf32>
  return %r : tensor<{m}x{n}xf32>
}}
"""


def build_shim(build, work):
    """bench/linear_shim.cpp against the runtime in `build`/lib."""
    out = work / "linear_shim.so"
    lib = build / "lib"
    cmd = ["clang++-22", "-O2", "-shared", "-fPIC", "-std=c++17",
           f"-I{ROOT}", f"-I{ROOT / 'include'}", "-I/usr/lib/llvm-22/include",
           str(ROOT / "bench" / "linear_shim.cpp"), "-o", str(out),
           "-Wl,--whole-archive", str(lib / "libClusoptRuntime.a"),
           "-Wl,--no-whole-archive", str(lib / "libclusopt_ukernels.a"),
           str(lib / "libClusoptSupport.a"), "-L/usr/lib/llvm-22/lib",
           "-lLLVM", "-lomp", "-lpng", "-ljpeg",
           "-Wl,-rpath,/usr/lib/llvm-22/lib"]
    subprocess.run(cmd, check=True)
    return ctypes.CDLL(str(out))


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--reps", type=int, default=5,
                        help="calls per timing (their mean is one sample)")
    parser.add_argument("--statistic", choices=["median", "min"],
                        default="median",
                        help="per contender over the rounds: the median, or "
                        "the fastest round (for a loaded machine)")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    # Two OpenMP pools (libomp here, torch's own) must not spin against
    # each other on few cores: both sleep as soon as a region ends.
    os.environ.setdefault("KMP_BLOCKTIME", "0")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    import numpy as np
    import torch
    import clusopt
    from clusopt import toolchain

    torch.set_num_threads(args.threads)
    build = toolchain.build_dir()
    isa = toolchain.isa_name("host")
    work = pathlib.Path(tempfile.mkdtemp(prefix="linalg-kernels-"))
    shim = build_shim(build, work)
    shim.shim_linear_create.restype = ctypes.c_void_p
    shim.shim_linear_create.argtypes = [ctypes.c_void_p, ctypes.c_void_p,
                                        ctypes.c_int64, ctypes.c_int64]
    shim.shim_linear_apply.argtypes = [ctypes.c_void_p, ctypes.c_void_p,
                                       ctypes.c_int64, ctypes.c_void_p]
    shim.shim_linear_destroy.argtypes = [ctypes.c_void_p]

    rng = np.random.default_rng(0)
    cases = []
    for name, m, k, n in SHAPES:
        x = rng.standard_normal((m, k)).astype(np.float32)
        w = rng.standard_normal((n, k)).astype(np.float32)
        b = rng.standard_normal(n).astype(np.float32)
        lib = clusopt.compile(SOURCE.format(m=m, k=k, n=n),
                              cache_dir=work / "cache")
        linear = shim.shim_linear_create(w.ctypes.data, b.ctypes.data, n, k)
        y = np.empty((m, n), np.float32)
        xt, wt, bt = (torch.from_numpy(v) for v in (x, w, b))
        ref = x.astype(np.float64) @ w.T.astype(np.float64) + b
        # Each contender's result checked once before timing.
        for got in (np.asarray(lib.linear(x, w, b)),
                    (shim.shim_linear_apply(linear, x.ctypes.data, m,
                                            y.ctypes.data), y)[1],
                    torch.nn.functional.linear(xt, wt, bt).numpy()):
            err = np.abs(got - ref).max()
            assert err <= 1e-4 * max(1, np.abs(ref).max()), (name, err)
        contenders = {
            "compiled": lambda lib=lib, x=x, w=w, b=b: lib.linear(x, w, b),
            "runtime": lambda linear=linear, x=x, m=m, y=y:
                shim.shim_linear_apply(linear, x.ctypes.data, m,
                                       y.ctypes.data),
            "torch": lambda xt=xt, wt=wt, bt=bt:
                torch.nn.functional.linear(xt, wt, bt),
        }
        cases.append((name, m, k, n, contenders, linear))

    times = {(c[0], who): [] for c in cases for who in c[4]}
    for _ in range(args.rounds):
        for name, m, k, n, contenders, _ in cases:
            for who, f in contenders.items():
                f()
                start = time.perf_counter()
                for _ in range(args.reps):
                    f()
                times[(name, who)].append(
                    (time.perf_counter() - start) / args.reps)

    load = os.getloadavg()
    print(f"linalg.matmul (+bias) through clusopt-compile vs runtime::Linear "
          f"vs torch.nn.functional.linear")
    print(f"ISA {isa}; {platform.processor() or platform.machine()}; "
          f"{args.threads} threads; {args.rounds} interleaved rounds of "
          f"{args.reps} calls, {args.statistic} of the rounds; "
          f"load average {load[0]:.1f} at the end; "
          f"torch {torch.__version__}")
    print(f"{'shape':<20} {'M':>5} {'K':>5} {'N':>5} {'compiled':>9} "
          f"{'runtime':>9} {'torch':>9} {'GFLOP/s':>8} {'c/runtime':>9} "
          f"{'torch/c':>8}")
    for name, m, k, n, contenders, linear in cases:
        pick = min if args.statistic == "min" else median
        med = {who: pick(times[(name, who)]) for who in contenders}
        gflops = 2 * m * n * k / med["compiled"] * 1e-9
        print(f"{name:<20} {m:>5} {k:>5} {n:>5} "
              f"{med['compiled'] * 1e3:>7.3f}ms {med['runtime'] * 1e3:>7.3f}ms "
              f"{med['torch'] * 1e3:>7.3f}ms {gflops:>8.1f} "
              f"{med['runtime'] / med['compiled']:>8.2f}x "
              f"{med['torch'] / med['compiled']:>7.2f}x")
        shim.shim_linear_destroy(linear)
    print("c/runtime: runtime time / compiled time (>1: compiled faster); "
          "torch/c: torch time / compiled time (>1: compiled faster)")


if __name__ == "__main__":
    main()
