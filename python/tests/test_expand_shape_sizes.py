"""A reshape whose group has two dynamic sizes (a flat tensor viewed with
another tensor's shape) compiles on every CPU pipeline and computes the
right values: upstream expand-strided-metadata alone crashes on it, so
clus-expand-shape-sizes rewrites it first."""

import ctypes

import numpy as np
import pytest

from clusopt import kernels
from clusopt.toolchain import Backend, target_runs_here

RESHAPE_ADD = """
func.func @reshape_add(%x: tensor<?xf32>, %s: tensor<?x?xf32>,
                       %out: memref<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %a = tensor.dim %s, %c0 : tensor<?x?xf32>
  %b = tensor.dim %s, %c1 : tensor<?x?xf32>
  %y = tensor.expand_shape %x [[0, 1]] output_shape [%a, %b]
      : tensor<?xf32> into tensor<?x?xf32>
  %e = tensor.empty(%a, %b) : tensor<?x?xf32>
  %z = linalg.add ins(%y, %s : tensor<?x?xf32>, tensor<?x?xf32>)
                  outs(%e : tensor<?x?xf32>) -> tensor<?x?xf32>
  bufferization.materialize_in_destination %z in restrict writable %out
      : (tensor<?x?xf32>, memref<?x?xf32>) -> ()
  return
}
"""


@pytest.mark.parametrize("reshape_backend", [
    Backend("clus-to-llvm", "x86-64"),
    Backend("clus-cpu-to-llvm", "x86-64-v3"),
], ids=lambda b: b.name)
@pytest.mark.parametrize("rows,cols", [(3, 5), (1, 7), (16, 33)])
def test_two_dynamic_sizes_in_one_group(reshape_backend, rows, cols):
    if not target_runs_here(reshape_backend.target):
        pytest.skip(f"{reshape_backend.target} does not run here")
    lib = ctypes.CDLL(str(reshape_backend.compile(RESHAPE_ADD)))
    rng = np.random.default_rng(rows * 100 + cols)
    x = rng.standard_normal(rows * cols).astype(np.float32)
    s = rng.standard_normal((rows, cols)).astype(np.float32)
    inputs = (x.copy(), s.copy())
    out = np.full((rows, cols), np.nan, np.float32)
    args = [kernels._descriptor(a) for a in (x, s, out)]
    lib._mlir_ciface_reshape_add(*[ctypes.byref(a) for a in args])
    want = x.astype(np.float64).reshape(rows, cols) + s.astype(np.float64)
    np.testing.assert_allclose(out, want, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(x, inputs[0])
    np.testing.assert_array_equal(s, inputs[1])
