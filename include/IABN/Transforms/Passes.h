//===- Passes.h - IABN transformation passes --------------------*- C++ -*-===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#ifndef IABN_TRANSFORMS_PASSES_H
#define IABN_TRANSFORMS_PASSES_H

#include "IABN/Dialect/IABN/IR/IABNAttrs.h"
#include "IABN/Dialect/IABN/IR/IABNDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

/// The values of a `gamma-mode` option (iabn-inplace-abn, iabn-pipeline).
#define IABN_GAMMA_MODE_OPTION_VALUES                                          \
  ::llvm::cl::values(                                                          \
      clEnumValN(::mlir::iabn::GammaMode::SignClamp, "sign_clamp",             \
                 "sign(gamma) * max(|gamma|, eps): standard BN whenever "      \
                 "|gamma| >= eps (default)"),                                  \
      clEnumValN(::mlir::iabn::GammaMode::AbsPlusEps, "abs_plus_eps",          \
                 "|gamma| + eps: the official inplace_abn library's rule"))

namespace mlir {
namespace iabn {

#define GEN_PASS_DECL
#include "IABN/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "IABN/Transforms/Passes.h.inc"

} // namespace iabn
} // namespace mlir

#endif // IABN_TRANSFORMS_PASSES_H
