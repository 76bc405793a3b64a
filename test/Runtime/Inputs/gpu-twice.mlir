// A GPU kernel library by hand, for kernel-library-gpu.test: `twice`
// (y = 2x) with the calling convention of clusopt-compile's entry points
// (memref descriptors, the result returned), whose host code allocates the
// result on the device and launches through upstream MLIR's mgpu* ABI.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @twice_kernel(%x: memref<?xf32>, %y: memref<?xf32>, %n: index) kernel {
      %block = gpu.block_id x
      %size = gpu.block_dim x
      %thread = gpu.thread_id x
      %first = arith.muli %block, %size : index
      %i = arith.addi %first, %thread : index
      %inside = arith.cmpi ult, %i, %n : index
      scf.if %inside {
        %v = memref.load %x[%i] : memref<?xf32>
        %w = arith.addf %v, %v : f32
        memref.store %w, %y[%i] : memref<?xf32>
      }
      gpu.return
    }
  }

  func.func @twice(%x: memref<?xf32>) -> memref<?xf32>
      attributes {llvm.emit_c_interface} {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c127 = arith.constant 127 : index
    %c128 = arith.constant 128 : index
    %n = memref.dim %x, %c0 : memref<?xf32>
    %t0 = gpu.wait async
    %y, %t1 = gpu.alloc async [%t0] (%n) : memref<?xf32>
    %rounded = arith.addi %n, %c127 : index
    %blocks = arith.divui %rounded, %c128 : index
    %t2 = gpu.launch_func async [%t1] @kernels::@twice_kernel
        blocks in (%blocks, %c1, %c1) threads in (%c128, %c1, %c1)
        args(%x : memref<?xf32>, %y : memref<?xf32>, %n : index)
    gpu.wait [%t2]
    return %y : memref<?xf32>
  }
}
