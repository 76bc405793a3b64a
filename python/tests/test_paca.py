"""The NumPy PaCa-ViT reference (clusopt.models.paca): weight names and
shapes, a forward pass at a tiny resolution, and its pieces against the
op oracle (clusopt.reference) and naive loops."""

import math
import pathlib
import subprocess

import numpy as np
import pytest

from clusopt import export, reference, safetensors_io
from clusopt.models import paca
from clusopt.toolchain import build_dir


def test_weight_names_and_shapes():
    shapes = paca.weight_shapes(paca.config("tiny"))
    assert shapes["patch_embed.proj.0.weight"] == (48, 3, 3, 3)
    assert shapes["stage1.0.attn.clustering.clustering.0.weight"] == (96, 1, 7, 7)
    assert shapes["stage1.0.attn.clustering.clustering.4.weight"] == (100, 96, 1, 1)
    assert "stage1.0.attn.clustering.clustering.4.bias" not in shapes
    # Only block 0 clusters; every block with clusters pools and norms.
    assert "stage1.1.attn.clustering.clustering.0.weight" not in shapes
    assert shapes["stage1.1.attn.cluster_norm.weight"] == (96,)
    # Stage 4 has no clusters: plain self-attention.
    assert not any(k.startswith("stage4.") and "clustering" in k or
                   k.startswith("stage4.") and "cluster_norm" in k
                   for k in shapes)
    assert shapes["stage3.3.mlp.dwconv.dwconv.weight"] == (1280, 1, 3, 3)
    assert shapes["transition3.proj.weight"] == (384, 320, 3, 3)
    assert shapes["head.weight"] == (1000, 384)
    assert "stage3.4.norm1_before.weight" not in shapes  # tiny: depth 4
    base = paca.weight_shapes(paca.config("base"))
    assert base["stage3.17.attn.q.weight"] == (384, 384)
    dense = paca.weight_shapes(paca.config("tiny", clusters=(0, 0, 0, 0)))
    assert not any("cluster" in k for k in dense)


def naive_conv(x, w, b, stride, pad, groups):
    bsz, cin, h, wd = x.shape
    cout, cg, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho, wo = (h + 2 * pad - k) // stride + 1, (wd + 2 * pad - k) // stride + 1
    y = np.zeros((bsz, cout, ho, wo))
    per = cout // groups
    for o in range(cout):
        g = o // per
        for i in range(ho):
            for j in range(wo):
                patch = xp[:, g * cg:(g + 1) * cg, i * stride:i * stride + k,
                           j * stride:j * stride + k]
                y[:, o, i, j] = (patch * w[o]).sum(axis=(1, 2, 3)) + b[o]
    return y


@pytest.mark.parametrize("stride, pad, groups", [(2, 1, 1), (1, 3, 4)])
def test_conv2d_matches_loops(stride, pad, groups):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 9, 8))
    k = 3 if groups == 1 else 7
    w = rng.standard_normal((6 if groups == 1 else 4, 4 // groups, k, k))
    b = rng.standard_normal(w.shape[0])
    np.testing.assert_allclose(
        paca.conv2d(x, w, b, stride=stride, padding=pad, groups=groups),
        naive_conv(x, w, b, stride, pad, groups), rtol=1e-12, atol=1e-12)


def test_pieces_match_the_oracle():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((2, 5, 13)) * 3
    x = rng.standard_normal((2, 13, 6))
    np.testing.assert_allclose(paca.soft_assign(logits),
                               reference.soft_assign(logits), rtol=1e-12)
    z = paca.soft_assign(logits)
    np.testing.assert_allclose(paca.pool(z, x), reference.pool(z, x),
                               rtol=1e-12, atol=1e-12)
    q, k, v = (rng.standard_normal((2, 3, n, 4)) for n in (7, 5, 5))
    np.testing.assert_allclose(paca.attention(q, k, v),
                               reference.attention(q, [(k, v)]),
                               rtol=1e-12, atol=1e-12)
    assert paca.gelu(np.array([1.0]))[0] == pytest.approx(
        0.5 * (1 + math.erf(1 / math.sqrt(2))), rel=1e-15)
    y = paca.layer_norm_2d(x.reshape(2, 13, 3, 2), np.ones(13), np.zeros(13))
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-12)


@pytest.fixture(scope="module")
def tiny():
    cfg = paca.config("tiny")
    weights = paca.random_weights(cfg, seed=3, bias_std=0.02)
    images = np.random.default_rng(4).standard_normal((2, 3, 32, 32))
    logits, features = paca.forward(images, weights, cfg, return_features=True)
    return cfg, weights, images, logits, features


def test_forward_tiny(tiny):
    cfg, weights, images, logits, features = tiny
    assert logits.shape == (2, 1000) and np.isfinite(logits).all()
    assert logits.std() > 0
    for (tokens, z), c, n, m in zip(features, cfg["dims"], (64, 16, 4, 1),
                                     cfg["clusters"]):
        assert tokens.shape == (2, n, c) and np.isfinite(tokens).all()
        if m:
            assert z.shape == (2, m, n)
            np.testing.assert_allclose(z.sum(axis=2), 1, rtol=1e-12)
        else:
            assert z is None
    # Batch items do not mix, and the weights are seeded.
    np.testing.assert_allclose(paca.forward(images[1:], weights, cfg),
                               logits[1:], rtol=1e-10, atol=1e-12)
    again = paca.random_weights(cfg, seed=3, bias_std=0.02)
    assert all(np.array_equal(again[k], weights[k]) for k in weights)
    with pytest.raises(ValueError, match="multiples of 32"):
        paca.forward(images[:, :, :30], weights, cfg)


def test_exported_weights_load_everywhere(tiny, tmp_path):
    cfg, weights, images, logits, _ = tiny
    path = tmp_path / "paca-tiny.safetensors"
    export.export_state_dict(weights, path, dtype="f32",
                             metadata={"model": "paca-tiny"})
    loaded, kinds, meta = safetensors_io.load(path)
    assert meta == {"model": "paca-tiny"} and set(kinds.values()) == {"F32"}
    wide = {k: v.astype(np.float64) for k, v in loaded.items()}
    np.testing.assert_allclose(paca.forward(images, wide, cfg), logits,
                               rtol=1e-4, atol=1e-5)
    tool = pathlib.Path(build_dir()) / "bin" / "clusopt-safetensors"
    if not tool.exists():
        pytest.fail(f"{tool} is missing; build clusopt first")
    expects = [f"{name}:f32:{','.join(map(str, shape))}"
               for name, shape in paca.weight_shapes(cfg).items()]
    args = [str(tool), str(path)] + [a for e in expects for a in ("--expect", e)]
    out = subprocess.run(args, check=True, capture_output=True, text=True)
    assert out.stdout.count("\ntensor ") == len(expects)
