//===- BufferizableOpInterfaceImpl.h - IABN bufferization -------*- C++ -*-===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#ifndef IABN_DIALECT_IABN_TRANSFORMS_BUFFERIZABLEOPINTERFACEIMPL_H
#define IABN_DIALECT_IABN_TRANSFORMS_BUFFERIZABLEOPINTERFACEIMPL_H

namespace mlir {
class DialectRegistry;

namespace iabn {
/// Attaches One-Shot Bufferize models to the fused InPlace-ABN ops: the
/// forward's z takes x's buffer and the backward's dx takes dz's buffer
/// whenever the analysis proves it safe.
void registerBufferizableOpInterfaceExternalModels(DialectRegistry &registry);
} // namespace iabn
} // namespace mlir

#endif // IABN_DIALECT_IABN_TRANSFORMS_BUFFERIZABLEOPINTERFACEIMPL_H
