//===- KernelLibrary.cpp - The generated GPU kernels of the fused ops -----===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//
//
// Builds the `gpu.module @iabn_kernels` that the CUDA runtime (runtime/cuda)
// launches: one set of kernels per storage type and activation.
//
//   forward:   partial_stats -> finalize_stats -> apply (z may alias x)
//   backward:  prepare_grad -> partial_grads -> finalize_grads -> apply_grad
//              (dx may alias dz)
//   inference: prepare_inference -> apply
//
// Names, parameters and workspace slots: IABN/Runtime/KernelABI.h. Math:
// IABN/Conversion/IABNCommon/Math.h. Kernels: Statistics.cpp,
// Gradients.cpp, Elementwise.cpp, ChannelsLast.cpp.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

using namespace mlir;
using namespace mlir::iabn;
using namespace mlir::iabn::gpukernels;

// The ODS enums (IABNAttrs.td) and the kernel ABI's lists agree, so that
// static_casts between them are exact.
#define IABN_CHECK_ODS(Enum, cname, cppname, name, value)                      \
  static_assert(static_cast<int>(Enum::cppname) == value,                      \
                #Enum "::" #cppname " differs from the kernel ABI");
#define IABN_CHECK_ACTIVATION(...) IABN_CHECK_ODS(ActivationKind, __VA_ARGS__)
#define IABN_CHECK_GAMMA_MODE(...) IABN_CHECK_ODS(GammaMode, __VA_ARGS__)
IABN_ACTIVATIONS(IABN_CHECK_ACTIVATION)
IABN_GAMMA_MODES(IABN_CHECK_GAMMA_MODE)
#undef IABN_CHECK_ACTIVATION
#undef IABN_CHECK_GAMMA_MODE
#undef IABN_CHECK_ODS
static_assert(getMaxEnumValForActivationKind() + 1 == abi::kNumActivations,
              "ActivationKind has a case the kernel ABI lacks");
static_assert(getMaxEnumValForGammaMode() + 1 == abi::kNumGammaModes,
              "GammaMode has a case the kernel ABI lacks");

std::optional<abi::DType> mlir::iabn::getKernelDType(Type type) {
  if (type.isF32())
    return abi::DType::F32;
  if (type.isF16())
    return abi::DType::F16;
  if (type.isBF16())
    return abi::DType::BF16;
  return std::nullopt;
}

Type mlir::iabn::getKernelStorageType(MLIRContext *ctx, abi::DType dtype) {
  switch (dtype) {
  case abi::DType::F32:
    return Float32Type::get(ctx);
  case abi::DType::F16:
    return Float16Type::get(ctx);
  case abi::DType::BF16:
    return BFloat16Type::get(ctx);
  }
  llvm_unreachable("unknown kernel storage type");
}

void LibraryBuilder::buildAll(ArrayRef<Type> storageTypes,
                              ArrayRef<ActivationKind> activations) {
  buildFinalizeStats();
  buildPrepareInference();
  buildPrepareGrad();
  buildFinalizeGrads();
  for (Type storage : storageTypes) {
    for (bool planar : {false, true})
      buildPartialStats(storage, planar);
    buildPartialStatsChannelsLast(storage);
    for (ActivationKind act : activations) {
      buildApply(storage, act);
      for (bool channelsLast : {false, true})
        buildApplyVector(storage, act, channelsLast);
      bool backward = abi::hasBackwardKernels(static_cast<abi::Activation>(act));
      assert(backward == ActivationAttr::isInvertibleKind(act) &&
             "KernelABI.h and the dialect disagree on an activation");
      if (!backward)
        continue; // no fused backward
      for (bool planar : {false, true})
        buildPartialGrads(storage, act, planar);
      buildPartialGradsChannelsLast(storage, act);
      buildApplyGrad(storage, act);
      for (bool channelsLast : {false, true})
        buildApplyGradVector(storage, act, channelsLast);
    }
  }
}

gpu::GPUModuleOp mlir::iabn::buildKernelLibrary(ModuleOp module,
                                                ArrayRef<Type> storageTypes,
                                                ArrayRef<ActivationKind> acts) {
  OpBuilder b(module.getBodyRegion());
  b.setInsertionPointToEnd(module.getBody());
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  b.getUnitAttr());
  auto gpuModule = gpu::GPUModuleOp::create(b, module.getLoc(), "iabn_kernels");
  LibraryBuilder(gpuModule).buildAll(storageTypes, acts);
  return gpuModule;
}
