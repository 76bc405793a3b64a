#!/usr/bin/env python3
"""The steps of clusopt's main job; `scripts/demo.sh` runs them after
setup and build (see its --help and README.md's "Two commands").

1. tune (briefly) and compile docs/examples/paca_layer.mlir for this CPU;
2. check the compiled library against the NumPy float64 oracle;
3. classify runtime/data/cat.jpg with paca_tiny on seeded random weights;
4. time paca_tiny against its dense baseline, paca_tiny_dense;
5. print a summary table.

Every command it runs is printed first, so a user can rerun it. Scratch
files (tuning database, library, weights) live in one temporary directory,
removed at the end unless --keep.
"""

import argparse
import json
import os
import pathlib
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python"))

import clusopt  # noqa: E402
from clusopt import export, reference  # noqa: E402
from clusopt.models import paca  # noqa: E402

LAYER = REPO / "docs" / "examples" / "paca_layer.mlir"
PHOTO = REPO / "runtime" / "data" / "cat.jpg"
PHOTO_WHAT = "Chelsea, a tabby cat"
PHOTO_CLASS = 281  # ImageNet's "tabby"
WEIGHT_SEED = 0
# The f32 bound the numerics suite holds every kernel to: 1e-4 of the
# reference's largest magnitude (at least 1).
REL_TOL = 1e-4


class DemoError(Exception):
    """A step failed; the message says which and why."""


def say(text=""):
    print(text, flush=True)


def tool(name):
    build = pathlib.Path(os.environ.get("CLUSOPT_BUILD_DIR", REPO / "build"))
    return str(build / "bin" / name)


def shown(cmd):
    """A command as the user would type it from the repository root."""
    return " ".join(shlex.quote(str(word).replace(str(REPO) + "/", ""))
                    for word in cmd)


def run(cmd, capture=False):
    """Runs `cmd`, printed first; with `capture`, returns its stdout.
    Otherwise its output (clusopt-tune's progress bar on a terminal) goes
    straight to the user."""
    say("  $ " + shown(cmd))
    with subprocess.Popen(list(map(str, cmd)), text=True,
                          stdout=subprocess.PIPE if capture else None) as proc:
        try:
            stdout, _ = proc.communicate()
        except KeyboardInterrupt:
            # Let the tool clean up its own scratch files (clusopt-tune's
            # candidates) rather than being killed.
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            raise
    if proc.returncode:
        raise DemoError(f"{pathlib.Path(str(cmd[0])).name} failed "
                        f"(exit status {proc.returncode})")
    return stdout


def tune_and_compile(scratch, budget):
    """clusopt-tune for `budget` seconds into a scratch database, then
    clusopt-compile with it; returns the library, its manifest and the
    tiles picked, for the summary."""
    db = scratch / "tuning.sqlite"
    lib = scratch / "paca_layer.so"
    run([tool("clusopt-tune"), LAYER, "--target=host", f"--budget={budget}",
         f"--db={db}"])
    run([tool("clusopt-compile"), LAYER, "--target=host",
         f"--tuning-db={db}", "-o", lib])
    manifest = json.loads(lib.with_suffix(".json").read_text())
    target = manifest["target"]
    say(f"  -> {lib.name} (+ .h, .json) for {target['cpu']}, vectors of "
        f"{target['vector_width']} floats:")
    tiles = []
    for entry in manifest["entry_points"]:
        for op in entry["ops"]:
            if "tile" in op:
                tile = f"rows={op['tile']['rows']},cols={op['tile']['cols']}"
                tiles.append(f"{op['op'].removeprefix('clus.')} {tile}")
                say(f"     {entry['name']}: {op['op']} tile {tile} "
                    f"(from {op['tile_source']})")
    return lib, manifest, "; ".join(tiles)


def oracle_inputs(manifest, rng):
    """Seeded standard-normal inputs per entry point, as the manifest
    declares them."""
    inputs = {}
    for entry in manifest["entry_points"]:
        inputs[entry["name"]] = [
            rng.standard_normal(arg["shape"]).astype(np.float32)
            for arg in entry["arguments"]]
    return inputs


# What each entry point of paca_layer.mlir computes, in float64.
ORACLE = {
    "assign_pool": lambda logits, x: reference.pool(
        reference.soft_assign(logits), x),
    "cluster_attention": lambda q, k, v: reference.attention(q, [(k, v)]),
}


def check_oracle(lib_path, manifest):
    """Calls every entry point through clusopt.load and compares it with
    the float64 oracle; returns (all within tolerance, worst error as a
    fraction of its tolerance)."""
    lib = clusopt.load(lib_path)
    inputs = oracle_inputs(manifest, np.random.default_rng(0))
    worst = 0.0
    ok = True
    for name, args in inputs.items():
        call = getattr(lib, name)  # one callable per entry point
        got = call(*args)
        if isinstance(got, (tuple, list)):
            (got,) = got
        want = ORACLE[name](*args)
        if got.shape != want.shape:
            raise DemoError(f"{name} returned shape {got.shape}, the oracle "
                            f"{want.shape}")
        err = float(np.abs(got.astype(np.float64) - want).max())
        tol = REL_TOL * max(1.0, float(np.abs(want).max()))
        passed = err <= tol
        ok &= passed
        worst = max(worst, err / tol)
        shape = "x".join(map(str, got.shape))
        say(f"  {name:<18} -> {shape:<13} max |error| {err:.1e}, "
            f"tolerance {tol:.1e}: {'PASS' if passed else 'FAIL'}")
    return ok, worst


def make_weights(scratch):
    """Seeded random paca_tiny and paca_tiny_dense weights, initialised as
    the PaCa authors do, written as f32 safetensors."""
    paths = {}
    for model, clusters in (("paca_tiny", paca.CLUSTERS),
                            ("paca_tiny_dense", (0, 0, 0, 0))):
        cfg = paca.config("tiny", clusters=clusters)
        weights = paca.random_weights(cfg, seed=WEIGHT_SEED)
        paths[model] = scratch / f"{model}.safetensors"
        export.export_state_dict(weights, paths[model], dtype="f32")
    return paths


def clusopt_run(model, weights, threads, *args):
    """clusopt-run's --json objects, one per image."""
    out = run([tool("clusopt-run"), "--model", model, "--weights", weights,
               "--threads", threads, *args, "--json"], capture=True)
    return [json.loads(line) for line in out.splitlines()
            if line.startswith("{")]


def classify_photo(weights, threads):
    (result,) = clusopt_run("paca_tiny", weights["paca_tiny"], threads,
                            "--image", PHOTO, "--topk", 3, "--runs", 1)
    names = (REPO / "runtime" / "data" / "imagenet-classes.txt") \
        .read_text().splitlines()
    say(f"  photo: {PHOTO.relative_to(REPO)} ({PHOTO_WHAT}; ImageNet class "
        f"{PHOTO_CLASS} \"{names[PHOTO_CLASS]}\")")
    say(f"  NOTE: random weights (seed {WEIGHT_SEED}), not trained ones: the "
        f"predicted class is meaningless;")
    say("        this step shows decoding, preprocessing and the model "
        "running, not accuracy.")
    top = result["top"]
    say(f"  predicted top-{len(top)} (class, probability, name):")
    for row in top:
        say(f"    {row['class']:>4}  {row['probability']:.4f}  "
            f"{row['label']}")
    first = top[0]
    return (f"class {first['class']} \"{first['label']}\" "
            f"(random weights)")


def latency(weights, threads, resolution, runs):
    """Median ms of one random image through each model."""
    times = {}
    for model in ("paca_tiny", "paca_tiny_dense"):
        (result,) = clusopt_run(model, weights[model], threads, "--random",
                                "--resolution", resolution, "--runs", runs)
        times[model] = result["latency_ms"]
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="CI size: 1 s of tuning, latency at 224 only, one "
                        "timed run")
    parser.add_argument("--keep", action="store_true",
                        help="keep the scratch directory and say where")
    parser.add_argument("--setup-ms", type=int, default=None,
                        help=argparse.SUPPRESS)  # demo.sh's setup + build
    opts = parser.parse_args()

    budget = 1 if opts.quick else 5
    # Timed runs per resolution (after one warm-up): dense at 448 takes
    # seconds a run, so it gets fewer.
    runs = {224: 1} if opts.quick else {224: 5, 448: 2}
    threads = int(os.environ.get("OMP_NUM_THREADS") or
                  len(os.sched_getaffinity(0)))
    summary = []
    setup_seconds = (opts.setup_ms or 0) / 1000
    if opts.setup_ms is not None:
        summary.append(("setup + build", "scripts/setup.sh, scripts/build.sh",
                        setup_seconds))
    failed = False

    scratch = pathlib.Path(tempfile.mkdtemp(prefix="clusopt-demo-"))
    start_all = time.perf_counter()
    try:
        say("clusopt demo: a PaCa-ViT layer compiled for this CPU, checked "
            "against the oracle,")
        say(f"then the whole paca_tiny model. {threads} threads; scratch "
            f"files in {scratch}")

        say("\n[1/4] Tune and compile a PaCa layer for this CPU")
        say(f"  {LAYER.relative_to(REPO)}: soft_assign + pool and clustered "
            "attention at paca_tiny's stage 1")
        say("  for a 224x224 image (3136 tokens, 96 channels, 100 clusters, "
            "2 heads of 48).")
        say(f"  clusopt-tune measures tile sizes for {budget} s (a real run "
            "takes ~30 s) into a")
        say("  scratch tuning database; clusopt-compile then builds with its "
            "picks.")
        t = time.perf_counter()
        lib, manifest, tiles = tune_and_compile(scratch, budget)
        summary.append(("tune + compile layer", tiles,
                        time.perf_counter() - t))

        say("\n[2/4] Run the compiled layer on random inputs against the "
            "NumPy float64 oracle")
        say("  (clusopt.load(path) gives one Python callable per entry "
            "point; tolerance:")
        say("  1e-4 x max(1, max |reference|), the bound the test suite "
            "holds f32 kernels to)")
        t = time.perf_counter()
        ok, worst = check_oracle(lib, manifest)
        failed |= not ok
        summary.append(("layer vs oracle",
                        ("PASS" if ok else "FAIL") +
                        f", worst error {worst:.2g} of tolerance",
                        time.perf_counter() - t))

        say("\n[3/4] Classify a photo with paca_tiny (C++ runtime + "
            "generated kernels)")
        t = time.perf_counter()
        weights = make_weights(scratch)
        say(f"  seeded random weights written: "
            f"{', '.join(p.name for p in weights.values())}")
        summary.append(("photo with paca_tiny",
                        classify_photo(weights, threads),
                        time.perf_counter() - t))

        say(f"\n[4/4] Latency: clustered paca_tiny against dense "
            f"paca_tiny_dense (median ms of the timed runs after a warm-up)")
        rows = []
        for resolution, count in runs.items():
            t = time.perf_counter()
            ms = latency(weights, threads, resolution, count)
            speedup = ms["paca_tiny_dense"] / ms["paca_tiny"]
            rows.append((resolution, count, ms, speedup))
            summary.append((f"latency at {resolution}",
                            f"{ms['paca_tiny']:.1f} ms vs dense "
                            f"{ms['paca_tiny_dense']:.1f} ms: "
                            f"{speedup:.1f}x", time.perf_counter() - t))
        say(f"  {'resolution':<12}{'runs':>5}{'paca_tiny':>12}"
            f"{'paca_tiny_dense':>18}{'speedup':>10}")
        for resolution, count, ms, speedup in rows:
            say(f"  {f'{resolution}x{resolution}':<12}{count:>5}"
                f"{ms['paca_tiny']:>9.1f} ms{ms['paca_tiny_dense']:>15.1f} ms"
                f"{speedup:>9.1f}x")
        if len(rows) > 1:
            say("  Dense attention's scores grow with the tokens squared (2x "
                "the side, 16x the")
            say("  scores); PaCa's tokens attend to 100 clusters, so they "
                "grow linearly.")
    except (DemoError, clusopt.ClusoptError, OSError) as err:
        say(f"\ndemo: error: {err}")
        failed = True
    finally:
        if opts.keep:
            say(f"\nscratch files kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)

    total = time.perf_counter() - start_all
    total += setup_seconds
    load = os.getloadavg()[0]
    say("\nSummary")
    width = max(len(step) for step, _, _ in summary)
    rwidth = max(len(result) for _, result, _ in summary)
    say(f"  {'step':<{width}}  {'result':<{rwidth}}  {'time':>7}")
    for step, result, seconds in summary:
        say(f"  {step:<{width}}  {result:<{rwidth}}  {seconds:>6.1f}s")
    say(f"  {'total':<{width}}  {'':<{rwidth}}  {total:>6.1f}s")
    say(f"  (wall-clock times; load average {load:.1f} on "
        f"{os.cpu_count()} CPUs: a busy machine is slower)")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # main's `finally` removed the scratch files
        print("\ndemo: interrupted", file=sys.stderr)
        sys.exit(130)
