"""PaCa-ViT (docs/models.md) in NumPy float64: the reference forward pass.

Written from the model definition, not from the runtime or
clusopt.reference, so that it can check both. Weights are a dict keyed by
the PyTorch state_dict names (`stage1.0.attn.q.weight`, ...);
`random_weights` makes a seeded set with the right shapes, and `forward`
maps NCHW images to logits.
"""

import math

import numpy as np

CONFIGS = {
    "tiny": dict(dims=(96, 192, 320, 384), heads=(2, 4, 8, 16),
                 depths=(2, 2, 4, 2)),
    "small": dict(dims=(96, 192, 320, 384), heads=(2, 4, 8, 16),
                  depths=(3, 3, 10, 3)),
    "base": dict(dims=(96, 192, 384, 512), heads=(2, 4, 8, 16),
                 depths=(3, 3, 18, 3)),
}
CLUSTERS = (100, 100, 100, 0)
MLP_RATIO = 4
NUM_CLASSES = 1000
EPS = 1e-6


def config(name, clusters=CLUSTERS, num_classes=NUM_CLASSES):
    cfg = dict(CONFIGS[name])
    cfg.update(clusters=tuple(clusters), num_classes=num_classes)
    return cfg


# ---------------------------------------------------------------- pieces

def layer_norm(x, weight, bias, eps=EPS):
    """LayerNorm over the last axis."""
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def layer_norm_2d(x, weight, bias, eps=EPS):
    """LayerNorm over the channel axis of an NCHW map, per pixel."""
    return np.moveaxis(layer_norm(np.moveaxis(x, 1, -1), weight, bias, eps),
                       -1, 1)


_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu(x):
    """The exact (erf) GELU."""
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def linear(x, weight, bias=None):
    """x · Wᵀ + b with W [out, in] as PyTorch stores it."""
    y = x @ weight.T
    return y if bias is None else y + bias


def conv2d(x, weight, bias=None, stride=1, padding=0, groups=1):
    """2-D convolution of x [B, Cin, H, W] with weight [Cout, Cin/groups,
    k, k]; groups is 1 or Cin (depthwise)."""
    cout, cin_g, k, _ = weight.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))
    win = win[:, :, ::stride, ::stride]  # [B, Cin, Ho, Wo, k, k]
    if groups == 1:
        y = np.einsum("bchwij,ocij->bohw", win, weight, optimize=True)
    elif groups == x.shape[1] and cin_g == 1 and cout == groups:
        y = np.einsum("bchwij,cij->bchw", win, weight[:, 0], optimize=True)
    else:
        raise ValueError("conv2d: only dense and depthwise convolutions")
    return y if bias is None else y + bias[None, :, None, None]


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def soft_assign(logits):
    """Z [B, M, N]: each cluster's softmax over the tokens."""
    return softmax(logits, axis=2)


def pool(z, x):
    """Cluster tokens Z · X: [B, M, N] × [B, N, C] -> [B, M, C]."""
    return np.einsum("bmn,bnc->bmc", z, x)


def attention(q, k, v):
    """softmax(q kᵀ / sqrt(d)) v on [B, heads, tokens, d]."""
    # matmul, not einsum: BLAS makes the dense baseline's stage 1 (3136
    # tokens at 224) take seconds instead of half a minute.
    s = (q @ np.swapaxes(k, -1, -2)) / math.sqrt(q.shape[-1])
    return softmax(s, axis=-1) @ v


def _heads(x, heads):
    b, n, c = x.shape
    return x.reshape(b, n, heads, c // heads).transpose(0, 2, 1, 3)


def _tokens(image):
    b, c, h, w = image.shape
    return image.reshape(b, c, h * w).transpose(0, 2, 1)


def _image(tokens, h, w):
    b, n, c = tokens.shape
    return tokens.transpose(0, 2, 1).reshape(b, c, h, w)


# ---------------------------------------------------------------- weights

def weight_shapes(cfg):
    """name -> shape, in state_dict order."""
    dims, depths = cfg["dims"], cfg["depths"]
    shapes = {
        "patch_embed.proj.0.weight": (dims[0] // 2, 3, 3, 3),
        "patch_embed.proj.0.bias": (dims[0] // 2,),
        "patch_embed.proj.1.weight": (dims[0], dims[0] // 2, 3, 3),
        "patch_embed.proj.1.bias": (dims[0],),
        "patch_embed.norm.weight": (dims[0],),
        "patch_embed.norm.bias": (dims[0],),
    }
    for i, (c, depth, m) in enumerate(zip(dims, depths, cfg["clusters"])):
        for j in range(depth):
            p = f"stage{i + 1}.{j}."
            hidden = MLP_RATIO * c
            shapes[p + "norm1_before.weight"] = (c,)
            shapes[p + "norm1_before.bias"] = (c,)
            if m > 0 and j == 0:
                q = p + "attn.clustering.clustering."
                shapes[q + "0.weight"] = (c, 1, 7, 7)
                shapes[q + "0.bias"] = (c,)
                shapes[q + "2.weight"] = (c, c, 1, 1)
                shapes[q + "2.bias"] = (c,)
                shapes[q + "4.weight"] = (m, c, 1, 1)
            if m > 0:
                shapes[p + "attn.cluster_norm.weight"] = (c,)
                shapes[p + "attn.cluster_norm.bias"] = (c,)
            for proj in ("q", "k", "v", "proj"):
                shapes[p + f"attn.{proj}.weight"] = (c, c)
                shapes[p + f"attn.{proj}.bias"] = (c,)
            shapes[p + "norm2_before.weight"] = (c,)
            shapes[p + "norm2_before.bias"] = (c,)
            shapes[p + "mlp.fc1.weight"] = (hidden, c)
            shapes[p + "mlp.fc1.bias"] = (hidden,)
            shapes[p + "mlp.dwconv.dwconv.weight"] = (hidden, 1, 3, 3)
            shapes[p + "mlp.dwconv.dwconv.bias"] = (hidden,)
            shapes[p + "mlp.fc2.weight"] = (c, hidden)
            shapes[p + "mlp.fc2.bias"] = (c,)
        shapes[f"norm{i + 1}.weight"] = (c,)
        shapes[f"norm{i + 1}.bias"] = (c,)
        if i + 1 < len(dims):
            t = f"transition{i + 1}."
            shapes[t + "proj.weight"] = (dims[i + 1], c, 3, 3)
            shapes[t + "proj.bias"] = (dims[i + 1],)
            shapes[t + "norm.weight"] = (dims[i + 1],)
            shapes[t + "norm.bias"] = (dims[i + 1],)
    shapes["head.weight"] = (cfg["num_classes"], dims[-1])
    shapes["head.bias"] = (cfg["num_classes"],)
    return shapes


def random_weights(cfg, seed=0, bias_std=0.0):
    """Seeded weights as the authors initialise them: Linear weights
    trunc-normal (std 0.02, cut at 2 std), conv weights normal with std
    sqrt(2 / fan_out), norms 1 and 0, biases 0 (or normal with `bias_std`,
    with norms perturbed likewise, so tests exercise every parameter)."""
    return random_weights_for(weight_shapes(cfg), seed, bias_std)


def random_weights_for(shapes, seed=0, bias_std=0.0):
    """`random_weights` for any name -> shape table (shared by the other
    families); 3-D tensors (CAST surrogates, positions) are trunc-normal
    like Linear weights."""
    rng = np.random.default_rng(seed)
    weights = {}
    for name, shape in shapes.items():
        if name.endswith(".bias"):
            w = rng.normal(0, bias_std, shape) if bias_std else np.zeros(shape)
        elif len(shape) == 4:
            groups = shape[0] if shape[1] == 1 else 1
            fan_out = shape[0] * shape[2] * shape[3] // groups
            w = rng.normal(0, math.sqrt(2.0 / fan_out), shape)
        elif len(shape) in (2, 3):
            w = np.clip(rng.normal(0, 0.02, shape), -0.04, 0.04)
        else:  # a norm's scale
            w = 1.0 + (rng.normal(0, bias_std, shape) if bias_std
                       else np.zeros(shape))
        weights[name] = np.asarray(w, dtype=np.float64)
    return weights


# ---------------------------------------------------------------- forward

def block(x, w, p, heads, hw, z=None, first=False, clusters=0):
    """One PaCa block on tokens x [B, N, C]; returns (x, z)."""
    h, wd = hw
    a = layer_norm(x, w[p + "norm1_before.weight"], w[p + "norm1_before.bias"])
    if clusters > 0:
        if first:
            q = p + "attn.clustering.clustering."
            img = _image(a, h, wd)
            t = gelu(conv2d(img, w[q + "0.weight"], w[q + "0.bias"],
                            padding=3, groups=img.shape[1]))
            t = gelu(conv2d(t, w[q + "2.weight"], w[q + "2.bias"]))
            logits = conv2d(t, w[q + "4.weight"])
            z = soft_assign(logits.reshape(logits.shape[0], clusters, h * wd))
        ctok = layer_norm(pool(z, a), w[p + "attn.cluster_norm.weight"],
                          w[p + "attn.cluster_norm.bias"])
    else:
        ctok = a
    q = linear(a, w[p + "attn.q.weight"], w[p + "attn.q.bias"])
    k = linear(ctok, w[p + "attn.k.weight"], w[p + "attn.k.bias"])
    v = linear(ctok, w[p + "attn.v.weight"], w[p + "attn.v.bias"])
    o = attention(_heads(q, heads), _heads(k, heads), _heads(v, heads))
    b, _, n, _ = o.shape
    o = o.transpose(0, 2, 1, 3).reshape(b, n, -1)
    x = x + linear(o, w[p + "attn.proj.weight"], w[p + "attn.proj.bias"])
    t = layer_norm(x, w[p + "norm2_before.weight"], w[p + "norm2_before.bias"])
    t = linear(t, w[p + "mlp.fc1.weight"], w[p + "mlp.fc1.bias"])
    t = _tokens(conv2d(_image(t, h, wd), w[p + "mlp.dwconv.dwconv.weight"],
                       w[p + "mlp.dwconv.dwconv.bias"], padding=1,
                       groups=t.shape[2])) + t
    x = x + linear(gelu(t), w[p + "mlp.fc2.weight"], w[p + "mlp.fc2.bias"])
    return x, z


def forward(images, weights, cfg, return_features=False):
    """Logits [B, classes] of NCHW float images (H and W multiples of 32).

    With `return_features`, also returns each stage's normed tokens and its
    cluster assignment Z (None for stages without clusters).
    """
    w = weights
    x = np.asarray(images, dtype=np.float64)
    if x.ndim != 4 or x.shape[1] != 3 or x.shape[2] % 32 or x.shape[3] % 32:
        raise ValueError(f"paca: images must be [B, 3, H, W] with H and W "
                         f"multiples of 32, got {x.shape}")
    x = conv2d(x, w["patch_embed.proj.0.weight"], w["patch_embed.proj.0.bias"],
               stride=2, padding=1)
    x = conv2d(x, w["patch_embed.proj.1.weight"], w["patch_embed.proj.1.bias"],
               stride=2, padding=1)
    x = layer_norm_2d(x, w["patch_embed.norm.weight"], w["patch_embed.norm.bias"])
    features = []
    dims = cfg["dims"]
    for i, (heads, depth, m) in enumerate(zip(cfg["heads"], cfg["depths"],
                                              cfg["clusters"])):
        hw = x.shape[2:]
        t = _tokens(x)
        z = None
        for j in range(depth):
            t, z = block(t, w, f"stage{i + 1}.{j}.", heads, hw, z=z,
                         first=j == 0, clusters=m)
        t = layer_norm(t, w[f"norm{i + 1}.weight"], w[f"norm{i + 1}.bias"])
        features.append((t, z))
        if i + 1 < len(dims):
            p = f"transition{i + 1}."
            x = conv2d(_image(t, *hw), w[p + "proj.weight"], w[p + "proj.bias"],
                       stride=2, padding=1)
            x = layer_norm_2d(x, w[p + "norm.weight"], w[p + "norm.bias"])
    logits = linear(t.mean(axis=1), w["head.weight"], w["head.bias"])
    return (logits, features) if return_features else logits
