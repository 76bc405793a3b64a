// RUN: clusopt-compile %s --target=x86-64-v4 --print-tile-space | FileCheck %s
// RUN: clusopt-compile %s --target=x86-64-v3 --tile=rows=2,cols=64 --print-tile-space | FileCheck %s --check-prefix=AVX2
// RUN: clusopt-compile %s --target=x86-64-v4 --print-tile-space | FileCheck %s --check-prefix=ROWS

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

// kmeans reads only `rows`, so its space varies rows at the default cols;
// aggregate reads neither and has nothing to tune.

// ROWS:          "op": "clus.attention"
// ROWS:          "function": "kmeans",
// ROWS-NEXT:     "knobs": [
// ROWS-NEXT:       "rows"
// ROWS-NEXT:     ],
// ROWS-NEXT:     "legal": [
// ROWS-NEXT:       {
// ROWS-NEXT:         "cols": 128,
// ROWS-NEXT:         "rows": 1
// ROWS-NEXT:       },
// ROWS-NEXT:       {
// ROWS-NEXT:         "cols": 128,
// ROWS-NEXT:         "rows": 2
// ROWS:              "rows": 8
// ROWS-NEXT:       }
// ROWS-NEXT:     ],
// ROWS:          "op": "clus.kmeans"
// ROWS-NOT:      "op": "clus.aggregate"
func.func @kmeans(%x: tensor<1x50x8xf32>) -> tensor<1x7x8xf32> {
  %a, %c = clus.kmeans %x clusters = 7 iterations = 2 : tensor<1x50x8xf32>
  %y = clus.aggregate %x, %a clusters = 7 : tensor<1x50x8xf32>, tensor<1x50xi32>
  return %y : tensor<1x7x8xf32>
}
