#!/usr/bin/env python3
"""CPU benchmark of clusopt's optimised kernels against their peers.

    python3 bench/cpu_kernels.py            # every shape (~10 minutes)
    python3 bench/cpu_kernels.py --quick    # smoke run: few shapes, few reps
    python3 bench/cpu_kernels.py --target=x86-64-v3   # AVX2 on any CPU

clusopt's kernels are built for the widest x86-64 level this CPU has
(x86-64-v4 with AVX-512, else x86-64-v3 with AVX2, else x86-64) unless
--target picks one; the roofline is measured for the same level, and every
output names it.

Kernels: PaCa pooling + attention (fused, and each part alone), ClusTR
dpc_knn, CAST cluster_attention. Implementations, all on the same inputs in
the same run: clusopt (clus-cpu-to-llvm), the clusopt reference lowering
(clus-to-llvm), PyTorch eager, torch.compile, and Halide with an
autoscheduler. Every peer's output is checked against clusopt's before it
is timed, and clusopt's against the float64 oracle. See bench/README.md.
"""

import argparse
import os
import pathlib
import sys

BENCH = pathlib.Path(__file__).resolve().parent
RESULTS = BENCH / "results"
IMPLS = ["clusopt", "reference", "torch-eager", "torch-compile", "halide"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="few shapes and few repetitions (smoke run)")
    p.add_argument("--threads", type=int, default=2,
                   help="threads for every implementation (default 2)")
    p.add_argument("--only", action="append", default=[],
                   help="run only kernels whose name contains this "
                        "(repeatable): paca_fused, pool, attention, "
                        "dpc_knn, cluster_attention")
    p.add_argument("--skip", action="append", default=[], choices=IMPLS,
                   help="leave out an implementation (repeatable)")
    p.add_argument("--out", type=pathlib.Path, default=RESULTS,
                   help="directory for the CSV, plot and metadata")
    p.add_argument("--target", choices=["x86-64-v4", "x86-64-v3", "x86-64"],
                   help="x86-64 level to build clusopt's kernels and the "
                        "roofline for (default: the widest this CPU has)")
    # Internal: run one implementation of dpc_knn once in a fresh process
    # and print its peak extra memory (see measure_peak_memory).
    p.add_argument("--peak-memory", metavar="IMPL:CLUSTERS",
                   help=argparse.SUPPRESS)
    return p.parse_args(argv)


ARGS = parse_args()
# Thread counts are read when the runtimes start (libomp, libgomp in torch,
# MKL, Halide's pool), so they are fixed before anything is imported.
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "HL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)
# Inductor compiles in this process instead of a pool of worker processes,
# so its compile time is not mistaken for background load (OtherLoad).
os.environ.setdefault("TORCHINDUCTOR_COMPILE_THREADS", "1")

import csv  # noqa: E402
import dataclasses  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

import numpy as np  # noqa: E402

import clusopt_kernels as ck  # noqa: E402
from clusopt import reference as oracle  # noqa: E402
from clusopt import toolchain  # noqa: E402

ck.use_target(ck.select_target(ARGS.target))


# ---------------------------------------------------------------------------
# Repetitions
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class Reps:
    """How long to time each (kernel, shape, implementation).

    reps = budget / (time of one call), clamped to [lo, hi]; but a slow
    implementation (the single-threaded reference) may drop to `floor` reps
    so that one measurement never takes much more than `cap` seconds.
    """
    warmup: int
    budget: float
    lo: int
    hi: int
    cap: float
    floor: int

    def count(self, one_call):
        reps = min(self.hi, max(self.lo, round(self.budget / one_call)))
        return max(self.floor, min(reps, int(self.cap / one_call)))


FULL_REPS = Reps(warmup=2, budget=1.0, lo=20, hi=50, cap=4.0, floor=5)
QUICK_REPS = Reps(warmup=1, budget=0.2, lo=3, hi=5, cap=1.0, floor=3)

# Other runtimes' worker threads (libomp in clusopt, libgomp in torch,
# Halide's pool) spin for a while after their last parallel region. On two
# cores a spinning pool steals a core from the next implementation, so each
# measurement starts after a pause longer than libomp's 200 ms blocktime.
SETTLE_S = 0.3


def measure(fn, reps):
    """Median and spread of `fn()` wall time, in seconds."""
    for _ in range(reps.warmup):
        fn()
    time.sleep(SETTLE_S)
    t0 = time.perf_counter()
    fn()
    n = reps.count(time.perf_counter() - t0)
    times = []
    gc.disable()  # a collection inside a timed call is noise, not the kernel
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    finally:
        gc.enable()
    q = statistics.quantiles(times, n=4) if len(times) > 1 else times * 3
    return {"median": statistics.median(times), "p25": q[0], "p75": q[2],
            "min": min(times), "reps": n}


# ---------------------------------------------------------------------------
# Roofline
# ---------------------------------------------------------------------------

def run_roofline(threads, isa=None, peak_only=False):
    """bench/roofline.c's fields (isa, vector, lanes, threads, peak_gflops,
    triad_gbs) on `threads` threads, for x86-64 level `isa` (default: the
    widest this CPU has), measured now. The probe is built without -march:
    each level's code carries its own target attribute."""
    llvm = toolchain.LLVM_BIN
    lib = toolchain.openmp_lib_dir()
    args = ([f"--isa={isa}"] if isa else []) + \
        (["--peak-only"] if peak_only else [])
    with tempfile.TemporaryDirectory() as tmp:
        exe = pathlib.Path(tmp) / "roofline"
        subprocess.run([str(llvm / "clang"), "-O2", "-fopenmp=libomp",
                        str(BENCH / "roofline.c"), "-o", str(exe),
                        f"-L{lib}", f"-Wl,-rpath,{lib}"], check=True)
        out = subprocess.run([str(exe), *args], check=True,
                             capture_output=True, text=True,
                             env=dict(os.environ,
                                      OMP_NUM_THREADS=str(threads))).stdout
    return dict(kv.split("=") for kv in out.split())


def machine_roofline(threads, isa):
    """Peak f32 FMA GFLOP/s and triad GB/s of x86-64 level `isa`."""
    fields = run_roofline(threads, isa)
    return float(fields["peak_gflops"]), float(fields["triad_gbs"])


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class Case:
    """One kernel at one shape, with a factory per implementation.

    A factory builds (compiles) the implementation and returns a callable
    that runs it once and returns its outputs as NumPy-convertible arrays.
    `flops` is the nominal count used for GFLOP/s by every implementation;
    `bytes` the compulsory traffic (inputs read once, outputs written once).
    """
    kernel: str
    shape: str
    flops: float
    bytes: float
    factories: dict
    compare: object          # (clusopt outputs, peer outputs) -> (ok, text)
    oracle: object           # () -> float64 outputs, for clusopt's check
    extra: dict = dataclasses.field(default_factory=dict)


def rng_inputs(seed, *shapes):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s, dtype=np.float32) for s in shapes]


def float_compare(ref, got, tol=1e-4):
    """The f32 bound of docs/numerics.md:
    max |err| ≤ 1e-4 · max(1, max|ref|)."""
    worst, ok = 0.0, True
    for r, g in zip(ref, got):
        r, g = np.asarray(r, np.float64), np.asarray(g, np.float64)
        if r.shape != g.shape or not np.isfinite(g).all():
            return False, "shape or non-finite mismatch"
        err = float(np.abs(r - g).max())
        worst = max(worst, err)
        ok &= err <= tol * max(1.0, float(np.abs(r).max()))
    return ok, f"max|err|={worst:.1e}"


def torch_factories(name, inputs, *static_args):
    """Eager and torch.compile factories for the peer `torch_peers.<name>`,
    called on `inputs` (as tensors sharing the NumPy memory) and then
    `static_args`. torch is imported only when a factory runs, so the
    benchmark still runs its other implementations without it."""
    def setup():
        import torch
        import torch_peers
        torch.set_num_threads(ARGS.threads)
        return torch, getattr(torch_peers, name), \
            [torch.from_numpy(a) for a in inputs]

    def eager():
        torch, fn, args = setup()

        def run():
            with torch.inference_mode():
                return fn(*args, *static_args)
        return run

    def compiled():
        torch, fn, args = setup()
        # A fresh dynamo state per case: every shape gets its own static
        # specialisation instead of a dynamic-shape recompile.
        torch._dynamo.reset()
        cfn = torch.compile(fn)

        def run():
            with torch.inference_mode():
                return cfn(*args, *static_args)
        return run
    return {"torch-eager": eager, "torch-compile": compiled}


def _poisoned(shapes, dtypes):
    """Output buffers filled with NaN (or a huge negative index), so an
    element a kernel forgets to write cannot pass the check by luck."""
    return [np.full(s, -123456789 if d == np.int32 else np.nan, d)
            for s, d in zip(shapes, dtypes)]


def clusopt_factories(source, inputs, out_shapes, out_dtypes=None):
    out_dtypes = out_dtypes or [np.float32] * len(out_shapes)

    def make(backend):
        def factory():
            return ck.Kernel(source, backend, inputs,
                             _poisoned(out_shapes, out_dtypes))
        return factory
    return {"clusopt": make(ck.OPTIMISED), "reference": make(ck.REFERENCE)}


def halide_factory(build, inputs, out_shapes, out_dtypes=None):
    out_dtypes = out_dtypes or [np.float32] * len(out_shapes)

    def factory():
        import halide_peers
        return getattr(halide_peers, build)(
            *inputs, *_poisoned(out_shapes, out_dtypes))
    return {"halide": factory}


def softmax_flops(elements):
    # max, subtract, exp, sum, scale: 5 per element (exp counted as one).
    return 5.0 * elements


def paca_cases(stages, batches):
    cases = []
    for stage, (N, C, H) in stages:
        M, D = 100, C // H
        for B in batches:
            label = f"{stage} B={B} N={N} M={M} C={C} H={H}"
            lg, x, q, kv = rng_inputs(B * 1000 + N, (B, M, N), (B, N, C),
                                      (B, H, N, D), (B, H, M, D))
            pool_flops = 2.0 * B * M * N * C + softmax_flops(B * M * N)
            attn_flops = 4.0 * B * H * N * M * D + softmax_flops(B * H * N * M)
            f32 = 4.0

            def pool_oracle(lg=lg, x=x):
                return [oracle.pool(oracle.soft_assign(lg), x)]

            def attn_oracle(q=q, kv=kv):
                return [oracle.attention(q, [(kv, kv)])]

            def fused_oracle(lg=lg, x=x, q=q, B=B, M=M, H=H, D=D):
                y = oracle.pool(oracle.soft_assign(lg), x)
                kvy = y.reshape(B, M, H, D).transpose(0, 2, 1, 3)
                return [oracle.attention(q, [(kvy, kvy)])]

            fused = {}
            fused.update(clusopt_factories(
                ck.paca_fused_source(B, M, N, C, H), [lg, x, q], [q.shape]))
            fused.update(torch_factories("paca_fused", [lg, x, q]))
            fused.update(halide_factory("paca_fused", [lg, x, q], [q.shape]))
            cases.append(Case(
                "paca_fused", label, pool_flops + attn_flops,
                f32 * (lg.size + x.size + 2 * q.size), fused,
                lambda r, g: float_compare(r, g), fused_oracle))

            pool = {}
            pool.update(clusopt_factories(ck.pool_source(B, M, N, C),
                                          [lg, x], [(B, M, C)]))
            pool.update(torch_factories("pool", [lg, x]))
            pool.update(halide_factory("pool", [lg, x], [(B, M, C)]))
            cases.append(Case(
                "pool", label, pool_flops,
                f32 * (lg.size + x.size + B * M * C), pool,
                lambda r, g: float_compare(r, g), pool_oracle))

            attn = {}
            attn.update(clusopt_factories(ck.attention_source(B, H, N, M, D),
                                          [q, kv], [q.shape]))
            attn.update(torch_factories("attention", [q, kv]))
            attn.update(halide_factory("attention", [q, kv], [q.shape]))
            cases.append(Case(
                "attention", label, attn_flops,
                f32 * (2 * q.size + kv.size), attn,
                lambda r, g: float_compare(r, g), attn_oracle))
    return cases


def dpc_compare(ref, got):
    """Indices must be identical; report how far off a peer is."""
    (ra, rc), (ga, gc) = ref, got
    ra, rc = np.asarray(ra).reshape(-1), np.asarray(rc).reshape(-1)
    ga, gc = np.asarray(ga).reshape(-1), np.asarray(gc).reshape(-1)
    same_c = int((rc == gc).sum())
    same_a = int((ra == ga).sum())
    ok = same_c == rc.size and same_a == ra.size
    text = "identical" if ok else (
        f"centres {rc.size - same_c}/{rc.size} differ, "
        f"assign {ra.size - same_a}/{ra.size} differ")
    return ok, text


def dpc_cases(cluster_counts, N=3136, C=64, k=5):
    cases = []
    x, = rng_inputs(7, (1, N, C))
    for M in cluster_counts:
        label = f"B=1 N={N} C={C} M={M} k={k}"
        facs = clusopt_factories(ck.dpc_knn_source(1, N, C, [M], k), [x],
                                 [(1, 1, N), (1, 1, M)],
                                 [np.int32, np.int32])
        # Returns assign [1, N] and centres [1, M]; dpc_compare flattens.
        facs.update(torch_factories("dpc_knn", [x], M, k))
        facs.update(halide_factory(
            "dpc_knn", [x, M, k], [(1, 1, N), (1, 1, M)],
            [np.int32, np.int32]))
        # Nominal: the distance matrix once (3 flops per channel) plus the
        # distances to the centres; clusopt recomputes distances per pass
        # instead of storing them, which this count does not credit.
        flops = 3.0 * N * N * C + 3.0 * N * M * C
        cases.append(Case(
            "dpc_knn", label, flops, 4.0 * (x.size + N + M), facs,
            dpc_compare, lambda x=x, M=M: list(oracle.dpc_knn(x, [M], k)),
            {"clusters": M}))
    return cases


def cast_cases(B=1, H=3, N=196, D=64, M=14, kappa=28):
    q, k, v, aq, ak, g = rng_inputs(11, *[(B, H, N, D)] * 3,
                                    *[(B, H, N, M)] * 2, (B, N, M))
    # CAST Top-K membership: each cluster takes the κ tokens of highest
    # affinity, so tokens can be in several clusters or in none.
    members = oracle.topk_members(g, kappa)
    label = f"B={B} H={H} N={N} D={D} M={M} kappa={kappa}"
    inputs = [q, k, v, members, aq, ak]
    facs = clusopt_factories(ck.cluster_attention_source(B, H, N, D, M, kappa),
                             inputs, [q.shape])
    facs.update(torch_factories("cluster_attention", inputs))
    facs.update(halide_factory("cluster_attention", inputs, [q.shape]))
    slots = B * H * M * kappa
    flops = (slots * (4.0 * kappa * D + 2.0 * (M - 1) * D)   # intra + inter
             + softmax_flops(slots * (kappa + M - 1))
             + 2.0 * B * H * M * N * D + softmax_flops(B * H * N * M))  # R
    bytes_ = 4.0 * (4 * q.size + 2 * aq.size + members.size)
    in_none = N - len(np.unique(members[members >= 0]))
    return [Case("cluster_attention", label, flops, bytes_, facs,
                 lambda r, g: float_compare(r, g),
                 lambda: [oracle.cluster_attention(*inputs)],
                 {"tokens_in_no_cluster": in_none})]


PACA_STAGES = [("s1", (3136, 96, 2)), ("s2", (784, 192, 4)),
               ("s3", (196, 320, 8))]


def all_cases(quick):
    if quick:
        cases = paca_cases(PACA_STAGES[2:], [1]) + dpc_cases([49]) + \
            cast_cases()
    else:
        cases = paca_cases(PACA_STAGES, [1, 8]) + dpc_cases([49, 196]) + \
            cast_cases()
    if ARGS.only:
        cases = [c for c in cases if any(o in c.kernel for o in ARGS.only)]
    return cases


# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------

def to_numpy(outputs):
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return [o.numpy() if hasattr(o, "numpy") else np.asarray(o)
            for o in outputs]


def run_case(case, reps, log):
    """Rows (one per implementation) for one case."""
    rows = []
    ref_out = None
    for impl in IMPLS:
        if impl in ARGS.skip or impl not in case.factories:
            continue
        row = {"kernel": case.kernel, "shape": case.shape, "impl": impl,
               "note": "", "check": ""}
        rows.append(row)
        try:
            t0 = time.perf_counter()
            fn = case.factories[impl]()
            out = to_numpy(fn())  # the first call compiles torch.compile
            row["build_s"] = time.perf_counter() - t0
            if hasattr(fn, "schedule"):
                row["note"] = fn.schedule
                for err in fn.errors:
                    log(f"  halide {case.kernel} {case.shape}: {err}")
        except Exception as e:
            row["check"] = "FAILED"
            row["note"] = f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"
            log(f"  {impl} failed on {case.kernel} {case.shape}:\n"
                + traceback.format_exc(limit=3))
            continue
        if impl == "clusopt":
            ref_out = [np.array(o) for o in out]  # copy: buffers are reused
            ok, text = case.compare(case.oracle(), ref_out)
            row["check"] = ("ok" if ok else "MISMATCH") + f" vs oracle: {text}"
        elif ref_out is not None:
            ok, text = case.compare(ref_out, out)
            row["check"] = ("ok" if ok else "MISMATCH") + f": {text}"
        else:
            row["check"] = "unchecked (clusopt failed)"
        row.update(measure(fn, reps))
        log(f"  {impl:14s} {row['median'] * 1e3:10.3f} ms  {row['check']}")
        del fn
    return rows


def add_metrics(rows, case, peak, bw):
    base = next((r for r in rows if r["impl"] == "clusopt" and "median" in r),
                None)
    ai = case.flops / case.bytes
    bound = min(peak, ai * bw)
    for r in rows:
        r["gflop"] = case.flops / 1e9
        r["ai"] = ai
        r["roof_gflops"] = bound
        if "median" not in r:
            continue
        r["gflops"] = case.flops / r["median"] / 1e9
        r["gbs"] = case.bytes / r["median"] / 1e9
        r["roof_frac"] = r["gflops"] / bound
        r["iqr_pct"] = 100.0 * (r["p75"] - r["p25"]) / r["median"]
        if base:
            r["speedup"] = r["median"] / base["median"]


def measure_peak_memory(spec):
    """Child-process mode: extra resident memory of one dpc_knn call.

    Runs with MALLOC_MMAP_THRESHOLD_ small (set by the parent), so every
    sizeable allocation is a fresh mapping and shows in the peak RSS instead
    of hiding in memory the allocator kept from an earlier call. The peak
    is reset (/proc/self/clear_refs) after a warm-up call.
    """
    impl, clusters = spec.split(":")
    case = dpc_cases([int(clusters)])[0]
    fn = case.factories[impl]()
    fn()

    def status(field):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = status("VmRSS:")
    fn()
    print(f"extra_bytes={status('VmHWM:') - before}")


def peak_memory(impl, clusters):
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="4096")
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--peak-memory", f"{impl}:{clusters}",
             "--threads", str(ARGS.threads)],
            capture_output=True, text=True, env=env, timeout=300)
        for line in out.stdout.splitlines():
            if line.startswith("extra_bytes="):
                return int(line.split("=")[1])
    except subprocess.TimeoutExpired:
        pass
    return None


# ---------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------

def fmt(v, spec, empty="-"):
    return empty if v is None or (isinstance(v, float) and math.isnan(v)) \
        else format(v, spec)


def print_table(rows, log):
    head = (f"{'kernel':18s} {'shape':34s} {'impl':14s} {'median ms':>10s} "
            f"{'IQR%':>5s} {'reps':>4s} {'GFLOP/s':>8s} {'GB/s':>7s} "
            f"{'%roof':>6s} {'peer/clus':>9s}  check / note")
    log(head)
    log("-" * len(head))
    last = None
    for r in rows:
        key = (r["kernel"], r["shape"])
        if last and key != last:
            log("")
        last = key
        note = r["check"] + (f" [{r['note']}]" if r["note"] else "")
        log(f"{r['kernel']:18s} {r['shape']:34s} {r['impl']:14s} "
            f"{fmt(r.get('median') and r['median'] * 1e3, '10.3f'):>10s} "
            f"{fmt(r.get('iqr_pct'), '5.1f'):>5s} "
            f"{fmt(r.get('reps'), '4d'):>4s} "
            f"{fmt(r.get('gflops'), '8.2f'):>8s} "
            f"{fmt(r.get('gbs'), '7.2f'):>7s} "
            f"{fmt(r.get('roof_frac') and 100 * r['roof_frac'], '6.1f'):>6s} "
            f"{fmt(r.get('speedup'), '9.2f'):>9s}  {note}")


CSV_FIELDS = [
    ("kernel", "kernel"), ("shape", "shape"), ("impl", "impl"),
    ("median_ms", "median"), ("p25_ms", "p25"), ("p75_ms", "p75"),
    ("min_ms", "min"), ("iqr_pct", "iqr_pct"), ("reps", "reps"),
    ("gflop", "gflop"), ("gflops", "gflops"), ("gbs", "gbs"),
    ("arith_intensity", "ai"), ("roofline_gflops", "roof_gflops"),
    ("roofline_frac", "roof_frac"),
    ("speedup_clusopt_vs_impl", "speedup"), ("build_s", "build_s"),
    ("extra_mem_mb", "extra_mb"), ("check", "check"), ("note", "note")]


def write_csv(rows, path):
    ms = {"median", "p25", "p75", "min"}
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([name for name, _ in CSV_FIELDS])
        for r in rows:
            out = []
            for _, key in CSV_FIELDS:
                v = r.get(key)
                if v is None:
                    out.append("")
                elif key in ms:
                    out.append(f"{v * 1e3:.4f}")
                elif isinstance(v, float):
                    out.append(f"{v:.4g}")
                else:
                    out.append(v)
            w.writerow(out)


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = list(dict.fromkeys((r["kernel"], r["shape"]) for r in rows))
    impls = [i for i in IMPLS if any(r["impl"] == i for r in rows)]
    by = {(r["kernel"], r["shape"], r["impl"]): r for r in rows}
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(10, len(cases)), 9),
                                      sharex=True)
    width = 0.8 / len(impls)
    for i, impl in enumerate(impls):
        xs, ms, sp = [], [], []
        for j, (k, s) in enumerate(cases):
            r = by.get((k, s, impl))
            if r and "median" in r:
                xs.append(j + (i - (len(impls) - 1) / 2) * width)
                ms.append(r["median"] * 1e3)
                sp.append(r.get("speedup", float("nan")))
        top.bar(xs, ms, width, label=impl)
        if impl != "clusopt":
            bottom.bar(xs, sp, width, label=impl,
                       color=f"C{i}")
    top.set_yscale("log")
    top.set_ylabel("median time [ms] (log)")
    top.legend(ncol=len(impls), fontsize=8)
    top.grid(axis="y", which="both", alpha=0.3)
    bottom.set_yscale("log")
    bottom.axhline(1.0, color="black", linewidth=0.8)
    bottom.set_ylabel("peer time / clusopt time (log)\n> 1: clusopt faster")
    bottom.grid(axis="y", which="both", alpha=0.3)
    bottom.set_xticks(range(len(cases)))
    bottom.set_xticklabels([f"{k}\n{s}".replace(" N=", "\nN=", 1)
                            for k, s in cases], rotation=90, fontsize=7)
    fig.suptitle(f"clusopt CPU kernels vs peers ({ARGS.threads} threads, "
                 f"{cpu_name()}, clusopt built for "
                 f"{toolchain.isa_name(ck.TARGET)})")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def versions():
    import importlib.metadata
    out = {"python": platform.python_version()}
    for dist in ("numpy", "torch", "halide", "matplotlib"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "not installed"
    opt = toolchain.build_dir() / "bin" / "clusopt-opt"
    out["clusopt-opt"] = f"{opt} (mtime {time.ctime(os.stat(opt).st_mtime)})"
    return out


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


class OtherLoad:
    """CPU time that other processes take while the benchmark runs.

    /proc/stat's busy time of the whole machine minus this process's own
    CPU time (and its waited-for children: compilers, the roofline probe),
    divided by wall time, is the average number of cores taken by others.
    A load average would also count this process and lags by minutes.
    """

    def __init__(self):
        self.t0, self.busy0, self.own0 = self._sample()

    @staticmethod
    def _sample():
        with open("/proc/stat") as f:
            # user nice system idle iowait irq softirq steal
            ticks = [int(v) for v in f.readline().split()[1:9]]
        busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
        t = os.times()
        own = t.user + t.system + t.children_user + t.children_system
        return time.monotonic(), busy, own

    def cores(self):
        t, busy, own = self._sample()
        return max(0.0, (busy - self.busy0) - (own - self.own0)) / \
            max(t - self.t0, 1e-9)


def idle_check(log, when, cores):
    log(f"other processes {when}: {cores:.2f} cores busy on average")
    if cores > 0.1:
        log(f"WARNING: the machine is not idle; with {os.cpu_count()} cores, "
            f"every threaded implementation is slowed down and these "
            f"numbers are not reliable")


def main():
    if ARGS.peak_memory:
        measure_peak_memory(ARGS.peak_memory)
        return 0
    start = time.time()
    ARGS.out.mkdir(parents=True, exist_ok=True)
    log_lines = []

    def log(text=""):
        print(text, flush=True)
        log_lines.append(text)

    log(f"clusopt CPU benchmark: {cpu_name()}, {os.cpu_count()} cores, "
        f"{ARGS.threads} threads")
    forced = " (--target)" if ARGS.target else ""
    log(f"ISA: {toolchain.isa_name(ck.TARGET)}{forced}; this CPU's widest "
        f"level is {toolchain.isa_name('host')}")
    probe = OtherLoad()
    time.sleep(1.0)
    load_before = probe.cores()
    idle_check(log, "before the start (1 s)", load_before)
    during = OtherLoad()
    peak, bw = machine_roofline(ARGS.threads, ck.TARGET)
    log(f"roofline ({toolchain.isa_name(ck.TARGET)}): peak f32 FMA "
        f"{peak:.1f} GFLOP/s, triad bandwidth "
        f"{bw:.1f} GB/s (ridge at {peak / bw:.1f} flop/byte)")

    for name in ("torch", "halide"):
        try:
            __import__(name)
        except ImportError:
            peers = ["torch-eager", "torch-compile"] if name == "torch" \
                else ["halide"]
            log(f"WARNING: {name} is not installed; skipping {peers}")
            ARGS.skip += peers

    reps = QUICK_REPS if ARGS.quick else FULL_REPS
    rows, cases = [], all_cases(ARGS.quick)
    for case in cases:
        log(f"{case.kernel} {case.shape}")
        case_rows = run_case(case, reps, log)
        add_metrics(case_rows, case, peak, bw)
        rows += case_rows

    # Extra memory of dpc_knn, the op whose point is to avoid the N×N
    # distance matrix: measured per implementation in a fresh process.
    memory = {}
    for case in cases:
        if case.kernel != "dpc_knn":
            continue
        M = case.extra["clusters"]
        for impl in ("clusopt", "reference", "torch-eager", "halide"):
            if impl in ARGS.skip:
                continue
            extra = peak_memory(impl, M)
            mb = None if extra is None else extra / 2**20
            memory[f"{impl} M={M}"] = mb
            for r in rows:
                if (r["kernel"], r["shape"], r["impl"]) == \
                        ("dpc_knn", case.shape, impl):
                    r["extra_mb"] = mb
        n = int(case.shape.split("N=")[1].split()[0])
        memory["one N×N f32 matrix"] = n * n * 4 / 2**20

    log("")
    print_table(rows, log)
    log("")
    log(f"roofline ({toolchain.isa_name(ck.TARGET)}): peak {peak:.1f} "
        f"GFLOP/s, bandwidth {bw:.1f} GB/s; "
        f"%roof = achieved / min(peak, AI × bandwidth)")
    if memory:
        log("dpc_knn extra resident memory per call (MB): " + ", ".join(
            f"{k}: {fmt(v, '.1f')}" for k, v in memory.items()))
    load_during = during.cores()
    idle_check(log, "during the run", load_during)
    bad = [r for r in rows if not r["check"].startswith("ok")]
    if bad:
        log("")
        log("ATTENTION: failed or mismatching implementations:")
        for r in bad:
            log(f"  {r['kernel']} {r['shape']} {r['impl']}: {r['check']} "
                f"{r['note']}")
    elapsed = time.time() - start
    log(f"\ntotal time {elapsed:.0f} s")

    write_csv(rows, ARGS.out / "cpu_kernels.csv")
    written = "csv,png,txt"
    try:
        plot(rows, ARGS.out / "cpu_kernels.png")
    except ImportError as e:  # matplotlib is optional
        log(f"WARNING: no plot ({e})")
        written = "csv,txt"
    meta = {"cpu": cpu_name(), "cores": os.cpu_count(),
            "isa": toolchain.isa_name(ck.TARGET),
            "host_isa": toolchain.isa_name("host"),
            "threads": ARGS.threads, "quick": ARGS.quick,
            "other_cores_busy_before": load_before,
            "other_cores_busy_during": load_during,
            "peak_gflops": peak, "triad_gbs": bw,
            "dpc_knn_extra_memory_mb": memory,
            "versions": versions(), "elapsed_s": elapsed,
            "cast_tokens_in_no_cluster": next(
                (c.extra["tokens_in_no_cluster"] for c in cases
                 if c.kernel == "cluster_attention"), None)}
    (ARGS.out / "cpu_kernels_meta.json").write_text(
        json.dumps(meta, indent=2) + "\n")
    (ARGS.out / "cpu_kernels.txt").write_text("\n".join(log_lines) + "\n")
    log(f"wrote {ARGS.out}/cpu_kernels.{{{written}}} and "
        f"cpu_kernels_meta.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
