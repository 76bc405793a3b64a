"""clusopt.importer and clusopt.compile_model: PyTorch modules imported
through torch-mlir, compiled by clusopt and checked against eager PyTorch
in float64; the clus ops the importer makes (torch.ops.clusopt and PaCa's
pattern); parameters bound by state_dict name; the errors."""

import math
import os
import re
import subprocess
import warnings

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip(
    "torch_mlir", reason="the importer needs torch-mlir (scripts/setup.sh "
    "installs the pinned version)")

import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import clusopt  # noqa: E402
from clusopt import importer, toolchain  # noqa: E402
from clusopt.compiled_model import compile_model  # noqa: E402

RTOL = 1e-4


pytestmark = pytest.mark.usefixtures("build_tree_kernel_cache")


def perturb(module, seed=0):
    """Random norms and biases (not PyTorch's ones and zeros), so a wrong
    binding or a dropped affine shows."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.2 * torch.randn(p.shape, generator=g))
    return module.eval()


def eager64(module, *args):
    """Eager PyTorch in float64: the reference."""
    import copy
    m = copy.deepcopy(module).double()
    with torch.no_grad():
        out = m(*[a.double() if a.is_floating_point() else a for a in args])
    return out


def assert_close(got, want):
    got, want = got.double(), want.double()
    assert got.shape == want.shape
    err = (got - want).abs().max().item()
    bound = RTOL * max(1.0, want.abs().max().item())
    assert err <= bound, f"max |error| {err:.3g} > {bound:.3g}"


def rand(*shape, seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


class VisionOps(nn.Module):
    """The ATen ops of the ViT families on small shapes."""

    def __init__(self, c=8, heads=2):
        super().__init__()
        self.heads = heads
        self.stem = nn.Conv2d(3, c, 3, stride=2, padding=1)
        self.dw = nn.Conv2d(c, c, 3, padding=1, groups=c)
        self.norm = nn.LayerNorm(c, eps=1e-6)
        self.qkv = nn.Linear(c, 3 * c)
        self.proj = nn.Linear(2 * c, c)
        self.head = nn.Linear(c, 5)

    def forward(self, img):
        x = self.stem(img)                          # strided conv2d
        x = x + self.dw(x)                          # depthwise conv2d
        b, c, h, w = x.shape
        t = x.flatten(2).transpose(1, 2)            # [B, N, C]
        t = self.norm(t)
        q, k, v = self.qkv(t).reshape(b, h * w, 3, self.heads,
                                      c // self.heads).permute(2, 0, 3, 1, 4)
        o = F.scaled_dot_product_attention(q, k, v)            # [B, H, N, D]
        s = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(c), dim=-1)
        o2 = torch.bmm(s.reshape(b * self.heads, h * w, h * w),
                       v.reshape(b * self.heads, h * w, c // self.heads))
        o = o.transpose(1, 2).reshape(b, h * w, c)
        o2 = o2.view(b, self.heads, h * w, -1).permute(0, 2, 1, 3)
        t = self.proj(torch.cat([o, o2.reshape(b, h * w, c)], dim=-1))
        t = F.gelu(t, approximate="tanh") * 0.5 + t[:, :1, :]  # slice
        t = t / torch.sqrt(t.pow(2).mean(-1, keepdim=True) + 1e-3)
        t = t + torch.exp(-t.abs()).sum(-1, keepdim=True) * 0.1
        t = t - t.amax(dim=1, keepdim=True)
        pooled = F.adaptive_avg_pool2d(
            t.transpose(1, 2).reshape(b, c, h, w), 1).flatten(1)
        return self.head(pooled), t.mean(1)


def test_torch_mlir_is_the_pinned_version():
    assert importer.torch_mlir_version() == importer.TORCH_MLIR_VERSION


@pytest.mark.parametrize("found", [None, "20250101"])
def test_other_torch_mlir_versions_are_refused(monkeypatch, found):
    monkeypatch.setattr(importer, "torch_mlir_version", lambda: found)
    with pytest.raises(clusopt.ImporterError,
                       match=r"pip install torch-mlir==20261001"):
        importer.import_module(nn.Linear(2, 2).eval(), (rand(1, 2),))


def test_vision_ops_match_eager_and_bind_weights_by_name():
    module = perturb(VisionOps())
    img = rand(2, 3, 8, 8, seed=1)
    model = compile_model(module, (img,))
    names = [b.name for b in model.imported.parameters]
    assert names == list(module.state_dict())
    logits, feats = model(img)
    want_logits, want_feats = eager64(module, img)
    assert_close(logits, want_logits)
    assert_close(feats, want_feats)
    # Another input through the same compiled model.
    img2 = rand(2, 3, 8, 8, seed=2)
    assert_close(model(img2)[0], eager64(module, img2)[0])
    # The plain SDPA becomes the flash-style kernel; nothing else is clus.
    assert model.imported.clus_ops == ["attention"]
    # The weights are one packed argument, its layout on it.
    total = sum(p.numel() for p in module.parameters())
    assert re.search(rf'func\.func @forward\(%arg0: tensor<{total}xf32> '
                     r'\{clusopt.kind = "weights", clusopt.name = '
                     r'"weights.float32", clusopt.names = \["stem.weight", '
                     r'"stem.bias", .*\], clusopt.offsets = \[0, 216, 224,',
                     model.mlir)


def test_imported_text_round_trips_through_clusopt_opt(tmp_path):
    imported = importer.import_module(perturb(VisionOps()),
                                      (rand(1, 3, 8, 8),), check=False)
    path = tmp_path / "vision.mlir"
    path.write_text(imported.mlir)
    opt = toolchain._tool("clusopt-opt", toolchain.build_dir() / "bin")
    proc = subprocess.run([str(opt), str(path), "--verify-diagnostics"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "linalg.matmul" in proc.stdout or "linalg.batch_matmul" in \
        proc.stdout
    # The binding is in the text too, on each argument.
    assert re.search(r'%arg0: tensor<8x3x3x3xf32> \{clusopt.kind = '
                     r'"parameter", clusopt.name = "stem.weight"\}',
                     proc.stdout)
    assert re.search(r'tensor<1x3x8x8xf32> \{clusopt.kind = "input", '
                     r'clusopt.name = "img"\}', proc.stdout)
    mapping = importer.json.loads(imported.signature_json())
    assert mapping["torch_mlir"] == importer.TORCH_MLIR_VERSION
    assert [a["name"] for a in mapping["arguments"]][:2] == [
        "stem.weight", "stem.bias"]
    assert mapping["arguments"][-1]["kind"] == "input"


class Attentions(nn.Module):
    def forward(self, q, k, v, mask):
        plain = F.scaled_dot_product_attention(q, k, v, scale=0.3)
        masked = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        causal = F.scaled_dot_product_attention(q, k, k, is_causal=True)
        return plain, masked, causal


def test_only_plain_sdpa_becomes_clus_attention():
    q, k, v = rand(2, 2, 5, 4, seed=1), rand(2, 2, 5, 4, seed=2), \
        rand(2, 2, 5, 3, seed=3)
    mask = rand(5, 5, seed=4)  # additive float mask (no i1 at the C boundary)
    model = compile_model(Attentions().eval(), (q, k, v, mask))
    assert model.imported.clus_ops == ["attention"]
    assert "scale = 3.0000" in model.mlir
    for got, want in zip(model(q, k, v, mask),
                         eager64(Attentions(), q, k, v, mask)):
        assert_close(got, want)


class ExactGelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        return F.gelu(self.fc(x))


def test_exact_gelu_imports_as_math_erf():
    imported = importer.import_module(perturb(ExactGelu()), (rand(2, 8),))
    assert "math.erf" in imported.mlir


def test_exact_gelu_compiles_and_matches_eager():
    module = perturb(ExactGelu())
    x = rand(2, 8)
    assert_close(compile_model(module, (x,))(x), eager64(module, x))


class PacaClustering(nn.Module):
    """PaCa's clustering as the authors write it: logits from a conv
    net, softmax over the tokens, then a matmul with the tokens; the next
    block reuses the assignment on its own input."""

    def __init__(self, c=8, clusters=3, layout="bmn"):
        super().__init__()
        self.layout = layout
        self.clustering = nn.Sequential(
            nn.Conv2d(c, c, 3, padding=1, groups=c), nn.GELU("tanh"),
            nn.Conv2d(c, clusters, 1, bias=False))
        self.norm = nn.LayerNorm(c, eps=1e-6)
        self.fc = nn.Linear(c, c)

    def forward(self, x, h, w):
        b, n, c = x.shape
        a = self.norm(x)
        logits = self.clustering(a.transpose(1, 2).reshape(b, c, h, w))
        logits = logits.flatten(2)                    # [B, M, N]
        if self.layout == "bmn":
            z = logits.softmax(dim=-1)
            pooled = z @ a
            second = torch.bmm(z, self.fc(a))
        elif self.layout == "bnm":
            z = logits.transpose(1, 2).softmax(dim=1)  # [B, N, M]
            pooled = z.transpose(1, 2) @ a
            second = torch.einsum("bnm,bnc->bmc", z, self.fc(a))
        else:
            z = logits.softmax(dim=-1)
            pooled = torch.einsum("bmn,bnc->bmc", z, a)
            second = z @ self.fc(a)
        return self.fc(pooled) + second


class _Wrap(nn.Module):
    def __init__(self, inner, h, w):
        super().__init__()
        self.inner, self.h, self.w = inner, h, w

    def forward(self, x):
        return self.inner(x, self.h, self.w)


@pytest.mark.parametrize("layout", ["bmn", "bnm", "einsum"])
def test_paca_pattern_becomes_soft_assign_and_pool(layout):
    module = perturb(_Wrap(PacaClustering(layout=layout), 4, 4))
    x = rand(2, 16, 8, seed=3)
    model = compile_model(module, (x,))
    ops = model.imported.clus_ops
    assert ops.count("pool") == 2, model.mlir
    assert "soft_assign" in ops
    # No softmax left to build: every normalisation is in soft_assign.
    assert "math.exp" not in model.mlir
    assert_close(model(x), eager64(module, x))


def test_paca_pattern_left_alone_when_softmax_is_over_clusters():
    class OverClusters(nn.Module):
        def forward(self, logits, x):
            return logits.softmax(dim=1) @ x   # [B, M, N]: over clusters
    module = OverClusters().eval()
    args = (rand(2, 3, 5), rand(2, 5, 4, seed=1))
    model = compile_model(module, args)
    assert "pool" not in model.imported.clus_ops
    assert_close(model(*args), eager64(module, *args))


def test_paca_pattern_can_be_switched_off():
    module = perturb(_Wrap(PacaClustering(), 4, 4))
    imported = importer.import_module(module, (rand(1, 16, 8),),
                                      fuse_paca=False)
    assert imported.clus_ops == []


class WithClusoptOps(nn.Module):
    """A model written with torch.ops.clusopt."""

    def __init__(self, c=8, heads=2):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(c, c)
        self.kv = nn.Linear(c, 2 * c)

    def forward(self, logits, x):
        z = torch.ops.clusopt.soft_assign(logits)
        centres = torch.ops.clusopt.pool(z, x)              # [B, M, C]
        b, n, c = x.shape
        m = centres.shape[1]
        q = self.q(x).view(b, n, self.heads, -1).transpose(1, 2)
        k, v = self.kv(centres).view(b, m, 2, self.heads, -1).permute(
            2, 0, 3, 1, 4)
        o = torch.ops.clusopt.attention(q, [k], [v])
        return o.transpose(1, 2).reshape(b, n, c)


class WithPlainOps(WithClusoptOps):
    """The same function in plain PyTorch: the float64 reference."""

    def forward(self, logits, x):
        centres = logits.softmax(-1) @ x
        b, n, c = x.shape
        m = centres.shape[1]
        q = self.q(x).view(b, n, self.heads, -1).transpose(1, 2)
        k, v = self.kv(centres).view(b, m, 2, self.heads, -1).permute(
            2, 0, 3, 1, 4)
        s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        o = s.softmax(-1) @ v
        return o.transpose(1, 2).reshape(b, n, c)


def test_clusopt_custom_ops_become_clus_ops():
    module = perturb(WithClusoptOps())
    reference = WithPlainOps()
    reference.load_state_dict(module.state_dict())
    args = (rand(2, 3, 6, seed=4), rand(2, 6, 8, seed=5))
    model = compile_model(module, args)
    assert model.imported.clus_ops == ["soft_assign", "pool", "attention"]
    assert_close(model(*args), eager64(reference.eval(), *args))


def test_clusopt_multi_result_op():
    class Kmeans(nn.Module):
        def forward(self, x):
            assign, centroids = torch.ops.clusopt.kmeans(x, 2, 3)
            return assign, centroids * 2
    x = torch.tensor([[[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]]])
    model = compile_model(Kmeans().eval(), (x,))
    assert model.imported.clus_ops == ["kmeans"]
    assign, centroids = model(x)
    want_assign, want_centroids = Kmeans()(x)
    assert torch.equal(assign, want_assign)
    assert_close(centroids, want_centroids)


class Cumsum(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return torch.cumsum(self.fc(x), dim=-1)   # the unsupported line


def test_unsupported_op_names_the_op_and_its_line():
    with pytest.raises(clusopt.UnsupportedOpError) as e:
        importer.import_module(Cumsum().eval(), (rand(2, 4),))
    message = str(e.value)
    assert "aten.cumsum" in message
    assert "test_importer.py:" in message
    assert "the unsupported line" in message


def test_topk_is_refused_not_miscompiled():
    class TopK(nn.Module):
        def forward(self, x):
            return torch.topk(x, 2).values
    with pytest.raises(clusopt.UnsupportedOpError, match=r"aten\.topk"):
        importer.import_module(TopK().eval(), (rand(2, 5),))


def test_safety_net_names_ops_torch_mlir_lowers_out_of_reach(monkeypatch):
    """Behind SUPPORTED_OPS: were topk listed, torch-mlir would lower it
    to its tm_tensor dialect, which the importer refuses with the line."""
    monkeypatch.setattr(importer, "SUPPORTED_OPS",
                        importer.SUPPORTED_OPS | {"topk"})

    class TopK(nn.Module):
        def forward(self, x):
            return torch.topk(x, 2).values * 2   # topk line
    with pytest.raises(clusopt.UnsupportedOpError) as e:
        importer.import_module(TopK().eval(), (rand(2, 5),))
    assert "tm_tensor.sort" in str(e.value)
    assert re.search(r"test_importer\.py:\d+", str(e.value))


def test_safety_net_names_ops_torch_mlir_cannot_lower(monkeypatch):
    monkeypatch.setattr(importer, "SUPPORTED_OPS",
                        importer.SUPPORTED_OPS | {"_cdist_forward"})

    class Cdist(nn.Module):
        def forward(self, x):
            return torch.cdist(x, x)
    with pytest.raises(clusopt.UnsupportedOpError,
                       match=r"aten\._cdist_forward at .*test_importer\.py"):
        importer.import_module(Cdist().eval(), (rand(2, 5, 3),))


def test_training_mode_is_refused():
    with pytest.raises(clusopt.ArgumentError, match="eval"):
        importer.import_module(nn.Linear(2, 2), (rand(1, 2),))


def test_weights_from_safetensors_by_state_dict_name(tmp_path):
    from clusopt.export import export_state_dict
    module = perturb(VisionOps(), seed=0)
    other = perturb(VisionOps(), seed=7)
    path = tmp_path / "w.safetensors"
    export_state_dict(other.state_dict(), path)
    img = rand(1, 3, 8, 8, seed=8)
    model = compile_model(module, (img,), weights=path)
    assert_close(model(img)[0], eager64(other, img)[0])


def test_missing_and_misshapen_weights_are_named(tmp_path):
    module = perturb(VisionOps())
    img = rand(1, 3, 8, 8)
    state = dict(module.state_dict())
    del state["qkv.bias"]
    with pytest.raises(clusopt.ArgumentError, match="'qkv.bias' is missing"):
        compile_model(module, (img,), weights=state)
    state = dict(module.state_dict())
    state["head.weight"] = torch.zeros(10, 8)
    with pytest.raises(clusopt.ArgumentError,
                       match=r"'head.weight'.*\[10, 8\].*\[5, 8\]"):
        compile_model(module, (img,), weights=state)


def test_input_of_another_shape_is_refused():
    module = perturb(ExactGelu())
    model = compile_model(nn.Sequential(nn.Linear(8, 8)).eval(),
                          (rand(2, 8),))
    del module
    with pytest.raises(clusopt.ArgumentError, match=r"\[3, 8\]"):
        model(rand(3, 8))


def test_torch_compile_backend_fullgraph(monkeypatch):
    from clusopt import compiled_model
    models = []

    def spy(*args, **kwargs):
        models.append(real(*args, **kwargs))
        return models[-1]
    real = compiled_model.compile_model
    monkeypatch.setattr(compiled_model, "compile_model", spy)
    module = perturb(_Wrap(PacaClustering(), 4, 4))
    x = rand(2, 16, 8, seed=9)
    torch._dynamo.reset()
    compiled = torch.compile(module, backend="clusopt", fullgraph=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback
        got = compiled(x)
    assert len(models) == 1
    assert models[0].imported.clus_ops.count("pool") == 2
    assert_close(got, eager64(module, x))


def test_torch_compile_backend_falls_back_with_the_reason():
    module = Cumsum().eval()
    x = rand(2, 4)
    torch._dynamo.reset()
    compiled = torch.compile(module, backend="clusopt")
    with pytest.warns(UserWarning, match=r"eagerly.*aten\.cumsum"):
        got = compiled(x)
    assert torch.allclose(got, module(x))


def _module_from_state(state, forward):
    """An nn.Module holding `state` under its state_dict names, running
    `forward(module_params_by_name, x)`."""

    class Model(nn.Module):
        def forward(self, x):
            return forward(dict(self.named_parameters()), x)

    model = Model()
    for name, value in state.items():
        *path, leaf = name.split(".")
        owner = model
        for part in path:
            if not hasattr(owner, part):
                owner.add_module(part, nn.Module())
            owner = getattr(owner, part)
        owner.register_parameter(leaf, nn.Parameter(
            torch.as_tensor(value, dtype=torch.float32)))
    return model.eval()


def test_unmodified_paca_tiny_gets_the_fused_kernels():
    """The project's own PyTorch PaCa-ViT (bench/paca/paca_torch.py, plain
    softmax, `z @ a` and SDPA, no clusopt ops) imports with every
    clustering step as soft_assign + pool and every attention as
    clus.attention, at a non-square resolution."""
    from clusopt.models import paca
    from conftest import paca_torch as load_paca_torch
    paca_torch = load_paca_torch()
    cfg = paca.config("tiny")
    model = _module_from_state(
        paca.random_weights(cfg, seed=0, bias_std=0.1),
        lambda w, x: paca_torch.forward(torch, x, w, cfg))
    imported = importer.import_module(model, (rand(1, 3, 64, 96),))
    clustered = [d for d, m in zip(cfg["depths"], cfg["clusters"]) if m]
    assert imported.clus_ops.count("soft_assign") == len(clustered)
    assert imported.clus_ops.count("pool") == sum(clustered)
    assert imported.clus_ops.count("attention") == sum(cfg["depths"])
    assert [b.name for b in imported.parameters] == list(model.state_dict())


def test_many_weights_are_packed_into_few_arguments():
    """A call through clusopt.load takes at most 24 arguments; a model
    with 40 weights (and an int64 buffer) still compiles and runs."""
    module = nn.Sequential(*[nn.Linear(4, 4) for _ in range(20)])
    module.register_buffer("steps", torch.arange(4))
    module = perturb(module)

    class WithBuffer(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = module

        def forward(self, x):
            return self.body(x) * self.body.steps

    model = compile_model(WithBuffer().eval(), (rand(2, 4),))
    kinds = [b.kind for b in model.imported.arguments]
    assert kinds == ["weights", "weights", "input"]
    assert len(model.imported.parameters) == 41
    x = rand(2, 4, seed=5)
    assert_close(model(x), eager64(WithBuffer().eval(), x))
