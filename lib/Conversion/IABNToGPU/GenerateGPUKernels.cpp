//===- GenerateGPUKernels.cpp - The iabn-generate-gpu-kernels pass --------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#include "IABN/GPUKernels/KernelLibrary.h"
#include "IABN/Conversion/Passes.h"

namespace mlir {
namespace iabn {
#define GEN_PASS_DEF_GENERATEGPUKERNELSPASS
#include "IABN/Conversion/Passes.h.inc"
} // namespace iabn
} // namespace mlir

using namespace mlir;
using namespace mlir::iabn;

namespace {
struct GenerateGPUKernelsPass
    : public iabn::impl::GenerateGPUKernelsPassBase<GenerateGPUKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<Type> types;
    for (const std::string &name :
         dtypes.empty()
             ? std::vector<std::string>{"f32", "f16", "bf16"}
             : std::vector<std::string>(dtypes.begin(), dtypes.end())) {
      if (name == "f32")
        types.push_back(Float32Type::get(ctx));
      else if (name == "f16")
        types.push_back(Float16Type::get(ctx));
      else if (name == "bf16")
        types.push_back(BFloat16Type::get(ctx));
      else {
        module.emitError("iabn-generate-gpu-kernels: unsupported dtype '")
            << name << "'; expected f32, f16 or bf16";
        return signalPassFailure();
      }
    }
    SmallVector<ActivationKind> kinds;
    for (const std::string &name :
         activations.empty()
             ? std::vector<std::string>{"identity", "relu", "leaky_relu", "elu"}
             : std::vector<std::string>(activations.begin(),
                                        activations.end())) {
      std::optional<ActivationKind> kind = symbolizeActivationKind(name);
      if (!kind) {
        module.emitError("iabn-generate-gpu-kernels: unknown activation '")
            << name << "'";
        return signalPassFailure();
      }
      kinds.push_back(*kind);
    }
    if (module.lookupSymbol("iabn_kernels")) {
      module.emitError("iabn-generate-gpu-kernels: the module already has a "
                       "symbol named 'iabn_kernels'");
      return signalPassFailure();
    }
    buildKernelLibrary(module, types, kinds);
  }
};
} // namespace
