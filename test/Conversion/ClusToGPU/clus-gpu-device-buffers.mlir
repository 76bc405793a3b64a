// RUN: clusopt-opt %s --clus-gpu-device-buffers --split-input-file --verify-diagnostics | FileCheck %s

// Buffers kernels use become device memory; the copy into the caller's
// buffer is a device copy; the free is a device free.
// CHECK-LABEL: func.func @kernel_buffers
// CHECK-NOT:     memref.alloc
// CHECK:         %[[B:.*]] = gpu.alloc (%{{.*}}) : memref<?x4xf32>
// CHECK:         gpu.launch
// CHECK:           memref.store {{.*}}, %[[B]]
// CHECK:         gpu.memcpy %{{.*}}, %[[B]] : memref<?x4xf32>, memref<?x4xf32>
// CHECK:         gpu.dealloc %[[B]] : memref<?x4xf32>
// CHECK-NOT:     memref.dealloc
// CHECK:         return
func.func @kernel_buffers(%out: memref<?x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %out, %c0 : memref<?x4xf32>
  %buf = memref.alloc(%n) : memref<?x4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %f = arith.constant 1.0 : f32
    memref.store %f, %buf[%bx, %c0] : memref<?x4xf32>
    gpu.terminator
  }
  memref.copy %buf, %out : memref<?x4xf32> to memref<?x4xf32>
  memref.dealloc %buf : memref<?x4xf32>
  return
}

// -----

// Bookkeeping the host reads and writes itself stays in host memory.
// CHECK-LABEL: func.func @host_bookkeeping
// CHECK:         memref.alloc() : memref<2xi1>
// CHECK:         memref.store
// CHECK:         memref.dealloc {{.*}} : memref<2xi1>
// CHECK-NOT:     gpu.
// CHECK:         return
func.func @host_bookkeeping(%b: i1) -> i1 {
  %c0 = arith.constant 0 : index
  %flags = memref.alloc() : memref<2xi1>
  memref.store %b, %flags[%c0] : memref<2xi1>
  %r = memref.load %flags[%c0] : memref<2xi1>
  memref.dealloc %flags : memref<2xi1>
  return %r : i1
}

// -----

// An entry point's arguments are device pointers: the host may not read them.
func.func @reads_argument(%in: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  // expected-error @below {{host code reads or writes a device buffer (an entry point argument); no GPU kernel covers this op}}
  %v = memref.load %in[%c0] : memref<4xf32>
  return %v : f32
}

// -----

// Nor a buffer a kernel writes.
func.func @reads_kernel_output() -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %buf = memref.alloc() : memref<4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %f = arith.constant 1.0 : f32
    memref.store %f, %buf[%c0] : memref<4xf32>
    gpu.terminator
  }
  // expected-error @below {{host code reads or writes a device buffer; no GPU kernel covers this op}}
  %v = memref.load %buf[%c0] : memref<4xf32>
  memref.dealloc %buf : memref<4xf32>
  return %v : f32
}
