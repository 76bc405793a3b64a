"""The exact GELU, x/2 * (1 + erf(x/sqrt 2)), compiles on every CPU
pipeline and matches float64 NumPy: f32 `math.erf` has no LLVM intrinsic, so
the optimised pipeline approximates it (clus-approximate-math) and the
reference pipeline calls libm."""

import ctypes
import math

import numpy as np
import pytest

from clusopt import kernels
from clusopt.toolchain import Backend, target_runs_here

GELU = """
#map = affine_map<(i) -> (i)>
func.func @gelu(%x: tensor<?xf32>, %out: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?xf32>
  %e = tensor.empty(%n) : tensor<?xf32>
  %y = linalg.generic {indexing_maps = [#map, #map],
                       iterator_types = ["parallel"]}
      ins(%x : tensor<?xf32>) outs(%e : tensor<?xf32>) {
  ^bb0(%v: f32, %o: f32):
    %half = arith.constant 0.5 : f32
    %one = arith.constant 1.0 : f32
    %rsqrt2 = arith.constant 0.70710678118654752 : f32
    %s = arith.mulf %v, %rsqrt2 : f32
    %erf = math.erf %s : f32
    %p = arith.addf %erf, %one : f32
    %h = arith.mulf %v, %half : f32
    %g = arith.mulf %h, %p : f32
    linalg.yield %g : f32
  } -> tensor<?xf32>
  bufferization.materialize_in_destination %y in restrict writable %out
      : (tensor<?xf32>, memref<?xf32>) -> ()
  return
}
"""


@pytest.mark.parametrize("gelu_backend", [
    Backend("clus-to-llvm", "x86-64"),
    Backend("clus-cpu-to-llvm", "x86-64-v3"),
], ids=lambda b: b.name)
def test_exact_gelu_matches_float64(gelu_backend):
    backend = gelu_backend
    if not target_runs_here(backend.target):
        pytest.skip(f"{backend.target} does not run here")
    lib = ctypes.CDLL(str(backend.compile(GELU)))
    rng = np.random.default_rng(5)
    # Both tails (erf saturates), zero, and the range GELU sees in a ViT.
    x = np.concatenate([np.array([0.0, -0.0, 1e-8, -9.0, 9.0, 30.0, -30.0]),
                        4 * rng.standard_normal(1000)]).astype(np.float32)
    original = x.copy()
    out = np.full_like(x, np.nan)
    args = [kernels._descriptor(a) for a in (x, out)]
    lib._mlir_ciface_gelu(*[ctypes.byref(a) for a in args])
    x64 = x.astype(np.float64)
    want = np.array([v / 2 * (1 + math.erf(v / math.sqrt(2))) for v in x64])
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(x, original)
