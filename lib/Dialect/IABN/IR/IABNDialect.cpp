//===- IABNDialect.cpp - IABN dialect -------------------------------------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#include "IABN/Dialect/IABN/IR/IABNDialect.h"
#include "IABN/Dialect/IABN/IR/IABNAttrs.h"
#include "IABN/Dialect/IABN/IR/IABNOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::iabn;

#include "IABN/Dialect/IABN/IR/IABNOpsDialect.cpp.inc"

void IABNDialect::initialize() {
  registerAttributes();
  addOperations<
#define GET_OP_LIST
#include "IABN/Dialect/IABN/IR/IABNOps.cpp.inc"
      >();
}
