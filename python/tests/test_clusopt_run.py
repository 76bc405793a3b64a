"""clusopt-run end to end: PaCa-ViT tiny on the C++ runtime and the
generated kernels (build/runtime/models/paca_kernels.so) against the NumPy
float64 reference forward (clusopt.models.paca), with seeded random weights;
then its errors for broken weights and inputs."""

import os
import pathlib
import subprocess
import time

import numpy as np
import pytest

from clusopt import export
from clusopt.models import paca
from clusopt.toolchain import build_dir

# The bar: logits agree with the reference to 1e-3 relative (here
# relative to the largest |logit|, as single logits can be near zero).
REL_TOL = 1e-3


def tool():
    path = pathlib.Path(build_dir()) / "bin" / "clusopt-run"
    if not path.exists():
        pytest.fail(f"{path} is missing; build clusopt first")
    return str(path)


def run(*args, check=True, timeout=120, env=None):
    out = subprocess.run([tool(), *map(str, args)], capture_output=True,
                         text=True, timeout=timeout, env=env)
    if check and out.returncode:
        pytest.fail(f"clusopt-run failed ({out.returncode}):\n{out.stderr}")
    return out


def printed_top(stdout, image):
    """(class, probability, logit, name) per line of the image's top-k."""
    lines = stdout.splitlines()
    start = next(i for i, l in enumerate(lines)
                 if l.startswith(f"image {image} top-"))
    rows = []
    for line in lines[start + 1:]:
        if not line.startswith("  "):
            break
        cls, prob, logit, *name = line.split(maxsplit=3)
        rows.append((int(cls), float(prob), float(logit),
                     name[0] if name else None))
    return rows


def classes_file():
    return pathlib.Path(__file__).parents[2] / "runtime" / "data" / \
        "imagenet-classes.txt"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """paca_tiny's config, seeded weights (biases and norms perturbed so
    every parameter matters) and their safetensors file."""
    cfg = paca.config("tiny")
    weights = paca.random_weights(cfg, seed=5, bias_std=0.02)
    path = tmp_path_factory.mktemp("paca") / "tiny.safetensors"
    export.export_state_dict(weights, path, dtype="f32")
    return cfg, weights, path


@pytest.mark.parametrize("shape", [(1, 3, 64, 64), (2, 3, 64, 64),
                                   (8, 3, 64, 64), (1, 3, 64, 96),
                                   (1, 3, 224, 224)],
                         ids=lambda s: "x".join(map(str, s)))
def test_logits_match_reference(tiny, tmp_path, shape):
    cfg, weights, path = tiny
    images = np.random.default_rng(sum(shape)).standard_normal(shape)
    images = images.astype(np.float32)
    np.save(tmp_path / "images.npy", images)
    out = run("--model", "paca_tiny", "--weights", path, "--image",
              tmp_path / "images.npy", "--threads", 2, "--runs", 1,
              "--dump-logits", tmp_path / "logits.npy")
    got = np.load(tmp_path / "logits.npy")
    want = paca.forward(images.astype(np.float64), weights, cfg)
    assert got.shape == (shape[0], 1000) and got.dtype == np.float32
    err = np.abs(got - want).max() / np.abs(want).max()
    assert err <= REL_TOL, f"max error {err:.3e} relative to max |logit|"
    # The printed top-5 is the reference's (where the reference's margins
    # are wide enough to be unambiguous in f32).
    for i in range(shape[0]):
        top = [row[0] for row in printed_top(out.stdout, i)]
        order = np.argsort(-want[i])
        if want[i][order[0]] - want[i][order[1]] > 1e-4:
            assert top[0] == order[0]
        assert set(top) <= set(order[:8])
    assert "latency: median" in out.stdout


@pytest.mark.parametrize("size", ["small", "base"])
def test_larger_models_sampled(tmp_path, size):
    """paca_small and paca_base share tiny's code paths; one small case
    each, against the reference."""
    cfg = paca.config(size)
    weights = paca.random_weights(cfg, seed=7, bias_std=0.02)
    path = tmp_path / f"{size}.safetensors"
    export.export_state_dict(weights, path, dtype="f32")
    images = np.random.default_rng(3).standard_normal((1, 3, 64, 64))
    np.save(tmp_path / "images.npy", images.astype(np.float32))
    run("--model", f"paca_{size}", "--weights", path, "--image",
        tmp_path / "images.npy", "--threads", 2, "--runs", 1,
        "--dump-logits", tmp_path / "logits.npy")
    got = np.load(tmp_path / "logits.npy")
    want = paca.forward(images.astype(np.float32).astype(np.float64),
                        weights, cfg)
    err = np.abs(got - want).max() / np.abs(want).max()
    assert err <= REL_TOL, f"max error {err:.3e} relative to max |logit|"


@pytest.fixture(scope="module")
def tiny_dense(tmp_path_factory):
    """The dense baseline (docs/models.md): clusters [0, 0, 0, 0], so no
    clustering weights and plain self-attention in every stage."""
    cfg = paca.config("tiny", clusters=(0, 0, 0, 0))
    weights = paca.random_weights(cfg, seed=6, bias_std=0.02)
    path = tmp_path_factory.mktemp("paca") / "tiny_dense.safetensors"
    export.export_state_dict(weights, path, dtype="f32")
    return cfg, weights, path


@pytest.mark.parametrize("shape", [(1, 3, 64, 64), (2, 3, 64, 64),
                                   (1, 3, 224, 224), (2, 3, 224, 224)],
                         ids=lambda s: "x".join(map(str, s)))
def test_dense_logits_match_reference(tiny_dense, tmp_path, shape):
    cfg, weights, path = tiny_dense
    images = np.random.default_rng(sum(shape)).standard_normal(shape)
    np.save(tmp_path / "images.npy", images.astype(np.float32))
    out = run("--model", "paca_tiny_dense", "--weights", path, "--image",
              tmp_path / "images.npy", "--threads", 2, "--runs", 1,
              "--dump-logits", tmp_path / "logits.npy", "--profile")
    got = np.load(tmp_path / "logits.npy")
    want = paca.forward(images.astype(np.float32).astype(np.float64),
                        weights, cfg)
    err = np.abs(got - want).max() / np.abs(want).max()
    assert err <= REL_TOL, f"max error {err:.3e} relative to max |logit|"
    assert "model paca_tiny_dense," in out.stdout
    assert "stage1 attention (kernel)" in out.stdout
    assert "assign_pool" not in out.stdout


def test_random_batch_and_profile(tiny):
    _, _, path = tiny
    out = run("--weights", path, "--random", "--batch", 2, "--resolution",
              64, "--threads", 2, "--runs", 2, "--profile")
    assert "images [2, 3, 64, 64], threads 2" in out.stdout
    assert "image 1 top-5 (class, probability, logit, name):" in out.stdout
    for label in ("stem", "stage1 assign_pool (kernel)",
                  "stage4 attention (kernel)", "stage3 mlp dwconv", "head",
                  "total (profiled runs)", "medians over 2 profiled runs"):
        assert label in out.stdout
    assert "stage4 assign_pool" not in out.stdout  # no clusters in stage 4


def test_raw_bin_images(tiny, tmp_path):
    _, _, path = tiny
    images = np.random.default_rng(0).standard_normal((1, 3, 64, 64))
    images.astype(np.float32).tofile(tmp_path / "x.bin")
    np.save(tmp_path / "x.npy", images)  # float64 .npy, converted
    a = run("--weights", path, "--image", tmp_path / "x.bin", "--resolution",
            64, "--runs", 1, "--dump-logits", tmp_path / "a.npy")
    b = run("--weights", path, "--image", tmp_path / "x.npy", "--runs", 1,
            "--dump-logits", tmp_path / "b.npy")
    np.testing.assert_allclose(np.load(tmp_path / "a.npy"),
                               np.load(tmp_path / "b.npy"), rtol=1e-6,
                               atol=1e-6)
    # The wrong size for the declared shape is a truncated file.
    (tmp_path / "short.bin").write_bytes(
        (tmp_path / "x.bin").read_bytes()[:-4])
    bad = run("--weights", path, "--image", tmp_path / "short.bin",
              "--resolution", 64, check=False)
    assert bad.returncode == 1
    assert "49148 bytes, expected 49152 for float32 [1, 3, 64, 64]" in bad.stderr


def broken_weights(tiny, tmp_path, edit):
    cfg, weights, _ = tiny
    weights = dict(weights)
    edit(weights)
    path = tmp_path / "broken.safetensors"
    export.export_state_dict(weights, path, dtype="f32")
    return path


def test_top_classes_names_and_json(tiny, tmp_path):
    """Softmax probabilities of the dumped logits, the ImageNet names
    shipped in runtime/data (torchvision's list), --topk, and --json with
    one object per image."""
    _, _, path = tiny
    names = classes_file().read_text().splitlines()
    assert len(names) == 1000 and len(set(names)) == 1000
    assert names[0] == "tench" and names[207] == "golden retriever"
    assert names[999] == "toilet tissue"
    out = run("--weights", path, "--random", "--batch", 2, "--resolution",
              64, "--runs", 1, "--topk", 3, "--dump-logits",
              tmp_path / "l.npy")
    logits = np.load(tmp_path / "l.npy").astype(np.float64)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    for i in range(2):
        assert f"image {i} top-3 (class, probability, logit, name):" \
            in out.stdout
        rows = printed_top(out.stdout, i)
        assert len(rows) == 3
        assert [r[0] for r in rows] == list(np.argsort(-logits[i])[:3])
        for cls, prob, logit, name in rows:
            assert abs(prob - probs[i, cls]) <= 1e-4
            assert abs(logit - logits[i, cls]) <= 1e-4
            assert name == names[cls]
    out = run("--weights", path, "--random", "--batch", 2, "--resolution",
              64, "--runs", 1, "--topk", 2, "--json")
    import json
    objects = [json.loads(line) for line in out.stdout.splitlines()]
    assert [o["image"] for o in objects] == [0, 1]
    for i, o in enumerate(objects):
        assert o["source"] == "random" and o["model"] == "paca_tiny"
        assert o["latency_ms"] > 0
        assert [t["class"] for t in o["top"]] == \
            list(np.argsort(-logits[i])[:2])
        for t in o["top"]:
            assert t["label"] == names[t["class"]]
            assert abs(t["probability"] - probs[i, t["class"]]) <= 1e-6
            assert abs(t["logit"] - logits[i, t["class"]]) <= 1e-6


@pytest.mark.parametrize("args,message", [
    (["--topk", 0], "--topk must be an integer from 1 to 1000, got 0"),
    (["--topk", 1001], "--topk must be an integer from 1 to 1000, got 1001"),
    (["--json", "--profile"], "--json and --profile cannot be combined")])
def test_top_class_flag_errors(tiny, args, message):
    _, _, path = tiny
    expect_error(["--weights", path, "--random", "--resolution", 64, *args],
                 message)


def expect_error(args, message, timeout=120, env=None):
    out = run(*args, check=False, timeout=timeout, env=env)
    assert out.returncode == 1, out.stdout
    assert "clusopt-run: error: " in out.stderr
    assert message in out.stderr, out.stderr
    assert "Stack dump" not in out.stderr


def test_missing_tensor(tiny, tmp_path):
    path = broken_weights(
        tiny, tmp_path,
        lambda w: w.pop("stage2.1.attn.cluster_norm.weight"))
    expect_error(["--weights", path, "--random", "--resolution", 64],
                 "tensor 'stage2.1.attn.cluster_norm.weight': not found in "
                 "the weights file")


def test_wrong_shape(tiny, tmp_path):
    def edit(w):
        w["stage3.0.attn.clustering.clustering.4.weight"] = np.zeros(
            (99, 320, 1, 1))
    path = broken_weights(tiny, tmp_path, edit)
    expect_error(["--weights", path, "--random", "--resolution", 64],
                 "tensor 'stage3.0.attn.clustering.clustering.4.weight': "
                 "expected shape [100, 320, 1, 1], got [99, 320, 1, 1]")


def test_wrong_dtype(tiny, tmp_path):
    cfg, weights, _ = tiny
    path = tmp_path / "f16.safetensors"
    export.export_state_dict(weights, path, dtype="f16")
    expect_error(["--weights", path, "--random", "--resolution", 64],
                 "expected dtype F32, got F16")


def test_truncated_weights(tiny, tmp_path):
    _, _, path = tiny
    data = path.read_bytes()
    short = tmp_path / "short.safetensors"
    short.write_bytes(data[:len(data) // 2])
    expect_error(["--weights", short, "--random", "--resolution", 64],
                 "runs past the end of the")


@pytest.mark.parametrize("args,message", [
    (["--random", "--resolution", 100],
     "--resolution 100 is not a positive multiple of 32"),
    (["--random", "--batch", 0],
     "--batch must be an integer from 1 to 65536, got 0"),
    # Once narrowed to int: batch 1.
    (["--random", "--batch", 4294967297],
     "--batch must be an integer from 1 to 65536, got 4294967297"),
    (["--random", "--batch", -3],
     "--batch must be an integer from 1 to 65536, got -3"),
    (["--random", "--resolution", 4294967328],
     "--resolution must be an integer from 1 to 8192, got 4294967328"),
    (["--random", "--runs", 0],
     "--runs must be an integer from 1 to 100000, got 0"),
    (["--random", "--runs", 4294967297],
     "--runs must be an integer from 1 to 100000, got 4294967297"),
    (["--random", "--seed", -1],
     "--seed must be an integer from 0 to 4294967295, got -1"),
    (["--random", "--threads", 0],
     "--threads must be an integer from 1 to 1024, got '0'"),
    # libomp aborts when it cannot start this many threads.
    (["--random", "--threads", 100000],
     "--threads must be an integer from 1 to 1024, got '100000'"),
    (["--random", "--model", "paca_huge"], "unknown model 'paca_huge'"),
    (["--random", "--model", "paca_huge_dense"],
     "unknown model 'paca_huge_dense'"),
    (["--resolution", 64], "give exactly one input: --image PATH, images "
     "as arguments, --image-list FILE or --random (0 given)"),
    (["--random", "--image", "x.png"], "give exactly one input"),
    (["--random", "--kernels", "/nonexistent/k.so"], "/nonexistent/k"),
])
def test_bad_arguments(tiny, args, message):
    _, _, path = tiny
    expect_error(["--weights", path, *args], message)


def test_bad_images(tiny, tmp_path):
    _, _, path = tiny
    np.save(tmp_path / "odd.npy", np.zeros((1, 3, 48, 64), np.float32))
    expect_error(["--weights", path, "--image", tmp_path / "odd.npy"],
                 "resolution 48x64 is not a multiple of 32")
    np.save(tmp_path / "gray.npy", np.zeros((1, 1, 64, 64), np.float32))
    expect_error(["--weights", path, "--image", tmp_path / "gray.npy"],
                 "images must be [B, 3, H, W] or [3, H, W], got [1, 1, 64, 64]")
    np.save(tmp_path / "ok.npy", np.zeros((1, 3, 64, 64), np.float32))
    data = (tmp_path / "ok.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(data[:-100])
    expect_error(["--weights", path, "--image", tmp_path / "cut.npy"],
                 "(truncated?)")
    expect_error(["--weights", path, "--image", tmp_path / "ok.npy",
                  "--resolution", 96],
                 "images are 64x64, --resolution says 96")
    (tmp_path / "x.png").write_bytes(b"\x89PNG")
    expect_error(["--weights", path, "--image", tmp_path / "x.png"],
                 "x.png: not a PNG or JPEG image (no PNG or JPEG signature)")
    (tmp_path / "x.jpg").write_bytes(b"\xff\xd8\xff\xe0")
    expect_error(["--weights", path, "--image", tmp_path / "x.jpg"],
                 "x.jpg: bad JPEG: Premature end of JPEG file")
    (tmp_path / "x.gif").write_bytes(b"GIF89a")
    expect_error(["--weights", path, "--image", tmp_path / "x.gif"],
                 "x.gif: not a PNG or JPEG image")


def test_dump_logits_replaces_a_symlink(tiny, tmp_path):
    """--dump-logits writes atomically: a symlink planted at the path is
    replaced, its target untouched, and no temporary is left."""
    _, _, path = tiny
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (tmp_path / "logits.npy").symlink_to(victim)
    run("--weights", path, "--random", "--resolution", 64, "--runs", 1,
        "--dump-logits", tmp_path / "logits.npy")
    assert victim.read_text() == "keep me"
    assert not (tmp_path / "logits.npy").is_symlink()
    assert np.load(tmp_path / "logits.npy").shape == (1, 1000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logits.npy",
                                                          "victim"]


# Errors that must come at once: a hang or a full run fails the timeout.
FAST = 30


def test_special_and_oversized_files(tiny, tmp_path):
    """A FIFO blocked forever and /dev/zero was read until memory ran out;
    both, a directory and a file over the size limit are refused by name
    before anything is read."""
    _, _, path = tiny
    fifo = tmp_path / "fifo.npy"
    os.mkfifo(fifo)
    not_regular = "not a regular file (weights are read from regular files " \
        "of at most 64 GiB)"
    expect_error(["--weights", "/dev/zero", "--random"],
                 "/dev/zero: is a character device, " + not_regular, FAST)
    expect_error(["--weights", fifo, "--random"],
                 f"{fifo}: is a FIFO, " + not_regular, FAST)
    expect_error(["--weights", tmp_path, "--random"],
                 f"{tmp_path}: is a directory, " + not_regular, FAST)
    for image in ["/dev/zero", fifo]:
        expect_error(["--weights", path, "--image", image],
                     "not a regular file (images are read from regular "
                     "files of at most 1 GiB)", FAST)
    # Sparse files: the size is refused, nothing is read.
    big = tmp_path / "big.safetensors"
    with open(big, "wb") as f:
        f.truncate((64 << 30) + 1)
    expect_error(["--weights", big, "--random"],
                 f"{big}: 68719476737 bytes, over the 64 GiB limit for "
                 "weights", FAST)
    for name in ["big.npy", "big.bin", "big.png"]:
        with open(tmp_path / name, "wb") as f:
            f.truncate((1 << 30) + 1)
        expect_error(["--weights", path, "--image", tmp_path / name],
                     f"{name}: 1073741825 bytes, over the 1 GiB limit for "
                     "images", FAST)


def test_omp_num_threads_is_capped(tiny):
    _, _, path = tiny
    env = dict(os.environ, OMP_NUM_THREADS="100000")
    expect_error(["--weights", path, "--random", "--resolution", 64],
                 "OMP_NUM_THREADS asks for 100000 threads, more than the "
                 "limit of 1024 (set it lower, or pass --threads)", FAST, env)
    # --threads overrides it.
    run("--weights", path, "--random", "--resolution", 64, "--runs", 1,
        "--threads", 2, env=env)


def test_non_finite_weight_is_named(tiny, tmp_path):
    def edit(w):
        t = w["stage2.1.mlp.fc1.weight"].copy()
        t[3, 4] = np.nan
        t[5, 0] = np.inf
        w["stage2.1.mlp.fc1.weight"] = t
    path = broken_weights(tiny, tmp_path, edit)
    expect_error(["--weights", path, "--random", "--resolution", 64],
                 "tensor 'stage2.1.mlp.fc1.weight': 2 of 147456 values are "
                 "not finite (the first, at flat index 580, is NaN)")


def test_non_finite_pixel_is_reported(tiny, tmp_path):
    _, _, path = tiny
    images = np.zeros((1, 3, 64, 64), np.float32)
    images[0, 1, 2, 3] = np.nan
    np.save(tmp_path / "nan.npy", images)
    expect_error(["--weights", path, "--image", tmp_path / "nan.npy"],
                 "nan.npy: 1 of 12288 values are not finite (the first, at "
                 "flat index 4227, is NaN)")
    images[0, 1, 2, 3] = 0
    images[0, 0, 0, 1] = -np.inf
    images.tofile(tmp_path / "inf.bin")
    expect_error(["--weights", path, "--image", tmp_path / "inf.bin",
                  "--resolution", 64],
                 "inf.bin: 1 of 12288 values are not finite (the first, at "
                 "flat index 1, is -inf)")


def test_non_finite_logits_fail_and_profile_names_the_layer(tiny, tmp_path):
    """Finite weights that overflow gave all-NaN logits, a top-5 of NaNs and
    exit status 0."""
    def edit(w):
        w["stage2.1.mlp.fc1.weight"] = np.full_like(
            w["stage2.1.mlp.fc1.weight"], 3e38)
    path = broken_weights(tiny, tmp_path, edit)
    args = ["--weights", path, "--random", "--resolution", 64, "--runs", 1]
    out = run(*args, check=False)
    assert out.returncode == 1 and "top-5" not in out.stdout
    assert ("clusopt-run: error: 1000 of 1000 logits are not finite (NaN or "
            "infinite); --profile names the first layer whose output is not "
            "finite") in out.stderr
    expect_error(args + ["--profile"],
                 "1000 of 1000 logits are not finite (NaN or infinite); the "
                 "first layer whose output is not finite is 'stage2 mlp "
                 "fc1/fc2 in block stage2.1' (49152 of 49152 values)")


def test_unused_weights_are_an_error(tmp_path):
    """paca_small's weights ran as paca_tiny, 178 tensors ignored."""
    cfg = paca.config("small")
    weights = paca.random_weights(cfg, seed=7, bias_std=0.02)
    path = tmp_path / "small.safetensors"
    export.export_state_dict(weights, path, dtype="f32")
    args = ["--model", "paca_tiny", "--weights", path, "--random",
            "--resolution", 64, "--runs", 1]
    expect_error(args,
                 f"{path}: 178 of its 417 tensors are not used by paca_tiny: "
                 "'stage1.2.attn.cluster_norm.bias', "
                 "'stage1.2.attn.cluster_norm.weight', 'stage1.2.attn.k.bias', "
                 "'stage1.2.attn.k.weight', 'stage1.2.attn.proj.bias', ... "
                 "(another model's weights? --allow-unused-weights ignores "
                 "them)")
    out = run(*args, "--allow-unused-weights")
    assert "model paca_tiny," in out.stdout


def test_ddp_prefix_hint(tiny, tmp_path):
    _, weights, _ = tiny
    path = tmp_path / "ddp.safetensors"
    export.export_state_dict({"module." + k: v for k, v in weights.items()},
                             path, dtype="f32")
    expect_error(["--weights", path, "--random", "--resolution", 64],
                 "tensor 'patch_embed.proj.0.weight': not found in the "
                 "weights file, but 'module.patch_embed.proj.0.weight' is: "
                 "the weights were saved from a "
                 "DistributedDataParallel/DataParallel wrapper; strip the "
                 "'module.' prefix")


@pytest.mark.parametrize("flag,target,message", [
    ("--dump-logits", "missing/l.npy", "directory {d}/missing does not exist"),
    ("--dump-logits", ".", "is a directory; give a file name"),
    ("--dump-logits", "file/l.npy", "{d}/file is not a directory"),
    ("--dump-assignments", "file", "exists and is not a directory"),
    ("--dump-assignments", "file/sub", "{d}/file is not a directory"),
])
def test_bad_output_path_fails_before_the_run(tiny, tmp_path, flag, target,
                                              message):
    """These came only after a full run; 100000 runs at 224 would take
    hours, so the timeout shows the check comes first."""
    _, _, path = tiny
    (tmp_path / "file").write_text("x")
    model = ["--model", "clustr_b1"] if flag == "--dump-assignments" else []
    start = time.monotonic()
    expect_error([*model, "--weights", path, "--random", "--runs", 100000,
                  flag, tmp_path / target],
                 f"{flag}={tmp_path / target}: " +
                 message.format(d=tmp_path), FAST)
    assert time.monotonic() - start < FAST
