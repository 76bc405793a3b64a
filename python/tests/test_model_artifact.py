"""Compiled model artifacts: a small PaCa-ViT (the project's PyTorch port,
bench/paca/paca_torch.py, at a small width) compiled once, saved as an
artifact, run by clusopt-run --artifact and clusopt.load_model with weights
bound by state_dict name at load time, against eager PyTorch in float64;
the errors (missing, misshapen or mistyped weights, another compiler
version or target, corrupt manifests, symlinked output paths)."""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip(
    "torch_mlir", reason="the importer needs torch-mlir (scripts/setup.sh "
    "installs the pinned version)")

import clusopt  # noqa: E402
from clusopt import artifact, toolchain  # noqa: E402
from clusopt.compiled_model import compile_model  # noqa: E402
from clusopt.export import export_state_dict  # noqa: E402
from clusopt.models import paca  # noqa: E402
from conftest import paca_torch  # noqa: E402

RTOL = 1e-4
# A PaCa-ViT of paca_tiny's structure (four stages, clustering in the first
# three) at a small width, 10 classes, compiled for 2 images of 64x64.
CFG = dict(dims=(16, 16, 32, 32), heads=(1, 1, 2, 2), depths=(1, 1, 1, 1),
           clusters=(4, 4, 4, 0), num_classes=10)
BATCH, SIDE = 2, 64


pytestmark = pytest.mark.usefixtures("build_tree_kernel_cache")


def small_paca(seed=0):
    """The small PaCa-ViT as an nn.Module whose state_dict names are
    PaCa's (stage1.0.attn.q.weight, ...), with perturbed norms and
    biases."""
    port = paca_torch()
    state = paca.random_weights(CFG, seed=seed, bias_std=0.1)

    class SmallPaca(torch.nn.Module):
        def forward(self, x):
            return port.forward(torch, x, dict(self.named_parameters()), CFG)

    model = SmallPaca()
    for name, value in state.items():
        *path, leaf = name.split(".")
        owner = model
        for part in path:
            if not hasattr(owner, part):
                owner.add_module(part, torch.nn.Module())
            owner = getattr(owner, part)
        owner.register_parameter(leaf, torch.nn.Parameter(
            torch.as_tensor(value, dtype=torch.float32)))
    return model.eval()


def eager64(module, x):
    import copy
    m = copy.deepcopy(module).double()
    with torch.no_grad():
        return m(x.double())


def assert_close(got, want):
    got, want = torch.as_tensor(got).double(), want.double()
    assert got.shape == want.shape
    err = (got - want).abs().max().item()
    bound = RTOL * max(1.0, want.abs().max().item())
    assert err <= bound, f"max |error| {err:.3g} > {bound:.3g}"


def images(n, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, SIDE, SIDE, generator=g)


def run(*args):
    exe = toolchain.build_dir() / "bin" / "clusopt-run"
    return subprocess.run([str(exe), *map(str, args)], capture_output=True,
                          text=True)


def save_npy(path, x):
    np.save(path, x.numpy().astype(np.float32))
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(artifact dir, its module, that module's weights file)."""
    root = tmp_path_factory.mktemp("artifact")
    module = small_paca(seed=0)
    compiled = compile_model(module, (images(BATCH, 0),))
    path = compiled.save(root / "small_paca")
    weights = root / "small_paca.safetensors"
    export_state_dict(module.state_dict(), weights)
    return path, module, weights


def test_artifact_files_and_manifest(built):
    path, module, _ = built
    assert sorted(p.name for p in path.iterdir()) == [
        "kernels.h", "kernels.json", "kernels.so", "model.json",
        "model.mlir"]
    m = json.loads((path / "model.json").read_text())
    assert m["format"] == "clusopt-model/1"
    assert m["compiler"]["version"] == artifact.compiler_version()
    assert m["entry_point"] == "forward"
    weights, image = m["arguments"]
    assert weights["role"] == "weights" and weights["dtype"] == "f32"
    assert [w["name"] for w in weights["weights"]] == list(module.state_dict())
    assert all(w["source"] == "state_dict" for w in weights["weights"])
    first = weights["weights"][0]
    assert first["shape"] == [8, 3, 3, 3] and first["offset"] == 0
    assert image == {"role": "input", "name": "x", "dtype": "f32",
                     "shape": [BATCH, 3, SIDE, SIDE]}
    assert m["outputs"] == [{"dtype": "f32", "shape": [BATCH, 10]}]
    kernels = json.loads((path / "kernels.json").read_text())
    assert kernels["library"] == "kernels.so"
    assert m["target"]["name"] == kernels["target"]["name"]
    assert isinstance(m["target"]["features"], list)
    # Nothing is left beside it.
    assert [p.name for p in path.parent.iterdir()
            if p.name.startswith(".")] == []


def test_clusopt_run_matches_eager_with_weights_bound_at_load(built,
                                                              tmp_path):
    """Another checkpoint than the one compiled with, 3 images (two runs of
    the compiled batch of 2, the second padded)."""
    path, _, _ = built
    other = small_paca(seed=5)
    weights = tmp_path / "other.safetensors"
    export_state_dict(other.state_dict(), weights)
    x = images(3, seed=1)
    out = run("--artifact", path, "--weights", weights, "--image",
              save_npy(tmp_path / "x.npy", x), "--runs", 1, "--threads", 2,
              "--dump-logits", tmp_path / "logits.npy")
    assert out.returncode == 0, out.stderr
    assert "model SmallPaca (artifact" in out.stdout
    assert "images [3, 3, 64, 64]" in out.stdout
    got = np.load(tmp_path / "logits.npy")
    assert_close(got, eager64(other, x))
    # The compiled-with weights give other logits: the binding is real.
    assert not np.allclose(got, eager64(built[1], x).numpy(), atol=1e-3)


def test_clusopt_run_random_and_json(built):
    path, module, weights = built
    out = run("--artifact", path, "--weights", weights, "--random",
              "--runs", 1, "--json", "--topk", 3)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == BATCH  # the compiled batch by default
    assert len(lines[0]["top"]) == 3


def test_clusopt_run_photos_in_batches_of_the_compiled_size(built, tmp_path):
    """A photo, and a folder of three copies: two runs of the compiled
    batch, the second padded; every copy gets the photo's logits."""
    path, module, weights = built
    cat = toolchain.REPO_ROOT / "runtime" / "data" / "cat.jpg"
    out = run("--artifact", path, "--weights", weights, "--image", cat,
              "--batch", 1, "--runs", 1, "--dump-logits", tmp_path / "one.npy")
    assert out.returncode == 0, out.stderr
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        shutil.copyfile(cat, folder / name)
    out = run("--artifact", path, "--weights", weights, "--image", folder,
              "--dump-logits", tmp_path / "all.npy")
    assert out.returncode == 0, out.stderr
    assert "3 images in 2 batches of up to 2 (64x64)" in out.stdout
    one, every = np.load(tmp_path / "one.npy"), np.load(tmp_path / "all.npy")
    assert every.shape == (3, 10)
    np.testing.assert_allclose(every, np.repeat(one, 3, axis=0), rtol=0,
                               atol=1e-5)
    out = run("--artifact", path, "--weights", weights, "--image", cat,
              "--resolution", 224)
    assert out.returncode == 1
    assert ("--resolution 224 does not match the artifact, which was "
            "compiled for 64x64 images") in out.stderr


def test_load_model_in_python(built):
    path, module, weights = built
    model = clusopt.load_model(path, weights)
    x = images(BATCH, seed=2)
    assert_close(model(x), eager64(module, x))
    # A state_dict binds too.
    other = small_paca(seed=3)
    model = clusopt.load_model(path, other.state_dict())
    assert_close(model(x), eager64(other, x))
    with pytest.raises(clusopt.ArgumentError, match=r"\[1, 3, 64, 64\]"):
        model(images(1, seed=2))


def _write_state(path, state):
    export_state_dict(state, path)
    return path


def test_missing_weight(built, tmp_path):
    path, module, _ = built
    state = dict(module.state_dict())
    del state["head.bias"]
    w = _write_state(tmp_path / "w.safetensors", state)
    out = run("--artifact", path, "--weights", w, "--random")
    assert out.returncode == 1
    assert (f"clusopt-run: error: {w}: tensor 'head.bias': not found in the "
            f"weights file") in out.stderr
    with pytest.raises(clusopt.ArgumentError,
                       match=r"weight 'head.bias' is missing"):
        clusopt.load_model(path, w)


def test_misshapen_weight(built, tmp_path):
    path, module, _ = built
    state = dict(module.state_dict())
    state["head.weight"] = torch.zeros(12, 32)
    w = _write_state(tmp_path / "w.safetensors", state)
    out = run("--artifact", path, "--weights", w, "--random")
    assert out.returncode == 1
    assert ("tensor 'head.weight': expected shape [10, 32], got [12, 32]"
            in out.stderr)
    with pytest.raises(clusopt.ArgumentError,
                       match=r"'head.weight' has shape \[12, 32\], the model "
                             r"expects \[10, 32\]"):
        clusopt.load_model(path, w)


def test_wrong_dtype(built, tmp_path):
    path, module, _ = built
    state = dict(module.state_dict())
    state["head.weight"] = state["head.weight"].half()
    w = _write_state(tmp_path / "w.safetensors", state)
    out = run("--artifact", path, "--weights", w, "--random")
    assert out.returncode == 1
    assert "tensor 'head.weight': expected dtype F32, got F16" in out.stderr
    with pytest.raises(clusopt.ArgumentError,
                       match=r"'head.weight' is float16, the model expects "
                             r"float32"):
        clusopt.load_model(path, w)


def test_extra_weights_are_warned_about(built, tmp_path):
    path, module, _ = built
    state = dict(module.state_dict())
    state["aux_head.weight"] = torch.zeros(3, 3)
    w = _write_state(tmp_path / "w.safetensors", state)
    out = run("--artifact", path, "--weights", w, "--random", "--runs", 1)
    assert out.returncode == 0, out.stderr
    assert ("warning: " + str(w) + ": 1 tensor not used by the artifact: "
            "'aux_head.weight'") in out.stderr
    out = run("--artifact", path, "--weights", w, "--random", "--runs", 1,
              "--allow-unused-weights")
    assert out.returncode == 0 and "warning" not in out.stderr


def test_non_finite_logits_are_an_error(built, tmp_path):
    path, module, _ = built
    state = dict(module.state_dict())
    state["head.bias"] = state["head.bias"].clone()
    state["head.bias"][3] = float("nan")
    w = _write_state(tmp_path / "w.safetensors", state)
    out = run("--artifact", path, "--weights", w, "--random", "--profile")
    assert out.returncode == 1
    assert ("2 of 20 logits are not finite (NaN or infinite); an artifact "
            "runs as one call, so no layer can be named") in out.stderr


def _edited(built, tmp_path, edit):
    """A copy of the artifact with model.json edited by `edit`."""
    path, _, weights = built
    copy = tmp_path / "edited"
    shutil.copytree(path, copy)
    m = json.loads((copy / "model.json").read_text())
    edit(m)
    (copy / "model.json").write_text(json.dumps(m))
    return copy, weights


def test_artifact_from_another_version_is_refused(built, tmp_path):
    def edit(m):
        m["compiler"]["version"] = "clusopt 0.0.1 (git 0123456789ab)"
    copy, weights = _edited(built, tmp_path, edit)
    out = run("--artifact", copy, "--weights", weights, "--random")
    assert out.returncode == 1
    assert (f"{copy}: built by clusopt 0.0.1 (git 0123456789ab), but this "
            f"is {artifact.compiler_version()}; compile the model again"
            in out.stderr)
    with pytest.raises(clusopt.UnsupportedTargetError,
                       match=r"built by clusopt 0\.0\.1"):
        clusopt.load_model(copy, weights)


@pytest.mark.parametrize("field,value,message", [
    ("features", ["avx512f", "clusopt-no-such-feature"],
     r"needs CPU features this machine lacks: clusopt-no-such-feature"),
    ("triple", "aarch64-unknown-linux-gnu", r"this machine is x86_64"),
])
def test_artifact_for_another_target_is_refused(built, tmp_path, field,
                                                value, message):
    def edit(m):
        m["target"][field] = value
    copy, weights = _edited(built, tmp_path, edit)
    out = run("--artifact", copy, "--weights", weights, "--random")
    assert out.returncode == 1
    import re
    assert re.search(message, out.stderr), out.stderr
    with pytest.raises(clusopt.UnsupportedTargetError, match=message):
        clusopt.load_model(copy, weights)


def test_corrupt_or_missing_manifest(built, tmp_path):
    path, _, weights = built
    copy = tmp_path / "corrupt"
    shutil.copytree(path, copy)
    text = (copy / "model.json").read_text()
    (copy / "model.json").write_text(text[:len(text) // 2])
    out = run("--artifact", copy, "--weights", weights, "--random")
    assert out.returncode == 1
    assert f"{copy}/model.json: not valid JSON" in out.stderr
    with pytest.raises(clusopt.ArtifactError, match="not valid JSON"):
        clusopt.load_model(copy, weights)
    # A weight that lies outside its argument.
    m = json.loads(text)
    m["arguments"][0]["weights"][-1]["offset"] = m["arguments"][0]["shape"][0]
    (copy / "model.json").write_text(json.dumps(m))
    out = run("--artifact", copy, "--weights", weights, "--random")
    assert out.returncode == 1
    assert "'head.bias' does not lie inside its argument" in out.stderr
    (copy / "model.json").unlink()
    out = run("--artifact", copy, "--weights", weights, "--random")
    assert out.returncode == 1
    assert f"{copy}: not a model artifact" in out.stderr
    with pytest.raises(clusopt.ArtifactError, match="cannot read"):
        clusopt.load_model(copy, weights)


def test_save_refuses_symlinks_and_other_directories(built, tmp_path):
    path, module, _ = built
    compiled = compile_model(module, (images(BATCH, 0),))  # cached
    victim = tmp_path / "victim"
    victim.mkdir()
    link = tmp_path / "link"
    link.symlink_to(victim)
    with pytest.raises(clusopt.ArtifactError, match="symbolic link"):
        compiled.save(link)
    with pytest.raises(clusopt.ArtifactError, match="symbolic link"):
        compiled.save(link, overwrite=True)
    assert list(victim.iterdir()) == []
    with pytest.raises(clusopt.ArtifactError, match="already exists"):
        compiled.save(victim)
    with pytest.raises(clusopt.ArtifactError, match="not a model artifact"):
        compiled.save(victim, overwrite=True)
    # Replacing an artifact works, and leaves no temporary directories.
    out = tmp_path / "out"
    compiled.save(out)
    (out / "stale").write_text("old")
    compiled.save(out, overwrite=True)
    assert not (out / "stale").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "out",
                                                          "victim"]


def test_non_image_artifact_is_refused_by_clusopt_run(tmp_path):
    module = torch.nn.Linear(8, 4).eval()
    x = torch.randn(2, 8)
    path = compile_model(module, (x,)).save(tmp_path / "linear")
    weights = _write_state(tmp_path / "w.safetensors", module.state_dict())
    out = run("--artifact", path, "--weights", weights, "--random")
    assert out.returncode == 1
    assert ("clusopt-run runs image classifiers (one f32 input [B, 3, H, W], "
            "one f32 output [B, classes]); this artifact takes "
            "tensor<2x8xf32>") in out.stderr
    # Python runs it.
    got = clusopt.load_model(path, weights)(x)
    with torch.no_grad():
        assert torch.allclose(got, module(x), atol=1e-5)


class WithConstant(torch.nn.Module):
    """A classifier with a non-persistent buffer: a tensor in no
    state_dict, which the artifact carries itself."""

    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.head = torch.nn.Linear(4, 5)
        self.register_buffer("scale", torch.linspace(0.5, 2.0, 4),
                             persistent=False)

    def forward(self, x):
        return self.head(self.stem(x).mean((2, 3)) * self.scale)


def test_constants_travel_in_the_artifact(tmp_path):
    module = WithConstant().eval()
    x = torch.randn(1, 3, 8, 8)
    path = compile_model(module, (x,)).save(tmp_path / "const")
    assert (path / "constants.safetensors").is_file()
    m = json.loads((path / "model.json").read_text())
    sources = {w["name"]: w["source"] for w in m["arguments"][0]["weights"]}
    assert sources == {"stem.weight": "state_dict", "stem.bias": "state_dict",
                       "head.weight": "state_dict", "head.bias": "state_dict",
                       "scale": "constant"}
    weights = _write_state(tmp_path / "w.safetensors", module.state_dict())
    out = run("--artifact", path, "--weights", weights, "--image",
              save_npy(tmp_path / "x.npy", x), "--runs", 1,
              "--dump-logits", tmp_path / "logits.npy")
    assert out.returncode == 0, out.stderr
    assert_close(np.load(tmp_path / "logits.npy"), eager64(module, x))
    assert_close(clusopt.load_model(path, weights)(x), eager64(module, x))


def test_compile_model_cli(built, tmp_path):
    factory = tmp_path / "models.py"
    factory.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(pathlib.Path(__file__).parent)!r})\n"
        "from test_model_artifact import small_paca\n"
        "def build():\n"
        "    return small_paca(seed=0)\n")
    out = tmp_path / "cli_artifact"
    env = dict(os.environ, PYTHONPATH=str(toolchain.REPO_ROOT / "python"))
    proc = subprocess.run(
        [sys.executable, "-m", "clusopt", "compile-model",
         f"{factory}:build", "--input-shape", f"{BATCH}x3x{SIDE}x{SIDE}",
         "-o", out], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"{out}: SmallPaca, " in proc.stdout
    path, module, weights = built
    x = images(BATCH, seed=4)
    got = clusopt.load_model(out, weights)(x)
    assert_close(got, eager64(module, x))
    # Errors: an existing output, a bad MODEL.
    proc = subprocess.run(
        [sys.executable, "-m", "clusopt", "compile-model",
         f"{factory}:build", "--input-shape", "2x3x64x64", "-o", out],
        capture_output=True, text=True, env=env)
    assert proc.returncode == 1
    assert "already exists" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "clusopt", "compile-model", "nocolon",
         "--input-shape", "2x3x64x64", "-o", tmp_path / "x"],
        capture_output=True, text=True, env=env)
    assert proc.returncode == 1
    assert "MODEL must be MODULE:FACTORY" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "clusopt", "compile-model", "no_such_mod:f",
         "--input-shape", "2x3x64x64", "-o", tmp_path / "x"],
        capture_output=True, text=True, env=env)
    assert proc.returncode == 1
    assert "cannot import no_such_mod: No module named 'no_such_mod'" in \
        proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "clusopt", "compile-model", f"{factory}:nope",
         "--input-shape", "2x3x64x64", "-o", tmp_path / "x"],
        capture_output=True, text=True, env=env)
    assert proc.returncode == 1
    assert f"{factory} has no function 'nope'" in proc.stderr
