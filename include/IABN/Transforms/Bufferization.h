//===- Bufferization.h - IABN's One-Shot Bufferize configuration -*- C++ -*-===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//
//
// The One-Shot Bufferize configuration of IABN's lowerings, in one place: the
// CPU pipeline bufferizes with it, and the rewrite predicts (and reports) the
// in-place decisions of exactly this configuration.
//
//===----------------------------------------------------------------------===//

#ifndef IABN_TRANSFORMS_BUFFERIZATION_H
#define IABN_TRANSFORMS_BUFFERIZATION_H

#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"

namespace mlir {
class DialectRegistry;
namespace iabn {

/// One-Shot Bufferize options of IABN's lowerings: function boundaries are
/// bufferized (identity layouts), loops may yield new allocations, and
/// unknown ops are rejected.
bufferization::OneShotBufferizationOptions getOneShotBufferizationOptions();

/// Registers the bufferization models that One-Shot Analysis needs on IABN's
/// training graphs (arith, func, linalg, scf, tensor, iabn).
void registerBufferizationModels(DialectRegistry &registry);

} // namespace iabn
} // namespace mlir

#endif // IABN_TRANSFORMS_BUFFERIZATION_H
