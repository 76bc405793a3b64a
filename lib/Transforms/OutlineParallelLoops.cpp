//===- OutlineParallelLoops.cpp - one parallel loop per function ---------===//
//
// OpenMP's IR builder scans the whole enclosing LLVM function for every
// parallel region it outlines, which is quadratic on a whole model's single
// function. Each outermost scf.parallel moves into a private function.
//
//===----------------------------------------------------------------------===//

#include "clusopt/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/FormatVariadic.h"

namespace clusopt {
#define GEN_PASS_DEF_OUTLINEPARALLELLOOPS
#include "clusopt/Transforms/Passes.h.inc"
} // namespace clusopt

using namespace mlir;

namespace {
/// Replaces `loop` by a call of a new private function `name`, placed
/// after `after`, that holds it. Operands and values used from above become
/// arguments; constants are cloned into the function instead.
func::FuncOp outline(scf::ParallelOp loop, StringRef name, Operation *after,
                     SymbolTable &symbols) {
  llvm::SetVector<Value> captured(loop->getOperands().begin(),
                                  loop->getOperands().end());
  getUsedValuesDefinedAbove(loop->getRegions(), captured);

  // Right after the function (and its earlier loops' functions), so the
  // code keeps its order in the output.
  OpBuilder builder(after->getContext());
  builder.setInsertionPointAfter(after);
  SmallVector<Value> arguments;
  SmallVector<Type> types;
  for (Value value : captured) {
    if (matchPattern(value, m_Constant()))
      continue;
    arguments.push_back(value);
    types.push_back(value.getType());
  }
  auto callee = func::FuncOp::create(
      builder, loop.getLoc(), name,
      builder.getFunctionType(types, loop->getResultTypes()));
  callee.setPrivate();
  // Internal in LLVM IR too: once inlined, no copy is left in the library.
  callee->setAttr(
      "llvm.linkage",
      LLVM::LinkageAttr::get(builder.getContext(), LLVM::Linkage::Internal));
  symbols.insert(callee); // renames on a clash

  Block *body = callee.addEntryBlock();
  builder.setInsertionPointToStart(body);
  IRMapping mapping;
  for (auto [value, argument] : llvm::zip(arguments, body->getArguments()))
    mapping.map(value, argument);
  for (Value value : captured)
    if (!mapping.contains(value))
      builder.clone(*value.getDefiningOp(), mapping);
  Operation *clone = builder.clone(*loop, mapping);
  func::ReturnOp::create(builder, loop.getLoc(), clone->getResults());

  builder.setInsertionPoint(loop);
  auto call = func::CallOp::create(builder, loop.getLoc(), callee, arguments);
  loop->replaceAllUsesWith(call.getResults());
  loop->erase();
  return callee;
}

struct OutlineParallelLoopsPass
    : clusopt::impl::OutlineParallelLoopsBase<OutlineParallelLoopsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
    for (func::FuncOp func : funcs) {
      if (func.isExternal())
        continue;
      SmallVector<scf::ParallelOp> loops;
      func.walk<WalkOrder::PreOrder>([&](scf::ParallelOp loop) {
        loops.push_back(loop);
        return WalkResult::skip(); // nested loops go with their outer one
      });
      // A function that is one parallel loop already is what we want.
      if (loops.size() < 2)
        continue;
      Operation *after = func;
      for (auto [index, loop] : llvm::enumerate(loops))
        after = outline(
            loop, llvm::formatv("{0}_par{1}", func.getSymName(), index).str(),
            after, symbols);
    }
  }
};
} // namespace
