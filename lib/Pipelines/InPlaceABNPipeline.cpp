//===- InPlaceABNPipeline.cpp - The InPlace-ABN rewrite pipeline ----------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//
//
// `--iabn-pipeline`: the rewrite alone (no lowering), in a library of its own
// (IABNRewritePipeline) so that the compiler core the Python package ships
// links only the dialects and passes the rewrite uses, not the CPU and GPU
// lowerings of IABNPipelines.
//
//===----------------------------------------------------------------------===//

#include "IABN/Pipelines/Pipelines.h"
#include "IABN/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::iabn;

void mlir::iabn::buildInPlaceABNPipeline(
    OpPassManager &pm, const InPlaceABNPipelineOptions &options) {
  InPlaceABNPassOptions rewrite;
  rewrite.gammaMode = options.gammaMode;
  rewrite.allowRecompute = options.recompute;
  rewrite.overwriteArguments = options.overwriteArguments;
  rewrite.decisionsFile = options.decisionsFile;
  // Clean up first, so that the rewrite's remarks (One-Shot Analysis of the
  // rewritten graph) describe the graph that is bufferized in the end: folds
  // such as cast(cast(x)) change which copies bufferization makes.
  {
    OpPassManager &funcPm = pm.nest<func::FuncOp>();
    funcPm.addPass(createCanonicalizerPass());
    funcPm.addPass(createCSEPass());
  }
  if (options.raise) {
    // Front-end graphs: batch norms written in linalg become iabn ops; the
    // old ops are erased, and the clean-up folds what they left.
    pm.addPass(createRaiseBatchNormPass());
    OpPassManager &funcPm = pm.nest<func::FuncOp>();
    funcPm.addPass(createCanonicalizerPass());
    funcPm.addPass(createCSEPass());
  }
  pm.addPass(createInPlaceABNPass(rewrite));
  OpPassManager &funcPm = pm.nest<func::FuncOp>();
  funcPm.addPass(createCanonicalizerPass());
  funcPm.addPass(createCSEPass());
}

void mlir::iabn::registerInPlaceABNPipeline() {
  PassPipelineRegistration<InPlaceABNPipelineOptions>(
      "iabn-pipeline",
      "Rewrite BatchNorm->activation chains into InPlace-ABN, then clean up",
      buildInPlaceABNPipeline);
}
