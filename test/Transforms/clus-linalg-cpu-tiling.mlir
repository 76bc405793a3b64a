// RUN: clusopt-opt %s --pass-pipeline='builtin.module(func.func(clus-linalg-cpu-tiling{vector-width=16}))' -verify-diagnostics | FileCheck %s

#r2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// Bias add then GELU: one row-block loop, the bias add fused into it, both
// on 16-lane vectors.
// CHECK-LABEL: func.func @bias_gelu
// CHECK:         scf.forall
// CHECK:           vector.transfer_read {{.*}} vector<16xf32>
// CHECK:           arith.addf {{.*}} : vector<16xf32>
// CHECK:           math.erf {{.*}} : vector<16xf32>
// CHECK:           vector.transfer_write {{.*}} : vector<16xf32>
// CHECK:         scf.forall.in_parallel
// CHECK-NOT:     scf.forall
// CHECK-NOT:     linalg.generic
// CHECK:         return
func.func @bias_gelu(%x: tensor<?x384xf32>, %b: tensor<384xf32>) -> tensor<?x384xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x384xf32>
  %e = tensor.empty(%m) : tensor<?x384xf32>
  %xb = linalg.generic {indexing_maps = [#r2, #col, #r2], iterator_types = ["parallel", "parallel"]}
      ins(%x, %b : tensor<?x384xf32>, tensor<384xf32>) outs(%e : tensor<?x384xf32>) {
  ^bb0(%a: f32, %bb: f32, %o: f32):
    %s = arith.addf %a, %bb : f32
    linalg.yield %s : f32
  } -> tensor<?x384xf32>
  %y = linalg.generic {indexing_maps = [#r2, #r2], iterator_types = ["parallel", "parallel"]}
      ins(%xb : tensor<?x384xf32>) outs(%e : tensor<?x384xf32>) {
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
  } -> tensor<?x384xf32>
  return %y : tensor<?x384xf32>
}

// Softmax over a dynamic, possibly ragged, last axis: max and sum fused
// into the division's row blocks, exp computed once, each reduction kept as
// 16 masked partial results and reduced once per row.
// CHECK-LABEL: func.func @softmax
// CHECK:         scf.forall
// CHECK:           vector.create_mask
// CHECK:           arith.maximumf {{.*}} : vector<16xf32>
// CHECK:           vector.reduction <maximumf>, {{.*}} : vector<16xf32> into f32
// CHECK:           math.exp {{.*}} : vector<16xf32>
// CHECK-NOT:       math.exp
// CHECK:           vector.reduction <add>, {{.*}} : vector<16xf32> into f32
// CHECK:           arith.divf {{.*}} : vector<16xf32>
// CHECK:         scf.forall.in_parallel
// CHECK-NOT:     scf.forall
// CHECK-NOT:     linalg.generic
// CHECK:         return
func.func @softmax(%x: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = tensor.dim %x, %c0 : tensor<?x?xf32>
  %n = tensor.dim %x, %c1 : tensor<?x?xf32>
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty(%m) : tensor<?xf32>
  %accm = linalg.fill ins(%ninf : f32) outs(%e1 : tensor<?xf32>) -> tensor<?xf32>
  %max = linalg.generic {indexing_maps = [#r2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x?xf32>) outs(%accm : tensor<?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.maximumf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %e2 = tensor.empty(%m, %n) : tensor<?x?xf32>
  %ex = linalg.generic {indexing_maps = [#r2, #row, #r2], iterator_types = ["parallel", "parallel"]}
      ins(%x, %max : tensor<?x?xf32>, tensor<?xf32>) outs(%e2 : tensor<?x?xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %d = arith.subf %a, %s : f32
    %e = math.exp %d : f32
    linalg.yield %e : f32
  } -> tensor<?x?xf32>
  %accs = linalg.fill ins(%zero : f32) outs(%e1 : tensor<?xf32>) -> tensor<?xf32>
  %sum = linalg.generic {indexing_maps = [#r2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%ex : tensor<?x?xf32>) outs(%accs : tensor<?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %y = linalg.generic {indexing_maps = [#r2, #row, #r2], iterator_types = ["parallel", "parallel"]}
      ins(%ex, %sum : tensor<?x?xf32>, tensor<?xf32>) outs(%e2 : tensor<?x?xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %d = arith.divf %a, %s : f32
    linalg.yield %d : f32
  } -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}

// Depthwise 3x3, stride 2, padding 1: the pad becomes a vectorised fill
// and copy, the convolution one output row per row block, 1-D convolutions
// of 7 columns by 16 channels inside (fused multiply-adds, no masks).
// CHECK-LABEL: func.func @depthwise
// CHECK-NOT:     tensor.pad
// CHECK:         scf.forall
// CHECK:           vector.transfer_write {{.*}} : vector<16xf32>
// CHECK:         scf.forall
// CHECK:           vector.fma {{.*}} : vector<16xf32>
// CHECK-NOT:     linalg.depthwise_conv
// CHECK-NOT:     vector.create_mask
// CHECK:         return
func.func @depthwise(%x: tensor<1x56x56x96xf32>, %w: tensor<3x3x96xf32>) -> tensor<1x28x28x96xf32> {
  %zero = arith.constant 0.0 : f32
  %p = tensor.pad %x low[0, 1, 1, 0] high[0, 1, 1, 0] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x56x56x96xf32> to tensor<1x58x58x96xf32>
  %e = tensor.empty() : tensor<1x28x28x96xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x28x28x96xf32>) -> tensor<1x28x28x96xf32>
  %y = linalg.depthwise_conv_2d_nhwc_hwc {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%p, %w : tensor<1x58x58x96xf32>, tensor<3x3x96xf32>) outs(%f : tensor<1x28x28x96xf32>) -> tensor<1x28x28x96xf32>
  return %y : tensor<1x28x28x96xf32>
}

// A sum over the leading axis has no rows to distribute: it is tiled to
// vectors in place, and the subtraction that broadcasts it over the rows
// does not fuse it (every row block would recompute the whole sum).
// CHECK-LABEL: func.func @center_columns
// CHECK:         scf.for
// CHECK:           arith.addf {{.*}} : vector<16xf32>
// CHECK:         scf.forall
// CHECK-NOT:       arith.addf
// CHECK:           arith.subf {{.*}} : vector<16xf32>
// CHECK:         return
func.func @center_columns(%x: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = tensor.dim %x, %c0 : tensor<?x?xf32>
  %n = tensor.dim %x, %c1 : tensor<?x?xf32>
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty(%n) : tensor<?xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e1 : tensor<?xf32>) -> tensor<?xf32>
  %sum = linalg.generic {indexing_maps = [#r2, #col], iterator_types = ["reduction", "parallel"]}
      ins(%x : tensor<?x?xf32>) outs(%acc : tensor<?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  %e2 = tensor.empty(%m, %n) : tensor<?x?xf32>
  %y = linalg.generic {indexing_maps = [#r2, #col, #r2], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum : tensor<?x?xf32>, tensor<?xf32>) outs(%e2 : tensor<?x?xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %d = arith.subf %a, %s : f32
    linalg.yield %d : f32
  } -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}

// A row sum over a static axis: the 16 partial sums stay in a vector
// register across the row (a vector iter_arg), not in a per-row buffer.
// CHECK-LABEL: func.func @row_sum
// CHECK:         scf.forall
// CHECK:           scf.for {{.*}} -> ({{.*}}vector<16xf32>) {
// CHECK-NEXT:        tensor.extract_slice
// CHECK-NEXT:        vector.transfer_read
// CHECK-NEXT:        arith.addf {{.*}} : vector<16xf32>
// CHECK-NEXT:        scf.yield
// CHECK:           vector.reduction <add>
// CHECK:         return
func.func @row_sum(%x: tensor<?x96xf32>) -> tensor<?xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x96xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%m) : tensor<?xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<?xf32>) -> tensor<?xf32>
  %sum = linalg.generic {indexing_maps = [#r2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x96xf32>) outs(%acc : tensor<?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  return %sum : tensor<?xf32>
}

// A bias add after a GEMM and the residual add after it become one
// elementwise op (upstream's elementwise fusion), left whole, next to the
// matmul, for clus-linalg-to-ukernel to fold into its call as one epilogue.
// CHECK-LABEL: func.func @bias_residual_epilogue
// CHECK:         %[[MM:.*]] = linalg.matmul
// CHECK-NEXT:    linalg.generic {{.*}} ins(%{{.*}}, %[[MM]], %{{.*}} : tensor<?x96xf32>, tensor<?x96xf32>, tensor<96xf32>)
// CHECK:           arith.addf
// CHECK:           arith.addf
// CHECK-NOT:     linalg.generic
// CHECK-NOT:     scf.forall
// CHECK:         return
func.func @bias_residual_epilogue(%x: tensor<?x96xf32>, %w: tensor<96x96xf32>, %b: tensor<96xf32>,
                                  %r: tensor<?x96xf32>) -> tensor<?x96xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x96xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%m) : tensor<?x96xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<?x96xf32>) -> tensor<?x96xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<?x96xf32>, tensor<96x96xf32>) outs(%acc : tensor<?x96xf32>) -> tensor<?x96xf32>
  %biased = linalg.generic {indexing_maps = [#r2, #col, #r2], iterator_types = ["parallel", "parallel"]}
      ins(%mm, %b : tensor<?x96xf32>, tensor<96xf32>) outs(%e : tensor<?x96xf32>) {
  ^bb0(%a: f32, %bb: f32, %o: f32):
    %s = arith.addf %a, %bb : f32
    linalg.yield %s : f32
  } -> tensor<?x96xf32>
  %y = linalg.generic {indexing_maps = [#r2, #r2, #r2], iterator_types = ["parallel", "parallel"]}
      ins(%r, %biased : tensor<?x96xf32>, tensor<?x96xf32>) outs(%e : tensor<?x96xf32>) {
  ^bb0(%a: f32, %bb: f32, %o: f32):
    %s = arith.addf %a, %bb : f32
    linalg.yield %s : f32
  } -> tensor<?x96xf32>
  return %y : tensor<?x96xf32>
}

// PaCa's MLP middle: a padded depthwise 3x3 with its bias broadcast as
// the accumulator, a shortcut add and GELU. The pad becomes fills of its
// four border slabs (the interior is written once, by the copy), and the
// convolution and its bias are fused into the GELU's row blocks: one
// scf.forall over image rows computes the bias, the 1-D convolutions and
// the GELU of each row, with no full-size convolution result in between.
// CHECK-LABEL: func.func @dwconv_shortcut_gelu
// CHECK-NOT:     tensor.pad
// CHECK:         tensor.extract_slice %{{.*}}[0, 0, 0, 0] [%{{.*}}, 1, 10, 32]
// CHECK:         scf.forall
// CHECK:         tensor.extract_slice %{{.*}}[0, 9, 0, 0] [%{{.*}}, 1, 10, 32]
// CHECK:         scf.forall
// CHECK:         tensor.extract_slice %{{.*}}[0, 0, 0, 0] [%{{.*}}, 10, 1, 32]
// CHECK:         scf.forall
// CHECK:         tensor.extract_slice %{{.*}}[0, 0, 9, 0] [%{{.*}}, 10, 1, 32]
// CHECK:         scf.forall
// CHECK:         tensor.extract_slice %{{.*}}[0, 1, 1, 0] [%{{.*}}, 8, 8, 32]
// CHECK:         scf.forall
// CHECK:         scf.forall (%{{.*}}, %{{.*}}) in (%{{.*}}, 8)
// CHECK:           vector.fma {{.*}} : vector<16xf32>
// CHECK:           math.erf {{.*}} : vector<16xf32>
// CHECK:         scf.forall.in_parallel
// CHECK-NOT:     scf.forall
// CHECK-NOT:     linalg.depthwise_conv
// CHECK-NOT:     linalg.generic
// CHECK:         return
#m4 = affine_map<(b, h, w, c) -> (b, h, w, c)>
func.func @dwconv_shortcut_gelu(%x: tensor<?x8x8x32xf32>, %w: tensor<3x3x32xf32>, %bias: tensor<32xf32>)
    -> tensor<?x8x8x32xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x8x8x32xf32>
  %zero = arith.constant 0.0 : f32
  %p = tensor.pad %x low[0, 1, 1, 0] high[0, 1, 1, 0] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<?x8x8x32xf32> to tensor<?x10x10x32xf32>
  %be = tensor.empty(%n) : tensor<?x8x8x32xf32>
  %init = linalg.broadcast ins(%bias : tensor<32xf32>) outs(%be : tensor<?x8x8x32xf32>) dimensions = [0, 1, 2]
  %conv = linalg.depthwise_conv_2d_nhwc_hwc {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%p, %w : tensor<?x10x10x32xf32>, tensor<3x3x32xf32>) outs(%init : tensor<?x8x8x32xf32>) -> tensor<?x8x8x32xf32>
  %se = tensor.empty(%n) : tensor<?x8x8x32xf32>
  %sc = linalg.generic {indexing_maps = [#m4, #m4, #m4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%conv, %x : tensor<?x8x8x32xf32>, tensor<?x8x8x32xf32>) outs(%se : tensor<?x8x8x32xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<?x8x8x32xf32>
  %ge = tensor.empty(%n) : tensor<?x8x8x32xf32>
  %g = linalg.generic {indexing_maps = [#m4, #m4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%sc : tensor<?x8x8x32xf32>) outs(%ge : tensor<?x8x8x32xf32>) {
  ^bb0(%v: f32, %o: f32):
    %half = arith.constant 0.5 : f32
    %one = arith.constant 1.0 : f32
    %rsqrt2 = arith.constant 0.70710678118654752 : f32
    %s = arith.mulf %v, %rsqrt2 : f32
    %erf = math.erf %s : f32
    %q = arith.addf %erf, %one : f32
    %h = arith.mulf %v, %half : f32
    %r = arith.mulf %h, %q : f32
    linalg.yield %r : f32
  } -> tensor<?x8x8x32xf32>
  return %g : tensor<?x8x8x32xf32>
}

// What the pass leaves to the pipeline's scalar loops, each with a remark.
// CHECK-LABEL: func.func @fallbacks
// CHECK:         linalg.matmul
// CHECK:         linalg.conv_2d_nhwc_hwcf
// CHECK:         linalg.generic
// CHECK:         linalg.generic
// CHECK:         linalg.generic
func.func @fallbacks(%a: tensor<?x?xf32>, %b: tensor<?x?xf32>, %img: tensor<1x8x8x16xf32>,
                     %k: tensor<1x1x16x32xf32>, %buf: memref<?x?xf32>) -> (tensor<?x?xf32>, tensor<1x8x8x32xf32>, tensor<?xf32>, tensor<?xf32>) {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %a, %c0 : tensor<?x?xf32>
  %zero = arith.constant 0.0 : f32
  // GEMMs are left to clus-linalg-to-ukernel, without a remark here.
  %mm = linalg.matmul ins(%a, %b : tensor<?x?xf32>, tensor<?x?xf32>) outs(%a : tensor<?x?xf32>) -> tensor<?x?xf32>
  %ce = tensor.empty() : tensor<1x8x8x32xf32>
  %conv = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%img, %k : tensor<1x8x8x16xf32>, tensor<1x1x16x32xf32>) outs(%ce : tensor<1x8x8x32xf32>) -> tensor<1x8x8x32xf32>
  %e = tensor.empty(%m) : tensor<?xf32>
  // A maximum spelled as compare and select has no combiner upstream can
  // split into partial results.
  // expected-remark @below {{'linalg.generic' is lowered to scalar loops: its reduction combiner has no neutral element upstream knows}}
  %amax = linalg.generic {indexing_maps = [#r2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%a : tensor<?x?xf32>) outs(%e : tensor<?xf32>) {
  ^bb0(%v: f32, %o: f32):
    %gt = arith.cmpf ogt, %v, %o : f32
    %s = arith.select %gt, %v, %o : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  // expected-remark @below {{'linalg.generic' is lowered to scalar loops: an indexing map is not a projected permutation}}
  %diag = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0, d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%a : tensor<?x?xf32>) outs(%e : tensor<?xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  } -> tensor<?xf32>
  // expected-remark @below {{'linalg.generic' is lowered to scalar loops: it works on buffers, not tensors}}
  linalg.generic {indexing_maps = [#r2], iterator_types = ["parallel", "parallel"]}
      outs(%buf : memref<?x?xf32>) {
  ^bb0(%o: f32):
    linalg.yield %zero : f32
  }
  return %mm, %conv, %amax, %diag : tensor<?x?xf32>, tensor<1x8x8x32xf32>, tensor<?xf32>, tensor<?xf32>
}

// -----

// Memory holds an i1 per byte, while a vector<Nxi1> load reads N packed
// bits: ops on i1 tensors (a causal mask) stay on the loops.
// CHECK-LABEL: func.func @i1_mask
// CHECK-NOT:     scf.forall
// CHECK:         linalg.generic
#id2 = affine_map<(i, j) -> (i, j)>
func.func @i1_mask(%s: tensor<5x5xf32>, %mask: tensor<5x5xi1>) -> tensor<5x5xf32> {
  %e = tensor.empty() : tensor<5x5xf32>
  // expected-remark @below {{'linalg.generic' is lowered to scalar loops: it reads or writes i1 tensors, which vector loads would bit-pack}}
  %r = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%s, %mask : tensor<5x5xf32>, tensor<5x5xi1>) outs(%e : tensor<5x5xf32>) {
  ^bb0(%v: f32, %m: i1, %o: f32):
    %ninf = arith.constant 0xFF800000 : f32
    %x = arith.select %m, %v, %ninf : f32
    linalg.yield %x : f32
  } -> tensor<5x5xf32>
  return %r : tensor<5x5xf32>
}
