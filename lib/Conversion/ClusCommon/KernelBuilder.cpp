//===- KernelBuilder.cpp - loop/vector vocabulary for CPU kernels ---------===//

#include "lib/Conversion/ClusCommon/KernelBuilder.h"

#include "mlir/IR/TypeUtilities.h"

#include <limits>

using namespace mlir;
using namespace clusopt;

Value KernelBuilder::idx(int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}
Value KernelBuilder::i32(int64_t v) {
  return arith::ConstantIntOp::create(b, loc, v, 32);
}
Value KernelBuilder::f32c(double v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}
Value KernelBuilder::splat(double v) {
  return arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(vecF32(), b.getF32FloatAttr(v)));
}
Value KernelBuilder::splat(Value scalar) {
  return vector::BroadcastOp::create(b, loc, vecOf(scalar.getType()), scalar);
}
Value KernelBuilder::dim(Value memref, int64_t d) {
  return memref::DimOp::create(b, loc, memref, d);
}
Value KernelBuilder::add(Value a, Value c) {
  return arith::AddIOp::create(b, loc, a, c);
}
Value KernelBuilder::sub(Value a, Value c) {
  return arith::SubIOp::create(b, loc, a, c);
}
Value KernelBuilder::mul(Value a, Value c) {
  return arith::MulIOp::create(b, loc, a, c);
}
Value KernelBuilder::minIdx(Value a, Value c) {
  return arith::MinSIOp::create(b, loc, a, c);
}
Value KernelBuilder::ceilDiv(Value a, int64_t c) {
  return arith::CeilDivSIOp::create(b, loc, a, idx(c));
}
Value KernelBuilder::padToWidth(Value a) {
  return mul(ceilDiv(a, width), idx(width));
}

Value KernelBuilder::addf(Value a, Value c) {
  return arith::AddFOp::create(b, loc, a, c);
}
Value KernelBuilder::subf(Value a, Value c) {
  return arith::SubFOp::create(b, loc, a, c);
}
Value KernelBuilder::mulf(Value a, Value c) {
  return arith::MulFOp::create(b, loc, a, c);
}
Value KernelBuilder::divf(Value a, Value c) {
  return arith::DivFOp::create(b, loc, a, c);
}
Value KernelBuilder::maxf(Value a, Value c) {
  return arith::MaximumFOp::create(b, loc, a, c);
}
Value KernelBuilder::minf(Value a, Value c) {
  return arith::MinimumFOp::create(b, loc, a, c);
}
Value KernelBuilder::exp(Value a) { return math::ExpOp::create(b, loc, a); }
Value KernelBuilder::fma(Value a, Value c, Value acc) {
  return vector::FMAOp::create(b, loc, a, c, acc);
}
Value KernelBuilder::reduce(vector::CombiningKind kind, Value v) {
  return vector::ReductionOp::create(b, loc, kind, v);
}
Value KernelBuilder::select(Value cond, Value t, Value f) {
  return arith::SelectOp::create(b, loc, cond, t, f);
}
Value KernelBuilder::cmpf(arith::CmpFPredicate pred, Value a, Value c) {
  return arith::CmpFOp::create(b, loc, pred, a, c);
}
Value KernelBuilder::cmpi(arith::CmpIPredicate pred, Value a, Value c) {
  return arith::CmpIOp::create(b, loc, pred, a, c);
}
Value KernelBuilder::andI1(Value a, Value c) {
  return arith::AndIOp::create(b, loc, a, c);
}
Value KernelBuilder::orI1(Value a, Value c) {
  return arith::OrIOp::create(b, loc, a, c);
}
Value KernelBuilder::notI1(Value a) {
  Value ones = arith::ConstantOp::create(
      b, loc, a.getType(),
      isa<VectorType>(a.getType()) ? TypedAttr(DenseElementsAttr::get(
                                         cast<ShapedType>(a.getType()), true))
                                   : TypedAttr(b.getBoolAttr(true)));
  return arith::XOrIOp::create(b, loc, a, ones);
}
Value KernelBuilder::indexToF32(Value i) {
  return arith::UIToFPOp::create(
      b, loc, f32(), arith::IndexCastUIOp::create(b, loc, b.getI64Type(), i));
}
Value KernelBuilder::laneMask(Value valid) {
  return vector::CreateMaskOp::create(
      b, loc, VectorType::get({width}, b.getI1Type()), ValueRange{valid});
}

Value KernelBuilder::toF32(Value v) {
  Type t = getElementTypeOrSelf(v.getType());
  if (t.isF32())
    return v;
  Type target = f32();
  if (auto vt = dyn_cast<VectorType>(v.getType()))
    target = vt.clone(f32());
  return arith::ExtFOp::create(b, loc, target, v);
}

Value KernelBuilder::loadF32(Value memref, ValueRange indices) {
  return toF32(memref::LoadOp::create(b, loc, memref, indices));
}

void KernelBuilder::storeScalar(Value v, Value memref, ValueRange indices) {
  Type elt = cast<MemRefType>(memref.getType()).getElementType();
  if (v.getType() != elt)
    v = arith::TruncFOp::create(b, loc, elt, v);
  memref::StoreOp::create(b, loc, v, memref, indices);
}

Value KernelBuilder::readVec(Value memref, ValueRange indices, bool inBounds,
                             double pad) {
  auto type = cast<MemRefType>(memref.getType());
  Type elt = type.getElementType();
  auto floatType = cast<FloatType>(elt);
  APFloat padValue(pad);
  bool lost;
  padValue.convert(floatType.getFloatSemantics(), APFloat::rmNearestTiesToEven,
                   &lost);
  Value padding =
      arith::ConstantOp::create(b, loc, b.getFloatAttr(elt, padValue));
  Value v = vector::TransferReadOp::create(b, loc, vecOf(elt), memref, indices,
                                           padding, ArrayRef<bool>{inBounds});
  return toF32(v);
}

void KernelBuilder::writeVec(Value v, Value memref, ValueRange indices,
                             bool inBounds) {
  Type elt = cast<MemRefType>(memref.getType()).getElementType();
  if (!elt.isF32())
    v = arith::TruncFOp::create(b, loc, vecOf(elt), v);
  vector::TransferWriteOp::create(b, loc, v, memref, indices,
                                  ArrayRef<bool>{inBounds});
}

SmallVector<Value>
KernelBuilder::loop(Value lb, Value ub, Value step, ValueRange init,
                    function_ref<SmallVector<Value>(Value, ValueRange)> body) {
  auto forOp = scf::ForOp::create(b, loc, lb, ub, step, init);
  OpBuilder::InsertionGuard guard(b);
  Block *block = forOp.getBody();
  if (init.empty())
    b.setInsertionPoint(block->getTerminator());
  else
    b.setInsertionPointToStart(block);
  SmallVector<Value> next =
      body(forOp.getInductionVar(), forOp.getRegionIterArgs());
  if (!init.empty())
    scf::YieldOp::create(b, loc, next);
  return llvm::to_vector_of<Value>(forOp.getResults());
}

void KernelBuilder::loop(Value lb, Value ub, Value step,
                         function_ref<void(Value)> body) {
  loop(lb, ub, step, ValueRange{}, [&](Value iv, ValueRange) {
    body(iv);
    return SmallVector<Value>{};
  });
}

void KernelBuilder::parallel(ValueRange ubs,
                             function_ref<void(ValueRange)> body) {
  SmallVector<Value> lbs(ubs.size(), idx(0)), steps(ubs.size(), idx(1));
  auto par = scf::ParallelOp::create(b, loc, lbs, ubs, steps);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(par.getBody()->getTerminator());
  auto scope = memref::AllocaScopeOp::create(b, loc, TypeRange{});
  Block *block = b.createBlock(&scope.getBodyRegion());
  memref::AllocaScopeReturnOp::create(b, loc, ValueRange{});
  b.setInsertionPointToStart(block);
  body(par.getInductionVars());
}

void KernelBuilder::ifThen(Value cond, function_ref<void()> body) {
  auto ifOp = scf::IfOp::create(b, loc, cond, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  body();
}

Value KernelBuilder::toBuffer(Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  auto memrefType = MemRefType::get(type.getShape(), type.getElementType());
  return bufferization::ToBufferOp::create(b, loc, memrefType, tensor,
                                           /*read_only=*/true);
}

Value KernelBuilder::alloc(RankedTensorType type, ValueRange dynSizes) {
  auto memrefType = MemRefType::get(type.getShape(), type.getElementType());
  return memref::AllocOp::create(b, loc, memrefType, dynSizes,
                                 b.getI64IntegerAttr(64));
}

Value KernelBuilder::alloc(ArrayRef<Value> sizes, Type elt) {
  SmallVector<int64_t> shape(sizes.size(), ShapedType::kDynamic);
  return memref::AllocOp::create(b, loc, MemRefType::get(shape, elt), sizes,
                                 b.getI64IntegerAttr(64));
}

Value KernelBuilder::scratch(ArrayRef<int64_t> staticSizes, Type elt,
                             ValueRange dynSizes) {
  return memref::AllocaOp::create(b, loc, MemRefType::get(staticSizes, elt),
                                  dynSizes, b.getI64IntegerAttr(64));
}

Value KernelBuilder::toTensor(RankedTensorType type, Value buffer) {
  return bufferization::ToTensorOp::create(b, loc, type, buffer,
                                           /*restrict=*/true,
                                           /*writable=*/true);
}

SmallVector<Value> clusopt::dynamicSizes(RankedTensorType type,
                                         ArrayRef<Value> sizes) {
  SmallVector<Value> dyn;
  for (auto [i, size] : llvm::enumerate(sizes))
    if (type.isDynamicDim(i))
      dyn.push_back(size);
  return dyn;
}

Value clusopt::attentionScale(KernelBuilder &k, std::optional<APFloat> scale,
                              Value d) {
  if (scale)
    return k.f32c(scale->convertToDouble());
  return k.divf(k.f32c(1.0), math::SqrtOp::create(k.b, k.loc, k.indexToF32(d)));
}
