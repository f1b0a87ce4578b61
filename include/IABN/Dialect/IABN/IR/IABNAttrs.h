//===- IABNAttrs.h - IABN attributes ----------------------------*- C++ -*-===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#ifndef IABN_DIALECT_IABN_IR_IABNATTRS_H
#define IABN_DIALECT_IABN_IR_IABNATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"
#include <optional>

#include "IABN/Dialect/IABN/IR/IABNEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "IABN/Dialect/IABN/IR/IABNAttrs.h.inc"

#endif // IABN_DIALECT_IABN_IR_IABNATTRS_H
