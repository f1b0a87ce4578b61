//===- IABNOps.h - IABN operations ------------------------------*- C++ -*-===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#ifndef IABN_DIALECT_IABN_IR_IABNOPS_H
#define IABN_DIALECT_IABN_IR_IABNOPS_H

#include "IABN/Dialect/IABN/IR/IABNAttrs.h"
#include "IABN/Dialect/IABN/IR/IABNDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "IABN/Dialect/IABN/IR/IABNOps.h.inc"

#endif // IABN_DIALECT_IABN_IR_IABNOPS_H
