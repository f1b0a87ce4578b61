//===- TrainingGraph.cpp - Forward/backward structure of a graph ----------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#include "TrainingGraph.h"

#include "IABN/Dialect/IABN/IR/IABNOps.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/SmallVector.h"

using namespace mlir;
using namespace mlir::iabn;

bool mlir::iabn::isGradientOp(Operation *op) {
  return isa<ActivationGradOp, BatchNormTrainGradOp, InPlaceABNGradOp,
             InPlaceABNGradBufferOp>(op);
}

BackwardSlice::BackwardSlice(FunctionOpInterface func) {
  if (func.isExternal())
    return;
  Operation *funcOp = func.getOperation();
  SmallVector<Value> worklist;
  // Marks `op` and its ancestors below the function as backward; their
  // results carry gradients onwards.
  auto markBackward = [&](Operation *op) {
    for (; op && op != funcOp; op = op->getParentOp()) {
      if (!ops.insert(op).second)
        return;
      llvm::append_range(worklist, op->getResults());
    }
  };
  for (auto [index, arg] : llvm::enumerate(func.getArguments()))
    if (func.getArgAttr(index, kGradientArgAttrName))
      worklist.push_back(arg);
  func.walk([&](Operation *op) {
    if (isGradientOp(op))
      markBackward(op);
  });
  while (!worklist.empty()) {
    Value value = worklist.pop_back_val();
    for (Operation *user : value.getUsers())
      markBackward(user);
  }
  for (Operation &op : func.getFunctionBody().front()) {
    if (ops.contains(&op)) {
      boundary = &op;
      break;
    }
  }
}

bool BackwardSlice::isBackward(Operation *op) const {
  for (; op; op = op->getParentOp())
    if (ops.contains(op) || isGradientOp(op))
      return true;
  return false;
}

std::optional<int64_t> mlir::iabn::getTensorBytes(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape() ||
      !tensor.getElementType().isIntOrFloat())
    return std::nullopt;
  int64_t bits = tensor.getElementType().getIntOrFloatBitWidth();
  return (tensor.getNumElements() * bits + 7) / 8;
}
