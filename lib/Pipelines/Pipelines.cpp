//===- Pipelines.cpp - IABN pass pipelines --------------------------------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#include "IABN/Pipelines/Pipelines.h"
#include "IABN/Conversion/Passes.h"
#include "IABN/Transforms/Bufferization.h"
#include "IABN/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/GPU/Pipelines/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::iabn;


void mlir::iabn::buildCPULoweringPipeline(OpPassManager &pm) {
  pm.addPass(createConvertIABNToLinalgPass());
  pm.addPass(createCanonicalizerPass());
  // The options the rewrite's remarks predict (getOneShotBufferizationOptions).
  bufferization::OneShotBufferizationOptions oneShot =
      getOneShotBufferizationOptions();
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = oneShot.bufferizeFunctionBoundaries;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  bufferize.allowReturnAllocsFromLoops = oneShot.allowReturnAllocsFromLoops;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::buildBufferDeallocationPipeline(pm);
  // Clones inserted by the deallocation pipeline (a returned value that
  // aliases an argument) become allocations and copies.
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(createLowerAffinePass());
  // bf16 <-> f32 conversions as integer code: the host may have neither
  // native bf16 nor the compiler-rt helpers (__truncsfbf2).
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expand));
  // gelu's erf: the LLVM dialect has no intrinsic for it.
  pm.addPass(createLowerErfToLibmPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  // Exit 0 only with output that mlir-translate can take.
  pm.addPass(createVerifyLoweredToLLVMPass());
}

void mlir::iabn::buildGPUKernelLibraryPipeline(
    OpPassManager &pm, const GPUPipelineOptions &options) {
  pm.addPass(createGenerateGPUKernelsPass());
  gpu::GPUToNVVMPipelineOptions nvvm;
  nvvm.cubinChip = options.chip;
  nvvm.cubinFeatures = options.features;
  nvvm.cubinFormat = options.format;
  nvvm.optLevel = 3;
  gpu::buildLowerToNVVMPassPipeline(pm, nvvm);
}

void mlir::iabn::registerPipelines() {
  PassPipelineRegistration<GPUPipelineOptions>(
      "iabn-gpu-pipeline",
      "Generate the InPlace-ABN GPU kernel library and lower it through NVVM "
      "to a binary (the toolkit comes from CUDA_HOME)",
      buildGPUKernelLibraryPipeline);
  PassPipelineRegistration<>(
      "iabn-cpu-pipeline",
      "Lower iabn graphs to the LLVM dialect for the CPU (linalg, in-place "
      "bufferization, loops, LLVM)",
      buildCPULoweringPipeline);
  registerInPlaceABNPipeline();
}
