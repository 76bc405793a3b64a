// RUN: clusopt-opt %s --clus-approximate-math | FileCheck %s

// f32 exp and erf, scalar or vector, become a range reduction plus polynomial in
// plain arith ops (which vectorise), so no libm call survives. Other math
// ops are untouched.

// CHECK-LABEL: func.func @exp
// CHECK-NOT:     math.exp
// CHECK:         math.fma {{.*}} : vector<8xf32>
// CHECK:         arith.shli {{.*}} : vector<8xi32>
// CHECK:         math.fma {{.*}} : f32
// CHECK-NOT:     math.exp
// CHECK:         math.tanh
func.func @exp(%a: vector<8xf32>, %b: f32) -> (vector<8xf32>, f32, f32) {
  %0 = math.exp %a : vector<8xf32>
  %1 = math.exp %b : f32
  %2 = math.tanh %b : f32
  return %0, %1, %2 : vector<8xf32>, f32, f32
}

// erf (the exact GELU) has no LLVM intrinsic at all: a rational
// approximation in arith ops, vectorised like exp.
// CHECK-LABEL: func.func @erf
// CHECK-NOT:     math.erf
// CHECK:         arith.divf {{.*}} : vector<16xf32>
// CHECK-NOT:     math.erf
// CHECK:         return
func.func @erf(%a: vector<16xf32>) -> vector<16xf32> {
  %0 = math.erf %a : vector<16xf32>
  return %0 : vector<16xf32>
}

// A power by a constant integer becomes multiplications: LLVM's powi takes
// only a scalar exponent, and a vectorised fpowi has a vector of them.
// CHECK-LABEL: func.func @fpowi
// CHECK-NOT:     math.fpowi
// CHECK:         %[[SQ:.+]] = arith.mulf %{{.+}}, %{{.+}} : vector<16xf32>
// CHECK:         return %[[SQ]]
func.func @fpowi(%a: vector<16xf32>) -> vector<16xf32> {
  %c = arith.constant dense<2> : vector<16xi64>
  %0 = math.fpowi %a, %c : vector<16xf32>, vector<16xi64>
  return %0 : vector<16xf32>
}
