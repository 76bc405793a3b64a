#!/usr/bin/env python3
"""End-to-end model benchmark: clusopt-run against PyTorch eager and
onnxruntime on the same seeded weights, clustered against dense.

Not a test and not CI (needs torch, onnx and onnxruntime). For each case it
writes seeded random weights (`clusopt.models.paca.random_weights`), runs

- clusopt: `clusopt-run --runs N` (median latency), plus `--profile` for
  the per-layer breakdown (each layer's median over N profiled runs);
- the three in turn, for `--rounds` rounds of N runs each, so that the
  machine's drift hits them alike; medians over all rounds, and the
  median of the per-round speedups (the steadier figure on a drifting
  VM);
- PyTorch eager: the functional ports in `bench/paca/paca_torch.py`,
  `bench/clustr/clustr_torch.py` and `bench/cast/cast_torch.py`;
- onnxruntime: that port exported to ONNX (TorchScript exporter, weights as
  initialisers), run with the same thread count; an export or session that
  fails is reported as "export failed: <reason>" for that case;

checks that the three agree on the logits, and prints medians and ratios.
PaCa-ViT with clusters [0, 0, 0, 0] is the dense baseline (docs/models.md),
as ViT-dense is for CAST-ViT.

    python3 bench/models.py [--threads 2] [--runs 5] [--rounds 5]
        [--out bench/results]
        [--models clustr_b1,cast_vit]
"""

import argparse
import csv
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
for sub in ("paca", "clustr", "cast"):
    sys.path.insert(0, str(ROOT / "bench" / sub))
from clusopt import export  # noqa: E402
from clusopt.models import cast, clustr, paca  # noqa: E402
from clusopt.toolchain import build_dir, isa_name  # noqa: E402


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


# (model name in clusopt-run, (cfg, weights, torch forward), resolution, batch)
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


def clusopt_run(model, weights, image, threads, runs, profile=False):
    cmd = [str(build_dir() / "bin" / "clusopt-run"), "--model", model,
           "--weights", str(weights), "--image", str(image), "--threads",
           str(threads), "--runs", str(runs)]
    logits = pathlib.Path(str(image) + f".{model}.logits.npy")
    cmd += ["--profile"] if profile else ["--dump-logits", str(logits)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        return None, None, out.stderr.strip().splitlines()[-1]
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


def prepare_peers(torch, forward, weights, cfg, images, threads, tmp):
    """Callables for PyTorch eager and onnxruntime on this case; the
    onnxruntime one is None, with the reason, when export or session fails."""
    import onnxruntime as ort

    w = {k: torch.from_numpy(v.astype(np.float32)) for k, v in weights.items()}
    x = torch.from_numpy(images)

    def eager():
        with torch.inference_mode():
            return forward(torch, x, w, cfg).numpy()

    class Model(torch.nn.Module):
        def forward(self, images):
            return forward(torch, images, w, cfg)

    path = tmp / "model.onnx"
    try:
        torch.onnx.export(Model(), (x,), str(path), dynamo=False,
                          opset_version=17)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(path), options,
                                       providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        session.run(None, {name: images})
    except Exception as e:  # noqa: BLE001 -- report, do not crash
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        return eager, None, f"onnxruntime failed: {reason[:160]}"
    return eager, (lambda: session.run(None, {name: images})[0]), ""


def interleaved(model, wpath, ipath, eager, ort_run, threads, runs, rounds):
    """Medians over `rounds` rounds, each timing clusopt-run, eager and
    onnxruntime `runs` times in turn, so that a shared VM's drift (its
    speed varied 1.5x within minutes) hits all three alike. clusopt-run
    reports its own median per round; the median of those is taken."""
    ours, eager_t, ort_t = [], [], []
    ours_logits = eager_out = ort_out = None
    note = ""
    for _ in range(rounds):
        ms, logits, note = clusopt_run(model, wpath, ipath, threads, runs)
        if ms is not None:
            ours.append(ms)
            ours_logits = logits
        ms, eager_out = timed(eager, runs)
        eager_t.append(ms)
        if ort_run:
            ms, ort_out = timed(ort_run, runs)
            ort_t.append(ms)
    med = (lambda v: float(np.median(v)) if v else None)
    # Each round's ratio, then their median: rounds minutes apart see
    # different machine speeds, and a ratio within one round does not.
    per_round = (lambda peer: med([p / o for o, p in zip(ours, peer)])
                 if ours and len(peer) == len(ours) else None)
    return (med(ours), ours_logits, note, med(eager_t), eager_out, med(ort_t),
            ort_out, per_round(eager_t), per_round(ort_t))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5,
                    help="timed runs per implementation per round")
    ap.add_argument("--rounds", type=int, default=5,
                    help="rounds of clusopt, eager, onnxruntime in turn")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    ap.add_argument("--models", default="",
                    help="comma-separated clusopt-run model names to keep "
                         "(default: every case)")
    args = ap.parse_args()
    keep = set(filter(None, args.models.split(",")))
    import torch
    torch.set_num_threads(args.threads)
    out_dir = pathlib.Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    # clusopt-run builds its kernels for this CPU (--target=host).
    print(f"# models: ISA {isa_name('host')}, {os.cpu_count()} CPUs, "
          f"{args.threads} threads, "
          f"{args.rounds} rounds x {args.runs} runs, load average {os.getloadavg()[0]:.2f}, torch {torch.__version__}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    rows, profiles = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        for model, make, res, batch in CASES:
            if keep and model not in keep:
                continue
            cfg, weights, forward = make()
            images = np.random.default_rng(1).standard_normal(
                (batch, 3, res, res)).astype(np.float32)
            wpath, ipath = tmp / f"{model}.safetensors", tmp / f"{res}_{batch}.npy"
            export.export_state_dict(weights, wpath, dtype="f32")
            np.save(ipath, images)
            eager_fn, ort_fn, ort_note = prepare_peers(
                torch, forward, weights, cfg, images, args.threads, tmp)
            (ours_ms, ours, note, eager_ms, eager, ort_ms, ort_out,
             eager_rounds, ort_rounds) = interleaved(
                 model, wpath, ipath, eager_fn, ort_fn, args.threads,
                 args.runs, args.rounds)
            if not ort_fn:
                ort_out = ort_note
            scale = np.abs(eager).max()
            agree = (f"max|ours-eager|/max={np.abs(ours - eager).max() / scale:.1e}"
                     if ours is not None else note)
            agree += (f", max|ort-eager|/max="
                      f"{np.abs(ort_out - eager).max() / scale:.1e}"
                      if ort_ms else "")
            case = f"{model} {res}x{res} B={batch}"
            print(f"\n{case}: {agree}")
            for impl, ms, rounds in (("clusopt", ours_ms, None),
                                     ("torch-eager", eager_ms, eager_rounds),
                                     ("onnxruntime", ort_ms, ort_rounds)):
                ratio = (ms / ours_ms) if ours_ms and ms else None
                failed = impl == "onnxruntime" and ms is None
                print(f"  {impl:12s} " +
                      (f"{ms:9.2f} ms" if ms else
                       f"      {ort_out}" if failed else "      n/a   ") +
                      (f"  clusopt speedup {ratio:5.2f}x" if ratio else "") +
                      (f" (per-round median {rounds:5.2f}x)" if rounds
                       else ""))
                rows.append(dict(model=model, resolution=res, batch=batch,
                                 impl=impl, median_ms=ms,
                                 speedup_per_round=rounds,
                                 check=ort_out if failed else agree))
            if ours_ms and batch == 1:
                _, _, table = clusopt_run(model, wpath, ipath, args.threads,
                                          args.runs, profile=True)
                profiles.append(f"## {case}\n{table}")
    with open(out_dir / "models.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (out_dir / "models_profile.txt").write_text("\n".join(profiles))
    print(f"\nwrote {out_dir}/models.csv and models_profile.txt")


if __name__ == "__main__":
    sys.exit(main())
