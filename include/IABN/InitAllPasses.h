//===- InitAllPasses.h - Register every IABN pass ---------------*- C++ -*-===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#ifndef IABN_INITALLPASSES_H
#define IABN_INITALLPASSES_H

namespace mlir {
namespace iabn {
/// Registers IABN's passes (`--iabn-inplace-abn`, `--iabn-memory-report`) and
/// pipelines (`--iabn-pipeline`) with the global registry.
void registerAllPasses();
} // namespace iabn
} // namespace mlir

#endif // IABN_INITALLPASSES_H
