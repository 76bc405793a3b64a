"""PyTorch peers: the same computations as the clusopt kernels, written the
way the authors' code (or a careful PyTorch user) writes them.

Each function takes and returns torch tensors; the driver runs them eagerly
and through torch.compile.
"""

import torch
import torch.nn.functional as F


def pool(logits, x):
    """PaCa pooling: softmax over tokens, then Z·X (one bmm)."""
    return torch.softmax(logits, dim=-1) @ x


def attention(q, kv):
    """Attention of tokens against cluster tokens (K = V). SDPA picks
    PyTorch's fused flash-attention CPU kernel, the fastest eager path; the
    explicit (q@kᵀ).softmax()@v of the PaCa code is slower, so SDPA is the
    stronger peer."""
    return F.scaled_dot_product_attention(q, kv, kv)


def paca_fused(logits, x, q):
    """Pooling, head split of the cluster tokens, attention."""
    B, H, _, D = q.shape
    M = logits.shape[1]
    y = pool(logits, x)
    kv = y.view(B, M, H, D).transpose(1, 2)
    return attention(q, kv)


def dpc_knn(x, cluster_num: int, k: int = 5):
    """ClusTR / TCFormer `cluster_dpc_knn`, as published, minus the 1e-6
    random noise on the density (clusopt's clus.dpc_knn is deterministic
    instead).

    Materialises the N×N distance matrix and several N×N temporaries.
    Returns (assign [B, N], centres [B, M]).
    """
    B, N, C = x.shape
    dist_matrix = torch.cdist(x, x) / (C ** 0.5)
    dist_nearest, _ = torch.topk(dist_matrix, k=k, dim=-1, largest=False)
    density = (-(dist_nearest ** 2).mean(dim=-1)).exp()
    mask = (density[:, None, :] > density[:, :, None]).type(x.dtype)
    dist_max = dist_matrix.flatten(1).max(dim=-1)[0][:, None, None]
    dist, _ = (dist_matrix * mask + dist_max * (1 - mask)).min(dim=-1)
    score = dist * density
    _, index_down = torch.topk(score, k=cluster_num, dim=-1)
    # index_points(dist_matrix, index_down): rows of the centres.
    rows = torch.gather(dist_matrix, 1,
                        index_down[:, :, None].expand(B, cluster_num, N))
    idx_cluster = rows.argmin(dim=1)
    idx_batch = torch.arange(B, device=x.device)[:, None].expand(
        B, cluster_num)
    idx_tmp = torch.arange(cluster_num, device=x.device)[None, :].expand(
        B, cluster_num)
    idx_cluster[idx_batch.reshape(-1), index_down.reshape(-1)] = \
        idx_tmp.reshape(-1)
    return idx_cluster, index_down


def cluster_attention(q, k, v, members, aq, ak):
    """CAST-style cluster attention (clus.cluster_attention in
    docs/dialect/ClusDialect.md) with gathers and a scatter-mean (the
    paper's code is not public; this is written from clusopt's definition,
    with summaries on and the default scale)."""
    B, H, N, D = q.shape
    Dv = v.shape[-1]
    M, kappa = members.shape[1:]
    scale = D ** -0.5
    # Summaries R [B, H, M, Dv]: each cluster's softmax over all tokens.
    R = torch.softmax(ak, dim=2).transpose(-1, -2) @ v
    valid = (members >= 0) & (members < N)                  # [B, M, κ]
    idx = torch.where(valid, members, 0).long()

    def rows(t, width):  # gather member rows: [B, H, M, κ, width]
        flat = idx.view(B, 1, M * kappa, 1).expand(B, H, M * kappa, width)
        return torch.gather(t, 2, flat).view(B, H, M, kappa, width)

    qg, kg, vg = rows(q, D), rows(k, D), rows(v, Dv)
    neg_inf = torch.tensor(float("-inf"), dtype=q.dtype)
    # Intra scores over the valid members of the same cluster.
    s = scale * (qg @ kg.transpose(-1, -2))                 # [B,H,M,κ,κ]
    s = torch.where(valid[:, None, :, None, :], s, neg_inf)
    # Inter scores: Aq of the member token against every other cluster.
    r = rows(aq, M)                                         # [B,H,M,κ,M']
    own = torch.eye(M, dtype=torch.bool)[None, None, :, None, :]
    r = torch.where(own, neg_inf, r)
    p = torch.softmax(torch.cat([s, r], dim=-1), dim=-1)
    o = p[..., :kappa] @ vg + p[..., kappa:] @ R[:, :, None]  # [B,H,M,κ,Dv]
    o = torch.where(valid[:, None, :, :, None], o, 0.0)
    # Scatter-mean over the slots holding each token.
    out = torch.zeros(B, H, N, Dv, dtype=q.dtype)
    out.scatter_add_(2, idx.view(B, 1, M * kappa, 1).expand(
        B, H, M * kappa, Dv), o.reshape(B, H, M * kappa, Dv))
    count = torch.zeros(B, N, dtype=q.dtype)
    count.scatter_add_(1, idx.view(B, -1), valid.view(B, -1).to(q.dtype))
    # Tokens in no cluster attend to the summaries only.
    fallback = torch.softmax(aq, dim=-1) @ R
    count = count[:, None, :, None]
    return torch.where(count > 0, out / count.clamp(min=1), fallback)
