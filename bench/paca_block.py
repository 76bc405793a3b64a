#!/usr/bin/env python3
"""One PaCa-ViT block: the IR block compiled by clusopt against PyTorch and
the hand-written runtime.

    python3 bench/paca_block.py                  # stages 1 and 3, B = 1 and 8
    python3 bench/paca_block.py --quick          # fewer rounds, for a look
    python3 bench/paca_block.py --out bench/results/paca_block.txt

The block is docs/examples/paca_block.mlir (paca_tiny's stage 1 and stage 3
blocks at 224 x 224: 56 x 56 tokens of 96 channels, 14 x 14 of 320, 100
clusters), compiled with `clusopt-compile --target=host`. Its peers, on the
same seeded weights and inputs and the same threads:

- eager: a torch.nn.Module of the same block (nn.Linear, nn.LayerNorm, a
  depthwise nn.Conv2d, softmax(L) @ a for the clusters, SDPA for the
  attention: PyTorch's fastest eager attention on CPU);
- compile: that module through torch.compile (inductor, with freezing
  when it works, else without; the table says which);
- runtime: the same block on the hand-written runtime (runtime/Layers and
  the build's paca_kernels.so), run by build/bin/clusopt-paca-block in a
  child process that times its own runs.

Every implementation runs in a process of its own, which times its own
calls: clusopt in a worker running this script with --worker clusopt, eager
and compile in one with --worker torch, the runtime in clusopt-paca-block.
When clusopt ran in the process that also ran torch (libgomp's threads) and
torch.compile's generated code, its median at stage 1, B = 1 came out about
twice as long as in a run without torch.compile; in processes of their own,
no implementation shares an OpenMP runtime, thread pool, allocator or
garbage collector with another. Each round runs every implementation in
turn (the order rotates), a few calls each, with a pause between
implementations so that a previous one's spinning OpenMP workers (libomp
spins 200 ms after a parallel region) do not steal a core. Reported: the
median over all rounds, ratios of the peers' medians to clusopt's (> 1:
clusopt faster), and clusopt's GFLOP/s as a share of the FMA peak that
bench/roofline.c measures. Outputs are checked against eager's first.
"""

import argparse
import os
import sys

ARGS = None


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--calls", type=int, default=5,
                   help="calls per implementation per round (fewer for one "
                        "slower than --budget)")
    p.add_argument("--budget", type=float, default=1.0,
                   help="seconds per implementation per round, at most")
    p.add_argument("--batches", default="1,8")
    p.add_argument("--stages", default="1,3")
    p.add_argument("--quick", action="store_true",
                   help="3 rounds of up to 2 calls")
    p.add_argument("--no-torch-compile", action="store_true")
    p.add_argument("--source", default=None,
                   help="MLIR to compile instead of docs/examples/"
                        "paca_block.mlir (same entry points)")
    p.add_argument("--out", help="also write the report here")
    # Internal: serve one implementation's timings (see Worker).
    p.add_argument("--worker", choices=("clusopt", "torch"),
                   help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    p.add_argument("--stage", type=int, help=argparse.SUPPRESS)
    return p.parse_args()


if __name__ == "__main__":
    ARGS = parse_args()
    # Thread counts are read when the runtimes start.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)
    os.environ.setdefault("TORCHINDUCTOR_COMPILE_THREADS", "1")

import gc  # noqa: E402
import importlib.util  # noqa: E402
import pathlib  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

import clusopt  # noqa: E402
from clusopt import safetensors_io, toolchain  # noqa: E402
from clusopt.models import paca  # noqa: E402

EXAMPLE = ROOT / "docs" / "examples" / "paca_block.mlir"
SETTLE_S = 0.3  # longer than libomp's 200 ms spin after a parallel region


def load_generator():
    path = ROOT / "docs" / "examples" / "gen_paca_block.py"
    spec = importlib.util.spec_from_file_location("gen_paca_block", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = load_generator()


def isa():
    """The level clusopt-compile --target=host builds for, e.g.
    "x86-64-v4 (AVX-512)"."""
    return toolchain.isa_name("host")


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def fma_peak(threads):
    """bench/roofline.c's peak f32 FMA GFLOP/s for this CPU's widest x86-64
    level (it picks its kernel at run time), or None where it fails."""
    llvm = toolchain.LLVM_BIN
    lib = toolchain.openmp_lib_dir()
    with tempfile.TemporaryDirectory() as tmp:
        exe = pathlib.Path(tmp) / "roofline"
        built = subprocess.run(
            [str(llvm / "clang"), "-O2", "-fopenmp=libomp",
             str(ROOT / "bench" / "roofline.c"), "-o", str(exe), f"-L{lib}",
             f"-Wl,-rpath,{lib}"], capture_output=True)
        if built.returncode != 0:
            return None
        out = subprocess.run([str(exe), "--peak-only"], capture_output=True,
                             text=True, env=dict(os.environ,
                                                 OMP_NUM_THREADS=str(threads)))
    if out.returncode != 0:
        return None
    fields = dict(kv.split("=") for kv in out.stdout.split())
    return float(fields["peak_gflops"])


def block_flops(b, n, c, m):
    """Multiply-adds x 2 of the block: the six projections, pool, attention
    and the 3x3 depthwise convolution (LayerNorms and GELU left out)."""
    rows = b * n
    return (2 * rows * c * c * 2            # q, proj
            + 2 * b * m * c * c * 2         # k, v on the clusters
            + 2 * rows * c * 4 * c * 2      # fc1, fc2
            + 2 * b * m * n * c             # pool
            + 4 * b * n * m * c             # q·kᵀ and p·v over all heads
            + 2 * 9 * rows * 4 * c)         # depthwise 3x3


# ------------------------------------------------------------------ torch

def torch_block(torch, c, heads):
    nn, F = torch.nn, torch.nn.functional

    class Attn(nn.Module):
        def __init__(self):
            super().__init__()
            self.cluster_norm = nn.LayerNorm(c, eps=1e-6)
            self.q, self.k, self.v = (nn.Linear(c, c) for _ in range(3))
            self.proj = nn.Linear(c, c)

    class DwConv(nn.Module):
        def __init__(self, hidden):
            super().__init__()
            self.dwconv = nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden)

    class Mlp(nn.Module):
        def __init__(self):
            super().__init__()
            hidden = gen.MLP_RATIO * c
            self.fc1 = nn.Linear(c, hidden)
            self.dwconv = DwConv(hidden)
            self.fc2 = nn.Linear(hidden, c)

    class Block(nn.Module):
        """docs/models.md's block after the first of a stage with clusters,
        on x [B, H, W, C] and the stage's logits [B, M, H·W]."""

        def __init__(self):
            super().__init__()
            self.norm1_before = nn.LayerNorm(c, eps=1e-6)
            self.attn = Attn()
            self.norm2_before = nn.LayerNorm(c, eps=1e-6)
            self.mlp = Mlp()

        def forward(self, x, logits):
            b, h, w, _ = x.shape
            n, m, d = h * w, logits.shape[1], c // heads
            t = x.reshape(b, n, c)
            a = self.norm1_before(t)
            ctok = self.attn.cluster_norm(logits.softmax(-1) @ a)
            q = self.attn.q(a).view(b, n, heads, d).transpose(1, 2)
            k = self.attn.k(ctok).view(b, m, heads, d).transpose(1, 2)
            v = self.attn.v(ctok).view(b, m, heads, d).transpose(1, 2)
            o = F.scaled_dot_product_attention(q, k, v)
            y = t + self.attn.proj(o.transpose(1, 2).reshape(b, n, c))
            f = self.mlp.fc1(self.norm2_before(y))
            img = f.transpose(1, 2).reshape(b, -1, h, w)
            f = self.mlp.dwconv.dwconv(img).flatten(2).transpose(1, 2) + f
            return (y + self.mlp.fc2(F.gelu(f))).reshape(b, h, w, c)

    return Block()


# ------------------------------------------------------------------ workers

def timed(fn, calls):
    times = []
    gc.disable()
    try:
        for _ in range(calls):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    finally:
        gc.enable()
    return times


def load_case(path):
    """The inputs main() saved: x, logits and the weights by name."""
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def serve(impls, ready_note=""):
    """A worker's loop on stdin: "run NAME K" times K calls of NAME and
    prints "times" and the K wall times in seconds; "output NAME PATH"
    saves one call's output; "quit" (or the end of input) stops."""
    print(f"ready {ready_note}".rstrip(), flush=True)
    for line in sys.stdin:
        fields = line.split()
        if not fields or fields[0] == "quit":
            break
        if fields[0] == "run":
            times = timed(impls[fields[1]], int(fields[2]))
            print("times " + " ".join(f"{t:.9f}" for t in times), flush=True)
        elif fields[0] == "output":
            out = impls[fields[1]]()
            np.save(fields[2], out.numpy() if hasattr(out, "numpy") else out)
            print("saved", flush=True)
        else:
            print(f"error: unknown command {line.strip()!r}", flush=True)


def clusopt_worker():
    case = load_case(ARGS.data)
    source = pathlib.Path(ARGS.source) if ARGS.source else EXAMPLE
    library = clusopt.compile(source, target="host")  # cached by main()
    c = gen.STAGES[ARGS.stage][0]
    h, w = case["x"].shape[1:3]
    kernel = getattr(library, f"paca_block_s{ARGS.stage}_{h}x{w}")
    x, logits = case["x"], case["logits"]
    wargs = [case[k] for k in gen.weight_shapes(c)]
    serve({"clusopt": lambda: kernel(x, logits, *wargs)})


def torch_worker():
    import torch

    torch.set_num_threads(ARGS.threads)
    case = load_case(ARGS.data)
    c, heads, _ = gen.STAGES[ARGS.stage]
    module = torch_block(torch, c, heads).eval()
    module.load_state_dict({k: torch.from_numpy(case[k])
                            for k in gen.weight_shapes(c)})
    tx, tl = torch.from_numpy(case["x"]), torch.from_numpy(case["logits"])
    with torch.no_grad():
        impls = {"eager": lambda: module(tx, tl)}
        note = ""
        if not ARGS.no_torch_compile:
            import torch._inductor.config as inductor_config
            t0 = time.perf_counter()
            try:
                inductor_config.freezing = True
                compiled = torch.compile(module)
                compiled(tx, tl)
                note = "freezing"
            except Exception as e:  # noqa: BLE001 - report and go on
                inductor_config.freezing = False
                torch._dynamo.reset()
                compiled = torch.compile(module)
                compiled(tx, tl)
                note = f"no freezing ({type(e).__name__})"
            note += f", compiled in {time.perf_counter() - t0:.0f} s"
            impls["compile"] = lambda: compiled(tx, tl)
        serve(impls, note)


class Server:
    """A child process that times its own calls (serve()'s protocol, which
    clusopt-paca-block --serve shares for "run")."""

    def __init__(self, command, what):
        self.what = what
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        ready = self.proc.stdout.readline().split(maxsplit=1)
        if not ready or ready[0] != "ready":
            self.proc.kill()
            raise RuntimeError(f"{what} did not start: {ready!r}")
        self.note = ready[1].strip() if len(ready) > 1 else ""

    def ask(self, command, reply):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        fields = self.proc.stdout.readline().split()
        if not fields or fields[0] != reply:
            raise RuntimeError(f"{self.what}: {command!r} -> {fields!r}")
        return fields[1:]

    def times(self, name, calls):
        return [float(t) for t in self.ask(f"run {name} {calls}", "times")]

    def output(self, name, path):
        self.ask(f"output {name} {path}", "saved")
        return np.load(path)

    def close(self):
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()
        self.proc.wait()


class RuntimeBlock(Server):
    """build/bin/clusopt-paca-block --serve: times its own runs."""

    def __init__(self, tool, weights, x, logits, heads, h, w, tmp):
        path = pathlib.Path(tmp) / f"block_{x.shape[-1]}_{x.shape[0]}.st"
        tensors = {k: np.asarray(v, np.float32) for k, v in weights.items()}
        tensors["x"] = x.reshape(x.shape[0], h * w, -1)
        tensors["logits"] = logits
        safetensors_io.save(path, tensors)
        out = pathlib.Path(tmp) / f"out_{x.shape[-1]}_{x.shape[0]}.st"
        super().__init__(
            [str(tool), "--weights", str(path), "--heads", str(heads),
             "--height", str(h), "--width", str(w), "--num-threads",
             str(ARGS.threads), "--output", str(out), "--serve"],
            "clusopt-paca-block")
        self.result = safetensors_io.load(out)[0]["out"].reshape(x.shape)

    def times(self, name, calls):
        return [float(t) for t in self.ask(f"run {calls}", "times")]

    def output(self, name, path):
        return self.result


def worker(kind, data, stage):
    """This script as a `kind` worker on the case saved at `data`."""
    command = [sys.executable, str(pathlib.Path(__file__).resolve()),
               "--worker", kind, "--data", str(data), "--stage", str(stage),
               "--threads", str(ARGS.threads)]
    if ARGS.source:
        command += ["--source", str(ARGS.source)]
    if ARGS.no_torch_compile:
        command.append("--no-torch-compile")
    return Server(command, f"the {kind} worker")


# ------------------------------------------------------------------ driver

def calls_for(one_call):
    calls = 2 if ARGS.quick else ARGS.calls
    return max(1, min(calls, int(ARGS.budget / max(one_call, 1e-9))))


def main():
    from importlib.metadata import version  # torch runs in a worker only

    if ARGS.quick:
        ARGS.rounds = min(ARGS.rounds, 3)
    tool = toolchain.build_dir() / "bin" / "clusopt-paca-block"
    lines = []

    def say(text=""):
        print(text, flush=True)
        lines.append(text)

    load = os.getloadavg()
    peak = fma_peak(ARGS.threads)
    source = pathlib.Path(ARGS.source) if ARGS.source else EXAMPLE
    say(f"PaCa block ({source.name}), {ARGS.threads} "
        f"threads, {ARGS.rounds} interleaved rounds; medians")
    say(f"CPU: {cpu_name()}; ISA {isa()}; {os.cpu_count()} logical CPUs; "
        f"load average before {load[0]:.1f}")
    say(f"FMA peak (bench/roofline.c, {ARGS.threads} threads): "
        + (f"{peak:.0f} GFLOP/s" if peak else "n/a (roofline.c failed)"))
    say(f"torch {version('torch')}; clusopt-compile --target=host "
        f"({clusopt.__name__} from {pathlib.Path(clusopt.__file__).parent}); "
        "each implementation in a process of its own")
    clusopt.compile(source, target="host")  # the workers find it cached

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for stage in [int(s) for s in ARGS.stages.split(",")]:
            c, heads, m = gen.STAGES[stage]
            h = w = {1: 56, 2: 28, 3: 14}[stage]
            weights = paca.random_weights_for(gen.weight_shapes(c), seed=stage,
                                              bias_std=0.02)
            weights = {k: np.asarray(weights[k], np.float32)
                       for k in gen.weight_shapes(c)}
            for batch in [int(b) for b in ARGS.batches.split(",")]:
                rng = np.random.default_rng(batch)
                x = rng.normal(0, 1, (batch, h, w, c)).astype(np.float32)
                logits = rng.normal(0, 2, (batch, m, h * w)).astype(np.float32)
                data = pathlib.Path(tmp) / f"case_{stage}_{batch}.npz"
                np.savez(data, x=x, logits=logits, **weights)
                servers = {"clusopt": worker("clusopt", data, stage),
                           "torch": worker("torch", data, stage)}
                servers["runtime"] = RuntimeBlock(tool, weights, x, logits,
                                                  heads, h, w, tmp)
                where = {"clusopt": "clusopt", "eager": "torch",
                         "runtime": "runtime"}
                compile_note = servers["torch"].note
                if not ARGS.no_torch_compile:
                    where["compile"] = "torch"
                names = ["clusopt", "eager"] + (
                    [] if ARGS.no_torch_compile else ["compile"]) + ["runtime"]
                # Warm-up, the checks and the calls per round.
                outs = {name: servers[where[name]].output(
                    name, pathlib.Path(tmp) / f"out_{name}.npy")
                    for name in names}
                ref = outs["eager"]
                scale = max(1.0, float(np.abs(ref).max()))
                errors, calls = {}, {}
                for name in names:
                    errors[name] = float(np.abs(outs[name] - ref).max()) / scale
                    calls[name] = calls_for(
                        min(servers[where[name]].times(name, 1)))
                samples = {name: [] for name in names}
                for r in range(ARGS.rounds):
                    order = names[r % len(names):] + names[:r % len(names)]
                    for name in order:
                        time.sleep(SETTLE_S)
                        samples[name] += servers[where[name]].times(
                            name, calls[name])
                for server in servers.values():
                    server.close()
                med = {k: statistics.median(v) for k, v in samples.items()}
                flops = block_flops(batch, h * w, c, m)
                rows.append((stage, batch, h * w, c, med, errors, flops,
                             compile_note, {k: len(v) for k, v in
                                            samples.items()}))
                say(f"stage {stage} B={batch}: " + ", ".join(
                    f"{k} {v * 1e3:.2f} ms" for k, v in med.items()))

    load_after = os.getloadavg()
    say()
    say(f"{'stage':>5} {'B':>2} {'N':>5} {'C':>4} | {'clusopt':>9} "
        f"{'runtime':>9} {'eager':>9} {'compile':>9} ms | {'runtime/':>8} "
        f"{'eager/':>7} {'compile/':>8} | {'GFLOP/s':>7} {'%peak':>5}")
    for stage, batch, n, c, med, errors, flops, note, counts in rows:
        mine = med["clusopt"]
        gflops = flops / mine / 1e9

        def ms(k):
            return f"{med[k] * 1e3:9.2f}" if k in med else f"{'-':>9}"

        def ratio(k, width):
            return f"{med[k] / mine:{width}.2f}x" if k in med else \
                f"{'-':>{width + 1}}"

        say(f"{stage:>5} {batch:>2} {n:>5} {c:>4} | {ms('clusopt')} "
            f"{ms('runtime')} {ms('eager')} {ms('compile')}    | "
            f"{ratio('runtime', 7)} {ratio('eager', 6)} {ratio('compile', 7)}"
            f" | {gflops:7.1f} "
            + (f"{100 * gflops / peak:4.1f}%" if peak else "  n/a"))
    say("ratios: the peer's median time / clusopt's (> 1: the compiled "
        "block is faster)")
    say("max |error| / max(1, max |eager|) against eager, and timed calls:")
    for stage, batch, n, c, med, errors, flops, note, counts in rows:
        say(f"  stage {stage} B={batch}: " + ", ".join(
            f"{k} {errors[k]:.1e} ({counts[k]} calls)" for k in errors)
            + (f"; torch.compile: {note}" if note else ""))
    say(f"load average after {load_after[0]:.1f} (other jobs share this "
        f"machine: figures taken under load)")
    if ARGS.out:
        pathlib.Path(ARGS.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    if ARGS.worker == "clusopt":
        clusopt_worker()
    elif ARGS.worker == "torch":
        torch_worker()
    else:
        main()
