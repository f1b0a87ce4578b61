//===- TrainingGraph.cpp - Forward/backward structure of a graph ----------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#include "IABN/Analysis/TrainingGraph.h"

#include "llvm/Support/MathExtras.h"

#include "IABN/Dialect/IABN/IR/IABNOps.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/SmallVector.h"

using namespace mlir;
using namespace mlir::iabn;

bool mlir::iabn::isGradientOp(Operation *op) {
  return isa<ActivationGradOp, BatchNormTrainGradOp, InPlaceABNGradOp,
             InPlaceABNGradBufferOp>(op);
}

BackwardOpSet::BackwardOpSet(FunctionOpInterface func) {
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

bool BackwardOpSet::isBackward(Operation *op) const {
  for (; op; op = op->getParentOp())
    if (ops.contains(op) || isGradientOp(op))
      return true;
  return false;
}

ByteCount &ByteCount::operator+=(ByteCount other) {
  if (overflow || other.overflow ||
      llvm::AddOverflow(value, other.value, value))
    *this = overflowed();
  return *this;
}

ByteCount &ByteCount::operator-=(ByteCount other) {
  if (overflow || other.overflow ||
      llvm::SubOverflow(value, other.value, value))
    *this = overflowed();
  return *this;
}

bool ByteCount::operator>(ByteCount other) const {
  if (overflow || other.overflow)
    return overflow && !other.overflow;
  return value > other.value;
}

std::optional<ByteCount> mlir::iabn::getTensorBytes(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape() ||
      !tensor.getElementType().isIntOrFloat())
    return std::nullopt;
  // bytes = ceil(elements * width / 8), checked at every step without
  // forming the bit count (getNumElements itself would wrap):
  // elements / 8 * width + ceil(elements % 8 * width / 8).
  int64_t width = tensor.getElementType().getIntOrFloatBitWidth();
  if (llvm::is_contained(tensor.getShape(), 0))
    return ByteCount(0);
  int64_t elements = 1;
  for (int64_t size : tensor.getShape())
    if (llvm::MulOverflow(elements, size, elements))
      return ByteCount::overflowed();
  int64_t bytes;
  if (llvm::MulOverflow(elements / 8, width, bytes) ||
      llvm::AddOverflow(bytes, (elements % 8 * width + 7) / 8, bytes))
    return ByteCount::overflowed();
  return ByteCount(bytes);
}
