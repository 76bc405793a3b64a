//===- Passes.h - clusopt transform passes ----------------------*- C++ -*-===//

#ifndef CLUSOPT_TRANSFORMS_PASSES_H
#define CLUSOPT_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace clusopt {

#define GEN_PASS_DECL
#include "clusopt/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "clusopt/Transforms/Passes.h.inc"

} // namespace clusopt

#endif // CLUSOPT_TRANSFORMS_PASSES_H
