//===- ClusBufferization.cpp - bufferization of the clus ops --*- C++ -*-===//
//
// One-shot bufferization of the clus ops, the way upstream bufferizes linalg:
// an op on tensors becomes the same op on memrefs (its buffer form), with no
// results, writing each destination's buffer. Inputs are read and never
// written; a destination is written and aliases its result, and its
// contents are never read, so a destination that cannot be written in
// place gets a fresh buffer without a copy.
//
//===----------------------------------------------------------------------===//

#include "clusopt/Dialect/Clus/ClusOps.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/DstBufferizableOpInterfaceImpl.h"

using namespace mlir;
using namespace mlir::bufferization;
using namespace clusopt::clus;

namespace {

/// The buffer form of `op` on `operands`: the same op, properties and
/// attributes, without results.
Operation *createBufferForm(RewriterBase &rewriter, Operation *op,
                            ValueRange operands) {
  OperationState state(op->getLoc(), op->getName());
  state.addOperands(operands);
  Attribute properties = op->getPropertiesAsAttribute();
  // kmeans and dpc_knn count their (now absent) results in a property.
  if (auto dict = dyn_cast_or_null<DictionaryAttr>(properties);
      dict && dict.get("resultSegmentSizes")) {
    NamedAttrList list(dict);
    list.set("resultSegmentSizes",
             rewriter.getDenseI32ArrayAttr(
                 SmallVector<int32_t>(op->getNumResults(), 0)));
    properties = list.getDictionary(op->getContext());
  }
  state.propertiesAttr = properties;
  state.addAttributes(op->getDiscardableAttrDictionary().getValue());
  return rewriter.create(state);
}

template <typename OpTy>
struct ClusBufferizableModel : public DstBufferizableOpInterfaceExternalModel<
                                   ClusBufferizableModel<OpTy>, OpTy> {
  /// Inputs are read; a destination only gives its shape and its buffer.
  bool bufferizesToMemoryRead(Operation *op, OpOperand &opOperand,
                              const AnalysisState &) const {
    return !cast<DestinationStyleOpInterface>(op).isDpsInit(&opOperand);
  }

  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto dps = cast<DestinationStyleOpInterface>(op);
    if (!dps.hasPureTensorSemantics())
      return op->emitOpError("bufferizes only with all operands tensors");
    SmallVector<Value> buffers, destinations;
    for (OpOperand &operand : op->getOpOperands()) {
      FailureOr<Value> buffer =
          getBuffer(rewriter, operand.get(), options, state);
      if (failed(buffer))
        return failure();
      buffers.push_back(*buffer);
      if (dps.isDpsInit(&operand))
        destinations.push_back(*buffer);
    }
    rewriter.setInsertionPoint(op);
    createBufferForm(rewriter, op, buffers);
    replaceOpWithBufferizedValues(rewriter, op, destinations);
    return success();
  }
};

template <typename... OpTys> void attachTo(MLIRContext *context) {
  (OpTys::template attachInterface<ClusBufferizableModel<OpTys>>(*context),
   ...);
}

} // namespace

namespace clusopt::clus {
/// Attaches BufferizableOpInterface to every clus op; the dialect calls it
/// when it is loaded, so every tool that loads the dialect bufferizes it.
void registerBufferizableOpInterfaceModels(MLIRContext *context) {
  attachTo<SoftAssignOp, PoolOp, KMeansOp, DpcKnnOp, AggregateOp, BroadcastOp,
           AttentionOp, TopKMembersOp, ClusterAttentionOp>(context);
}
} // namespace clusopt::clus
