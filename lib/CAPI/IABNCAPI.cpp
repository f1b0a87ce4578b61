//===- IABNCAPI.cpp - C API of the IABN compiler --------------------------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#include "IABN-c/IABN.h"

#include "IABN/InitAllDialects.h"
#include "IABN/InitAllPasses.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

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
    mlir::registerAllPasses();
    mlir::iabn::registerAllPasses();
  });
  *outIR = nullptr;
  *outDiagnostics = nullptr;
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  iabn::registerAllDialects(registry);
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
