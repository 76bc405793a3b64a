// RUN: clusopt-compile %s --target=x86-64-v4 --print-tile-space | FileCheck %s
// RUN: clusopt-compile %s --target=x86-64-v3 --tile=rows=2,cols=64 --print-tile-space | FileCheck %s --check-prefix=AVX2

// The legal tile space of each op with a kernel: rows 1-8, cols multiples
// of the vector width up to the padded streamed extent (7 clusters → one
// vector), scratch within 16 KiB.

// CHECK:      "ops": [
// CHECK:          "default": {
// CHECK-NEXT:       "cols": 128,
// CHECK-NEXT:       "rows": 4
// CHECK:          "function": "attention",
// CHECK:          "legal": [
// CHECK-NEXT:       {
// CHECK-NEXT:         "cols": 16,
// CHECK-NEXT:         "rows": 1
// CHECK-NOT:          "cols": 32,
// CHECK:          "op": "clus.attention"
// CHECK:        "target": "x86-64-v4",
// CHECK-NEXT:   "vector_width": 16

// AVX2:          "default": {
// AVX2-NEXT:       "cols": 64,
// AVX2-NEXT:       "rows": 2
// AVX2:          "vector_width": 8
func.func @attention(%q: tensor<1x2x50x24xf32>, %k: tensor<1x2x7x24xf32>) -> tensor<1x2x50x24xf32> {
  %o = clus.attention %q, [%k, %k] : tensor<1x2x50x24xf32>, [tensor<1x2x7x24xf32>, tensor<1x2x7x24xf32>]
  return %o : tensor<1x2x50x24xf32>
}
