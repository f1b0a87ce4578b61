//===- iabn-plugin.cpp - IABN plugin for stock mlir-opt -------------------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//
//
// Entry points that the stock `mlir-opt` looks up in a shared object passed
// with `--load-dialect-plugin` / `--load-pass-plugin`.
//
//===----------------------------------------------------------------------===//

#include "IABN/InitAllDialects.h"
#include "IABN/InitAllPasses.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/Plugins/DialectPlugin.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "llvm/Config/llvm-config.h"

using namespace mlir;

extern "C" LLVM_ATTRIBUTE_WEAK DialectPluginLibraryInfo
mlirGetDialectPluginInfo() {
  return {
      MLIR_PLUGIN_API_VERSION, "IABN", LLVM_VERSION_STRING,
      [](DialectRegistry *registry) { iabn::registerAllDialects(*registry); }};
}

extern "C" LLVM_ATTRIBUTE_WEAK PassPluginLibraryInfo mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "IABN", LLVM_VERSION_STRING,
          []() { iabn::registerAllPasses(); }};
}
