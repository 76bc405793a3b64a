#!/usr/bin/env python3
"""The linalg around the clus ops (LayerNorm, GELU, depthwise 3x3,
softmax) at PaCa stage-1 shapes: the optimised CPU pipeline of this build
(clus-linalg-cpu-tiling: row blocks over OpenMP threads, vectors inside)
against the same pipeline of another build without that pass
(--baseline-build, e.g. a build of the commit before it: scalar loops,
one thread) and PyTorch eager, all on the same number of threads.

The kernels are the ones python/tests/test_linalg_cpu_tiling.py checks
against float64 NumPy (dynamic shapes, as an importer writes them; the
depthwise convolution is static). Prints the ISA and the load average:
figures from a busy machine are only indicative.

  python3 bench/linalg_elementwise.py [--threads 2] [--runs 30]
      [--baseline-build ../main/build] [--out bench/results/linalg_elementwise.txt]
"""

import argparse
import ctypes
import importlib.util
import os
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

import numpy as np  # noqa: E402

from clusopt import kernels, toolchain  # noqa: E402
from clusopt.toolchain import Backend  # noqa: E402

spec = importlib.util.spec_from_file_location(
    "linalg_cases", ROOT / "python/tests/test_linalg_cpu_tiling.py")
cases = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cases)


def workloads(rng):
    """name, MLIR, inputs, outputs, torch callable."""
    import torch
    import torch.nn.functional as F
    x = rng.standard_normal((3136, 96)).astype(np.float32)
    g = rng.standard_normal(96).astype(np.float32)
    b = rng.standard_normal(96).astype(np.float32)
    tx, tg, tb = map(torch.from_numpy, (x, g, b))
    yield ("layernorm [3136,96]", cases.LAYERNORM, [x, g, b],
           [np.empty_like(x)], lambda: F.layer_norm(tx, (96,), tg, tb, 1e-5))
    h = rng.standard_normal((3136, 384)).astype(np.float32)
    hb = rng.standard_normal(384).astype(np.float32)
    r = rng.standard_normal((3136, 384)).astype(np.float32)
    th, thb, tr = map(torch.from_numpy, (h, hb, r))
    yield ("bias+gelu+residual [3136,384]", cases.BIAS_GELU_RESIDUAL,
           [h, hb, r], [np.empty_like(h)], lambda: F.gelu(th + thb) + tr)
    img = rng.standard_normal((1, 56, 56, 96)).astype(np.float32)
    k = rng.standard_normal((3, 3, 96)).astype(np.float32)
    timg = torch.from_numpy(img).permute(0, 3, 1, 2)  # NCHW view, channels-last
    tk = torch.from_numpy(k).permute(2, 0, 1).unsqueeze(1).contiguous()
    yield ("depthwise 3x3 56x56x96", cases.depthwise(1, 56, 56, 96, 1),
           [img, k], [np.empty((1, 56, 56, 96), np.float32)],
           lambda: F.conv2d(timg, tk, padding=1, groups=96))
    s = rng.standard_normal((49, 3136)).astype(np.float32)
    ts = torch.from_numpy(s)
    yield ("softmax [49,3136]", cases.SOFTMAX, [s], [np.empty_like(s)],
           lambda: torch.softmax(ts, dim=1))


def median_ms(fn, runs):
    fn()
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def compiled(backend, text, inputs, outputs, build=None):
    saved = os.environ.get("CLUSOPT_BUILD_DIR")
    if build:
        os.environ["CLUSOPT_BUILD_DIR"] = str(build)
    try:
        lib = ctypes.CDLL(str(backend.compile(text)))
    finally:
        if build:
            if saved is None:
                del os.environ["CLUSOPT_BUILD_DIR"]
            else:
                os.environ["CLUSOPT_BUILD_DIR"] = saved
    descriptors = [kernels._descriptor(a) for a in (*inputs, *outputs)]
    refs = [ctypes.byref(d) for d in descriptors]
    fn = lib._mlir_ciface_kernel
    return lambda: fn(*refs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--baseline-build", type=pathlib.Path,
                        help="a clusopt build without clus-linalg-cpu-tiling")
    parser.add_argument("--out", type=pathlib.Path)
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import torch
    torch.set_num_threads(args.threads)
    target = toolchain.host_target()
    backend = Backend("clus-cpu-to-llvm", target)
    lines = [f"ISA: {toolchain.isa_name(target)}, {args.threads} threads, "
             f"median of {args.runs} runs, load average "
             f"{os.getloadavg()[0]:.1f} at start",
             f"{'kernel':32} {'clusopt ms':>11} {'baseline ms':>12} "
             f"{'torch ms':>9} {'vs base':>8} {'vs torch':>9}"]
    print(lines[0], flush=True)
    rng = np.random.default_rng(0)
    for name, text, inputs, outputs, eager in workloads(rng):
        ours = median_ms(compiled(backend, text, inputs, outputs), args.runs)
        base = float("nan")
        if args.baseline_build:
            try:
                base = median_ms(compiled(backend, text, inputs, outputs,
                                          args.baseline_build), args.runs)
            except (OSError, toolchain.ToolchainError) as error:
                print(f"  baseline failed: {str(error).splitlines()[-1]}")
        theirs = median_ms(eager, args.runs)
        lines.append(f"{name:32} {ours:11.3f} {base:12.3f} {theirs:9.3f} "
                     f"{base / ours:7.1f}x {theirs / ours:8.2f}x")
        print(lines[-1], flush=True)
    lines.append(f"load average {os.getloadavg()[0]:.1f} at end")
    print(lines[-1])
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
