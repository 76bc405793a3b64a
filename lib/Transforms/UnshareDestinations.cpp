//===- UnshareDestinations.cpp - one fill or empty tensor per destination -===//
//
// Undoes CSE's sharing of identical linalg.fill and tensor.empty ops before
// one-shot bufferization (see the pass's description).
//
//===----------------------------------------------------------------------===//

#include "clusopt/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

namespace clusopt {
#define GEN_PASS_DEF_UNSHAREDESTINATIONS
#include "clusopt/Transforms/Passes.h.inc"
} // namespace clusopt

using namespace mlir;

namespace {

/// Whether `use` is a destination its owner writes in place.
bool isDestinationUse(OpOperand &use) {
  auto dps = dyn_cast<DestinationStyleOpInterface>(use.getOwner());
  return dps && dps.isDpsInit(&use);
}

/// The uses of `op`'s result, in the program order of their users.
SmallVector<OpOperand *> usesInOrder(Operation *op) {
  SmallVector<OpOperand *> uses = llvm::map_to_vector(
      op->getResult(0).getUses(), [](OpOperand &use) { return &use; });
  Block *block = op->getBlock();
  llvm::sort(uses, [&](OpOperand *a, OpOperand *b) {
    return block->findAncestorOpInBlock(*a->getOwner())
        ->isBeforeInBlock(block->findAncestorOpInBlock(*b->getOwner()));
  });
  return uses;
}

/// Points each of `uses` at a clone of `op` (with `mapping`): right before
/// the user where it is in `op`'s block, else right after `op`, never into
/// a loop that `op` is outside of.
void cloneFor(OpBuilder &builder, Operation *op, ArrayRef<OpOperand *> uses,
              function_ref<void(IRMapping &)> mapOperands = nullptr) {
  for (OpOperand *use : uses) {
    Operation *user = use->getOwner();
    if (user->getBlock() == op->getBlock())
      builder.setInsertionPoint(user);
    else
      builder.setInsertionPointAfter(op);
    IRMapping mapping;
    if (mapOperands)
      mapOperands(mapping);
    use->set(builder.clone(*op, mapping)->getResult(0));
  }
}

struct UnshareDestinationsPass
    : clusopt::impl::UnshareDestinationsBase<UnshareDestinationsPass> {
  void runOnOperation() override {
    OpBuilder builder(&getContext());
    SmallVector<linalg::FillOp> fills;
    getOperation()->walk([&](linalg::FillOp fill) {
      if (fill.hasPureTensorSemantics() && !fill->getResult(0).hasOneUse())
        fills.push_back(fill);
    });
    for (linalg::FillOp fill : fills) {
      SmallVector<OpOperand *> uses = usesInOrder(fill);
      SmallVector<OpOperand *> destinations = llvm::filter_to_vector(
          uses, [](OpOperand *use) { return isDestinationUse(*use); });
      // Where every use writes it, the first keeps the original.
      ArrayRef<OpOperand *> toClone = destinations;
      if (destinations.size() == uses.size())
        toClone = toClone.drop_front();
      // Each clone fills a tensor.empty of its own.
      auto empty = fill.getDpsInits()[0].getDefiningOp<tensor::EmptyOp>();
      cloneFor(builder, fill, toClone, [&](IRMapping &mapping) {
        if (empty)
          mapping.map(empty.getResult(), builder.clone(*empty)->getResult(0));
      });
    }
    SmallVector<tensor::EmptyOp> empties;
    // Only where every use is a linalg op's destination: a slice of it
    // (extract_slice, then insert_slice back) must stay one tensor.
    getOperation()->walk([&](tensor::EmptyOp empty) {
      if (!empty->hasOneUse() && !empty->use_empty() &&
          llvm::all_of(empty->getUses(), [](OpOperand &use) {
            return isa<linalg::LinalgOp>(use.getOwner()) &&
                   isDestinationUse(use);
          }))
        empties.push_back(empty);
    });
    for (tensor::EmptyOp empty : empties)
      cloneFor(builder, empty, ArrayRef(usesInOrder(empty)).drop_front());
  }
};

} // namespace
