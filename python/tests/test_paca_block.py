"""docs/examples/paca_block.mlir: one PaCa-ViT block written in IR, compiled
by clusopt-compile --target=host and checked against the float64 NumPy
forward of the same block (clusopt.models.paca.block)."""

import importlib.util
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import clusopt
from clusopt import safetensors_io
from clusopt.models import paca
from clusopt.toolchain import build_dir

ROOT = pathlib.Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "docs" / "examples" / "gen_paca_block.py"
EXAMPLE = ROOT / "docs" / "examples" / "paca_block.mlir"


def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_paca_block", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def block_weights(stage, seed):
    """Seeded weights of one block of `stage`, norms and biases perturbed
    (std 0.1) so that every parameter shows in the output."""
    c = gen.STAGES[stage][0]
    return paca.random_weights_for(gen.weight_shapes(c), seed=seed,
                                   bias_std=0.1)


def block_inputs(stage, batch, height, width, seed):
    c, _, m = gen.STAGES[stage]
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (batch, height, width, c))
    logits = rng.normal(0, 2, (batch, m, height * width))
    return x, logits


def reference(stage, x, logits, weights):
    """The block in float64 through clusopt.models.paca.block, on x
    [B, H, W, C] as tokens."""
    _, heads, m = gen.STAGES[stage]
    b, h, w, c = x.shape
    out, _ = paca.block(x.reshape(b, h * w, c), weights, "", heads, (h, w),
                        z=paca.soft_assign(logits), clusters=m)
    return out.reshape(b, h, w, c)


def test_checked_in_example_is_up_to_date():
    proc = subprocess.run([sys.executable, str(GENERATOR), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_generator_check_names_a_stale_file(tmp_path):
    stale = tmp_path / "paca_block.mlir"
    stale.write_text(EXAMPLE.read_text().replace("math.erf", "math.tanh"))
    proc = subprocess.run([sys.executable, str(GENERATOR), "--check", "-o",
                           str(stale)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "paca_block.mlir is stale" in proc.stderr


def test_generator_rejects_a_bad_block():
    proc = subprocess.run([sys.executable, str(GENERATOR), "-o", "-",
                           "--block", "4:7x7"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "stage must be one of [1, 2, 3]" in proc.stderr


def test_example_follows_the_model_structure():
    """The ops the issue names are all there, as named linalg ops where
    one exists, with the exact (erf) GELU."""
    text = EXAMPLE.read_text()
    body = text[text.index("func.func @paca_block_s1_56x56"):
                text.index("func.func @paca_block_s3_14x14")]
    counts = {op: body.count(op + " ") for op in (
        "linalg.matmul", "clus.soft_assign", "clus.pool", "clus.attention",
        "linalg.depthwise_conv_2d_nhwc_hwc", "math.erf", "math.rsqrt")}
    # q, k, v, proj, fc1, fc2; three LayerNorms (one rsqrt each).
    assert counts == {"linalg.matmul": 6, "clus.soft_assign": 1,
                      "clus.pool": 1, "clus.attention": 1,
                      "linalg.depthwise_conv_2d_nhwc_hwc": 1,
                      "math.erf": 1, "math.rsqrt": 3}


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    return clusopt.compile(EXAMPLE, target="host",
                           cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def ragged(tmp_path_factory):
    """Small grids whose token counts (35, 15) are no multiple of a vector
    and fewer than the 100 clusters."""
    text = gen.generate(((1, 5, 7), (3, 3, 5)))
    return clusopt.compile(text, target="host",
                           cache_dir=tmp_path_factory.mktemp("cache"))


def check_block(library, stage, batch, height, width, seed):
    weights = block_weights(stage, seed)
    x, logits = block_inputs(stage, batch, height, width, seed + 1)
    args = [x, logits] + [weights[name] for name in gen.weight_shapes(
        gen.STAGES[stage][0])]
    args = [np.ascontiguousarray(a, dtype=np.float32) for a in args]
    before = [a.copy() for a in args]
    kernel = getattr(library, f"paca_block_s{stage}_{height}x{width}")
    out = kernel(*args)
    # The reference runs on the f32 values the kernel saw.
    ref = reference(stage, args[0].astype(np.float64),
                    args[1].astype(np.float64),
                    {name: a.astype(np.float64) for name, a in
                     zip(gen.weight_shapes(gen.STAGES[stage][0]), args[2:])})
    assert out.shape == ref.shape and out.dtype == np.float32
    err = np.abs(out - ref).max()
    bound = 1e-4 * max(1.0, np.abs(ref).max())
    assert err <= bound, f"max |error| {err:.3g} > {bound:.3g}"
    for a, b in zip(args, before):
        assert a.tobytes() == b.tobytes(), "the block wrote an input"


@pytest.mark.parametrize("stage, batch, grid", [
    (1, 1, (56, 56)), (1, 2, (56, 56)), (3, 1, (14, 14)), (3, 3, (14, 14))])
def test_example_matches_float64_forward(example, stage, batch, grid):
    check_block(example, stage, batch, *grid, seed=10 * stage + batch)


@pytest.mark.parametrize("stage, batch, grid", [
    (1, 3, (5, 7)), (3, 2, (3, 5))])
def test_ragged_grid_matches_float64_forward(ragged, stage, batch, grid):
    check_block(ragged, stage, batch, *grid, seed=7 + stage)


# ------------------------------------------------ the runtime's block

def driver():
    tool = build_dir() / "bin" / "clusopt-paca-block"
    if not tool.exists():
        pytest.skip(f"{tool} is not built (a test driver: CLUSOPT_BUILD_TESTS)")
    return tool


def write_block_file(path, stage, batch, height, width, seed):
    """The runtime driver's input: the block's weights, x as tokens
    [B, H·W, C] and the logits. Returns (args in the IR's order, as f32)."""
    weights = block_weights(stage, seed)
    x, logits = block_inputs(stage, batch, height, width, seed + 1)
    tensors = {name: np.asarray(a, np.float32) for name, a in weights.items()}
    tensors["x"] = np.asarray(x.reshape(batch, height * width, -1), np.float32)
    tensors["logits"] = np.asarray(logits, np.float32)
    safetensors_io.save(path, tensors)
    return tensors


@pytest.mark.parametrize("stage, batch, grid", [(1, 2, (5, 7)),
                                                (3, 1, (14, 14))])
def test_runtime_block_matches_float64_forward(tmp_path, stage, batch, grid):
    """clusopt-paca-block (bench/paca_block.py's runtime baseline) computes
    the same block."""
    h, w = grid
    tensors = write_block_file(tmp_path / "block.safetensors", stage, batch,
                               h, w, seed=5)
    proc = subprocess.run(
        [driver(), "--weights", tmp_path / "block.safetensors", "--heads",
         str(gen.STAGES[stage][1]), "--height", str(h), "--width", str(w),
         "--num-threads", "2", "--output", tmp_path / "out.safetensors"],
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = safetensors_io.load(tmp_path / "out.safetensors")[0]["out"]
    ref = reference(stage, tensors["x"].astype(np.float64).reshape(
        batch, h, w, -1), tensors["logits"].astype(np.float64),
        {k: v.astype(np.float64) for k, v in tensors.items()})
    ref = ref.reshape(out.shape)
    err = np.abs(out - ref).max()
    assert err <= 1e-4 * max(1.0, np.abs(ref).max()), err


def test_runtime_block_serves_timed_runs(tmp_path):
    write_block_file(tmp_path / "block.safetensors", 1, 1, 4, 4, seed=1)
    proc = subprocess.run(
        [driver(), "--weights", tmp_path / "block.safetensors", "--heads", "2",
         "--height", "4", "--width", "4", "--serve"],
        input="run 3\nrun 1\nquit\n", capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "ready"
    assert [len(line.split()) for line in lines[1:]] == [4, 2]
    assert all(float(t) > 0 for line in lines[1:] for t in line.split()[1:])


def test_runtime_block_names_a_bad_grid(tmp_path):
    write_block_file(tmp_path / "block.safetensors", 1, 1, 4, 4, seed=1)
    proc = subprocess.run(
        [driver(), "--weights", tmp_path / "block.safetensors", "--heads", "2",
         "--height", "4", "--width", "5"], capture_output=True, text=True)
    assert proc.returncode == 1
    assert ("error: x must be f32 [B, height*width = 20, C] with C a multiple "
            "of --heads 2, got [1, 16, 96]") in proc.stderr
