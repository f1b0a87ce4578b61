//===- Passes.h - IABN conversion passes ------------------------*- C++ -*-===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#ifndef IABN_CONVERSION_PASSES_H
#define IABN_CONVERSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;

namespace iabn {

#define GEN_PASS_DECL
#include "IABN/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "IABN/Conversion/Passes.h.inc"

/// Adds the patterns lowering the tensor-level iabn ops to linalg.
void populateIABNToLinalgConversionPatterns(RewritePatternSet &patterns);

} // namespace iabn
} // namespace mlir

#endif // IABN_CONVERSION_PASSES_H
