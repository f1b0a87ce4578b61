//===- IABNCAPI.cpp - C API of the IABN compiler --------------------------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#include "IABN-c/IABN.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#ifdef IABN_CAPI_STANDALONE
// The compiler core of the Python package (libIABNCAPIStandalone.so): MLIR
// linked in statically, with the dialects of the graphs the package makes
// and front-ends emit (func, arith, math, tensor, linalg, scf, cf, memref,
// bufferization) and the passes of the rewrite (--iabn-pipeline, the IABN
// passes, upstream's generic transforms), so that it needs no LLVM at run
// time. The lowerings (iabn-cpu-pipeline, iabn-gpu-pipeline) are iabn-opt's.
#include "IABN/Dialect/IABN/IR/IABNDialect.h"
#include "IABN/Dialect/IABN/Transforms/BufferizableOpInterfaceImpl.h"
#include "IABN/Pipelines/Pipelines.h"
#include "IABN/Transforms/Passes.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Affine/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/Arith/Transforms/BufferDeallocationOpInterfaceImpl.h"
#include "mlir/Dialect/Arith/Transforms/BufferViewFlowOpInterfaceImpl.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/ControlFlow/Transforms/BufferDeallocationOpInterfaceImpl.h"
#include "mlir/Dialect/ControlFlow/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Func/Extensions/AllExtensions.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/AllInterfaces.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/IR/MemRefMemorySlot.h"
#include "mlir/Dialect/MemRef/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/MemRef/Transforms/AllocationOpInterfaceImpl.h"
#include "mlir/Dialect/MemRef/Transforms/BufferViewFlowOpInterfaceImpl.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/SCF/Transforms/BufferDeallocationOpInterfaceImpl.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/IR/TensorInferTypeOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/IR/TensorTilingInterfaceImpl.h"
#include "mlir/Dialect/Tensor/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/Transforms/SubsetInsertionOpInterfaceImpl.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/Interfaces/CastInterfaces.h"
#include "mlir/Transforms/Passes.h"
#else
#include "IABN/InitAllDialects.h"
#include "IABN/InitAllPasses.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#endif

#include <cstdlib>
#include <cstring>
#include <mutex>

using namespace mlir;

namespace {

char *copyString(const std::string &s) {
  char *out = static_cast<char *>(std::malloc(s.size() + 1));
  std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

const char *severityName(DiagnosticSeverity severity) {
  switch (severity) {
  case DiagnosticSeverity::Error:
    return "error";
  case DiagnosticSeverity::Warning:
    return "warning";
  case DiagnosticSeverity::Remark:
    return "remark";
  case DiagnosticSeverity::Note:
    return "note";
  }
  return "unknown";
}

} // namespace

extern "C" int iabn_run_pipeline(const char *ir, const char *pipeline,
                                 char **outIR, char **outDiagnostics) {
  static std::once_flag registered;
  std::call_once(registered, [] {
#ifdef IABN_CAPI_STANDALONE
    mlir::registerTransformsPasses();
    mlir::iabn::registerIABNPasses();
    mlir::iabn::registerInPlaceABNPipeline();
#else
    mlir::registerAllPasses();
    mlir::iabn::registerAllPasses();
#endif
  });
  *outIR = nullptr;
  *outDiagnostics = nullptr;
  DialectRegistry registry;
#ifdef IABN_CAPI_STANDALONE
  // These dialects and their external models, as upstream's
  // registerAllDialects registers them (ops promise these interfaces).
  registry.insert<affine::AffineDialect, arith::ArithDialect,
                  bufferization::BufferizationDialect, cf::ControlFlowDialect,
                  func::FuncDialect, linalg::LinalgDialect, math::MathDialect,
                  memref::MemRefDialect, scf::SCFDialect, tensor::TensorDialect,
                  ub::UBDialect>();
  affine::registerValueBoundsOpInterfaceExternalModels(registry);
  arith::registerBufferDeallocationOpInterfaceExternalModels(registry);
  arith::registerBufferizableOpInterfaceExternalModels(registry);
  arith::registerBufferViewFlowOpInterfaceExternalModels(registry);
  arith::registerValueBoundsOpInterfaceExternalModels(registry);
  bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(
      registry);
  builtin::registerCastOpInterfaceExternalModels(registry);
  cf::registerBufferizableOpInterfaceExternalModels(registry);
  cf::registerBufferDeallocationOpInterfaceExternalModels(registry);
  linalg::registerAllDialectInterfaceImplementations(registry);
  memref::registerAllocationOpInterfaceExternalModels(registry);
  memref::registerBufferViewFlowOpInterfaceExternalModels(registry);
  memref::registerValueBoundsOpInterfaceExternalModels(registry);
  memref::registerMemorySlotExternalModels(registry);
  scf::registerBufferDeallocationOpInterfaceExternalModels(registry);
  scf::registerBufferizableOpInterfaceExternalModels(registry);
  scf::registerValueBoundsOpInterfaceExternalModels(registry);
  tensor::registerBufferizableOpInterfaceExternalModels(registry);
  tensor::registerInferTypeOpInterfaceExternalModels(registry);
  tensor::registerSubsetOpInterfaceExternalModels(registry);
  tensor::registerTilingInterfaceExternalModels(registry);
  tensor::registerValueBoundsOpInterfaceExternalModels(registry);
  func::registerAllExtensions(registry);
  registry.insert<iabn::IABNDialect>();
  iabn::registerBufferizableOpInterfaceExternalModels(registry);
#else
  registerAllDialects(registry);
  registerAllExtensions(registry);
  iabn::registerAllDialects(registry);
#endif
  MLIRContext context(registry);
  context.printOpOnDiagnostic(false);

  std::string diagnostics;
  llvm::raw_string_ostream diagStream(diagnostics);
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    std::string location, message;
    llvm::raw_string_ostream(location) << diag.getLocation();
    llvm::raw_string_ostream(message) << diag;
    llvm::json::Object entry{{"severity", severityName(diag.getSeverity())},
                             {"location", location},
                             {"message", message}};
    diagStream << llvm::json::Value(std::move(entry)) << "\n";
    return success();
  });

  auto finish = [&](int status, const std::string &output) {
    diagStream.flush();
    *outDiagnostics = copyString(diagnostics);
    if (status == 0)
      *outIR = copyString(output);
    return status;
  };

  // Top-level ops without a module get an implicit one, as in mlir-opt.
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(ir, ParserConfig(&context), "input.mlir");
  if (!module)
    return finish(1, "");
  // The pipeline names its anchor ("builtin.module(...)"), as with
  // mlir-opt --pass-pipeline.
  std::string pipelineError;
  llvm::raw_string_ostream pipelineErrors(pipelineError);
  FailureOr<OpPassManager> parsed = parsePassPipeline(pipeline, pipelineErrors);
  if (failed(parsed)) {
    pipelineErrors.flush();
    emitError(UnknownLoc::get(&context))
        << "invalid pass pipeline: " << pipelineError;
    return finish(2, "");
  }
  PassManager pm(&context, parsed->getOpAnchorName());
  static_cast<OpPassManager &>(pm) = *parsed;
  if (failed(pm.run(*module)))
    return finish(3, "");
  std::string output;
  llvm::raw_string_ostream os(output);
  module->print(os);
  os.flush();
  return finish(0, output);
}

extern "C" void iabn_free(char *p) { std::free(p); }
