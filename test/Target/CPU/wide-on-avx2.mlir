// RUN: clusopt-opt %s --clus-cpu-to-llvm=vector-width=16 | mlir-translate --mlir-to-llvmir -o %t.ll
// RUN: FileCheck %s --check-prefix=IR --implicit-check-not="<8 x float>" < %t.ll
// RUN: llc -O2 -mtriple=x86_64-unknown-linux-gnu -mcpu=x86-64-v3 %t.ll -o - | FileCheck %s --implicit-check-not=zmm
// RUN: llc -O2 -mtriple=x86_64-unknown-linux-gnu -mcpu=x86-64-v4 %t.ll -o - | FileCheck %s --check-prefix=V4

// The AVX-512-width (16-lane) lowering built for AVX2, as the numerics
// harness's clus-cpu-to-llvm{vector-width=16}@x86-64-v3 backend builds it:
// the IR has 16-lane vectors only (FMAs, masked tail loads and stores,
// reductions), and LLVM legalises each into a pair of 256-bit halves, so
// the x86-64-v3 assembly computes on ymm registers and never names a zmm
// one (--implicit-check-not scans the whole output). That is what lets
// the 16-lane lowering run, and be checked, on CPUs without AVX-512. The
// same IR built for x86-64-v4 does use zmm registers (the V4 run), so the
// zmm check is not vacuous.

// IR-DAG: call <16 x float> @llvm.fma.v16f32
// IR-DAG: call <16 x float> @llvm.masked.load.v16f32
// IR-DAG: call void @llvm.masked.store.v16f32
// IR-DAG: call {{.*}}float @llvm.vector.reduce.fadd.v16f32(float {{.*}}, <16 x float>

// CHECK-LABEL: paca:
// CHECK: vfmadd{{[0-9]+}}ps {{.*}}%ymm{{[0-9]+}}, %ymm{{[0-9]+}}, %ymm{{[0-9]+}}

// V4-LABEL: paca:
// V4: vfmadd{{[0-9]+}}ps {{.*}}%zmm{{[0-9]+}}, %zmm{{[0-9]+}}, %zmm{{[0-9]+}}

func.func @paca(%l: tensor<?x100x?xf32>, %x: tensor<?x?x96xf32>, %q: tensor<?x2x?x48xf32>, %k: tensor<?x2x100x48xf32>) -> (tensor<?x100x96xf32>, tensor<?x2x?x48xf32>) {
  %z_init_c0 = arith.constant 0 : index
  %z_init_d0 = tensor.dim %l, %z_init_c0 : tensor<?x100x?xf32>
  %z_init_c2 = arith.constant 2 : index
  %z_init_d2 = tensor.dim %l, %z_init_c2 : tensor<?x100x?xf32>
  %z_init = tensor.empty(%z_init_d0, %z_init_d2) : tensor<?x100x?xf32>
  %z = clus.soft_assign %l outs(%z_init) : tensor<?x100x?xf32>
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %l, %y_init_c0 : tensor<?x100x?xf32>
  %y_init = tensor.empty(%y_init_d0) : tensor<?x100x96xf32>
  %y = clus.pool %z, %x outs(%y_init) : tensor<?x100x?xf32>, tensor<?x?x96xf32> -> tensor<?x100x96xf32>
  %o_init_c0 = arith.constant 0 : index
  %o_init_d0 = tensor.dim %q, %o_init_c0 : tensor<?x2x?x48xf32>
  %o_init_c2 = arith.constant 2 : index
  %o_init_d2 = tensor.dim %q, %o_init_c2 : tensor<?x2x?x48xf32>
  %o_init = tensor.empty(%o_init_d0, %o_init_d2) : tensor<?x2x?x48xf32>
  %o = clus.attention %q, [%k, %k] outs(%o_init) : tensor<?x2x?x48xf32>, [tensor<?x2x100x48xf32>, tensor<?x2x100x48xf32>] -> tensor<?x2x?x48xf32>
  return %y, %o : tensor<?x100x96xf32>, tensor<?x2x?x48xf32>
}
