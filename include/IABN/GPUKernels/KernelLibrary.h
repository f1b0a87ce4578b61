//===- KernelLibrary.h - The generated GPU kernels ----------*- C++ -*-===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//
//
// The GPU kernel library: the InPlace-ABN forward, backward and inference
// kernels, generated as gpu-dialect functions from the shared lowering math
// (IABN/Conversion/IABNCommon/Math.h), with the names and parameter lists of
// the kernel ABI (IABN/Runtime/KernelABI.h) that runtime/cuda launches.
// docs/gpu.md documents the kernels; the iabn-generate-gpu-kernels pass
// (lib/Conversion/IABNToGPU) adds the library to a module.
//
//===----------------------------------------------------------------------===//

#ifndef IABN_GPUKERNELS_KERNELLIBRARY_H
#define IABN_GPUKERNELS_KERNELLIBRARY_H

#include "IABN/Dialect/IABN/IR/IABNAttrs.h"
#include "IABN/Runtime/KernelABI.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"

#include <optional>

namespace mlir {
namespace iabn {

/// The kernel ABI's storage type of `type` (f32, f16, bf16), if it has one.
std::optional<abi::DType> getKernelDType(Type type);
/// The element type of a kernel ABI storage type.
Type getKernelStorageType(MLIRContext *ctx, abi::DType dtype);

/// Adds `gpu.module @iabn_kernels` to `module` (marking it a GPU container
/// module): the kernels of every storage type (each must have a
/// getKernelDType) and activation given.
gpu::GPUModuleOp buildKernelLibrary(ModuleOp module,
                                    ArrayRef<Type> storageTypes,
                                    ArrayRef<ActivationKind> activations);

} // namespace iabn
} // namespace mlir

#endif // IABN_GPUKERNELS_KERNELLIBRARY_H
