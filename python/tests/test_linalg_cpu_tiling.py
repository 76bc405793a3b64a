"""The linalg around the clus ops, through the optimised CPU pipeline
(clus-linalg-cpu-tiling: row blocks in parallel, vectors inside, masks for
ragged sizes), against float64 NumPy: LayerNorm, softmax, bias + GELU,
reductions and depthwise convolutions as a PyTorch importer writes them,
at dynamic and ragged shapes. Inputs must come back unchanged."""

import ctypes
import math

import numpy as np
import pytest

from clusopt import kernels
from clusopt.toolchain import Backend, target_runs_here

R2 = "affine_map<(d0, d1) -> (d0, d1)>"
ROW = "affine_map<(d0, d1) -> (d0)>"
COL = "affine_map<(d0, d1) -> (d1)>"

PRELUDE = """
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
"""

LAYERNORM = f"""
func.func @kernel(%x: tensor<?x?xf32>, %g: tensor<?xf32>, %b: tensor<?xf32>,
                  %out: memref<?x?xf32>) {{
  {PRELUDE}
  %m = tensor.dim %x, %c0 : tensor<?x?xf32>
  %n = tensor.dim %x, %c1 : tensor<?x?xf32>
  %eps = arith.constant 1.0e-5 : f32
  %ni = arith.index_cast %n : index to i64
  %nf = arith.sitofp %ni : i64 to f32
  %e1 = tensor.empty(%m) : tensor<?xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e1 : tensor<?xf32>) -> tensor<?xf32>
  %sum = linalg.generic {{indexing_maps = [{R2}, {ROW}],
                         iterator_types = ["parallel", "reduction"]}}
      ins(%x : tensor<?x?xf32>) outs(%acc : tensor<?xf32>) {{
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  }} -> tensor<?xf32>
  %e2 = tensor.empty(%m, %n) : tensor<?x?xf32>
  %cent = linalg.generic {{indexing_maps = [{R2}, {ROW}, {R2}],
                          iterator_types = ["parallel", "parallel"]}}
      ins(%x, %sum : tensor<?x?xf32>, tensor<?xf32>) outs(%e2 : tensor<?x?xf32>) {{
  ^bb0(%a: f32, %s: f32, %o: f32):
    %mean = arith.divf %s, %nf : f32
    %d = arith.subf %a, %mean : f32
    linalg.yield %d : f32
  }} -> tensor<?x?xf32>
  %sq = linalg.generic {{indexing_maps = [{R2}, {ROW}],
                        iterator_types = ["parallel", "reduction"]}}
      ins(%cent : tensor<?x?xf32>) outs(%acc : tensor<?xf32>) {{
  ^bb0(%a: f32, %o: f32):
    %p = arith.mulf %a, %a : f32
    %s = arith.addf %p, %o : f32
    linalg.yield %s : f32
  }} -> tensor<?xf32>
  %y = linalg.generic {{indexing_maps = [{R2}, {ROW}, {COL}, {COL}, {R2}],
                       iterator_types = ["parallel", "parallel"]}}
      ins(%cent, %sq, %g, %b : tensor<?x?xf32>, tensor<?xf32>, tensor<?xf32>,
                               tensor<?xf32>)
      outs(%e2 : tensor<?x?xf32>) {{
  ^bb0(%a: f32, %v: f32, %gg: f32, %bb: f32, %o: f32):
    %var = arith.divf %v, %nf : f32
    %ve = arith.addf %var, %eps : f32
    %r = math.rsqrt %ve : f32
    %t = arith.mulf %a, %r : f32
    %u = arith.mulf %t, %gg : f32
    %w = arith.addf %u, %bb : f32
    linalg.yield %w : f32
  }} -> tensor<?x?xf32>
  bufferization.materialize_in_destination %y in restrict writable %out
      : (tensor<?x?xf32>, memref<?x?xf32>) -> ()
  return
}}
"""

SOFTMAX = f"""
func.func @kernel(%x: tensor<?x?xf32>, %out: memref<?x?xf32>) {{
  {PRELUDE}
  %m = tensor.dim %x, %c0 : tensor<?x?xf32>
  %n = tensor.dim %x, %c1 : tensor<?x?xf32>
  %ninf = arith.constant 0xFF800000 : f32
  %e1 = tensor.empty(%m) : tensor<?xf32>
  %accm = linalg.fill ins(%ninf : f32) outs(%e1 : tensor<?xf32>) -> tensor<?xf32>
  %max = linalg.generic {{indexing_maps = [{R2}, {ROW}],
                         iterator_types = ["parallel", "reduction"]}}
      ins(%x : tensor<?x?xf32>) outs(%accm : tensor<?xf32>) {{
  ^bb0(%a: f32, %o: f32):
    %s = arith.maximumf %a, %o : f32
    linalg.yield %s : f32
  }} -> tensor<?xf32>
  %e2 = tensor.empty(%m, %n) : tensor<?x?xf32>
  %ex = linalg.generic {{indexing_maps = [{R2}, {ROW}, {R2}],
                        iterator_types = ["parallel", "parallel"]}}
      ins(%x, %max : tensor<?x?xf32>, tensor<?xf32>) outs(%e2 : tensor<?x?xf32>) {{
  ^bb0(%a: f32, %s: f32, %o: f32):
    %d = arith.subf %a, %s : f32
    %e = math.exp %d : f32
    linalg.yield %e : f32
  }} -> tensor<?x?xf32>
  %accs = linalg.fill ins(%zero : f32) outs(%e1 : tensor<?xf32>) -> tensor<?xf32>
  %sum = linalg.generic {{indexing_maps = [{R2}, {ROW}],
                         iterator_types = ["parallel", "reduction"]}}
      ins(%ex : tensor<?x?xf32>) outs(%accs : tensor<?xf32>) {{
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  }} -> tensor<?xf32>
  %y = linalg.generic {{indexing_maps = [{R2}, {ROW}, {R2}],
                       iterator_types = ["parallel", "parallel"]}}
      ins(%ex, %sum : tensor<?x?xf32>, tensor<?xf32>) outs(%e2 : tensor<?x?xf32>) {{
  ^bb0(%a: f32, %s: f32, %o: f32):
    %d = arith.divf %a, %s : f32
    linalg.yield %d : f32
  }} -> tensor<?x?xf32>
  bufferization.materialize_in_destination %y in restrict writable %out
      : (tensor<?x?xf32>, memref<?x?xf32>) -> ()
  return
}}
"""

BIAS_GELU_RESIDUAL = f"""
func.func @kernel(%x: tensor<?x?xf32>, %b: tensor<?xf32>, %r: tensor<?x?xf32>,
                  %out: memref<?x?xf32>) {{
  {PRELUDE}
  %m = tensor.dim %x, %c0 : tensor<?x?xf32>
  %n = tensor.dim %x, %c1 : tensor<?x?xf32>
  %e2 = tensor.empty(%m, %n) : tensor<?x?xf32>
  %xb = linalg.generic {{indexing_maps = [{R2}, {COL}, {R2}],
                        iterator_types = ["parallel", "parallel"]}}
      ins(%x, %b : tensor<?x?xf32>, tensor<?xf32>) outs(%e2 : tensor<?x?xf32>) {{
  ^bb0(%a: f32, %bb: f32, %o: f32):
    %s = arith.addf %a, %bb : f32
    linalg.yield %s : f32
  }} -> tensor<?x?xf32>
  %gelu = linalg.generic {{indexing_maps = [{R2}, {R2}],
                          iterator_types = ["parallel", "parallel"]}}
      ins(%xb : tensor<?x?xf32>) outs(%e2 : tensor<?x?xf32>) {{
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
  }} -> tensor<?x?xf32>
  %y = linalg.add ins(%gelu, %r : tensor<?x?xf32>, tensor<?x?xf32>)
                  outs(%e2 : tensor<?x?xf32>) -> tensor<?x?xf32>
  bufferization.materialize_in_destination %y in restrict writable %out
      : (tensor<?x?xf32>, memref<?x?xf32>) -> ()
  return
}}
"""

# Mean over the tokens of [B, N, C] (a reduction over a middle axis) and the
# maximum over the last axis of [B, N, C].
MEAN_AMAX = """
#x3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc = affine_map<(d0, d1, d2) -> (d0, d2)>
#bn = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @kernel(%x: tensor<?x?x?xf32>, %mean: memref<?x?xf32>,
                  %amax: memref<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %b = tensor.dim %x, %c0 : tensor<?x?x?xf32>
  %n = tensor.dim %x, %c1 : tensor<?x?x?xf32>
  %c = tensor.dim %x, %c2 : tensor<?x?x?xf32>
  %ni = arith.index_cast %n : index to i64
  %nf = arith.sitofp %ni : i64 to f32
  %e = tensor.empty(%b, %c) : tensor<?x?xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x?xf32>) -> tensor<?x?xf32>
  %s = linalg.generic {indexing_maps = [#x3, #bc],
                       iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x : tensor<?x?x?xf32>) outs(%f : tensor<?x?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %t = arith.addf %a, %o : f32
    linalg.yield %t : f32
  } -> tensor<?x?xf32>
  %m = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                        affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%s : tensor<?x?xf32>) outs(%e : tensor<?x?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %t = arith.divf %a, %nf : f32
    linalg.yield %t : f32
  } -> tensor<?x?xf32>
  %e2 = tensor.empty(%b, %n) : tensor<?x?xf32>
  %f2 = linalg.fill ins(%ninf : f32) outs(%e2 : tensor<?x?xf32>) -> tensor<?x?xf32>
  %mx = linalg.reduce ins(%x : tensor<?x?x?xf32>) outs(%f2 : tensor<?x?xf32>)
      dimensions = [2]
      (%a: f32, %o: f32) {
        %t = arith.maximumf %a, %o : f32
        linalg.yield %t : f32
      }
  bufferization.materialize_in_destination %m in restrict writable %mean
      : (tensor<?x?xf32>, memref<?x?xf32>) -> ()
  bufferization.materialize_in_destination %mx in restrict writable %amax
      : (tensor<?x?xf32>, memref<?x?xf32>) -> ()
  return
}
"""


def depthwise(n, h, w, c, stride):
    """3x3 depthwise convolution, padding 1, on static NHWC shapes."""
    oh, ow = (h - 1) // stride + 1, (w - 1) // stride + 1
    return f"""
func.func @kernel(%x: tensor<{n}x{h}x{w}x{c}xf32>, %k: tensor<3x3x{c}xf32>,
                  %out: memref<{n}x{oh}x{ow}x{c}xf32>) {{
  %zero = arith.constant 0.0 : f32
  %p = tensor.pad %x low[0, 1, 1, 0] high[0, 1, 1, 0] {{
  ^bb0(%i: index, %j: index, %l: index, %m: index):
    tensor.yield %zero : f32
  }} : tensor<{n}x{h}x{w}x{c}xf32> to tensor<{n}x{h + 2}x{w + 2}x{c}xf32>
  %e = tensor.empty() : tensor<{n}x{oh}x{ow}x{c}xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<{n}x{oh}x{ow}x{c}xf32>)
      -> tensor<{n}x{oh}x{ow}x{c}xf32>
  %y = linalg.depthwise_conv_2d_nhwc_hwc
      {{dilations = dense<1> : tensor<2xi64>,
        strides = dense<{stride}> : tensor<2xi64>}}
      ins(%p, %k : tensor<{n}x{h + 2}x{w + 2}x{c}xf32>, tensor<3x3x{c}xf32>)
      outs(%f : tensor<{n}x{oh}x{ow}x{c}xf32>) -> tensor<{n}x{oh}x{ow}x{c}xf32>
  bufferization.materialize_in_destination %y in restrict writable %out
      : (tensor<{n}x{oh}x{ow}x{c}xf32>, memref<{n}x{oh}x{ow}x{c}xf32>) -> ()
  return
}}
"""


BACKENDS = [Backend("clus-cpu-to-llvm", "x86-64-v3"),
            Backend("clus-cpu-to-llvm", "x86-64-v4")]


@pytest.fixture(params=BACKENDS, ids=lambda b: b.name)
def cpu_backend(request):
    if not target_runs_here(request.param.target):
        pytest.skip(f"{request.param.target} does not run here")
    return request.param


def run(backend, text, inputs, outputs):
    """Calls the kernel; checks the inputs come back byte-identical."""
    lib = ctypes.CDLL(str(backend.compile(text)))
    originals = [a.copy() for a in inputs]
    descriptors = [kernels._descriptor(a) for a in (*inputs, *outputs)]
    lib._mlir_ciface_kernel(*[ctypes.byref(d) for d in descriptors])
    for before, after in zip(originals, inputs):
        np.testing.assert_array_equal(before, after)


def assert_close(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-4,
                               atol=1e-4 * max(1.0, np.abs(want).max()))


@pytest.mark.parametrize("rows,channels", [(50, 64), (197, 96), (3, 97),
                                           (130, 384)])
def test_layernorm(cpu_backend, rows, channels):
    rng = np.random.default_rng(rows * channels)
    x = (3 * rng.standard_normal((rows, channels)) + 1).astype(np.float32)
    g = rng.standard_normal(channels).astype(np.float32)
    b = rng.standard_normal(channels).astype(np.float32)
    out = np.full_like(x, np.nan)
    run(cpu_backend, LAYERNORM, [x, g, b], [out])
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=1, keepdims=True)
    var = ((x64 - mean) ** 2).mean(axis=1, keepdims=True)
    assert_close(out, (x64 - mean) / np.sqrt(var + 1e-5) * g + b)


@pytest.mark.parametrize("rows,cols", [(49, 197), (7, 3136), (5, 13)])
def test_softmax(cpu_backend, rows, cols):
    rng = np.random.default_rng(rows + cols)
    x = (4 * rng.standard_normal((rows, cols))).astype(np.float32)
    out = np.full_like(x, np.nan)
    run(cpu_backend, SOFTMAX, [x], [out])
    x64 = x.astype(np.float64)
    e = np.exp(x64 - x64.max(axis=1, keepdims=True))
    assert_close(out, e / e.sum(axis=1, keepdims=True))


@pytest.mark.parametrize("rows,cols", [(67, 384), (3, 97), (1, 5)])
def test_bias_gelu_residual(cpu_backend, rows, cols):
    rng = np.random.default_rng(rows * cols)
    x = (3 * rng.standard_normal((rows, cols))).astype(np.float32)
    b = rng.standard_normal(cols).astype(np.float32)
    r = rng.standard_normal((rows, cols)).astype(np.float32)
    out = np.full_like(x, np.nan)
    run(cpu_backend, BIAS_GELU_RESIDUAL, [x, b, r], [out])
    v = x.astype(np.float64) + b
    erf = np.vectorize(math.erf)(v / math.sqrt(2))
    assert_close(out, v / 2 * (1 + erf) + r)


@pytest.mark.parametrize("shape", [(2, 49, 96), (1, 3, 97), (3, 130, 20)])
def test_mean_and_amax(cpu_backend, shape):
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape).astype(np.float32)
    mean = np.full((shape[0], shape[2]), np.nan, np.float32)
    amax = np.full((shape[0], shape[1]), np.nan, np.float32)
    run(cpu_backend, MEAN_AMAX, [x], [mean, amax])
    assert_close(mean, x.astype(np.float64).mean(axis=1))
    np.testing.assert_array_equal(amax, x.max(axis=2))


@pytest.mark.parametrize("n,h,w,c,stride", [(1, 14, 14, 96, 1),
                                            (1, 15, 13, 96, 2),
                                            (2, 7, 9, 40, 1),
                                            (1, 11, 11, 20, 2)])
def test_depthwise_3x3(cpu_backend, n, h, w, c, stride):
    rng = np.random.default_rng(h * w * c + stride)
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    k = rng.standard_normal((3, 3, c)).astype(np.float32)
    oh, ow = (h - 1) // stride + 1, (w - 1) // stride + 1
    out = np.full((n, oh, ow, c), np.nan, np.float32)
    run(cpu_backend, depthwise(n, h, w, c, stride), [x, k], [out])
    padded = np.pad(x.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)))
    want = np.zeros((n, oh, ow, c))
    for i in range(3):
        for j in range(3):
            want += (padded[:, i:i + stride * oh:stride, j:j + stride * ow:stride]
                     * k[i, j])
    assert_close(out, want)
