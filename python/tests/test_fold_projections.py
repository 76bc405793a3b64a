"""clus-fold-projections keeps the math: pooled-then-projected and
projected-then-pooled layers compiled by the optimised pipeline (which
moves the matmul to the cheaper side) agree with float64 NumPy."""

import ctypes

import numpy as np
import pytest

from clusopt import kernels, reference
from clusopt.toolchain import Backend, target_runs_here

KERNEL = """
func.func @kernel(%l: tensor<1x{M}x{N}xf32>, %x: tensor<1x{N}x{C}xf32>,
                  %w: tensor<{C}x{D}xf32>, %out: memref<1x{M}x{D}xf32>) {{
  %z_init = tensor.empty() : tensor<1x{M}x{N}xf32>
  %z = clus.soft_assign %l outs(%z_init) : tensor<1x{M}x{N}xf32>
  %zero = arith.constant 0.0 : f32
  {body}
  bufferization.materialize_in_destination %r in restrict writable %out
      : (tensor<1x{M}x{D}xf32>, memref<1x{M}x{D}xf32>) -> ()
  return
}}
"""
MAPS = ("indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, "
        "affine_map<(b, m, n, k) -> (k, n)>, "
        "affine_map<(b, m, n, k) -> (b, m, n)>]")
POOL_THEN_PROJECT = """
  %y_init = tensor.empty() : tensor<1x{M}x{C}xf32>
  %y = clus.pool %z, %x outs(%y_init) : tensor<1x{M}x{N}xf32>, tensor<1x{N}x{C}xf32> -> tensor<1x{M}x{C}xf32>
  %e = tensor.empty() : tensor<1x{M}x{D}xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<1x{M}x{D}xf32>) -> tensor<1x{M}x{D}xf32>
  %r = linalg.batch_matmul {maps} ins(%y, %w : tensor<1x{M}x{C}xf32>, tensor<{C}x{D}xf32>) outs(%acc : tensor<1x{M}x{D}xf32>) -> tensor<1x{M}x{D}xf32>
"""
PROJECT_THEN_POOL = """
  %e = tensor.empty() : tensor<1x{N}x{D}xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<1x{N}x{D}xf32>) -> tensor<1x{N}x{D}xf32>
  %xw = linalg.batch_matmul {maps} ins(%x, %w : tensor<1x{N}x{C}xf32>, tensor<{C}x{D}xf32>) outs(%acc : tensor<1x{N}x{D}xf32>) -> tensor<1x{N}x{D}xf32>
  %r_init = tensor.empty() : tensor<1x{M}x{D}xf32>
  %r = clus.pool %z, %xw outs(%r_init) : tensor<1x{M}x{N}xf32>, tensor<1x{N}x{D}xf32> -> tensor<1x{M}x{D}xf32>
"""


@pytest.mark.parametrize("body", [POOL_THEN_PROJECT, PROJECT_THEN_POOL],
                         ids=["pool-then-project", "project-then-pool"])
@pytest.mark.parametrize("sizes", [dict(M=20, N=49, C=80, D=16),
                                   dict(M=30, N=70, C=16, D=16)],
                         ids=["narrowing", "square"])
def test_folded_layer_matches_numpy(body, sizes):
    backend = Backend("clus-cpu-to-llvm", "x86-64-v3")
    if not target_runs_here(backend.target):
        pytest.skip("needs AVX2")
    text = KERNEL.format(body=body.format(maps=MAPS, **sizes), **sizes)
    lib = ctypes.CDLL(str(backend.compile(text)))
    rng = np.random.default_rng(11)
    m, n, c, d = sizes["M"], sizes["N"], sizes["C"], sizes["D"]
    logits = (3 * rng.standard_normal((1, m, n))).astype(np.float32)
    x = rng.standard_normal((1, n, c)).astype(np.float32)
    w = rng.standard_normal((c, d)).astype(np.float32)
    out = np.full((1, m, d), np.nan, np.float32)
    args = [kernels._descriptor(a) for a in (logits, x, w, out)]
    lib._mlir_ciface_kernel(*[ctypes.byref(a) for a in args])
    want = reference.pool(reference.soft_assign(logits, "tokens"), x) @ \
        w.astype(np.float64)
    bound = 1e-4 * max(1.0, float(np.abs(want).max()))
    assert float(np.abs(out - want).max()) <= bound
