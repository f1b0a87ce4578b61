//===- Pipelines.cpp - IABN pass pipelines --------------------------------===//
//
// Part of the IABN project.
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
  OpPassManager &funcPm = pm.nest<func::FuncOp>();
  funcPm.addPass(createInPlaceABNPass(rewrite));
  funcPm.addPass(createCanonicalizerPass());
  funcPm.addPass(createCSEPass());
}

void mlir::iabn::registerPipelines() {
  PassPipelineRegistration<InPlaceABNPipelineOptions>(
      "iabn-pipeline",
      "Rewrite BatchNorm->activation chains into InPlace-ABN, then clean up",
      buildInPlaceABNPipeline);
}
