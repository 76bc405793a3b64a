"""ClusTR (docs/models.md) in NumPy float64: the reference forward pass.

Written from the model definition, not from the runtime. The clustering
steps use the op oracle (`clusopt.reference`, itself written from the op
definitions), because dpc_knn and aggregate are defined there; everything
else is plain NumPy. Weights are a dict keyed by the PyTorch state_dict
names (`block1.0.attn.kv1.weight`, ...).
"""

import math

import numpy as np

from clusopt import reference
from clusopt.models.paca import (conv2d, gelu, layer_norm, linear,
                                 _heads, _image, _tokens)

CONFIGS = {
    "b1": dict(dims=(64, 128, 256, 512), heads=(1, 2, 4, 8),
               depths=(1, 2, 6, 1)),
    "b2": dict(dims=(64, 128, 256, 512), heads=(1, 2, 4, 8),
               depths=(3, 5, 13, 2)),
    "b3": dict(dims=(64, 128, 320, 512), heads=(1, 2, 5, 8),
               depths=(3, 5, 18, 3)),
}
SR_RATIOS = (8, 4, 2, 1)
MLP_RATIOS = (8, 8, 4, 4)
NUM_CLASSES = 1000
K_NEAREST = 5


def config(name, num_classes=NUM_CLASSES):
    cfg = dict(CONFIGS[name])
    cfg.update(sr_ratios=SR_RATIOS, mlp_ratios=MLP_RATIOS,
               num_classes=num_classes)
    return cfg


def weight_shapes(cfg):
    """name -> shape, in state_dict order."""
    shapes = {}
    dims = cfg["dims"]
    for i, (c, depth) in enumerate(zip(dims, cfg["depths"])):
        cin = 3 if i == 0 else dims[i - 1]
        k = 7 if i == 0 else 3
        p = f"patch_embed{i + 1}."
        shapes[p + "proj.weight"] = (c, cin, k, k)
        shapes[p + "proj.bias"] = (c,)
        shapes[p + "norm.weight"] = (c,)
        shapes[p + "norm.bias"] = (c,)
        hidden = cfg["mlp_ratios"][i] * c
        for j in range(depth):
            p = f"block{i + 1}.{j}."
            shapes[p + "norm1.weight"] = (c,)
            shapes[p + "norm1.bias"] = (c,)
            shapes[p + "attn.q.weight"] = (c, c)
            shapes[p + "attn.q.bias"] = (c,)
            if cfg["sr_ratios"][i] > 1:
                shapes[p + "attn.weight_layer.weight"] = (1, c)
                shapes[p + "attn.weight_layer.bias"] = (1,)
                for s in (1, 2):
                    shapes[p + f"attn.kv{s}.weight"] = (2 * c, c)
                    shapes[p + f"attn.kv{s}.bias"] = (2 * c,)
            else:
                shapes[p + "attn.kv.weight"] = (2 * c, c)
                shapes[p + "attn.kv.bias"] = (2 * c,)
            shapes[p + "attn.proj.weight"] = (c, c)
            shapes[p + "attn.proj.bias"] = (c,)
            shapes[p + "norm2.weight"] = (c,)
            shapes[p + "norm2.bias"] = (c,)
            shapes[p + "mlp.fc1.weight"] = (hidden, c)
            shapes[p + "mlp.fc1.bias"] = (hidden,)
            shapes[p + "mlp.dwconv.dwconv.weight"] = (hidden, 1, 3, 3)
            shapes[p + "mlp.dwconv.dwconv.bias"] = (hidden,)
            shapes[p + "mlp.fc2.weight"] = (c, hidden)
            shapes[p + "mlp.fc2.bias"] = (c,)
        shapes[f"norm{i + 1}.weight"] = (c,)
        shapes[f"norm{i + 1}.bias"] = (c,)
    shapes["head.weight"] = (cfg["num_classes"], dims[-1])
    shapes["head.bias"] = (cfg["num_classes"],)
    return shapes


def random_weights(cfg, seed=0, bias_std=0.0):
    """Seeded weights, initialised as PaCa's (`paca.random_weights`)."""
    from clusopt.models import paca
    return paca.random_weights_for(weight_shapes(cfg), seed, bias_std)


def _kv(x, weight, bias, heads):
    """Linear C→2C viewed as [B, M, 2, heads, d]; returns K, V as
    [B, heads, M, d]."""
    b, m, c = x.shape
    kv = linear(x, weight, bias).reshape(b, m, 2, heads, c // heads)
    kv = kv.transpose(2, 0, 3, 1, 4)
    return kv[0], kv[1]


def attention(q, kvs):
    """Σ_s softmax(q kᵀ / sqrt(d)) v over the scales (no joint softmax)."""
    out = 0.0
    for k, v in kvs:
        s = np.einsum("bhnd,bhmd->bhnm", q, k) / math.sqrt(q.shape[-1])
        e = np.exp(s - s.max(axis=-1, keepdims=True))
        out = out + np.einsum("bhnm,bhmd->bhnd",
                              e / e.sum(axis=-1, keepdims=True), v)
    return out


def block(x, w, p, heads, sr, hw):
    """One ClusTR block on tokens x [B, N, C]."""
    b, n, c = x.shape
    a = layer_norm(x, w[p + "norm1.weight"], w[p + "norm1.bias"], 1e-6)
    q = _heads(linear(a, w[p + "attn.q.weight"], w[p + "attn.q.bias"]), heads)
    if sr > 1:
        weight = np.exp(linear(a, w[p + "attn.weight_layer.weight"],
                               w[p + "attn.weight_layer.bias"]))[..., 0]
        m1 = n // (sr * sr)
        clusters = [m1, 4 * m1]
        assign, _ = reference.dpc_knn(a, clusters, K_NEAREST)
        kvs = []
        for s, m in enumerate(clusters):
            xs = reference.aggregate(a, assign[:, s], m, "weighted_mean",
                                     weights=weight, eps=1e-6)
            kvs.append(_kv(xs, w[p + f"attn.kv{s + 1}.weight"],
                           w[p + f"attn.kv{s + 1}.bias"], heads))
    else:
        kvs = [_kv(a, w[p + "attn.kv.weight"], w[p + "attn.kv.bias"], heads)]
    o = attention(q, kvs).transpose(0, 2, 1, 3).reshape(b, n, c)
    x = x + linear(o, w[p + "attn.proj.weight"], w[p + "attn.proj.bias"])
    h = linear(layer_norm(x, w[p + "norm2.weight"], w[p + "norm2.bias"], 1e-6),
               w[p + "mlp.fc1.weight"], w[p + "mlp.fc1.bias"])
    dw = _tokens(conv2d(_image(h, *hw), w[p + "mlp.dwconv.dwconv.weight"],
                        w[p + "mlp.dwconv.dwconv.bias"], padding=1,
                        groups=h.shape[2]))
    return x + linear(gelu(h + dw), w[p + "mlp.fc2.weight"],
                      w[p + "mlp.fc2.bias"])


def forward(images, weights, cfg):
    """Logits [B, classes] of NCHW float images (H, W multiples of 32)."""
    w = weights
    x = np.asarray(images, dtype=np.float64)
    if x.ndim != 4 or x.shape[1] != 3 or x.shape[2] % 32 or x.shape[3] % 32:
        raise ValueError(f"clustr: images must be [B, 3, H, W] with H and W "
                         f"multiples of 32, got {x.shape}")
    for i, (heads, depth) in enumerate(zip(cfg["heads"], cfg["depths"])):
        p = f"patch_embed{i + 1}."
        stride, pad = (4, 3) if i == 0 else (2, 1)
        x = conv2d(x, w[p + "proj.weight"], w[p + "proj.bias"], stride=stride,
                   padding=pad)
        hw = x.shape[2:]
        t = layer_norm(_tokens(x), w[p + "norm.weight"], w[p + "norm.bias"],
                       1e-5)
        for j in range(depth):
            t = block(t, w, f"block{i + 1}.{j}.", heads, cfg["sr_ratios"][i],
                      hw)
        t = layer_norm(t, w[f"norm{i + 1}.weight"], w[f"norm{i + 1}.bias"],
                       1e-6)
        x = _image(t, *hw)
    return linear(t.mean(axis=1), w["head.weight"], w["head.bias"])
