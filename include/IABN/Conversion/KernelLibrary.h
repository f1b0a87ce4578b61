//===- KernelLibrary.h - Generated GPU kernels of the fused ops -*- C++ -*-===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#ifndef IABN_CONVERSION_KERNELLIBRARY_H
#define IABN_CONVERSION_KERNELLIBRARY_H

#include "IABN/Dialect/IABN/IR/IABNAttrs.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir {
namespace iabn {

/// Adds `gpu.module @iabn_kernels` to `module` (marking it a GPU container
/// module): the InPlace-ABN forward, backward and inference kernels for
/// every storage type and activation given. docs/gpu.md documents the
/// kernels and their arguments; runtime/cuda launches them.
gpu::GPUModuleOp buildKernelLibrary(ModuleOp module,
                                    ArrayRef<Type> storageTypes,
                                    ArrayRef<ActivationKind> activations);

} // namespace iabn
} // namespace mlir

#endif // IABN_CONVERSION_KERNELLIBRARY_H
