//===- Pipelines.h - IABN pass pipelines ------------------------*- C++ -*-===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#ifndef IABN_PIPELINES_PIPELINES_H
#define IABN_PIPELINES_PIPELINES_H

#include "IABN/Transforms/Passes.h"

#include "mlir/Pass/PassOptions.h"
#include <string>

namespace mlir {
class OpPassManager;

namespace iabn {

/// Options of the InPlace-ABN pipeline (`--iabn-pipeline`).
struct InPlaceABNPipelineOptions
    : public PassPipelineOptions<InPlaceABNPipelineOptions> {
  PassOptions::Option<GammaMode> gammaMode{
      *this, "gamma-mode",
      llvm::cl::desc("gamma handling of the fused ops"),
      llvm::cl::init(GammaMode::SignClamp), IABN_GAMMA_MODE_OPTION_VALUES};
  PassOptions::Option<bool> recompute{
      *this, "recompute",
      llvm::cl::desc("apply the recompute strategy to non-invertible "
                     "activations"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> overwriteArguments{
      *this, "overwrite-arguments",
      llvm::cl::desc("let z overwrite an x that is a function argument"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> raise{
      *this, "raise",
      llvm::cl::desc("first raise training batch norms written in linalg "
                     "(front-end graphs) to iabn ops (iabn-raise-batch-norm)"),
      llvm::cl::init(false)};
  PassOptions::Option<std::string> decisionsFile{
      *this, "decisions-file",
      llvm::cl::desc("also write the rewrite's decisions as JSON here"),
      llvm::cl::init("")};
};

/// Adds the InPlace-ABN rewrite and its cleanup (canonicalize, CSE) to a
/// module-level pass manager: the C++ entry point for other compilers.
void buildInPlaceABNPipeline(OpPassManager &pm,
                             const InPlaceABNPipelineOptions &options);

/// Adds the CPU lowering to a module-level pass manager: iabn ops to linalg
/// (destination-passing style), One-Shot Bufferize across function
/// boundaries (identity layouts; z written over x and dx over dz where
/// legal), buffer deallocation, loops, and the LLVM dialect. Run it on the
/// output of the InPlace-ABN pipeline (or on any iabn graph); the result
/// goes to `mlir-translate --mlir-to-llvmir` or `mlir-runner`.
void buildCPULoweringPipeline(OpPassManager &pm);

/// Options of the GPU kernel library pipeline (`--iabn-gpu-pipeline`).
struct GPUPipelineOptions : public PassPipelineOptions<GPUPipelineOptions> {
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("GPU architecture, e.g. sm_90"),
      llvm::cl::init("sm_90")};
  PassOptions::Option<std::string> features{
      *this, "features", llvm::cl::desc("PTX features, e.g. +ptx80"),
      llvm::cl::init("+ptx80")};
  PassOptions::Option<std::string> format{
      *this, "format", llvm::cl::desc("bin (cubin), fatbin or isa (PTX)"),
      llvm::cl::init("bin")};
};

/// Adds the GPU kernel library (iabn-generate-gpu-kernels, all dtypes and
/// activations) and its lowering through NVVM to a binary.
void buildGPUKernelLibraryPipeline(OpPassManager &pm,
                                   const GPUPipelineOptions &options);

/// Registers `--iabn-pipeline`, `--iabn-cpu-pipeline` and
/// `--iabn-gpu-pipeline`.
void registerPipelines();

/// Registers `--iabn-pipeline` only (library IABNRewritePipeline).
void registerInPlaceABNPipeline();

} // namespace iabn
} // namespace mlir

#endif // IABN_PIPELINES_PIPELINES_H
