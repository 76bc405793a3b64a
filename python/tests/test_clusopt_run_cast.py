"""clusopt-run end to end for CAST-ViT and ViT-dense (docs/models.md) on
the C++ runtime and the generated kernels (build/runtime/models/
cast_kernels.so), against the NumPy float64 reference forward
(clusopt.models.cast) with seeded random weights; then their errors.

The runtime reads the depth and token count from the weights; these cases
use the full 12 blocks (the float64 reference takes about a second at 224,
batch 2), and the error cases shallower or broken weights."""

import numpy as np
import pytest

from clusopt import export
from clusopt.models import cast

from test_clusopt_run import REL_TOL, expect_error, run

# topk_members ranks affinities: where the reference's κ-th and (κ+1)-th
# largest G[:, m] are closer than f32 rounding (relative to max |G|), the
# runtime may legitimately pick the other token and the logits differ by
# more than REL_TOL. Every case below first checks that the seeded data has
# no such near-tie, so a mismatch is a real bug, never a rounding flip.
# 1e-6 is about 17 f32 ulps of max |G|; over 16 seeded 224/64 cases the
# logits agreed to at most 6.4e-7 relative with gaps down to 2e-6.
TIE_MARGIN = 1e-6


def weights_file(tmp_path_factory, cfg, seed):
    weights = cast.random_weights(cfg, seed=seed, bias_std=0.02)
    path = tmp_path_factory.mktemp("cast") / "w.safetensors"
    export.export_state_dict(weights, path, dtype="f32")
    return cfg, weights, path


@pytest.fixture(scope="module")
def cast224(tmp_path_factory):
    return weights_file(tmp_path_factory, cast.config(224), seed=2)


@pytest.fixture(scope="module")
def cast64(tmp_path_factory):
    return weights_file(tmp_path_factory, cast.config(64), seed=1)


def reference(images, weights, cfg, dense, monkeypatch):
    """The float64 logits and, for CAST, the smallest gap between the κ-th
    and (κ+1)-th affinity of any cluster, relative to max |G|."""
    topk = cast.reference.topk_members
    gaps = []

    def recording(g, capacity, exclusive=False):
        s = -np.sort(-np.asarray(g), axis=1)  # descending over tokens
        gaps.append((s[:, capacity - 1] - s[:, capacity]).min() /
                    np.abs(s).max())
        return topk(g, capacity, exclusive)

    monkeypatch.setattr(cast.reference, "topk_members", recording)
    logits = cast.forward(images.astype(np.float64), weights, cfg, dense=dense)
    return logits, min(gaps, default=np.inf)


@pytest.mark.parametrize("model", ["cast_vit", "vit_dense"])
@pytest.mark.parametrize("res,batch", [(224, 1), (224, 2), (64, 1), (64, 2),
                                       (64, 8)])
def test_logits_match_reference(request, monkeypatch, tmp_path, model, res,
                                batch):
    cfg, weights, path = request.getfixturevalue(f"cast{res}")
    images = np.random.default_rng(res + batch).standard_normal(
        (batch, 3, res, res)).astype(np.float32)
    np.save(tmp_path / "images.npy", images)
    out = run("--model", model, "--weights", path, "--image",
              tmp_path / "images.npy", "--threads", 2, "--runs", 1,
              "--dump-logits", tmp_path / "logits.npy")
    want, gap = reference(images, weights, cfg, model == "vit_dense",
                          monkeypatch)
    assert gap >= TIE_MARGIN, f"seeded data has a near-tie ({gap:.1e})"
    got = np.load(tmp_path / "logits.npy")
    assert got.shape == (batch, 1000) and got.dtype == np.float32
    err = np.abs(got - want).max() / np.abs(want).max()
    assert err <= REL_TOL, f"max error {err:.3e} relative to max |logit|"
    n = (res // 16) ** 2
    detail = (f"depth {cfg['depth']}, {n} tokens" +
              ("" if model == "vit_dense" else
               f", capacity {cast.capacity_of(cfg)}"))
    assert f"model {model} ({detail})" in out.stdout


def test_profile_and_default_resolution(cast64):
    _, _, path = cast64
    # No --resolution: the weights' 64 (N = 16 tokens).
    out = run("--model", "cast_vit", "--weights", path, "--random", "--batch",
              2, "--runs", 1, "--threads", 2, "--profile")
    assert "images [2, 3, 64, 64]" in out.stdout
    for label in ("patch_embed + pos_embed", "affinities Aq/Ak/G",
                  "topk_members (kernel)", "cluster_attention (kernel)",
                  "mlp fc1/fc2", "norm + mean + head"):
        assert label in out.stdout
    out = run("--model", "vit_dense", "--weights", path, "--random", "--runs",
              1, "--profile")
    assert "attention (kernel)" in out.stdout
    assert "topk_members" not in out.stdout


def test_dense_any_resolution_cast_needs_its_capacity(tmp_path_factory,
                                                      monkeypatch, tmp_path):
    # 112 = 7 patches a side: κ = 2·49/14 = 7 has no topk_members entry,
    # while ViT-dense needs none.
    cfg, weights, path = weights_file(tmp_path_factory,
                                      cast.config(112, depth=1), seed=0)
    expect_error(["--model", "cast_vit", "--weights", path, "--random"],
                 "has no entry point 'topk_members_k7' (topk_members at "
                 "capacity 7 = 2·49/14, for 112x112 images")
    images = np.random.default_rng(0).standard_normal((1, 3, 112, 112))
    np.save(tmp_path / "x.npy", images.astype(np.float32))
    run("--model", "vit_dense", "--weights", path, "--image",
        tmp_path / "x.npy", "--runs", 1, "--dump-logits", tmp_path / "l.npy")
    want, _ = reference(images.astype(np.float32), weights, cfg, True,
                        monkeypatch)
    got = np.load(tmp_path / "l.npy")
    assert np.abs(got - want).max() / np.abs(want).max() <= REL_TOL


def edited(cast64, tmp_path, edit):
    _, weights, _ = cast64
    weights = dict(weights)
    edit(weights)
    path = tmp_path / "broken.safetensors"
    export.export_state_dict(weights, path, dtype="f32")
    return path


@pytest.mark.parametrize("model", ["cast_vit", "vit_dense"])
def test_missing_tensor(cast64, tmp_path, model):
    path = edited(cast64, tmp_path, lambda w: w.pop("blocks.3.mlp.fc2.bias"))
    expect_error(["--model", model, "--weights", path, "--random"],
                 "tensor 'blocks.3.mlp.fc2.bias': not found in the weights "
                 "file")


def test_missing_surrogates_only_matter_to_cast(cast64, tmp_path):
    path = edited(cast64, tmp_path, lambda w: w.pop("blocks.0.attn.surrogates"))
    expect_error(["--model", "cast_vit", "--weights", path, "--random"],
                 "tensor 'blocks.0.attn.surrogates': not found")
    run("--model", "vit_dense", "--weights", path, "--random", "--runs", 1)


def test_missing_block_is_not_a_shorter_model(cast64, tmp_path):
    path = edited(cast64, tmp_path, lambda w: w.pop("blocks.5.norm1.weight"))
    expect_error(["--model", "cast_vit", "--weights", path, "--random"],
                 "blocks.5.norm1.weight is missing, so the model would end "
                 "after 5 blocks, yet block ")


@pytest.mark.parametrize("name,shape,message", [
    ("blocks.2.attn.qkv.weight", (575, 192),
     "tensor 'blocks.2.attn.qkv.weight': expected shape [576, 192], got "
     "[575, 192]"),
    ("blocks.0.attn.surrogates", (3, 13, 64),
     "tensor 'blocks.0.attn.surrogates': expected shape [3, 14, 64], got "
     "[3, 13, 64]"),
    ("pos_embed", (1, 15, 192),
     "tensor 'pos_embed': 15 tokens are not a square grid of patches"),
    ("pos_embed", (1, 16, 96),
     "tensor 'pos_embed': expected shape [1, N, 192], got [1, 16, 96]"),
])
def test_wrong_shape(cast64, tmp_path, name, shape, message):
    def edit(w):
        w[name] = np.zeros(shape)
    path = edited(cast64, tmp_path, edit)
    expect_error(["--model", "cast_vit", "--weights", path, "--random"],
                 message)


def test_wrong_resolution(cast64, tmp_path):
    _, _, path = cast64
    expect_error(["--model", "cast_vit", "--weights", path, "--random",
                  "--resolution", 224],
                 "cast_vit: images must be f32 [B, 3, 64, 64]: the weights' "
                 "pos_embed has 16 tokens, i.e. 64x64 images in patches of "
                 "16; got f32 [1, 3, 224, 224]")
    np.save(tmp_path / "x.npy", np.zeros((1, 3, 96, 96), np.float32))
    expect_error(["--model", "vit_dense", "--weights", path, "--image",
                  tmp_path / "x.npy"], "images must be f32 [B, 3, 64, 64]")
    expect_error(["--model", "cast_vit", "--weights", path, "--random",
                  "--resolution", 72],
                 "--resolution 72 is not a positive multiple of 16")
    expect_error(["--model", "cast_vt", "--weights", path, "--random"],
                 "unknown model 'cast_vt'")
