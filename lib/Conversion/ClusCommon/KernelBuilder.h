//===- KernelBuilder.h - loop/vector vocabulary of clus kernels -*- C++ -*-===//
//
// The optimised CPU and GPU lowerings write their kernels as explicit scf loops
// over memrefs with 1-D vector ops along the contiguous axis. This header is
// the small vocabulary those kernels share: loops that carry values, masked
// vector loads that extend any storage type to f32, stores that truncate
// back, and the tile configuration of an op.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_CONVERSION_CLUSCOMMON_KERNELBUILDER_H
#define CLUSOPT_CONVERSION_CLUSCOMMON_KERNELBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"

namespace clusopt {

class KernelBuilder {
public:
  KernelBuilder(mlir::OpBuilder &b, mlir::Location loc, int64_t width)
      : b(b), loc(loc), width(width) {}

  mlir::OpBuilder &b;
  mlir::Location loc;
  int64_t width;

  mlir::Type f32() { return b.getF32Type(); }
  mlir::VectorType vecF32() { return mlir::VectorType::get({width}, f32()); }
  mlir::VectorType vecOf(mlir::Type t) {
    return mlir::VectorType::get({width}, t);
  }

  mlir::Value idx(int64_t v);
  mlir::Value i32(int64_t v);
  mlir::Value f32c(double v);
  mlir::Value splat(double v);
  mlir::Value splat(mlir::Value scalar);
  mlir::Value dim(mlir::Value memref, int64_t d);
  mlir::Value add(mlir::Value a, mlir::Value c);
  mlir::Value sub(mlir::Value a, mlir::Value c);
  mlir::Value mul(mlir::Value a, mlir::Value c);
  mlir::Value minIdx(mlir::Value a, mlir::Value c);
  mlir::Value ceilDiv(mlir::Value a, int64_t c);
  /// `a` rounded up to a multiple of the vector width.
  mlir::Value padToWidth(mlir::Value a);

  mlir::Value addf(mlir::Value a, mlir::Value c);
  mlir::Value subf(mlir::Value a, mlir::Value c);
  mlir::Value mulf(mlir::Value a, mlir::Value c);
  mlir::Value divf(mlir::Value a, mlir::Value c);
  mlir::Value maxf(mlir::Value a, mlir::Value c);
  mlir::Value minf(mlir::Value a, mlir::Value c);
  mlir::Value exp(mlir::Value a);
  mlir::Value fma(mlir::Value a, mlir::Value c, mlir::Value acc);
  mlir::Value reduce(mlir::vector::CombiningKind kind, mlir::Value v);
  mlir::Value select(mlir::Value cond, mlir::Value t, mlir::Value f);
  mlir::Value cmpf(mlir::arith::CmpFPredicate pred, mlir::Value a,
                   mlir::Value c);
  mlir::Value cmpi(mlir::arith::CmpIPredicate pred, mlir::Value a,
                   mlir::Value c);
  /// Logical and, or and not of i1 scalars or vectors.
  mlir::Value andI1(mlir::Value a, mlir::Value c);
  mlir::Value orI1(mlir::Value a, mlir::Value c);
  mlir::Value notI1(mlir::Value a);
  /// The f32 value of an index.
  mlir::Value indexToF32(mlir::Value i);
  /// An i1 vector whose first `valid` lanes are set (clamped to [0, width]).
  mlir::Value laneMask(mlir::Value valid);

  /// Extends a scalar or vector of any float type to f32.
  mlir::Value toF32(mlir::Value v);
  /// Scalar load extended to f32.
  mlir::Value loadF32(mlir::Value memref, mlir::ValueRange indices);
  void storeScalar(mlir::Value v, mlir::Value memref, mlir::ValueRange indices);
  /// Reads `width` elements along the last axis, extended to f32. Lanes past
  /// the end of the memref read `pad` unless `inBounds` promises there are
  /// none (scratch buffers padded to the width).
  mlir::Value readVec(mlir::Value memref, mlir::ValueRange indices,
                      bool inBounds, double pad = 0.0);
  /// Writes an f32 vector truncated to the memref's element type; lanes past
  /// the end are dropped unless `inBounds`.
  void writeVec(mlir::Value v, mlir::Value memref, mlir::ValueRange indices,
                bool inBounds);

  /// scf.for carrying `init`; `body` returns the next values.
  mlir::SmallVector<mlir::Value>
  loop(mlir::Value lb, mlir::Value ub, mlir::Value step, mlir::ValueRange init,
       llvm::function_ref<mlir::SmallVector<mlir::Value>(mlir::Value,
                                                         mlir::ValueRange)>
           body);
  void loop(mlir::Value lb, mlir::Value ub, mlir::Value step,
            llvm::function_ref<void(mlir::Value)> body);
  /// scf.parallel over [0, ub) for each bound; the body runs inside a
  /// memref.alloca_scope so per-iteration scratch is freed every iteration.
  void parallel(mlir::ValueRange ubs,
                llvm::function_ref<void(mlir::ValueRange)> body);
  void ifThen(mlir::Value cond, llvm::function_ref<void()> body);

  /// The memref view of a tensor operand (read only).
  mlir::Value toBuffer(mlir::Value tensor);
  /// A fresh buffer shaped like `type`, sized by `dynSizes` for its
  /// dynamic dims in order.
  mlir::Value alloc(mlir::RankedTensorType type, mlir::ValueRange dynSizes);
  mlir::Value alloc(llvm::ArrayRef<mlir::Value> sizes, mlir::Type elt);
  mlir::Value scratch(llvm::ArrayRef<int64_t> staticSizes, mlir::Type elt,
                      mlir::ValueRange dynSizes = {});
  mlir::Value toTensor(mlir::RankedTensorType type, mlir::Value buffer);
};

/// The dynamic sizes of `type`, picked from the full list `sizes`.
llvm::SmallVector<mlir::Value> dynamicSizes(mlir::RankedTensorType type,
                                            llvm::ArrayRef<mlir::Value> sizes);

/// An attention op's `scale`, or 1/sqrt(D) for head dim `d`, as an f32.
mlir::Value attentionScale(KernelBuilder &k, std::optional<llvm::APFloat> scale,
                           mlir::Value d);

} // namespace clusopt

#endif // CLUSOPT_CONVERSION_CLUSCOMMON_KERNELBUILDER_H
