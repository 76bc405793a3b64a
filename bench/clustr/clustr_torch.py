"""ClusTR (docs/models.md) in PyTorch eager: functional ops on a dict of
tensors with the state_dict names of `clusopt.models.clustr`.

dpc_knn follows the authors' formulation (torch.cdist, topk for the k
nearest, density / delta / score, centres by score, argmin assignment) with
the deterministic tie rules of clus.dpc_knn and no noise: the density rank
is a stable sort of -rho (ties -> lower index), the densest token's delta is
max D, centres are a stable sort of -score, argmin takes the lower centre.
aggregate is the weighted mean of clus.aggregate via scatter_add (op
definitions in docs/dialect/ClusDialect.md).

Not part of CI (needs torch). `python3 bench/clustr/clustr_torch.py`
checks the logits against `clustr.forward` (float64 NumPy) on seeded
weights at 64x64.
"""

import math
import pathlib
import sys

import numpy as np

K_NEAREST = 5


def desc_order(torch, x, k, dim):
    """Indices of the k largest entries of x along dim, descending, ties ->
    lower index. Eager: a stable sort of -x (torch.topk's tie order is
    unspecified). ONNX export (which has no stable Sort): TopK, whose ONNX
    definition breaks ties by the lower index."""
    if torch.onnx.is_in_onnx_export():
        return torch.topk(x, k, dim=dim).indices
    return torch.sort(-x, dim=dim, stable=True).indices.narrow(dim, 0, k)


def dpc_knn(torch, x, clusters, k=K_NEAREST):
    """x [B, N, C] -> list of assign [B, N] (int64), one per scale."""
    b, n, c = x.shape
    d = torch.cdist(x, x) / math.sqrt(c)                       # [B, N, N]
    knn = torch.topk(d, min(k, n), dim=-1, largest=False).values
    rho = torch.exp(-(knn ** 2).mean(-1))                      # [B, N]
    order = desc_order(torch, rho, n, -1)
    rank = torch.empty_like(order).scatter_(
        1, order, torch.arange(n, device=x.device).expand(b, n))
    denser = rank[:, None, :] < rank[:, :, None]               # [i, j]
    dmax = d.flatten(1).max(-1).values[:, None, None]
    delta = torch.where(denser, d, dmax).min(-1).values        # densest: max D
    score = rho * delta
    by_score = desc_order(torch, score, max(clusters), -1)
    assigns = []
    for m in clusters:
        ctr = by_score[:, :m]                                  # [B, m]
        dc = torch.gather(d, 2, ctr[:, None, :].expand(b, n, m))
        a = dc.argmin(-1)                                      # ties -> lower m
        a = a.scatter(1, ctr, torch.arange(m, device=x.device).expand(b, m))
        assigns.append(a)
    return assigns


def aggregate_weighted_mean(torch, x, assign, m, weight, eps=1e-6):
    b, n, c = x.shape
    num = x.new_zeros(b, m, c).scatter_add(
        1, assign[..., None].expand(b, n, c), weight[..., None] * x)
    den = x.new_zeros(b, m).scatter_add(1, assign, weight) + eps
    return num / den[..., None]


def forward(torch, images, w, cfg, k_nearest=K_NEAREST):
    F = torch.nn.functional

    def ln(x, p, eps):
        return F.layer_norm(x, x.shape[-1:], w[p + ".weight"], w[p + ".bias"],
                            eps)

    def lin(x, p):
        return F.linear(x, w[p + ".weight"], w[p + ".bias"])

    x = images
    t = None
    for i, (heads, depth) in enumerate(zip(cfg["heads"], cfg["depths"])):
        stride, pad = (4, 3) if i == 0 else (2, 1)
        x = F.conv2d(x, w[f"patch_embed{i + 1}.proj.weight"],
                     w[f"patch_embed{i + 1}.proj.bias"], stride, pad)
        b, c, h, wd = x.shape
        t = ln(x.flatten(2).transpose(1, 2), f"patch_embed{i + 1}.norm", 1e-5)
        sr = cfg["sr_ratios"][i]
        n = h * wd

        def split(u):
            return u.reshape(b, -1, heads, c // heads).transpose(1, 2)

        for j in range(depth):
            p = f"block{i + 1}.{j}."
            a = ln(t, p + "norm1", 1e-6)
            q = split(lin(a, p + "attn.q"))
            if sr > 1:
                weight = torch.exp(lin(a, p + "attn.weight_layer"))[..., 0]
                m1 = n // (sr * sr)
                scales = [m1, 4 * m1]
                assigns = dpc_knn(torch, a, scales, k_nearest)
                kv_in = [(aggregate_weighted_mean(torch, a, assigns[s], m,
                                                  weight), f"attn.kv{s + 1}")
                         for s, m in enumerate(scales)]
            else:
                kv_in = [(a, "attn.kv")]
            o = 0
            for xs, name in kv_in:
                kv = lin(xs, p + name).reshape(b, -1, 2, heads, c // heads)
                kv = kv.permute(2, 0, 3, 1, 4)
                o = o + F.scaled_dot_product_attention(q, kv[0], kv[1])
            t = t + lin(o.transpose(1, 2).reshape(b, n, c), p + "attn.proj")
            u = lin(ln(t, p + "norm2", 1e-6), p + "mlp.fc1")
            img = u.transpose(1, 2).reshape(b, -1, h, wd)
            dw = F.conv2d(img, w[p + "mlp.dwconv.dwconv.weight"],
                          w[p + "mlp.dwconv.dwconv.bias"], 1, 1, 1,
                          u.shape[-1]).flatten(2).transpose(1, 2)
            t = t + lin(F.gelu(u + dw), p + "mlp.fc2")
        t = ln(t, f"norm{i + 1}", 1e-6)
        x = t.transpose(1, 2).reshape(b, c, h, wd)
    return F.linear(t.mean(1), w["head.weight"], w["head.bias"])


def main():
    import torch
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]
                           / "python"))
    from clusopt.models import clustr
    worst = 0.0
    for name in ("b1", "b2"):
        cfg = clustr.config(name)
        weights = clustr.random_weights(cfg, seed=0, bias_std=0.02)
        images = np.random.default_rng(1).standard_normal((2, 3, 64, 64))
        ref = clustr.forward(images, weights, cfg)
        w = {k: torch.from_numpy(np.asarray(v, np.float64))
             for k, v in weights.items()}
        with torch.inference_mode():
            out = forward(torch, torch.from_numpy(images), w, cfg).numpy()
        rel = np.abs(out - ref).max() / np.abs(ref).max()
        worst = max(worst, rel)
        print(f"clustr_{name} 64x64 B=2 float64: max|torch-ref|/max|ref| "
              f"= {rel:.2e}")
    return 0 if worst < 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
