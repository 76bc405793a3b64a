"""PaCa-ViT in PyTorch eager (functional ops, same weights and layout as
clusopt.models.paca), timed against clusopt-run on the same weights.

Not part of CI (needs torch). Usage:
    python3 bench/paca/paca_torch.py [--model tiny] [--resolution 224]
        [--batch 1] [--threads 2]
Writes seeded weights to a temp file, runs clusopt-run --profile on them
and prints both medians and the largest logit difference.
"""

import argparse
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "python"))
from clusopt import export  # noqa: E402
from clusopt.models import paca  # noqa: E402
from clusopt.toolchain import build_dir  # noqa: E402


def forward(torch, images, w, cfg):
    F = torch.nn.functional
    eps = paca.EPS

    def ln(x, p):
        return F.layer_norm(x, x.shape[-1:], w[p + ".weight"], w[p + ".bias"],
                            eps)

    def ln2d(x, p):
        return ln(x.permute(0, 2, 3, 1), p).permute(0, 3, 1, 2)

    def conv(x, p, stride=1, padding=0, groups=1, bias=True):
        return F.conv2d(x, w[p + ".weight"], w[p + ".bias"] if bias else None,
                        stride, padding, 1, groups)

    x = conv(images, "patch_embed.proj.0", 2, 1)
    x = conv(x, "patch_embed.proj.1", 2, 1)
    x = ln2d(x, "patch_embed.norm")
    for i, (heads, depth, m) in enumerate(zip(cfg["heads"], cfg["depths"],
                                              cfg["clusters"])):
        b, c, h, wd = x.shape
        t = x.flatten(2).transpose(1, 2)
        z = None
        for j in range(depth):
            p = f"stage{i + 1}.{j}."
            a = ln(t, p + "norm1_before")
            img = lambda u: u.transpose(1, 2).reshape(b, -1, h, wd)  # noqa
            if m > 0:
                if j == 0:
                    q = p + "attn.clustering.clustering."
                    u = F.gelu(conv(img(a), q + "0", 1, 3, c))
                    u = F.gelu(conv(u, q + "2"))
                    z = conv(u, q + "4", bias=False).flatten(2).softmax(-1)
                ctok = ln(z @ a, p + "attn.cluster_norm")
            else:
                ctok = a

            def lin(u, name):
                return F.linear(u, w[p + name + ".weight"],
                                w[p + name + ".bias"])

            def split(u):
                return u.reshape(b, -1, heads, c // heads).transpose(1, 2)
            o = F.scaled_dot_product_attention(
                split(lin(a, "attn.q")), split(lin(ctok, "attn.k")),
                split(lin(ctok, "attn.v")))
            t = t + lin(o.transpose(1, 2).reshape(b, -1, c), "attn.proj")
            u = lin(ln(t, p + "norm2_before"), "mlp.fc1")
            d = conv(img(u), p + "mlp.dwconv.dwconv", 1, 1, u.shape[-1])
            u = d.flatten(2).transpose(1, 2) + u
            t = t + lin(F.gelu(u), "mlp.fc2")
        t = ln(t, f"norm{i + 1}")
        if i < 3:
            x = conv(t.transpose(1, 2).reshape(b, c, h, wd),
                     f"transition{i + 1}.proj", 2, 1)
            x = ln2d(x, f"transition{i + 1}.norm")
    return F.linear(t.mean(1), w["head.weight"], w["head.bias"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--resolution", type=int, default=224)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=9)
    args = ap.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    cfg = paca.config(args.model)
    weights = paca.random_weights(cfg, seed=0, bias_std=0.02)
    rng = np.random.default_rng(0)
    images = rng.standard_normal(
        (args.batch, 3, args.resolution, args.resolution)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        export.export_state_dict(weights, tmp / "w.safetensors", dtype="f32")
        np.save(tmp / "x.npy", images)
        out = subprocess.run(
            [str(build_dir() / "bin" / "clusopt-run"), "--model",
             f"paca_{args.model}", "--weights", str(tmp / "w.safetensors"),
             "--image", str(tmp / "x.npy"), "--threads", str(args.threads),
             "--runs", str(args.runs), "--dump-logits", str(tmp / "l.npy")],
            check=True, capture_output=True, text=True).stdout
        ours = np.load(tmp / "l.npy")
    print(next(l for l in out.splitlines() if l.startswith("latency")),
          "(clusopt-run)")
    w = {k: torch.from_numpy(v.astype(np.float32)) for k, v in weights.items()}
    x = torch.from_numpy(images)
    times = []
    with torch.inference_mode():
        logits = forward(torch, x, w, cfg)
        for _ in range(args.runs):
            start = time.perf_counter()
            logits = forward(torch, x, w, cfg)
            times.append(time.perf_counter() - start)
    print(f"latency: median {np.median(times) * 1e3:.2f} ms over {args.runs} "
          f"runs (PyTorch {torch.__version__} eager, {args.threads} threads)")
    diff = np.abs(logits.numpy() - ours).max() / np.abs(ours).max()
    print(f"max logit difference / max |logit|: {diff:.2e}")


if __name__ == "__main__":
    main()
