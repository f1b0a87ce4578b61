//===- IABNDialect.h - IABN dialect -----------------------------*- C++ -*-===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#ifndef IABN_DIALECT_IABN_IR_IABNDIALECT_H
#define IABN_DIALECT_IABN_IR_IABNDIALECT_H

#include "mlir/IR/Dialect.h"

#include "IABN/Dialect/IABN/IR/IABNOpsDialect.h.inc"

#endif // IABN_DIALECT_IABN_IR_IABNDIALECT_H
