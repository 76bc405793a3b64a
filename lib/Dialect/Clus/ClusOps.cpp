//===- ClusOps.cpp - clus op verification and type inference ----*- C++ -*-===//
//
// Every op derives its result types from its inputs and attributes
// (inferResultTypes), one function per op, so the rules that make a result
// type derivable (ranks, matching dims, element types, attribute ranges) are
// written once. The verifier runs it and checks the destinations (`outs`)
// against what it derives.
//
//===----------------------------------------------------------------------===//

#include "clusopt/Dialect/Clus/ClusOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/StringMap.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace clusopt::clus;

namespace {

/// Emits diagnostics at an optional location, so inference can stay silent
/// when the caller only probes whether types are derivable. Messages carry
/// the usual "'clus.x' op" prefix: the parser reports inference errors
/// before the op exists, so nothing else would name the op.
class Diag {
public:
  Diag(std::optional<Location> loc, StringRef opName)
      : loc(loc), opName(opName) {}

  template <typename... Args> LogicalResult error(Args &&...args) const {
    if (!loc)
      return failure();
    InFlightDiagnostic diag = emitError(*loc);
    diag << "'" << opName << "' op ";
    (diag << ... << std::forward<Args>(args));
    return diag;
  }

private:
  std::optional<Location> loc;
  StringRef opName;
};

/// Binds the sizes that several operands give to one named dimension (B, N,
/// M, ...) and reports the first disagreement between static sizes. The
/// merged size is static whenever any operand knows it.
class DimBinder {
public:
  explicit DimBinder(const Diag &diag) : diag(diag) {}

  LogicalResult bind(StringRef dim, int64_t size, StringRef operand,
                     unsigned axis) {
    auto [it, inserted] =
        seen.try_emplace(dim, Binding{size, operand.str(), axis});
    if (inserted)
      return success();
    Binding &prev = it->second;
    if (ShapedType::isDynamic(size))
      return success();
    if (ShapedType::isDynamic(prev.size)) {
      prev = Binding{size, operand.str(), axis};
      return success();
    }
    if (prev.size == size)
      return success();
    return diag.error("dimension '", dim, "' mismatch: ", prev.describe(),
                      " but ", Binding{size, operand.str(), axis}.describe());
  }

  /// Binds a dimension that an attribute fixes (e.g. M = clusters).
  LogicalResult bindAttr(StringRef dim, int64_t size, StringRef attr) {
    return bind(dim, size, attr, kAttribute);
  }

  int64_t get(StringRef dim) const {
    auto it = seen.find(dim);
    return it == seen.end() ? ShapedType::kDynamic : it->second.size;
  }

private:
  static constexpr unsigned kAttribute = ~0u;

  struct Binding {
    int64_t size;
    std::string operand;
    unsigned axis;

    std::string describe() const {
      if (axis == kAttribute)
        return "attribute '" + operand + "' is " + std::to_string(size);
      return "'" + operand + "' has " + std::to_string(size) + " at axis " +
             std::to_string(axis);
    }
  };
  const Diag &diag;
  llvm::StringMap<Binding> seen;
};

/// Checks that `value` is a ranked tensor (or, in the buffer form, a memref
/// of any layout) whose dims are named `dims` and binds them. Returns its
/// type.
FailureOr<ShapedType> bindTensor(DimBinder &binder, const Diag &diag,
                                 Value value, StringRef operand,
                                 ArrayRef<StringRef> dims) {
  auto type = dyn_cast<ShapedType>(value.getType());
  bool shaped = isa_and_nonnull<RankedTensorType, MemRefType>(type);
  if (!shaped || type.getRank() != static_cast<int64_t>(dims.size()))
    return diag.error("'", operand, "' must be a rank-", dims.size(),
                      " tensor [", llvm::join(dims, ", "), "], got ",
                      value.getType());
  // The result types drop encodings and no lowering understands them (a
  // sparse operand would be read as dense), so reject them up front.
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (tensor && tensor.getEncoding())
    return diag.error("'", operand, "' must not have a tensor encoding, got ",
                      value.getType());
  for (auto [axis, dim] : llvm::enumerate(dims))
    if (failed(binder.bind(dim, type.getDimSize(axis), operand, axis)))
      return failure();
  return type;
}

LogicalResult checkSameElementType(const Diag &diag, ShapedType expected,
                                   StringRef expectedName, ShapedType actual,
                                   StringRef actualName) {
  if (expected.getElementType() == actual.getElementType())
    return success();
  return diag.error("element type mismatch: '", actualName, "' has ",
                    actual.getElementType(), " but '", expectedName, "' has ",
                    expected.getElementType());
}

/// Counts (clusters, capacity, k, iterations) are at least 1 and, like the
/// indices the i32 results hold, at most INT32_MAX, so lowerings can pad
/// and multiply them in index arithmetic without overflow.
LogicalResult checkAtLeastOne(const Diag &diag, StringRef attr, int64_t value) {
  if (value < 1)
    return diag.error("'", attr, "' must be >= 1, got ", value);
  if (value > std::numeric_limits<int32_t>::max())
    return diag.error("'", attr, "' must be at most ",
                      std::numeric_limits<int32_t>::max(), ", got ", value);
  return success();
}

/// Required integer attributes are absent only in hand-written generic IR;
/// report that instead of dereferencing a null attribute.
LogicalResult checkAtLeastOne(const Diag &diag, StringRef attr,
                              IntegerAttr value) {
  if (!value)
    return diag.error("requires attribute '", attr, "'");
  return checkAtLeastOne(diag, attr, value.getInt());
}

LogicalResult checkFinite(const Diag &diag, StringRef attr, FloatAttr value) {
  if (value && !std::isfinite(value.getValueAsDouble()))
    return diag.error("'", attr, "' must be finite");
  return success();
}

/// The cluster count of an op must not exceed the token count when both are
/// static (kmeans, dpc_knn).
LogicalResult checkClustersFitTokens(const Diag &diag, int64_t clusters,
                                     int64_t tokens) {
  if (ShapedType::isDynamic(tokens) || clusters <= tokens)
    return success();
  return diag.error("requires clusters <= tokens (M <= N), got M = ", clusters,
                    " and N = ", tokens);
}

/// The parser infers result types before default-valued attributes are
/// filled in; inference sees the defaults through this adaptor.
template <typename OpTy>
typename OpTy::Adaptor withDefaults(MLIRContext *context,
                                    typename OpTy::Adaptor adaptor) {
  typename OpTy::Properties properties = adaptor.getProperties();
  OpTy::populateDefaultProperties(
      OperationName(OpTy::getOperationName(), context), properties);
  return typename OpTy::Adaptor(adaptor.getOperands(), adaptor.getAttributes(),
                                properties);
}

RankedTensorType tensorOf(ArrayRef<int64_t> shape, Type elementType) {
  return RankedTensorType::get(shape, elementType);
}

/// A destination may be less static than the type its op's inputs give
/// (and the reverse, as with tensor.cast), but never disagree on a static
/// size, the rank or the element type. A buffer destination may have any
/// layout.
bool isCompatibleDestination(ShapedType dest, ShapedType inferred) {
  // soft_assign's result type is its logits' type, a memref in the buffer
  // form; the other ops build tensor types.
  auto tensor = dyn_cast<RankedTensorType>(dest);
  auto inferredTensor = dyn_cast<RankedTensorType>(inferred);
  if (dest.getRank() != inferred.getRank() ||
      dest.getElementType() != inferred.getElementType() ||
      (tensor && inferredTensor &&
       tensor.getEncoding() != inferredTensor.getEncoding()))
    return false;
  for (auto [a, b] : llvm::zip_equal(dest.getShape(), inferred.getShape()))
    if (!ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b)
      return false;
  return true;
}

/// The verifier of every clus op: the operands are all tensors or all
/// memrefs, the inputs and attributes must give result types (their rules
/// diagnose otherwise), and each destination in `outs` must match the type
/// its result gets from them. The interface's own verifier has already
/// tied each result's type to its destination's, and checked that the
/// buffer form has no results.
template <typename OpTy> LogicalResult verifyDestinations(OpTy op) {
  bool anyTensor =
      llvm::any_of(op->getOperandTypes(), llvm::IsaPred<TensorType>);
  bool anyBuffer =
      llvm::any_of(op->getOperandTypes(), llvm::IsaPred<MemRefType>);
  if (anyTensor && anyBuffer)
    return op.emitOpError("operands must be all tensors (value semantics) or "
                          "all memrefs (buffer semantics), not a mix");
  SmallVector<Type> inferred;
  if (failed(OpTy::inferResultTypes(op.getContext(), op.getLoc(),
                                    typename OpTy::Adaptor(op), inferred)))
    return failure();
  auto dps = cast<DestinationStyleOpInterface>(op.getOperation());
  for (auto [index, init] : llvm::enumerate(dps.getDpsInits())) {
    auto dest = cast<ShapedType>(init.getType());
    auto expected = cast<ShapedType>(inferred[index]);
    if (!isCompatibleDestination(dest, expected))
      return op.emitOpError("outs #")
             << index << " has type " << dest
             << ", but the inputs give its result the type " << expected;
  }
  return success();
}

/// The buffer form reads its inputs and writes its destinations, whose
/// contents it never reads; the value form has no memory effects.
void getBufferEffects(
    Operation *op,
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  auto dps = cast<DestinationStyleOpInterface>(op);
  for (OpOperand &operand : op->getOpOperands()) {
    if (!isa<MemRefType>(operand.get().getType()))
      continue;
    if (dps.isDpsInit(&operand))
      effects.emplace_back(MemoryEffects::Write::get(), &operand,
                           SideEffects::DefaultResource::get());
    else
      effects.emplace_back(MemoryEffects::Read::get(), &operand,
                           SideEffects::DefaultResource::get());
  }
}

Speculation::Speculatability getSpeculatabilityOf(Operation *op) {
  return cast<DestinationStyleOpInterface>(op).hasPureTensorSemantics()
             ? Speculation::Speculatable
             : Speculation::NotSpeculatable;
}

} // namespace

//===----------------------------------------------------------------------===//
// SoftAssignOp
//===----------------------------------------------------------------------===//

LogicalResult SoftAssignOp::inferResultTypes(MLIRContext *context,
                                             std::optional<Location> loc,
                                             Adaptor adaptor,
                                             SmallVectorImpl<Type> &results) {
  Diag diag(loc, getOperationName());
  DimBinder dims(diag);
  auto logits =
      bindTensor(dims, diag, adaptor.getLogits(), "logits", {"B", "M", "N"});
  if (failed(logits))
    return failure();
  results.push_back(*logits);
  return success();
}

//===----------------------------------------------------------------------===//
// PoolOp
//===----------------------------------------------------------------------===//

LogicalResult PoolOp::inferResultTypes(MLIRContext *context,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &results) {
  Diag diag(loc, getOperationName());
  DimBinder dims(diag);
  auto z = bindTensor(dims, diag, adaptor.getZ(), "z", {"B", "M", "N"});
  if (failed(z))
    return failure();
  auto x = bindTensor(dims, diag, adaptor.getX(), "x", {"B", "N", "C"});
  if (failed(x) || failed(checkSameElementType(diag, *x, "x", *z, "z")))
    return failure();
  results.push_back(tensorOf({dims.get("B"), dims.get("M"), dims.get("C")},
                             x->getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// KMeansOp
//===----------------------------------------------------------------------===//

LogicalResult KMeansOp::inferResultTypes(MLIRContext *context,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  Diag diag(loc, getOperationName());
  DimBinder dims(diag);
  if (failed(checkAtLeastOne(diag, "clusters", adaptor.getClustersAttr())) ||
      failed(checkAtLeastOne(diag, "iterations", adaptor.getIterationsAttr())))
    return failure();
  int64_t clusters = adaptor.getClustersAttr().getInt();
  if (failed(dims.bindAttr("M", clusters, "clusters")))
    return failure();
  auto x = bindTensor(dims, diag, adaptor.getX(), "x", {"B", "N", "C"});
  if (failed(x))
    return failure();
  if (Value init = adaptor.getInit()) {
    auto initType = bindTensor(dims, diag, init, "init", {"B", "M", "C"});
    if (failed(initType) ||
        failed(checkSameElementType(diag, *x, "x", *initType, "init")))
      return failure();
  }
  if (failed(checkClustersFitTokens(diag, clusters, dims.get("N"))))
    return failure();
  auto i32 = IntegerType::get(context, 32);
  results.push_back(tensorOf({dims.get("B"), dims.get("N")}, i32));
  results.push_back(
      tensorOf({dims.get("B"), clusters, dims.get("C")}, x->getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// DpcKnnOp
//===----------------------------------------------------------------------===//

int64_t DpcKnnOp::getMaxClusters() {
  ArrayRef<int64_t> clusters = getClusters();
  return clusters.empty() ? 0 : *llvm::max_element(clusters);
}

LogicalResult DpcKnnOp::inferResultTypes(MLIRContext *context,
                                         std::optional<Location> loc,
                                         Adaptor parsed,
                                         SmallVectorImpl<Type> &results) {
  Adaptor adaptor = withDefaults<DpcKnnOp>(context, parsed);
  Diag diag(loc, getOperationName());
  DimBinder dims(diag);
  auto x = bindTensor(dims, diag, adaptor.getX(), "x", {"B", "N", "C"});
  if (failed(x))
    return failure();
  DenseI64ArrayAttr clustersAttr = adaptor.getClustersAttr();
  if (!clustersAttr)
    return diag.error("requires attribute 'clusters'");
  ArrayRef<int64_t> clusters = clustersAttr.asArrayRef();
  if (clusters.empty())
    return diag.error("'clusters' must list at least one scale");
  for (int64_t m : clusters) {
    if (m < 1)
      return diag.error("every entry of 'clusters' must be >= 1, got ", m);
    if (m > std::numeric_limits<int32_t>::max())
      return diag.error("every entry of 'clusters' must be at most ",
                        std::numeric_limits<int32_t>::max(), ", got ", m);
    if (failed(checkClustersFitTokens(diag, m, dims.get("N"))))
      return failure();
  }
  if (failed(checkAtLeastOne(diag, "k", static_cast<int64_t>(adaptor.getK()))))
    return failure();
  auto i32 = IntegerType::get(context, 32);
  int64_t scales = clusters.size();
  results.push_back(tensorOf({dims.get("B"), scales, dims.get("N")}, i32));
  results.push_back(
      tensorOf({dims.get("B"), scales, *llvm::max_element(clusters)}, i32));
  return success();
}

//===----------------------------------------------------------------------===//
// AggregateOp
//===----------------------------------------------------------------------===//

LogicalResult AggregateOp::inferResultTypes(MLIRContext *context,
                                            std::optional<Location> loc,
                                            Adaptor parsed,
                                            SmallVectorImpl<Type> &results) {
  Adaptor adaptor = withDefaults<AggregateOp>(context, parsed);
  Diag diag(loc, getOperationName());
  DimBinder dims(diag);
  if (failed(checkAtLeastOne(diag, "clusters", adaptor.getClustersAttr())))
    return failure();
  auto x = bindTensor(dims, diag, adaptor.getX(), "x", {"B", "N", "C"});
  if (failed(x) ||
      failed(bindTensor(dims, diag, adaptor.getAssign(), "assign", {"B", "N"})))
    return failure();
  bool weighted = adaptor.getReduction() == Reduction::weighted_mean;
  Value weights = adaptor.getWeights();
  if (weighted && !weights)
    return diag.error("reduction 'weighted_mean' requires 'weights'");
  if (!weighted && weights)
    return diag.error("'weights' are only allowed with reduction "
                      "'weighted_mean', got '",
                      stringifyReduction(adaptor.getReduction()), "'");
  if (weights) {
    auto w = bindTensor(dims, diag, weights, "weights", {"B", "N"});
    if (failed(w) || failed(checkSameElementType(diag, *x, "x", *w, "weights")))
      return failure();
  }
  if (FloatAttr eps = adaptor.getEpsAttr()) {
    double value = eps.getValueAsDouble();
    if (!std::isfinite(value) || value < 0)
      return diag.error("'eps' must be finite and >= 0, got ", value);
  }
  results.push_back(tensorOf(
      {dims.get("B"), adaptor.getClustersAttr().getInt(), dims.get("C")},
      x->getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// BroadcastOp
//===----------------------------------------------------------------------===//

LogicalResult BroadcastOp::inferResultTypes(MLIRContext *context,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  Diag diag(loc, getOperationName());
  DimBinder dims(diag);
  auto y = bindTensor(dims, diag, adaptor.getY(), "y", {"B", "M", "C"});
  if (failed(y) ||
      failed(bindTensor(dims, diag, adaptor.getAssign(), "assign", {"B", "N"})))
    return failure();
  results.push_back(tensorOf({dims.get("B"), dims.get("N"), dims.get("C")},
                             y->getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::inferResultTypes(MLIRContext *context,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  Diag diag(loc, getOperationName());
  DimBinder dims(diag);
  // Keys and values share one variadic segment size; an unpaired operand
  // count would silently misassign them, so check it before using them.
  // The count leaves out the destination.
  size_t numOperands = adaptor.getOperands().size() - 1;
  if (adaptor.getOperands().empty() || numOperands < 3 ||
      (numOperands - 1) % 2 != 0)
    return diag.error("expects the query followed by one or more [key, "
                      "value] pairs, got ",
                      numOperands, " operands");
  auto q = bindTensor(dims, diag, adaptor.getQ(), "q", {"B", "H", "N", "D"});
  if (failed(q))
    return failure();
  for (auto [s, kv] : llvm::enumerate(
           llvm::zip_equal(adaptor.getKeys(), adaptor.getValues()))) {
    std::string m = "M" + std::to_string(s);
    std::string key = "keys[" + std::to_string(s) + "]";
    std::string value = "values[" + std::to_string(s) + "]";
    auto k = bindTensor(dims, diag, std::get<0>(kv), key, {"B", "H", m, "D"});
    if (failed(k) || failed(checkSameElementType(diag, *q, "q", *k, key)))
      return failure();
    auto v =
        bindTensor(dims, diag, std::get<1>(kv), value, {"B", "H", m, "Dv"});
    if (failed(v) || failed(checkSameElementType(diag, *q, "q", *v, value)))
      return failure();
  }
  if (failed(checkFinite(diag, "scale", adaptor.getScaleAttr())))
    return failure();
  results.push_back(
      tensorOf({dims.get("B"), dims.get("H"), dims.get("N"), dims.get("Dv")},
               q->getElementType()));
  return success();
}

static ParseResult
parseKeyValuePairs(OpAsmParser &parser,
                   SmallVectorImpl<OpAsmParser::UnresolvedOperand> &keys,
                   SmallVectorImpl<OpAsmParser::UnresolvedOperand> &values) {
  return parser.parseCommaSeparatedList([&]() -> ParseResult {
    return failure(
        parser.parseLSquare() || parser.parseOperand(keys.emplace_back()) ||
        parser.parseComma() || parser.parseOperand(values.emplace_back()) ||
        parser.parseRSquare());
  });
}

static void printKeyValuePairs(OpAsmPrinter &printer, Operation *,
                               OperandRange keys, OperandRange values) {
  llvm::interleaveComma(llvm::zip(keys, values), printer, [&](auto kv) {
    printer << "[" << std::get<0>(kv) << ", " << std::get<1>(kv) << "]";
  });
}

static ParseResult parseKeyValuePairTypes(OpAsmParser &parser,
                                          SmallVectorImpl<Type> &keys,
                                          SmallVectorImpl<Type> &values) {
  return parser.parseCommaSeparatedList([&]() -> ParseResult {
    return failure(
        parser.parseLSquare() || parser.parseType(keys.emplace_back()) ||
        parser.parseComma() || parser.parseType(values.emplace_back()) ||
        parser.parseRSquare());
  });
}

static void printKeyValuePairTypes(OpAsmPrinter &printer, Operation *,
                                   TypeRange keys, TypeRange values) {
  llvm::interleaveComma(llvm::zip(keys, values), printer, [&](auto kv) {
    printer << "[" << std::get<0>(kv) << ", " << std::get<1>(kv) << "]";
  });
}

//===----------------------------------------------------------------------===//
// TopKMembersOp
//===----------------------------------------------------------------------===//

LogicalResult TopKMembersOp::inferResultTypes(MLIRContext *context,
                                              std::optional<Location> loc,
                                              Adaptor adaptor,
                                              SmallVectorImpl<Type> &results) {
  Diag diag(loc, getOperationName());
  DimBinder dims(diag);
  if (failed(checkAtLeastOne(diag, "capacity", adaptor.getCapacityAttr())) ||
      failed(bindTensor(dims, diag, adaptor.getG(), "g", {"B", "N", "M"})))
    return failure();
  results.push_back(tensorOf(
      {dims.get("B"), dims.get("M"), adaptor.getCapacityAttr().getInt()},
      IntegerType::get(context, 32)));
  return success();
}

//===----------------------------------------------------------------------===//
// ClusterAttentionOp
//===----------------------------------------------------------------------===//

LogicalResult ClusterAttentionOp::inferResultTypes(
    MLIRContext *context, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &results) {
  Diag diag(loc, getOperationName());
  DimBinder dims(diag);
  auto q = bindTensor(dims, diag, adaptor.getQ(), "q", {"B", "H", "N", "D"});
  if (failed(q))
    return failure();
  struct Operand {
    Value value;
    StringRef name;
    SmallVector<StringRef, 4> dims;
  };
  Operand floats[] = {{adaptor.getK(), "k", {"B", "H", "N", "D"}},
                      {adaptor.getV(), "v", {"B", "H", "N", "Dv"}},
                      {adaptor.getAq(), "aq", {"B", "H", "N", "M"}},
                      {adaptor.getAk(), "ak", {"B", "H", "N", "M"}}};
  for (const Operand &operand : floats) {
    auto type =
        bindTensor(dims, diag, operand.value, operand.name, operand.dims);
    if (failed(type) ||
        failed(checkSameElementType(diag, *q, "q", *type, operand.name)))
      return failure();
  }
  if (failed(bindTensor(dims, diag, adaptor.getMembers(), "members",
                        {"B", "M", "kappa"})) ||
      failed(checkFinite(diag, "scale", adaptor.getScaleAttr())))
    return failure();
  results.push_back(
      tensorOf({dims.get("B"), dims.get("H"), dims.get("N"), dims.get("Dv")},
               q->getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// Destination types
//===----------------------------------------------------------------------===//

/// `-> T`: the type of the destination. In the value form the result has
/// it too; the buffer form (a memref destination) has no result.
static ParseResult parseDestinations(OpAsmParser &parser, Type &init,
                                     Type &result) {
  if (parser.parseArrow() || parser.parseType(init))
    return failure();
  if (isa<TensorType>(init))
    result = init;
  return success();
}

static void printDestinations(OpAsmPrinter &printer, Operation *, Type init,
                              Type result) {
  printer << "-> " << (result ? result : init);
}

/// `-> T0, T1` for the ops with two destinations.
static ParseResult parseDestinations(OpAsmParser &parser, Type &init0,
                                     Type &init1, Type &result0,
                                     Type &result1) {
  if (parser.parseArrow() || parser.parseType(init0) || parser.parseComma() ||
      parser.parseType(init1))
    return failure();
  if (isa<TensorType>(init0))
    result0 = init0;
  if (isa<TensorType>(init1))
    result1 = init1;
  return success();
}

static void printDestinations(OpAsmPrinter &printer, Operation *, Type init0,
                              Type init1, Type result0, Type result1) {
  printer << "-> " << (result0 ? result0 : init0) << ", "
          << (result1 ? result1 : init1);
}

/// soft_assign's destination has the type of its logits, so `: T` gives
/// both (and the result's, in the value form); `: T -> U` names a
/// destination of another type, as a buffer of another layout.
static ParseResult parseSoftAssignTypes(OpAsmParser &parser, Type &logits,
                                        Type &init, Type &result) {
  if (parser.parseType(logits))
    return failure();
  init = logits;
  if (succeeded(parser.parseOptionalArrow()) && parser.parseType(init))
    return failure();
  if (isa<TensorType>(init))
    result = init;
  return success();
}

static void printSoftAssignTypes(OpAsmPrinter &printer, Operation *,
                                 Type logits, Type init, Type) {
  printer << logits;
  if (init != logits)
    printer << " -> " << init;
}

//===----------------------------------------------------------------------===//
// Verifiers, memory effects and speculation, the same for every op
//===----------------------------------------------------------------------===//

#define CLUS_DPS_OP_METHODS(OpTy)                                              \
  LogicalResult OpTy::verify() { return verifyDestinations(*this); }           \
  void OpTy::getEffects(                                                       \
      SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>      \
          &effects) {                                                          \
    getBufferEffects(*this, effects);                                          \
  }                                                                            \
  Speculation::Speculatability OpTy::getSpeculatability() {                    \
    return getSpeculatabilityOf(*this);                                        \
  }

CLUS_DPS_OP_METHODS(SoftAssignOp)
CLUS_DPS_OP_METHODS(PoolOp)
CLUS_DPS_OP_METHODS(KMeansOp)
CLUS_DPS_OP_METHODS(DpcKnnOp)
CLUS_DPS_OP_METHODS(AggregateOp)
CLUS_DPS_OP_METHODS(BroadcastOp)
CLUS_DPS_OP_METHODS(AttentionOp)
CLUS_DPS_OP_METHODS(TopKMembersOp)
CLUS_DPS_OP_METHODS(ClusterAttentionOp)

#undef CLUS_DPS_OP_METHODS

LogicalResult clusopt::clus::requireValueSemantics(Operation *root,
                                                   StringRef pass) {
  bool ok = true;
  root->walk([&](DestinationStyleOpInterface op) {
    if (!isa<ClusDialect>(op->getDialect()) || op.hasPureTensorSemantics())
      return;
    op->emitOpError("is in the buffer form, which '")
        << pass
        << "' does not lower: lower clus ops on tensors, before "
           "bufferization";
    ok = false;
  });
  return success(ok);
}

#define GET_OP_CLASSES
#include "clusopt/Dialect/Clus/ClusOps.cpp.inc"
