//===- LinalgToUKernel.cpp - linalg GEMMs to micro-kernel calls -----------===//
//
// Rewrites f32 GEMMs on buffers (linalg.matmul and linalg.batch_matmul,
// transposed or broadcast through their indexing maps, and 1x1 stride-1
// linalg.conv_2d_nhwc_hwcf) into calls of clusopt_ukernel_gemm_f32, the
// runtime's packed-panel GEMM (runtime/ukernels). A zero fill of the
// accumulator before the GEMM is dropped (the call stores instead of
// accumulating), and an elementwise linalg.generic right after it that adds
// a bias row, applies the exact GELU or adds a residual is folded into the
// call's epilogue.
//
// It runs on memrefs, after one-shot bufferization: the call then needs no
// bufferization interface of its own (a call on tensors would), and
// bufferization has already decided where each result lives, so whether an
// epilogue may write its output directly (no other reader of the GEMM's
// buffer) is a local question about the uses of one allocation.
//
//===----------------------------------------------------------------------===//

#include "clusopt/Transforms/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace clusopt {
#define GEN_PASS_DEF_LINALGTOUKERNEL
#include "clusopt/Transforms/Passes.h.inc"
} // namespace clusopt

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kGemmSymbol = "clusopt_ukernel_gemm_f32";
// clusopt_ukernels.h's CLUSOPT_UKERNEL_GELU.
constexpr int64_t kGeluFlag = 1;

/// A matrix operand of the call: a buffer, and which of its dimensions are
/// the batch, the rows and the columns (-1: absent, stride 0).
struct Operand {
  Value memref;
  int64_t batchDim = -1, rowDim = -1, colDim = -1;
};

/// One call of clusopt_ukernel_gemm_f32.
struct GemmCall {
  Operand a, b, c;
  Value bias;                      // [n], unit stride; null: none
  std::optional<Operand> residual; // added before GELU
  bool gelu = false;
  // 1x1 convolutions: C's rows are two dimensions (H, W) of an
  // identity-layout buffer; rowDim is the inner one.
  bool rowsSpanTwoDims = false;
  Operation *gemm = nullptr, *zeroFill = nullptr, *epilogue = nullptr;
};

bool isF32Buffer(Value v) {
  auto type = dyn_cast<MemRefType>(v.getType());
  return type && type.getElementType().isF32();
}

/// Whether dimension `dim` of `v` has a static unit stride.
bool hasUnitStride(Value v, int64_t dim) {
  auto type = cast<MemRefType>(v.getType());
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)))
    return false;
  return strides[dim] == 1;
}

bool hasIdentityLayout(Value v) {
  return cast<MemRefType>(v.getType()).getLayout().isIdentity();
}

/// The result position of loop dimension `dim` in `map`, or -1.
int64_t resultPosition(AffineMap map, unsigned dim) {
  for (auto [i, expr] : llvm::enumerate(map.getResults()))
    if (auto d = dyn_cast<AffineDimExpr>(expr); d && d.getPosition() == dim)
      return i;
  return -1;
}

/// Why a matmul or batch_matmul cannot be a call, or nothing; fills `call`.
std::optional<std::string> matchContraction(linalg::LinalgOp op,
                                            GemmCall &call) {
  if (!llvm::all_of(op->getOperands(), isF32Buffer))
    return std::string("operands are not all f32 buffers");
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (failed(dims) || !llvm::all_of(maps, [](AffineMap m) {
        return m.isProjectedPermutation();
      }))
    return std::string("not a GEMM with projected-permutation maps");
  // A batch that B broadcasts (a shared 2-D B) is a second row axis to
  // inferContractionDims: the outer one, in C's order, is the batch.
  SmallVector<unsigned, 2> batchDims = dims->batch, rowDims = dims->m;
  if (batchDims.empty() && rowDims.size() == 2) {
    if (resultPosition(maps[2], rowDims[0]) >
        resultPosition(maps[2], rowDims[1]))
      std::swap(rowDims[0], rowDims[1]);
    batchDims.push_back(rowDims[0]);
    rowDims.erase(rowDims.begin());
  }
  if (rowDims.size() != 1 || dims->n.size() != 1 || dims->k.size() != 1 ||
      batchDims.size() > 1)
    return std::string("not one batch, row, column and reduction axis");
  unsigned m = rowDims[0], n = dims->n[0], k = dims->k[0];
  std::optional<unsigned> batch;
  if (!batchDims.empty())
    batch = batchDims[0];
  auto operand = [&](int64_t i, unsigned rows, unsigned cols) {
    Operand o;
    o.memref = op->getOperand(i);
    o.rowDim = resultPosition(maps[i], rows);
    o.colDim = resultPosition(maps[i], cols);
    if (batch)
      o.batchDim = resultPosition(maps[i], *batch);
    return o;
  };
  call.a = operand(0, m, k);
  call.b = operand(1, k, n);
  call.c = operand(2, m, n);
  if (call.a.rowDim < 0 || call.a.colDim < 0 || call.b.rowDim < 0 ||
      call.b.colDim < 0)
    return std::string("an input broadcasts a row or reduction axis");
  auto cType = cast<MemRefType>(call.c.memref.getType());
  if (call.c.colDim != cType.getRank() - 1 ||
      !hasUnitStride(call.c.memref, call.c.colDim))
    return std::string("the result's columns are not its contiguous last "
                       "axis");
  call.gemm = op;
  return std::nullopt;
}

/// Why a conv_2d_nhwc_hwcf cannot be a call (1x1, stride 1 only), or
/// nothing; fills `call`.
std::optional<std::string> matchConv(linalg::Conv2DNhwcHwcfOp op,
                                     GemmCall &call) {
  if (!llvm::all_of(op->getOperands(), isF32Buffer))
    return std::string("operands are not all f32 buffers");
  Value input = op.getDpsInputs()[0], filter = op.getDpsInputs()[1],
        output = op.getDpsInits()[0];
  auto filterType = cast<MemRefType>(filter.getType());
  if (filterType.getDimSize(0) != 1 || filterType.getDimSize(1) != 1)
    return std::string("not a 1x1 convolution");
  if (!llvm::all_of(op.getStrides().getValues<int64_t>(),
                    [](int64_t s) { return s == 1; }))
    return std::string("strides other than 1");
  if (!hasIdentityLayout(input) || !hasIdentityLayout(output))
    return std::string("image or result is not a dense NHWC buffer");
  call.a = {input, 0, 2, 3};
  call.b = {filter, -1, 2, 3};
  call.c = {output, 0, 2, 3};
  call.rowsSpanTwoDims = true;
  call.gemm = op;
  return std::nullopt;
}

/// The op before (after) `op` that may touch memory, skipping pure ops and
/// allocations.
Operation *neighbour(Operation *op, bool before) {
  Operation *other = before ? op->getPrevNode() : op->getNextNode();
  while (other && (isMemoryEffectFree(other) ||
                   isa<memref::AllocOp, memref::AllocaOp>(other)))
    other = before ? other->getPrevNode() : other->getNextNode();
  return other;
}

bool isFloatConstant(Value v, double expected, double tolerance = 0) {
  APFloat value(0.0);
  if (!matchPattern(v, m_ConstantFloat(&value)))
    return false;
  double d = value.convertToDouble();
  return tolerance ? std::abs(d - expected) <= tolerance * std::abs(expected)
                   : d == expected && !value.isNegative();
}

/// The leaves of a tree of `OpTy` (arith.addf or arith.mulf) rooted at v.
template <typename OpTy> void flatten(Value v, SmallVectorImpl<Value> &leaves) {
  if (auto op = v.getDefiningOp<OpTy>()) {
    flatten<OpTy>(op.getLhs(), leaves);
    flatten<OpTy>(op.getRhs(), leaves);
    return;
  }
  leaves.push_back(v);
}

/// If v is the exact GELU of some s, 0.5 · s · (1 + erf(s / √2)) in any
/// association or order of its products and sum, returns s.
Value matchGelu(Value v) {
  SmallVector<Value> factors;
  flatten<arith::MulFOp>(v, factors);
  if (factors.size() != 3)
    return {};
  // The erf term: 1 + erf(s · 1/√2) or 1 + erf(s / √2), and its s.
  auto erfArgument = [](Value term) -> Value {
    auto add = term.getDefiningOp<arith::AddFOp>();
    if (!add)
      return {};
    Value e = add.getLhs(), one = add.getRhs();
    if (!isFloatConstant(one, 1.0))
      std::swap(e, one);
    auto erf = e.getDefiningOp<math::ErfOp>();
    if (!erf || !isFloatConstant(one, 1.0))
      return {};
    Value t = erf.getOperand();
    if (auto mul = t.getDefiningOp<arith::MulFOp>()) {
      if (isFloatConstant(mul.getRhs(), M_SQRT1_2, 1e-6))
        return mul.getLhs();
      if (isFloatConstant(mul.getLhs(), M_SQRT1_2, 1e-6))
        return mul.getRhs();
    }
    if (auto div = t.getDefiningOp<arith::DivFOp>())
      if (isFloatConstant(div.getRhs(), M_SQRT2, 1e-6))
        return div.getLhs();
    return {};
  };
  for (int half = 0; half < 3; ++half) {
    if (!isFloatConstant(factors[half], 0.5))
      continue;
    for (int term = 0; term < 3; ++term) {
      if (term == half)
        continue;
      Value s = factors[3 - half - term];
      if (erfArgument(factors[term]) == s)
        return s;
    }
  }
  return {};
}

/// Folds `generic`, an elementwise op right after the GEMM that reads its
/// result, into the call's epilogue when it computes
/// [GELU](result + [bias row] + [residual]). Fails, leaving `call` as it
/// was, otherwise.
LogicalResult matchEpilogue(linalg::GenericOp generic, GemmCall &call) {
  Value c = call.c.memref;
  auto cType = cast<MemRefType>(c.getType());
  int64_t rank = cType.getRank();
  if (!generic.hasPureBufferSemantics() || generic.getNumDpsInits() != 1 ||
      generic.getNumLoops() != rank ||
      generic.getNumParallelLoops() != generic.getNumLoops())
    return failure();
  OpOperand *init = generic.getDpsInitOperand(0);
  Value out = init->get();
  if (!isF32Buffer(out) || !generic.getMatchingIndexingMap(init).isIdentity() ||
      cast<MemRefType>(out.getType()).getShape() != cType.getShape() ||
      !hasUnitStride(out, call.c.colDim) ||
      (call.rowsSpanTwoDims && !hasIdentityLayout(out)))
    return failure();
  // The call writes `out` in place of c while it reads a and b: it must
  // be c itself or a fresh buffer, and c must have no other reader then.
  if (out != c) {
    if (!out.getDefiningOp<memref::AllocOp>() || !c.getDefiningOp())
      return failure();
    if (!isa<memref::AllocOp>(c.getDefiningOp()))
      return failure();
    for (Operation *user : c.getUsers())
      if (user != call.gemm && user != call.zeroFill && user != generic &&
          !isa<memref::DeallocOp>(user))
        return failure();
  }
  enum class Role { Result, Bias, Residual };
  DenseMap<Value, Role> roles; // block argument -> role
  Value bias;
  std::optional<Operand> residual;
  Block &body = generic.getRegion().front();
  AffineMap biasMap = AffineMap::get(
      rank, 0, getAffineDimExpr(call.c.colDim, generic.getContext()));
  auto takeResidual = [&](Value buffer) {
    if (residual || !hasUnitStride(buffer, call.c.colDim) ||
        (call.rowsSpanTwoDims && !hasIdentityLayout(buffer)) ||
        cast<MemRefType>(buffer.getType()).getShape() != cType.getShape())
      return false;
    residual = Operand{buffer, call.c.batchDim, call.c.rowDim, call.c.colDim};
    return true;
  };
  for (OpOperand *input : generic.getDpsInputOperands()) {
    Value v = input->get();
    AffineMap map = generic.getMatchingIndexingMap(input);
    BlockArgument arg = body.getArgument(input->getOperandNumber());
    if (!isF32Buffer(v))
      return failure();
    if (v == c && map.isIdentity()) {
      roles[arg] = Role::Result;
    } else if (map == biasMap && !bias && hasUnitStride(v, 0)) {
      bias = v;
      roles[arg] = Role::Bias;
    } else if (map.isIdentity() && v != out && takeResidual(v)) {
      roles[arg] = Role::Residual;
    } else {
      return failure();
    }
  }
  BlockArgument outArg = generic.getMatchingBlockArgument(init);
  if (!outArg.use_empty()) {
    if (out == c)
      roles[outArg] = Role::Result;
    else if (takeResidual(out))
      roles[outArg] = Role::Residual;
    else
      return failure();
  }
  // The inputs must not be the buffer the call writes.
  for (Value v : {call.a.memref, call.b.memref, bias})
    if (v && v == out)
      return failure();

  Value value = cast<linalg::YieldOp>(body.getTerminator()).getOperand(0);
  bool gelu = false;
  if (Value s = matchGelu(value)) {
    gelu = true;
    value = s;
  }
  SmallVector<Value> terms;
  flatten<arith::AddFOp>(value, terms);
  int counts[3] = {0, 0, 0};
  for (Value term : terms) {
    auto it = roles.find(term);
    if (it == roles.end())
      return failure();
    ++counts[static_cast<int>(it->second)];
  }
  if (counts[0] != 1 || counts[1] > 1 || counts[2] > 1)
    return failure();
  // Every classified input is one of the terms (nothing is read unused,
  // which the call would otherwise add).
  if (counts[1] != (bias ? 1 : 0) || counts[2] != (residual ? 1 : 0))
    return failure();
  call.bias = bias;
  call.residual = residual;
  call.gelu = gelu;
  call.epilogue = generic;
  call.c.memref = out;
  return success();
}

/// Emits the call of `call` before `at`.
void emitCall(GemmCall &call, Operation *at, LLVM::LLVMFuncOp callee) {
  OpBuilder b(at);
  Location loc = call.gemm->getLoc();
  Type i64 = b.getI64Type(), f32 = b.getF32Type();
  auto ptrType = LLVM::LLVMPointerType::get(b.getContext());
  auto i64Constant = [&](int64_t v) -> Value {
    return arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(v));
  };
  auto toI64 = [&](Value index) -> Value {
    return arith::IndexCastOp::create(b, loc, i64, index);
  };
  // Pointer to a buffer's first element, and its metadata.
  struct Described {
    Value pointer;
    memref::ExtractStridedMetadataOp metadata;
  };
  auto describe = [&](Value memref) {
    auto metadata = memref::ExtractStridedMetadataOp::create(b, loc, memref);
    Value aligned =
        toI64(memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref));
    Value base = LLVM::IntToPtrOp::create(b, loc, ptrType, aligned);
    Value pointer = LLVM::GEPOp::create(
        b, loc, ptrType, f32, base, ValueRange{toI64(metadata.getOffset())});
    return Described{pointer, metadata};
  };
  auto stride = [&](Described d, int64_t dim) {
    return dim < 0 ? i64Constant(0) : toI64(d.metadata.getStrides()[dim]);
  };
  auto size = [&](Described d, int64_t dim) {
    return toI64(d.metadata.getSizes()[dim]);
  };
  Described a = describe(call.a.memref), bMatrix = describe(call.b.memref),
            c = describe(call.c.memref);
  Value batch = call.c.batchDim < 0 ? i64Constant(1) : size(c, call.c.batchDim);
  Value m = size(c, call.c.rowDim);
  if (call.rowsSpanTwoDims)
    m = arith::MulIOp::create(b, loc, size(c, call.c.rowDim - 1), m);
  Value n = size(c, call.c.colDim), k = size(a, call.a.colDim);
  Value null = LLVM::ZeroOp::create(b, loc, ptrType);
  Value bias = call.bias ? describe(call.bias).pointer : null;
  Value residual = null, residualBatchStride = i64Constant(0),
        residualRowStride = i64Constant(0);
  if (call.residual) {
    Described r = describe(call.residual->memref);
    residual = r.pointer;
    residualBatchStride = stride(r, call.residual->batchDim);
    residualRowStride = stride(r, call.residual->rowDim);
  }
  SmallVector<Value> args = {a.pointer,
                             bMatrix.pointer,
                             c.pointer,
                             bias,
                             residual,
                             batch,
                             m,
                             n,
                             k,
                             stride(a, call.a.batchDim),
                             stride(a, call.a.rowDim),
                             stride(a, call.a.colDim),
                             stride(bMatrix, call.b.batchDim),
                             stride(bMatrix, call.b.rowDim),
                             stride(bMatrix, call.b.colDim),
                             stride(c, call.c.batchDim),
                             stride(c, call.c.rowDim),
                             residualBatchStride,
                             residualRowStride,
                             i64Constant(call.gelu ? kGeluFlag : 0)};
  LLVM::CallOp::create(b, loc, callee, args);
}

struct LinalgToUKernelPass
    : clusopt::impl::LinalgToUKernelBase<LinalgToUKernelPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<Operation *> candidates;
    module.walk([&](Operation *op) {
      if (isa<linalg::MatmulOp, linalg::BatchMatmulOp,
              linalg::Conv2DNhwcHwcfOp>(op) &&
          cast<linalg::LinalgOp>(op).hasPureBufferSemantics())
        candidates.push_back(op);
    });
    LLVM::LLVMFuncOp callee;
    for (Operation *op : candidates) {
      GemmCall call;
      std::optional<std::string> problem;
      if (auto conv = dyn_cast<linalg::Conv2DNhwcHwcfOp>(op))
        problem = matchConv(conv, call);
      else
        problem = matchContraction(cast<linalg::LinalgOp>(op), call);
      if (problem) {
        op->emitRemark("stays on loops, not a micro-kernel call: ") << *problem;
        continue;
      }
      Value c = call.c.memref;
      if (auto fill = dyn_cast_or_null<linalg::FillOp>(neighbour(op, true));
          fill && fill.hasPureBufferSemantics() && fill.getDpsInits()[0] == c &&
          isFloatConstant(fill.value(), 0.0))
        call.zeroFill = fill;
      // Without a zero fill the GEMM accumulates into what c holds.
      if (!call.zeroFill)
        call.residual =
            Operand{c, call.c.batchDim, call.c.rowDim, call.c.colDim};
      else if (auto generic =
                   dyn_cast_or_null<linalg::GenericOp>(neighbour(op, false)))
        (void)matchEpilogue(generic, call);
      if (!callee)
        callee = declareGemm(module);
      emitCall(call, call.epilogue ? call.epilogue : op, callee);
      for (Operation *replaced : {call.epilogue, call.gemm, call.zeroFill})
        if (replaced)
          replaced->erase();
      // A GEMM buffer that the epilogue replaced is left unused.
      if (c != call.c.memref) {
        Operation *alloc = c.getDefiningOp();
        if (llvm::all_of(c.getUsers(), [](Operation *user) {
              return isa<memref::DeallocOp>(user);
            })) {
          for (Operation *user : llvm::make_early_inc_range(c.getUsers()))
            user->erase();
          alloc->erase();
        }
      }
    }
  }

  LLVM::LLVMFuncOp declareGemm(ModuleOp module) {
    if (auto existing = module.lookupSymbol<LLVM::LLVMFuncOp>(kGemmSymbol))
      return existing;
    OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
    MLIRContext *context = module.getContext();
    Type ptr = LLVM::LLVMPointerType::get(context);
    Type i64 = IntegerType::get(context, 64);
    SmallVector<Type> params(5, ptr);
    params.append(15, i64);
    auto type =
        LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(context), params);
    return LLVM::LLVMFuncOp::create(b, module.getLoc(), kGemmSymbol, type);
  }
};

} // namespace
