"""The NumPy reference forwards of ClusTR, CAST-ViT and ViT-dense
(python/clusopt/models): weight tables match docs/models.md, forwards are
finite and keep batch items apart, and their attention pieces agree with
the op oracle."""

import numpy as np
import pytest

from clusopt import reference
from clusopt.models import cast, clustr


def test_clustr_weight_table():
    shapes = clustr.weight_shapes(clustr.config("b1"))
    # Clustered stages have the density weight and two key/value scales;
    # stage 4 (sr = 1) has one plain key/value projection.
    assert shapes["block1.0.attn.weight_layer.weight"] == (1, 64)
    assert shapes["block1.0.attn.kv2.weight"] == (128, 64)
    assert shapes["block4.0.attn.kv.weight"] == (1024, 512)
    assert "block4.0.attn.kv1.weight" not in shapes
    assert shapes["patch_embed1.proj.weight"] == (64, 3, 7, 7)
    assert shapes["patch_embed2.proj.weight"] == (128, 64, 3, 3)
    assert shapes["block1.0.mlp.fc1.weight"] == (512, 64)  # mlp ratio 8
    assert shapes["block3.5.mlp.fc1.weight"] == (1024, 256)  # mlp ratio 4
    assert "block3.6.norm1.weight" not in shapes  # depths 1, 2, 6, 1
    assert shapes["head.weight"] == (1000, 512)


def test_clustr_forward_keeps_batch_items_apart():
    cfg = clustr.config("b1", num_classes=10)
    w = clustr.random_weights(cfg, seed=1, bias_std=0.02)
    x = np.random.default_rng(2).standard_normal((2, 3, 64, 64))
    logits = clustr.forward(x, w, cfg)
    assert logits.shape == (2, 10) and np.all(np.isfinite(logits))
    np.testing.assert_allclose(clustr.forward(x[1:], w, cfg)[0], logits[1],
                               rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="multiples of 32"):
        clustr.forward(x[:, :, :48], w, cfg)


def test_clustr_attention_is_the_oracle():
    rng = np.random.default_rng(3)
    q = rng.standard_normal((1, 2, 9, 8))
    kvs = [(rng.standard_normal((1, 2, m, 8)), rng.standard_normal((1, 2, m, 8)))
           for m in (3, 5)]
    np.testing.assert_allclose(clustr.attention(q, kvs),
                               reference.attention(q, kvs), rtol=1e-12)


def test_cast_weight_table_and_capacity():
    cfg = cast.config(224)
    shapes = cast.weight_shapes(cfg)
    assert shapes["pos_embed"] == (1, 196, 192)
    assert shapes["patch_embed.proj.weight"] == (192, 3, 16, 16)
    assert shapes["blocks.11.attn.surrogates"] == (3, 14, 64)
    assert shapes["blocks.0.attn.qkv.weight"] == (576, 192)
    assert "blocks.12.norm1.weight" not in shapes
    assert cast.capacity_of(cfg) == 28


def test_cast_and_dense_forwards():
    cfg = cast.config(64, depth=2, num_classes=10)
    w = cast.random_weights(cfg, seed=4, bias_std=0.02)
    x = np.random.default_rng(5).standard_normal((2, 3, 64, 64))
    clustered = cast.forward(x, w, cfg)
    dense = cast.forward(x, w, cfg, dense=True)
    assert clustered.shape == dense.shape == (2, 10)
    assert np.all(np.isfinite(clustered)) and np.all(np.isfinite(dense))
    # Same weights, different attention: the outputs differ.
    assert not np.allclose(clustered, dense)
    np.testing.assert_allclose(cast.forward(x[:1], w, cfg)[0], clustered[0],
                               rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="3, 64, 64"):
        cast.forward(x[:, :, :32, :32], w, cfg)


def test_dense_attention_is_the_oracle():
    rng = np.random.default_rng(6)
    q, k, v = (rng.standard_normal((1, 3, 10, 8)) for _ in range(3))
    np.testing.assert_allclose(cast.dense_attention(q, k, v),
                               reference.attention(q, [(k, v)]), rtol=1e-12)
