//===- iabn-opt.cpp - IABN optimizer driver -------------------------------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//
//
// mlir-opt with every upstream dialect, extension and pass plus IABN's.
//
//===----------------------------------------------------------------------===//

#include "IABN/InitAllDialects.h"
#include "IABN/InitAllPasses.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::iabn::registerAllPasses();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::iabn::registerAllDialects(registry);
  // gpu-module-to-binary translates the GPU kernels to LLVM IR.
  mlir::registerAllToLLVMIRTranslations(registry);

  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "IABN optimizer driver (InPlace-ABN)\n", registry));
}
