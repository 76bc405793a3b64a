"""CAST-ViT and ViT-dense (docs/models.md) in NumPy float64: the
reference forward passes.

CAST-ViT is defined by this project (there is no public CAST code): a
DeiT-Tiny-like ViT whose attention is `clus.topk_members` over surrogate
affinities followed by `clus.cluster_attention`. ViT-dense is the same
model and weights with plain softmax attention. The clustering ops use the
op oracle (`clusopt.reference`); everything else is plain NumPy.
"""

import math

import numpy as np

from clusopt import reference
from clusopt.models.paca import (conv2d, gelu, layer_norm, linear,
                                 random_weights_for, _tokens)

CONFIG = dict(dim=192, heads=3, depth=12, patch=16, clusters=14,
              mlp_ratio=4, num_classes=1000)


def config(resolution=224, **overrides):
    cfg = dict(CONFIG)
    cfg.update(overrides)
    cfg["resolution"] = resolution
    return cfg


def tokens_of(cfg):
    side = cfg["resolution"] // cfg["patch"]
    return side * side


def capacity_of(cfg):
    """κ = 2·N/M (at least 1)."""
    return max(1, 2 * tokens_of(cfg) // cfg["clusters"])


def weight_shapes(cfg):
    c, n, p = cfg["dim"], tokens_of(cfg), cfg["patch"]
    hidden, heads = cfg["mlp_ratio"] * c, cfg["heads"]
    shapes = {
        "pos_embed": (1, n, c),
        "patch_embed.proj.weight": (c, 3, p, p),
        "patch_embed.proj.bias": (c,),
    }
    for j in range(cfg["depth"]):
        q = f"blocks.{j}."
        shapes[q + "norm1.weight"] = (c,)
        shapes[q + "norm1.bias"] = (c,)
        shapes[q + "attn.qkv.weight"] = (3 * c, c)
        shapes[q + "attn.qkv.bias"] = (3 * c,)
        shapes[q + "attn.surrogates"] = (heads, cfg["clusters"], c // heads)
        shapes[q + "attn.proj.weight"] = (c, c)
        shapes[q + "attn.proj.bias"] = (c,)
        shapes[q + "norm2.weight"] = (c,)
        shapes[q + "norm2.bias"] = (c,)
        shapes[q + "mlp.fc1.weight"] = (hidden, c)
        shapes[q + "mlp.fc1.bias"] = (hidden,)
        shapes[q + "mlp.fc2.weight"] = (c, hidden)
        shapes[q + "mlp.fc2.bias"] = (c,)
    shapes["norm.weight"] = (c,)
    shapes["norm.bias"] = (c,)
    shapes["head.weight"] = (cfg["num_classes"], c)
    shapes["head.bias"] = (cfg["num_classes"],)
    return shapes


def random_weights(cfg, seed=0, bias_std=0.0):
    """Seeded weights; surrogates are standard normal, so that affinities
    separate clusters clearly (with std 0.02 they would be near-ties)."""
    weights = random_weights_for(weight_shapes(cfg), seed, bias_std)
    rng = np.random.default_rng(seed + 1)
    for name in weights:
        if name.endswith("attn.surrogates"):
            weights[name] = rng.standard_normal(weights[name].shape)
    return weights


def _qkv(a, w, p, heads):
    b, n, c = a.shape
    qkv = linear(a, w[p + "attn.qkv.weight"], w[p + "attn.qkv.bias"])
    qkv = qkv.reshape(b, n, 3, heads, c // heads).transpose(2, 0, 3, 1, 4)
    return qkv[0], qkv[1], qkv[2]


def cast_attention(q, k, v, surrogates, capacity):
    """Top-K membership over mean-over-heads affinities, then clusopt's
    CAST-style cluster attention with summaries."""
    scale = 1.0 / math.sqrt(q.shape[-1])
    aq = np.einsum("bhnd,hmd->bhnm", q, surrogates) * scale
    ak = np.einsum("bhnd,hmd->bhnm", k, surrogates) * scale
    members = reference.topk_members((aq + ak).mean(axis=1), capacity)
    return reference.cluster_attention(q, k, v, members, aq, ak,
                                       summaries=True)


def dense_attention(q, k, v):
    s = np.einsum("bhnd,bhmd->bhnm", q, k) / math.sqrt(q.shape[-1])
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return np.einsum("bhnm,bhmd->bhnd", e / e.sum(axis=-1, keepdims=True), v)


def forward(images, weights, cfg, dense=False):
    """Logits [B, classes]; `dense` gives the ViT-dense baseline."""
    w = weights
    x = np.asarray(images, dtype=np.float64)
    r = cfg["resolution"]
    if x.ndim != 4 or x.shape[1:] != (3, r, r):
        raise ValueError(f"cast: images must be [B, 3, {r}, {r}] for this "
                         f"config, got {x.shape}")
    t = _tokens(conv2d(x, w["patch_embed.proj.weight"],
                       w["patch_embed.proj.bias"], stride=cfg["patch"]))
    t = t + w["pos_embed"]
    b, n, c = t.shape
    for j in range(cfg["depth"]):
        p = f"blocks.{j}."
        a = layer_norm(t, w[p + "norm1.weight"], w[p + "norm1.bias"], 1e-6)
        q, k, v = _qkv(a, w, p, cfg["heads"])
        if dense:
            o = dense_attention(q, k, v)
        else:
            o = cast_attention(q, k, v, w[p + "attn.surrogates"],
                               capacity_of(cfg))
        o = o.transpose(0, 2, 1, 3).reshape(b, n, c)
        t = t + linear(o, w[p + "attn.proj.weight"], w[p + "attn.proj.bias"])
        h = layer_norm(t, w[p + "norm2.weight"], w[p + "norm2.bias"], 1e-6)
        h = gelu(linear(h, w[p + "mlp.fc1.weight"], w[p + "mlp.fc1.bias"]))
        t = t + linear(h, w[p + "mlp.fc2.weight"], w[p + "mlp.fc2.bias"])
    t = layer_norm(t, w["norm.weight"], w["norm.bias"], 1e-6)
    return linear(t.mean(axis=1), w["head.weight"], w["head.bias"])
