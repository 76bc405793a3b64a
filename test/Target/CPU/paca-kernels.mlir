// RUN: clusopt-compile %s --target=x86-64-v3 --emit=asm -o - | FileCheck %s --check-prefixes=CHECK,AVX2 --implicit-check-not=expf --implicit-check-not=zmm
// RUN: clusopt-compile %s --target=x86-64-v4 --emit=asm -o - | FileCheck %s --check-prefixes=CHECK,AVX512 --implicit-check-not=expf
// RUN: clusopt-compile %s --target=aarch64 --emit=asm -o - | FileCheck %s --check-prefixes=CHECK,NEON --implicit-check-not=expf
// RUN: clusopt-compile %s --target=aarch64 --emit=obj -o %t.o
// RUN: llvm-objdump -d %t.o | FileCheck %s --check-prefix=NEONOBJ
// RUN: clusopt-compile %s --target=x86-64-v4 --emit=llvm -o - | FileCheck %s --check-prefix=IR --implicit-check-not=expf

// The PaCa pair and flash attention vectorise to the target's width: fused
// multiply-adds on ymm (AVX2) or zmm (AVX-512) registers, fmla on NEON .4s
// vectors. Threads come from OpenMP (__kmpc_fork_call).
//
// --implicit-check-not scans the whole output around every match: exp is
// a polynomial (no expf anywhere), and AVX2 code never touches a zmm
// register.

// Every assembly run: the entry point, then its target's vector FMA.
// CHECK-LABEL: paca:

// AVX2:       vfmadd{{[0-9]+}}ps {{.*}}%ymm{{[0-9]+}}, %ymm{{[0-9]+}}, %ymm{{[0-9]+}}

// AVX512:       vfmadd{{[0-9]+}}ps {{.*}}%zmm{{[0-9]+}}, %zmm{{[0-9]+}}, %zmm{{[0-9]+}}

// NEON:       fmla v{{[0-9]+}}.4s, v{{[0-9]+}}.4s, v{{[0-9]+}}.4s

// NEONOBJ: file format elf64-littleaarch64
// NEONOBJ: fmla v{{[0-9]+}}.4s

// IR: call void {{.*}}@__kmpc_fork_call

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
  %y = clus.pool %z, %x outs(%y_init)
      : tensor<?x100x?xf32>, tensor<?x?x96xf32> -> tensor<?x100x96xf32>
  %o_init_c0 = arith.constant 0 : index
  %o_init_d0 = tensor.dim %q, %o_init_c0 : tensor<?x2x?x48xf32>
  %o_init_c2 = arith.constant 2 : index
  %o_init_d2 = tensor.dim %q, %o_init_c2 : tensor<?x2x?x48xf32>
  %o_init = tensor.empty(%o_init_d0, %o_init_d2) : tensor<?x2x?x48xf32>
  %o = clus.attention %q, [%k, %k] outs(%o_init)
      : tensor<?x2x?x48xf32>, [tensor<?x2x100x48xf32>, tensor<?x2x100x48xf32>]
      -> tensor<?x2x?x48xf32>
  return %y, %o : tensor<?x100x96xf32>, tensor<?x2x?x48xf32>
}
