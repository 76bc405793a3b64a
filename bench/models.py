#!/usr/bin/env python3
"""End-to-end model benchmark: clusopt-run against PyTorch eager,
torch.compile, onnxruntime and OpenVINO on the same seeded weights and
thread count, clustered against dense.

Not a test and not CI. For each case it writes seeded random weights
(`clusopt.models.paca.random_weights` and the like) and measures these
peers (`--peers` picks some; a peer whose Python module is missing is
skipped with a message naming the module):

- clusopt: `clusopt-run --runs N` (its own median latency), plus
  `--profile` for the per-layer breakdown at B = 1;
- clusopt-compiled: `clusopt.compile_model(module, (images,))`, the
  importer's compiled model (issue 20). HOOK: not on this branch yet; the
  peer is skipped until the package has `compile_model` and then runs
  with no change here (see `compiled_clusopt`);
- torch-eager: the functional ports in `bench/paca/paca_torch.py`,
  `bench/clustr/clustr_torch.py` and `bench/cast/cast_torch.py`, wrapped in
  an `nn.Module` whose parameters are the weights, under `inference_mode`;
- torch-compile: that module through `torch.compile` (inductor) with
  `torch._inductor.config.freezing = True`, run under `torch.no_grad()`;
  the first call (compilation) is excluded from the timings and reported
  as its build time;
- onnxruntime: the module exported to ONNX (TorchScript exporter, weights
  as initialisers), CPU provider, the same thread count;
- openvino: that ONNX file (or, when there is none or it does not load,
  `openvino.convert_model` of the module), CPU plugin, f32 inference
  precision hint, `INFERENCE_NUM_THREADS` = the thread count, latency hint.

A peer whose export, compilation or first run fails is reported as
"failed: <reason>" for that case; the others still run. The peers run in
turn for `--rounds` rounds of N runs each, so that a shared machine's drift
hits them alike; reported are each peer's median over all rounds, the ratio
of medians, and the median of the per-round ratios (peer time / clusopt
time: above 1, clusopt is faster), the steadier figure on a drifting VM.
Every peer's logits are checked against eager PyTorch's (max |difference|
over max |logit|, at most REL_TOL); a mismatch is flagged in the log and
the CSV, listed at the end, and makes the exit status 1.
PaCa-ViT with clusters [0, 0, 0, 0] is the dense baseline (docs/models.md),
as ViT-dense is for CAST-ViT.

    python3 bench/models.py [--threads 2] [--runs 5] [--rounds 5]
        [--models paca_tiny,clustr_b1] [--resolutions 224] [--batch 1,8]
        [--peers clusopt,torch-eager,openvino] [--out bench/results]
"""

import argparse
import csv
import importlib.util
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
for sub in ("paca", "clustr", "cast"):
    sys.path.insert(0, str(ROOT / "bench" / sub))
from clusopt import export, toolchain  # noqa: E402
from clusopt.models import cast, clustr, paca  # noqa: E402
from clusopt.toolchain import build_dir, host_target, isa_name  # noqa: E402

# Logits agree when max|peer - eager| <= REL_TOL * max|eager| (the float
# tolerance of docs/numerics.md, relative to the largest logit).
REL_TOL = 1e-4

# In the order they run within a round.
PEERS = ("clusopt", "clusopt-compiled", "torch-eager", "torch-compile",
         "onnxruntime", "openvino")
# Python modules each peer needs, and how to install them.
REQUIRES = {
    "clusopt": (),
    "clusopt-compiled": ("torch",),
    "torch-eager": ("torch",),
    "torch-compile": ("torch",),
    "onnxruntime": ("torch", "onnx", "onnxruntime"),
    "openvino": ("torch", "openvino"),
}
INSTALL = "pip install torch onnx onnxruntime openvino"


def _paca(size, clusters):
    from paca_torch import forward
    cfg = paca.config(size, clusters=clusters)
    return cfg, paca.random_weights(cfg, seed=0, bias_std=0.02), forward


def _clustr(name):
    from clustr_torch import forward
    cfg = clustr.config(name)
    return cfg, clustr.random_weights(cfg, seed=0, bias_std=0.02), forward


def _cast(resolution, dense):
    from cast_torch import forward
    cfg = cast.config(resolution)
    return (cfg, cast.random_weights(cfg, seed=0, bias_std=0.02),
            lambda torch, x, w, cfg: forward(torch, x, w, cfg, dense=dense))


# (model name in clusopt-run, (cfg, weights, torch forward), resolution,
# batch). The first, fifth and sixth are issue 20's targets.
CASES = [
    ("paca_tiny", lambda: _paca("tiny", paca.CLUSTERS), 224, 1),
    ("paca_tiny_dense", lambda: _paca("tiny", (0, 0, 0, 0)), 224, 1),
    ("paca_tiny", lambda: _paca("tiny", paca.CLUSTERS), 448, 1),
    ("paca_tiny_dense", lambda: _paca("tiny", (0, 0, 0, 0)), 448, 1),
    ("paca_tiny", lambda: _paca("tiny", paca.CLUSTERS), 224, 8),
    ("clustr_b1", lambda: _clustr("b1"), 224, 1),
    ("cast_vit", lambda: _cast(224, False), 224, 1),
    ("vit_dense", lambda: _cast(224, True), 224, 1),
]


def _csv_list(kind):
    def parse(text):
        items = [s.strip() for s in text.split(",") if s.strip()]
        try:
            return [kind(s) for s in items]
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    return parse


def _peer_list(text):
    peers = _csv_list(str)(text)
    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown peer {', '.join(unknown)} (peers: {', '.join(PEERS)})")
    return peers


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2,
                    help="threads for every peer (default 2)")
    ap.add_argument("--runs", type=int, default=5,
                    help="timed runs per peer per round")
    ap.add_argument("--rounds", type=int, default=5,
                    help="rounds of all peers in turn")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"),
                    help="directory for models.csv, models.txt and "
                         "models_profile.txt")
    ap.add_argument("--models", type=_csv_list(str), default=[],
                    help="comma-separated clusopt-run model names to keep "
                         "(default: every case)")
    ap.add_argument("--resolutions", type=_csv_list(int), default=[],
                    help="comma-separated resolutions to keep (default: "
                         "every case's)")
    ap.add_argument("--batch", type=_csv_list(int), default=[],
                    help="comma-separated batch sizes: each kept "
                         "(model, resolution) runs at each of them instead "
                         "of its listed batch")
    ap.add_argument("--peers", type=_peer_list, default=list(PEERS),
                    help=f"comma-separated peers (default: all of "
                         f"{', '.join(PEERS)})")
    ap.add_argument("--no-peak", action="store_true",
                    help="do not measure the FMA peak (bench/roofline.c)")
    args = ap.parse_args(argv)
    if args.threads < 1 or args.runs < 1 or args.rounds < 1:
        ap.error("--threads, --runs and --rounds must be at least 1")
    if any(b < 1 for b in args.batch):
        ap.error("--batch sizes must be at least 1")
    known = {model for model, *_ in CASES}
    unknown = [m for m in args.models if m not in known]
    if unknown:
        ap.error(f"unknown model {', '.join(unknown)} "
                 f"(models: {', '.join(sorted(known))})")
    return args


def select_cases(models=(), resolutions=(), batches=()):
    """CASES kept by model name and resolution (empty: all), each at every
    batch in `batches` instead of its own (empty: its own); duplicates
    dropped, order kept."""
    cases, seen = [], set()
    for model, make, res, batch in CASES:
        if (models and model not in models) or \
                (resolutions and res not in resolutions):
            continue
        for b in batches or (batch,):
            if (model, res, b) not in seen:
                seen.add((model, res, b))
                cases.append((model, make, res, b))
    return cases


def compiled_clusopt():
    """HOOK for issue 20's importer: `clusopt.compile_model(module,
    example_inputs)` returns a callable taking and returning torch tensors.
    None until the package has it (branch `importer`)."""
    import clusopt
    return getattr(clusopt, "compile_model", None)


def missing_modules(peer, find_spec=importlib.util.find_spec):
    return [m for m in REQUIRES[peer] if find_spec(m) is None]


def select_peers(requested, find_spec=importlib.util.find_spec,
                 clusopt_run=None, compile_model=None):
    """(peers to run, in PEERS order; {skipped peer: reason}). A peer is
    skipped when a module it needs is missing, clusopt when clusopt-run is
    not built, clusopt-compiled when the package has no compile_model."""
    clusopt_run = clusopt_run or build_dir() / "bin" / "clusopt-run"
    run, skipped = [], {}
    for peer in PEERS:
        if peer not in requested:
            continue
        missing = missing_modules(peer, find_spec)
        if missing:
            skipped[peer] = (f"module {', '.join(repr(m) for m in missing)} "
                             f"is not installed (pip install "
                             f"{' '.join(missing)})")
        elif peer == "clusopt" and not pathlib.Path(clusopt_run).exists():
            skipped[peer] = (f"{clusopt_run} is missing (build it with "
                             f"scripts/build.sh)")
        elif peer == "clusopt-compiled" and \
                (compile_model or compiled_clusopt)() is None:
            skipped[peer] = ("clusopt.compile_model is not in this clusopt "
                             "yet (the importer of issue 20)")
        else:
            run.append(peer)
    return run, skipped


def fma_peak(threads):
    """'<GFLOP/s> GFLOP/s (<isa>)' of bench/roofline.c --peak-only on
    `threads` threads, or why not."""
    llvm, lib = toolchain.LLVM_BIN, toolchain.openmp_lib_dir()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            exe = pathlib.Path(tmp) / "roofline"
            subprocess.run([str(llvm / "clang"), "-O2", "-fopenmp=libomp",
                            str(ROOT / "bench" / "roofline.c"), "-o",
                            str(exe), f"-L{lib}", f"-Wl,-rpath,{lib}"],
                           check=True, capture_output=True, timeout=120)
            out = subprocess.run(
                [str(exe), "--peak-only"], check=True, capture_output=True,
                text=True, timeout=120,
                env=dict(os.environ, OMP_NUM_THREADS=str(threads))).stdout
        fields = dict(kv.split("=", 1) for kv in out.split())
        return (f"{float(fields['peak_gflops']):.0f} GFLOP/s f32 FMA peak "
                f"({fields['vector']}, {threads} threads)")
    except (OSError, subprocess.SubprocessError, KeyError, ValueError) as e:
        return f"FMA peak not measured ({type(e).__name__}: {e})"


def clusopt_run(model, weights, image, threads, runs, profile=False):
    cmd = [str(build_dir() / "bin" / "clusopt-run"), "--model", model,
           "--weights", str(weights), "--image", str(image), "--threads",
           str(threads), "--runs", str(runs)]
    logits = pathlib.Path(str(image) + f".{model}.logits.npy")
    cmd += ["--profile"] if profile else ["--dump-logits", str(logits)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        lines = out.stderr.strip().splitlines() or [f"exit {out.returncode}"]
        return None, None, f"failed: {lines[-1]}"
    if profile:
        return None, None, out.stdout
    median = float(re.search(r"latency: median ([0-9.]+) ms", out.stdout)[1])
    return median, np.load(logits), ""


def timed(fn, runs):
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1e3, out


def _reason(e):
    lines = [s for s in str(e).strip().splitlines() if s.strip()]
    return f"{type(e).__name__}: {lines[0] if lines else ''}"[:200]


def prepare_peers(torch, peers, forward, weights, cfg, images, threads, tmp):
    """{peer: (callable returning logits as NumPy, build seconds, note)} for
    the Python peers on this case; a peer whose export, compilation or first
    run fails maps to (None, None, "failed: <reason>")."""
    x = torch.from_numpy(images)

    class Port(torch.nn.Module):
        """The functional port with the weights as parameters (not closure
        constants), so that freezing and the exporters see a model's
        parameters."""

        def __init__(self):
            super().__init__()
            self.names = list(weights)
            for i, name in enumerate(self.names):
                self.register_parameter(f"p{i}", torch.nn.Parameter(
                    torch.from_numpy(weights[name].astype(np.float32)),
                    requires_grad=False))

        def forward(self, images):
            w = {name: getattr(self, f"p{i}")
                 for i, name in enumerate(self.names)}
            return forward(torch, images, w, cfg)

    module = Port().eval()
    prepared = {}

    def attempt(peer, build):
        start = time.perf_counter()
        try:
            fn, note = build()
            fn()  # first run: compiles lazily for some peers
        except Exception as e:  # noqa: BLE001 -- report, do not crash
            prepared[peer] = (None, None, f"failed: {_reason(e)}")
            return
        prepared[peer] = (fn, time.perf_counter() - start, note)

    if "torch-eager" in peers:
        def eager():
            with torch.inference_mode():
                return module(x).numpy()
        attempt("torch-eager", lambda: (eager, ""))

    if "clusopt-compiled" in peers:
        def build_compiled():
            compiled = compiled_clusopt()(module, (x,))
            return (lambda: compiled(x).detach().numpy()), ""
        attempt("clusopt-compiled", build_compiled)

    if "torch-compile" in peers:
        def build_inductor():
            import torch._inductor.config as inductor_config
            torch._dynamo.reset()  # each case its own static specialisation
            inductor_config.freezing = True
            compiled = torch.compile(module, backend="inductor")

            def run():
                with torch.no_grad():
                    return compiled(x).numpy()
            return run, "inductor, freezing"
        attempt("torch-compile", build_inductor)

    onnx_path, onnx_error = tmp / "model.onnx", None
    if "onnxruntime" in peers or "openvino" in peers:
        onnx_path.unlink(missing_ok=True)
        if importlib.util.find_spec("onnx") is None:
            onnx_error = "module 'onnx' is not installed"
        else:
            try:
                # The TorchScript exporter's deprecation and tracer
                # warnings are about generality this fixed-shape export
                # does not need.
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    torch.onnx.export(module, (x,), str(onnx_path),
                                      dynamo=False, opset_version=17)
            except Exception as e:  # noqa: BLE001
                onnx_error = _reason(e)

    if "onnxruntime" in peers:
        def build_ort():
            if onnx_error:
                raise RuntimeError(f"ONNX export: {onnx_error}")
            import onnxruntime as ort
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            session = ort.InferenceSession(
                str(onnx_path), options, providers=["CPUExecutionProvider"])
            name = session.get_inputs()[0].name
            return (lambda: session.run(None, {name: images})[0]), ""
        attempt("onnxruntime", build_ort)

    if "openvino" in peers:
        def build_openvino():
            import openvino as ov
            core = ov.Core()
            config = {"INFERENCE_PRECISION_HINT": "f32",
                      "INFERENCE_NUM_THREADS": threads,
                      "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1}
            notes = []
            compiled = None
            if not onnx_error:
                try:
                    compiled = core.compile_model(
                        core.read_model(str(onnx_path)), "CPU", config)
                    notes.append("from ONNX")
                except Exception as e:  # noqa: BLE001
                    notes.append(f"ONNX failed ({_reason(e)})")
            else:
                notes.append(f"no ONNX ({onnx_error})")
            if compiled is None:
                with torch.no_grad():
                    ov_model = ov.convert_model(module, example_input=(x,))
                compiled = core.compile_model(ov_model, "CPU", config)
                notes.append("convert_model")
            # What the plugin took, not what was asked for.
            precision = compiled.get_property("INFERENCE_PRECISION_HINT")
            used = compiled.get_property("INFERENCE_NUM_THREADS")
            notes.append(f"{precision.get_type_name()}, threads={used}")
            request = compiled.create_infer_request()

            def run():
                request.infer({0: images})
                return request.get_output_tensor(0).data.copy()
            return run, "; ".join(notes)
        attempt("openvino", build_openvino)
    return prepared


def interleaved(peers, fns, model, wpath, ipath, threads, runs, rounds):
    """{peer: (per-round medians in ms, last logits, note)}: `rounds` rounds,
    each timing every peer `runs` times in turn (clusopt-run reports its
    own median per round), so that a shared VM's drift (its speed varied
    1.5x within minutes) hits them all alike."""
    times = {p: [] for p in peers}
    logits = dict.fromkeys(peers)
    notes = {p: "" for p in peers}
    for r in range(rounds):
        # Each round starts with the next peer, so that none always runs
        # first (after another's threads) or last.
        for peer in peers[r % len(peers):] + peers[:r % len(peers)]:
            if peer == "clusopt":
                ms, out, note = clusopt_run(model, wpath, ipath, threads,
                                            runs)
                if ms is None:
                    notes[peer] = note
                    continue
            else:
                ms, out = timed(fns[peer], runs)
            times[peer].append(ms)
            logits[peer] = out
    return {p: (times[p], logits[p], notes[p]) for p in peers}


def _median(values):
    return float(np.median(values)) if values else None


def per_round_ratio(ours, peer):
    """Median over rounds of peer time / clusopt time: rounds minutes apart
    see different machine speeds, one round's ratio does not."""
    if not ours or len(peer) != len(ours):
        return None
    return _median([p / o for o, p in zip(ours, peer)])


def agreement(logits, reference):
    """{peer: max|peer - reference| / max|reference|}, for peers with
    logits of the reference's shape (a wrong shape counts as inf)."""
    if reference is None:
        return {}
    scale = float(np.abs(reference).max()) or 1.0
    errors = {}
    for peer, out in logits.items():
        if out is None:
            continue
        out = np.asarray(out)
        errors[peer] = (float(np.abs(out - reference).max()) / scale
                        if out.shape == reference.shape else float("inf"))
    return errors


def main(argv=None):
    args = parse_args(argv)
    # Thread pools read these when they start; inductor compiles in this
    # process, not in a pool of workers that would compete with the timing.
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    os.environ.setdefault("TORCHINDUCTOR_COMPILE_THREADS", "1")
    lines = []

    def log(text=""):
        print(text, flush=True)
        lines.append(text)

    peers, skipped = select_peers(args.peers)
    torch = None
    if importlib.util.find_spec("torch") is not None:
        import torch
        torch.set_num_threads(args.threads)
    versions = ", ".join(
        f"{m} {importlib.import_module(m).__version__}"
        for m in ("torch", "onnxruntime", "openvino")
        if importlib.util.find_spec(m) is not None)
    # clusopt-run builds its kernels for this CPU (--target=host).
    log(f"# models: ISA {isa_name(host_target())}, {os.cpu_count()} CPUs, "
        f"{args.threads} threads, {args.rounds} rounds x {args.runs} runs, "
        f"load average {os.getloadavg()[0]:.2f}, {versions}, "
        f"{time.strftime('%Y-%m-%d %H:%M')}")
    if not args.no_peak:
        log(f"# {fma_peak(args.threads)}")
    log(f"# peers: {', '.join(peers) or 'none'}")
    for peer, reason in skipped.items():
        log(f"# skipped {peer}: {reason}")
    if not peers:
        log(f"nothing to run (install the peers: {INSTALL})")
        return 2
    out_dir = pathlib.Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows, profiles, mismatches, summary = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        for model, make, res, batch in select_cases(
                args.models, args.resolutions, args.batch):
            cfg, weights, forward = make()
            images = np.random.default_rng(1).standard_normal(
                (batch, 3, res, res)).astype(np.float32)
            wpath = tmp / f"{model}.safetensors"
            ipath = tmp / f"{res}_{batch}.npy"
            export.export_state_dict(weights, wpath, dtype="f32")
            np.save(ipath, images)
            prepared = (prepare_peers(torch, peers, forward, weights, cfg,
                                      images, args.threads, tmp)
                        if torch is not None else {})
            running = [p for p in peers
                       if p == "clusopt" or prepared[p][0] is not None]
            results = interleaved(
                running, {p: prepared[p][0] for p in running if p in prepared},
                model, wpath, ipath, args.threads, args.runs, args.rounds)
            logits = {p: r[1] for p, r in results.items()}
            ref_peer = next((p for p in ("torch-eager", "clusopt")
                             if logits.get(p) is not None), None)
            errors = agreement(logits, logits.get(ref_peer))
            case = f"{model} {res}x{res} B={batch}"
            log(f"\n{case}: max|peer-{ref_peer}|/max = " + ", ".join(
                f"{p} {e:.1e}" + (" MISMATCH" if e > REL_TOL else "")
                for p, e in errors.items() if p != ref_peer))
            ours = results.get("clusopt", ([], None, ""))[0]
            ours_ms = _median(ours)
            ratios = []
            for peer in peers:
                times, _, note = results.get(peer, ([], None, ""))
                build_s = prepared.get(peer, (None, None, ""))[1]
                note = note or prepared.get(peer, (None, None, ""))[2]
                ms = _median(times)
                ratio = ms / ours_ms if ms and ours_ms else None
                rounds = per_round_ratio(ours, times) \
                    if peer != "clusopt" else None
                err = errors.get(peer)
                if err is not None and err > REL_TOL:
                    mismatches.append(f"{case}: {peer} {err:.1e}")
                log(f"  {peer:16s} " +
                    (f"{ms:9.2f} ms" if ms else "      -     ") +
                    (f"  clusopt speedup {ratio:5.2f}x" if ratio
                     and peer != "clusopt" else "") +
                    (f" (per-round median {rounds:5.2f}x)" if rounds
                     else "") +
                    (f"  build {build_s:.1f} s" if build_s is not None
                     and peer not in ("torch-eager", "clusopt") else "") +
                    (f"  [{note}]" if note else ""))
                if peer != "clusopt":
                    ratios.append(f"{rounds:.2f}x" if rounds else "-")
                rows.append(dict(
                    model=model, resolution=res, batch=batch, impl=peer,
                    median_ms=ms, speedup=ratio, speedup_per_round=rounds,
                    build_s=build_s, max_rel_diff=err,
                    check=("MISMATCH" if err is not None and err > REL_TOL
                           else "ok" if err is not None else "-"),
                    note=note))
            summary.append((case, ratios))
            if ours_ms and batch == 1:
                _, _, table = clusopt_run(model, wpath, ipath, args.threads,
                                          args.runs, profile=True)
                profiles.append(f"## {case}\n{table}")
    log("\nclusopt speedup, median of per-round ratios (peer / clusopt):")
    log(f"  {'case':28s}" + "".join(f"{p:>18s}" for p in peers
                                    if p != "clusopt"))
    for case, ratios in summary:
        log(f"  {case:28s}" + "".join(f"{r:>18s}" for r in ratios))
    if mismatches:
        log(f"\nlogits differ by more than {REL_TOL:g} of the largest:")
        for m in mismatches:
            log(f"  {m}")
    if rows:
        with open(out_dir / "models.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    (out_dir / "models_profile.txt").write_text("\n".join(profiles))
    log(f"\nwrote {out_dir}/models.csv, models.txt and models_profile.txt")
    (out_dir / "models.txt").write_text("\n".join(lines) + "\n")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
