// RUN: clusopt-compile %s --target=x86-64-v4 --print-tile-space | FileCheck %s
// RUN: clusopt-compile %s --target=x86-64-v3 --tile=rows=2,cols=64 --print-tile-space | FileCheck %s --check-prefix=AVX2
// RUN: clusopt-compile %s --target=x86-64-v4 --print-tile-space | FileCheck %s --check-prefix=ROWS
// The manifest reports the clamped tile the kernel was compiled with (one
// vector of the host's 8 or 16 lanes).
// RUN: clusopt-compile %s --target=host --no-tune --emit=so -o %t.so
// RUN: FileCheck %s --input-file=%t.json --check-prefix=MANIFEST

// The legal tile space of each op with a kernel: rows 1-8, cols multiples
// of the vector width up to the padded streamed extent (7 clusters → one
// vector), scratch within 16 KiB. The default is one of them: cols = 128
// past the extent is the same single pass as the padded extent, and the
// kernel is compiled with cols clamped to it (the listing used to show a
// default of 128 beside legal tiles of 16 only).

// CHECK:      "ops": [
// CHECK:          "default": {
// CHECK-NEXT:       "cols": 16,
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

// MANIFEST:      "kernel": "vector",
// MANIFEST-NEXT: "op": "clus.attention",
// MANIFEST-NEXT: "tile": {
// MANIFEST-NEXT:   "cols": {{8|16}},
// MANIFEST-NEXT:   "rows": 4

// --tile=cols=64 is clamped the same way (7 clusters: one vector of 8).
// AVX2:          "default": {
// AVX2-NEXT:       "cols": 8,
// AVX2-NEXT:       "rows": 2
// AVX2:          "vector_width": 8
func.func @attention(%q: tensor<1x2x50x24xf32>, %k: tensor<1x2x7x24xf32>) -> tensor<1x2x50x24xf32> {
  %o_init = tensor.empty() : tensor<1x2x50x24xf32>
  %o = clus.attention %q, [%k, %k] outs(%o_init)
      : tensor<1x2x50x24xf32>, [tensor<1x2x7x24xf32>, tensor<1x2x7x24xf32>]
      -> tensor<1x2x50x24xf32>
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
  %a_init = tensor.empty() : tensor<1x50xi32>
  %c_init = tensor.empty() : tensor<1x7x8xf32>
  %a, %c = clus.kmeans %x clusters = 7 iterations = 2 outs(%a_init, %c_init)
      : tensor<1x50x8xf32> -> tensor<1x50xi32>, tensor<1x7x8xf32>
  %y_init = tensor.empty() : tensor<1x7x8xf32>
  %y = clus.aggregate %x, %a clusters = 7 outs(%y_init)
      : tensor<1x50x8xf32>, tensor<1x50xi32> -> tensor<1x7x8xf32>
  return %y : tensor<1x7x8xf32>
}
