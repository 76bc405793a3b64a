"""CAST-ViT and ViT-dense (docs/models.md) in PyTorch eager: functional
ops on a dict of tensors with the state_dict names of `clusopt.models.cast`.

topk_members (clus.topk_members, non-exclusive) is a stable sort of -G along
the tokens (torch.topk's tie order is unspecified), keeping the first kappa:
descending G, ties -> lower token. cluster_attention
(clus.cluster_attention; op definitions in docs/dialect/ClusDialect.md)
gathers each cluster's members' Q/K/V, scores them against each other and
against the other clusters' summaries R (softmax over all tokens of Ak,
times V), scatter-means the per-slot outputs back to the tokens and gives
tokens in no slot the fallback softmax_m(Aq) R.

Not part of CI (needs torch). `python3 bench/cast/cast_torch.py` checks
the logits against `cast.forward` (float64 NumPy) at 64x64 and 224x224.
"""

import math
import pathlib
import sys

import numpy as np


def desc_order(torch, x, k, dim):
    """Indices of the k largest entries of x along dim, descending, ties ->
    lower index. Eager: a stable sort of -x (torch.topk's tie order is
    unspecified). ONNX export (which has no stable Sort): TopK, whose ONNX
    definition breaks ties by the lower index."""
    if torch.onnx.is_in_onnx_export():
        return torch.topk(x, k, dim=dim).indices
    return torch.sort(-x, dim=dim, stable=True).indices.narrow(dim, 0, k)


def topk_members(torch, g, capacity):
    """g [B, N, M] -> members [B, M, kappa'] (kappa' = min(kappa, N))."""
    return desc_order(torch, g, capacity, 1).transpose(1, 2)


def cluster_attention(torch, q, k, v, members, aq, ak):
    """q, k, v [B, H, N, D]; members [B, M, kappa] (all valid);
    aq, ak [B, H, N, M] -> [B, H, N, D]."""
    b, h, n, d = q.shape
    m, kappa = members.shape[1:]
    scale = 1.0 / math.sqrt(d)
    r = ak.softmax(dim=2).transpose(-1, -2) @ v                  # [B, H, M, D]
    idx = members.reshape(b, 1, m * kappa, 1)

    def gather(x):
        return torch.gather(x, 2, idx.expand(b, h, m * kappa, x.shape[-1]))

    qg = gather(q).reshape(b, h, m, kappa, d)
    kg = gather(k).reshape(b, h, m, kappa, d)
    vg = gather(v).reshape(b, h, m, kappa, d)
    intra = scale * qg @ kg.transpose(-1, -2)                    # [.., κ, κ]
    summ = gather(aq).reshape(b, h, m, kappa, m)                 # [.., κ, M]
    ar = torch.arange(m, device=q.device)
    own = (ar[:, None] == ar[None, :])[:, None, :]               # m' == m
    summ = summ.masked_fill(own, float("-inf"))
    p = torch.cat([intra, summ], dim=-1).softmax(dim=-1)
    o = p[..., :kappa] @ vg + p[..., kappa:] @ r[:, :, None]     # [.., κ, D]
    out = q.new_zeros(b, h, n, d).scatter_add(
        2, idx.expand(b, h, m * kappa, d), o.reshape(b, h, m * kappa, d))
    flat = members.reshape(b, m * kappa)
    count = q.new_zeros(b, n).scatter_add(1, flat, torch.ones_like(
        flat, dtype=q.dtype))[:, None, :, None]
    fallback = aq.softmax(dim=-1) @ r                            # [B, H, N, D]
    return torch.where(count > 0, out / count.clamp_min(1), fallback)


def forward(torch, images, w, cfg, dense=False):
    F = torch.nn.functional
    c, heads = cfg["dim"], cfg["heads"]

    def ln(x, p):
        return F.layer_norm(x, x.shape[-1:], w[p + ".weight"], w[p + ".bias"],
                            1e-6)

    def lin(x, p):
        return F.linear(x, w[p + ".weight"], w[p + ".bias"])

    x = F.conv2d(images, w["patch_embed.proj.weight"],
                 w["patch_embed.proj.bias"], cfg["patch"])
    t = x.flatten(2).transpose(1, 2) + w["pos_embed"]
    b, n, _ = t.shape
    kappa = min(max(1, 2 * n // cfg["clusters"]), n)
    d = c // heads
    for j in range(cfg["depth"]):
        p = f"blocks.{j}."
        a = ln(t, p + "norm1")
        qkv = lin(a, p + "attn.qkv").reshape(b, n, 3, heads, d)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        if dense:
            o = F.scaled_dot_product_attention(q, k, v)
        else:
            s = w[p + "attn.surrogates"]                        # [H, M, D]
            aq = (q @ s.transpose(-1, -2)[None]) / math.sqrt(d)
            ak = (k @ s.transpose(-1, -2)[None]) / math.sqrt(d)
            members = topk_members(torch, (aq + ak).mean(1), kappa)
            o = cluster_attention(torch, q, k, v, members, aq, ak)
        t = t + lin(o.transpose(1, 2).reshape(b, n, c), p + "attn.proj")
        t = t + lin(F.gelu(lin(ln(t, p + "norm2"), p + "mlp.fc1")),
                    p + "mlp.fc2")
    t = ln(t, "norm")
    return F.linear(t.mean(1), w["head.weight"], w["head.bias"])


def main():
    import torch
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]
                           / "python"))
    from clusopt.models import cast
    worst = 0.0
    for res in (64, 224):
        cfg = cast.config(res)
        weights = cast.random_weights(cfg, seed=0, bias_std=0.02)
        images = np.random.default_rng(1).standard_normal((2, 3, res, res))
        w = {k: torch.from_numpy(np.asarray(v, np.float64))
             for k, v in weights.items()}
        for dense in (False, True):
            ref = cast.forward(images, weights, cfg, dense=dense)
            with torch.inference_mode():
                out = forward(torch, torch.from_numpy(images), w, cfg,
                              dense=dense).numpy()
            rel = np.abs(out - ref).max() / np.abs(ref).max()
            worst = max(worst, rel)
            print(f"{'vit_dense' if dense else 'cast_vit'} {res}x{res} B=2 "
                  f"float64: max|torch-ref|/max|ref| = {rel:.2e}")
    return 0 if worst < 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
