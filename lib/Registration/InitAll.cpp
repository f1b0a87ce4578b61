//===- InitAll.cpp - Register everything IABN provides --------------------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#include "IABN/InitAllDialects.h"
#include "IABN/InitAllPasses.h"

#include "IABN/Conversion/Passes.h"
#include "IABN/Dialect/IABN/Transforms/BufferizableOpInterfaceImpl.h"
#include "IABN/Dialect/IABN/IR/IABNDialect.h"
#include "IABN/Pipelines/Pipelines.h"
#include "IABN/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"

void mlir::iabn::registerAllDialects(DialectRegistry &registry) {
  registry.insert<IABNDialect>();
  registerBufferizableOpInterfaceExternalModels(registry);
}

void mlir::iabn::registerAllPasses() {
  registerIABNPasses();
  registerIABNConversionPasses();
  registerPipelines();
}
