//===- InitAllDialects.h - Register every IABN dialect ----------*- C++ -*-===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//
//
// The C++ entry points for compilers that link IABN: one call registers the
// dialect together with the interface models it needs.
//
//===----------------------------------------------------------------------===//

#ifndef IABN_INITALLDIALECTS_H
#define IABN_INITALLDIALECTS_H

namespace mlir {
class DialectRegistry;

namespace iabn {
/// Adds the `iabn` dialect and its external interface models (One-Shot
/// Bufferize) to `registry`.
void registerAllDialects(DialectRegistry &registry);
} // namespace iabn
} // namespace mlir

#endif // IABN_INITALLDIALECTS_H
