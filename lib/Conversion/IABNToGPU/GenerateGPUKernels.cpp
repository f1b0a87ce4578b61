//===- GenerateGPUKernels.cpp - The iabn-generate-gpu-kernels pass --------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#include "IABN/Conversion/Passes.h"
#include "IABN/GPUKernels/KernelLibrary.h"

namespace mlir {
namespace iabn {
#define GEN_PASS_DEF_GENERATEGPUKERNELSPASS
#include "IABN/Conversion/Passes.h.inc"
} // namespace iabn
} // namespace mlir

using namespace mlir;
using namespace mlir::iabn;

namespace {

/// The enumerator of the kernel ABI list `count` entries long whose name is
/// `name`, or nullopt.
template <typename Enum>
std::optional<Enum> lookUp(StringRef name, int count) {
  for (int value = 0; value < count; ++value)
    if (name == abi::getName(static_cast<Enum>(value)))
      return static_cast<Enum>(value);
  return std::nullopt;
}

/// "a, b or c" from the names of a kernel ABI list.
template <typename Enum>
std::string listNames(int count) {
  std::string names;
  for (int value = 0; value < count; ++value) {
    if (value)
      names += value + 1 == count ? " or " : ", ";
    names += abi::getName(static_cast<Enum>(value));
  }
  return names;
}

struct GenerateGPUKernelsPass
    : public iabn::impl::GenerateGPUKernelsPassBase<GenerateGPUKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<Type> types;
    for (const std::string &name : dtypes) {
      std::optional<abi::DType> dtype =
          lookUp<abi::DType>(name, abi::kNumDTypes);
      if (!dtype) {
        module.emitError("iabn-generate-gpu-kernels: unsupported dtype '")
            << name << "'; expected "
            << listNames<abi::DType>(abi::kNumDTypes);
        return signalPassFailure();
      }
      types.push_back(getKernelStorageType(&getContext(), *dtype));
    }
    if (dtypes.empty())
      for (int dtype = 0; dtype < abi::kNumDTypes; ++dtype)
        types.push_back(getKernelStorageType(&getContext(),
                                             static_cast<abi::DType>(dtype)));
    SmallVector<ActivationKind> kinds;
    for (const std::string &name : activations) {
      std::optional<abi::Activation> act =
          lookUp<abi::Activation>(name, abi::kNumActivations);
      if (!act) {
        module.emitError("iabn-generate-gpu-kernels: unknown activation '")
            << name << "'; expected "
            << listNames<abi::Activation>(abi::kNumActivations);
        return signalPassFailure();
      }
      kinds.push_back(static_cast<ActivationKind>(*act));
    }
    if (activations.empty())
      for (int kind = 0; kind < abi::kNumActivations; ++kind)
        kinds.push_back(static_cast<ActivationKind>(kind));
    if (module.lookupSymbol("iabn_kernels")) {
      module.emitError("iabn-generate-gpu-kernels: the module already has a "
                       "symbol named 'iabn_kernels'");
      return signalPassFailure();
    }
    buildKernelLibrary(module, types, kinds);
  }
};
} // namespace
