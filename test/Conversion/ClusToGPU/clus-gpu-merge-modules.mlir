// RUN: clusopt-opt %s --clus-gpu-merge-modules | FileCheck %s

// Outlining's one-module-per-kernel becomes one module; each kernel takes
// its old module's (unique) name and the launches follow.
// CHECK:     gpu.module @f_kernel {
// CHECK:       gpu.func @f_kernel() kernel
// CHECK:       gpu.func @f_kernel_0() kernel
// CHECK:     }
// CHECK-NOT: gpu.module
// CHECK:     gpu.launch_func  @f_kernel::@f_kernel
// CHECK:     gpu.launch_func  @f_kernel::@f_kernel_0
module attributes {gpu.container_module} {
  gpu.module @f_kernel {
    gpu.func @f_kernel() kernel {
      gpu.return
    }
  }
  gpu.module @f_kernel_0 {
    gpu.func @f_kernel() kernel {
      gpu.return
    }
  }
  func.func @f() {
    %c1 = arith.constant 1 : index
    gpu.launch_func @f_kernel::@f_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    gpu.launch_func @f_kernel_0::@f_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    return
  }
}
