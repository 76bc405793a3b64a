"""Whole models through clusopt.compile_model: the project's own PyTorch
PaCa-ViT (bench/paca/paca_torch.py: plain softmax, `z @ x` and SDPA, no
clusopt ops) imported, compiled and run, with perturbed norms and biases,
against eager PyTorch in float64 to 1e-4 relative.

A small-width PaCa runs in every pytest run. The full-size paca_tiny cases
compile a whole network each (about 25 s of clusopt-compile CPU time plus
about 5 s of import on a 2-vCPU Sapphire Rapids, minutes on a loaded
machine), so they are marked `large` and run only with --full (CI's
scripts/test.sh passes it). Compiled libraries are cached in the build
tree, so reruns skip the compile."""

import copy
import os

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip(
    "torch_mlir", reason="the importer needs torch-mlir (scripts/setup.sh "
    "installs the pinned version)")

import torch.nn as nn  # noqa: E402

from clusopt import toolchain  # noqa: E402
from clusopt.compiled_model import compile_model  # noqa: E402
from clusopt.models import paca  # noqa: E402
from conftest import paca_torch  # noqa: E402

RTOL = 1e-4


pytestmark = pytest.mark.usefixtures("build_tree_kernel_cache")


@pytest.fixture(autouse=True)
def _full_only(request):
    if request.node.get_closest_marker("large") and \
            not request.config.getoption("full"):
        pytest.skip("a whole full-size model: minutes to compile (use --full)")


class PacaVit(nn.Module):
    """bench/paca/paca_torch.py's PaCa-ViT with its weights as parameters
    under their state_dict names."""

    def __init__(self, cfg, seed=0):
        super().__init__()
        self.cfg = cfg
        self._forward = paca_torch().forward
        state = paca.random_weights(cfg, seed=seed, bias_std=0.1)
        g = torch.Generator().manual_seed(seed + 1)
        for name, value in state.items():
            *path, leaf = name.split(".")
            owner = self
            for part in path:
                if not hasattr(owner, part):
                    owner.add_module(part, nn.Module())
                owner = getattr(owner, part)
            tensor = torch.as_tensor(value, dtype=torch.float32)
            if leaf in ("weight", "bias") and tensor.dim() == 1:
                # Norm scales and biases away from PaCa's ones and zeros,
                # so a dropped affine or a wrong binding shows.
                tensor = tensor + 0.2 * torch.randn(tensor.shape, generator=g)
            owner.register_parameter(leaf, nn.Parameter(tensor))
        self.eval()

    def forward(self, x):
        return self._forward(torch, x, dict(self.named_parameters()),
                             self.cfg)


def _check(model, shape, seed=3):
    x = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
    compiled = compile_model(model, (x,))
    got = compiled(x)
    reference = copy.deepcopy(model).double()
    with torch.no_grad():
        want = reference(x.double())
    assert got.shape == want.shape == (shape[0], model.cfg["num_classes"])
    err = (got.double() - want).abs().max().item()
    bound = RTOL * max(1.0, want.abs().max().item())
    assert err <= bound, f"max |error| {err:.3g} > {bound:.3g}"
    return compiled


SMALL = dict(dims=(16, 32, 32, 48), heads=(1, 2, 2, 2), depths=(1, 1, 2, 1),
             clusters=(6, 6, 4, 0), num_classes=10)


def test_small_paca_matches_eager():
    """Every PaCa piece (strided stem, clustering convs, soft_assign + pool
    rewritten from softmax @ x, SDPA as clus.attention, depthwise MLP conv,
    transitions, a non-clustered last stage) at a small width, B = 2,
    non-square input: always on."""
    compiled = _check(PacaVit(dict(SMALL)), (2, 3, 64, 96))
    ops = compiled.imported.clus_ops
    assert ops.count("soft_assign") == 3 and ops.count("pool") == 4
    assert ops.count("attention") == 5


@pytest.mark.large
@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("resolution", [(224, 224), (224, 288)],
                         ids=["224", "224x288"])
def test_paca_tiny_matches_eager(batch, resolution):
    _check(PacaVit(paca.config("tiny")), (batch, 3, *resolution))


@pytest.mark.large
def test_paca_tiny_ten_class_head():
    _check(PacaVit(paca.config("tiny", num_classes=10)), (1, 3, 224, 224))


@pytest.mark.large
def test_paca_tiny_49_clusters():
    _check(PacaVit(paca.config("tiny", clusters=(49, 49, 49, 0))),
           (1, 3, 224, 224))
