//===- Passes.h - IABN transformation passes --------------------*- C++ -*-===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#ifndef IABN_TRANSFORMS_PASSES_H
#define IABN_TRANSFORMS_PASSES_H

#include "IABN/Dialect/IABN/IR/IABNDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
namespace iabn {

#define GEN_PASS_DECL
#include "IABN/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "IABN/Transforms/Passes.h.inc"

} // namespace iabn
} // namespace mlir

#endif // IABN_TRANSFORMS_PASSES_H
