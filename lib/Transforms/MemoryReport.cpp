//===- MemoryReport.cpp - Saved-for-backward and peak tensor bytes --------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#include "IABN/Transforms/Passes.h"

#include "IABN/Dialect/IABN/IR/IABNOps.h"
#include "IABN/Analysis/TrainingGraph.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir {
namespace iabn {
#define GEN_PASS_DEF_MEMORYREPORTPASS
#include "IABN/Transforms/Passes.h.inc"
} // namespace iabn
} // namespace mlir

using namespace mlir;
using namespace mlir::iabn;

namespace {

/// One tensor defined at the top level of a function body.
struct TensorInfo {
  Value value;
  std::optional<ByteCount> bytes;
  unsigned def;     // index of the defining op
  unsigned lastUse; // index of the last (top-level ancestor of a) user
  /// Like lastUse, ignoring the function's terminator: values that are only
  /// returned are outputs, not tensors saved for the backward.
  unsigned lastComputeUse;
};

/// What the report says about one function.
struct FunctionReport {
  std::string name;
  /// Why the function was not analysed (empty if it was).
  std::string unsupported;
  bool hasBackward = false;
  std::vector<TensorInfo> tensors;
  /// Indices into `tensors`.
  SmallVector<unsigned> saved;
  /// Function arguments read by the backward: (argument number, bytes).
  SmallVector<std::pair<unsigned, std::optional<ByteCount>>> savedArgs;
  ByteCount savedArgBytes;
  ByteCount savedBytes;
  unsigned savedUnknown = 0;
  ByteCount peakBytes;
  Operation *peakOp = nullptr;
  unsigned unknownTensors = 0;
};

/// Whether result `value` of `op` may take the buffer of an operand that
/// dies at `op` (destination-style ops and the fused InPlace-ABN ops).
Value getReusedOperand(Operation *op, Value value) {
  auto result = cast<OpResult>(value);
  if (auto abn = dyn_cast<InPlaceABNOp>(op))
    return result == abn.getOutput() ? abn.getInput() : Value();
  if (auto grad = dyn_cast<InPlaceABNGradOp>(op))
    return result == grad.getGradInput() ? grad.getGradOutput() : Value();
  if (auto dps = dyn_cast<DestinationStyleOpInterface>(op))
    if (dps.hasPureTensorSemantics())
      return dps.getTiedOpOperand(result)->get();
  return Value();
}

std::string describeLoc(Location loc) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << loc;
  return text;
}

std::string describeType(Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << type;
  return text;
}

/// Formats a byte count as "N B (x.yz MiB)".
std::string formatBytes(ByteCount count) {
  if (count.isOverflow())
    return "overflow (more than 2^63-1 B)";
  int64_t bytes = count.getValue();
  std::string text;
  llvm::raw_string_ostream os(text);
  os << bytes << " B";
  if (bytes >= 1024)
    os << " (" << llvm::format("%.2f", bytes / (1024.0 * 1024.0)) << " MiB)";
  return text;
}

/// A byte count in JSON: a number, or the string "overflow".
llvm::json::Value toJson(ByteCount count) {
  if (count.isOverflow())
    return "overflow";
  return count.getValue();
}

struct MemoryReportPass
    : public iabn::impl::MemoryReportPassBase<MemoryReportPass> {
  using Base::Base;
  void runOnOperation() override;
};

FunctionReport analyze(FunctionOpInterface func) {
  FunctionReport report;
  std::vector<TensorInfo> &tensors = report.tensors;
  report.name = func.getName().str();
  Region &region = func.getFunctionBody();
  if (!region.hasOneBlock()) {
    report.unsupported = "body has " +
                         std::to_string(region.getBlocks().size()) +
                         " blocks; only single-block bodies (structured "
                         "control flow) are analysed";
    emitRemark(func.getLoc()) << "iabn-memory-report: function @" << report.name
                              << " not analysed: " << report.unsupported;
    return report;
  }
  Block &body = region.front();

  DenseMap<Operation *, unsigned> index;
  for (auto [i, op] : llvm::enumerate(body))
    index[&op] = i;

  for (Operation &op : body) {
    for (Value result : op.getResults()) {
      if (!isa<TensorType>(result.getType()))
        continue;
      // tensor.empty holds no data: its buffer is the one the destination-
      // style op that fills it produces.
      std::optional<ByteCount> bytes = isa<tensor::EmptyOp>(op)
                                           ? std::optional(ByteCount(0))
                                           : getTensorBytes(result.getType());
      TensorInfo info{result, bytes, index[&op], index[&op], index[&op]};
      for (Operation *user : result.getUsers()) {
        Operation *ancestor = body.findAncestorOpInBlock(*user);
        if (!ancestor)
          continue;
        info.lastUse = std::max(info.lastUse, index[ancestor]);
        if (!ancestor->hasTrait<OpTrait::IsTerminator>())
          info.lastComputeUse = std::max(info.lastComputeUse, index[ancestor]);
      }
      if (!info.bytes)
        ++report.unknownTensors;
      tensors.push_back(info);
    }
  }

  BackwardOpSet backward(func);
  if (Operation *boundary = backward.getBoundary()) {
    report.hasBackward = true;
    unsigned start = index[boundary];
    for (auto [i, info] : llvm::enumerate(tensors)) {
      if (info.def >= start || info.lastComputeUse < start ||
          (info.bytes && info.bytes->isZero()))
        continue;
      report.saved.push_back(i);
      if (info.bytes)
        report.savedBytes += *info.bytes;
      else
        ++report.savedUnknown;
    }
    // Arguments read by the backward (other than incoming gradients) must be
    // kept alive by the caller until then; reported apart, since parameters
    // (weights, gamma, beta) live on anyway.
    for (auto [i, arg] : llvm::enumerate(func.getArguments())) {
      if (!isa<TensorType>(arg.getType()) ||
          func.getArgAttr(i, kGradientArgAttrName))
        continue;
      bool readByBackward = llvm::any_of(arg.getUsers(), [&](Operation *user) {
        Operation *ancestor = body.findAncestorOpInBlock(*user);
        return ancestor && !ancestor->hasTrait<OpTrait::IsTerminator>() &&
               index[ancestor] >= start;
      });
      if (!readByBackward)
        continue;
      std::optional<ByteCount> bytes = getTensorBytes(arg.getType());
      report.savedArgs.push_back({static_cast<unsigned>(i), bytes});
      if (bytes)
        report.savedArgBytes += *bytes;
    }
  }

  // Live bytes at each op: tensors defined at or before it and used at or
  // after it (a prefix sum over interval end points), less the operands
  // whose buffer one of its results takes.
  DenseMap<Value, const TensorInfo *> infoOf;
  std::vector<ByteCount> delta(index.size() + 1);
  for (const TensorInfo &info : tensors) {
    infoOf[info.value] = &info;
    if (info.bytes) {
      delta[info.def] += *info.bytes;
      delta[info.lastUse + 1] -= *info.bytes;
    }
  }
  ByteCount running;
  for (Operation &op : body) {
    unsigned i = index[&op];
    running += delta[i];
    ByteCount live = running;
    for (Value result : op.getResults()) {
      Value reused = getReusedOperand(&op, result);
      const TensorInfo *operand = reused ? infoOf.lookup(reused) : nullptr;
      if (operand && operand->lastUse == i && operand->bytes)
        live -= *operand->bytes;
    }
    if (live > report.peakBytes || !report.peakOp) {
      report.peakBytes = live;
      report.peakOp = &op;
    }
  }
  return report;
}

void printText(raw_ostream &os, StringRef label,
               ArrayRef<FunctionReport> reports) {
  os << "=== IABN memory report";
  if (!label.empty())
    os << " (" << label << ")";
  os << " ===\n";
  for (const FunctionReport &report : reports) {
    os << "func @" << report.name << "\n";
    if (!report.unsupported.empty()) {
      os << "  not analysed: " << report.unsupported << "\n";
      continue;
    }
    if (!report.hasBackward) {
      os << "  saved for backward: none (no backward in this function)\n";
    } else {
      os << "  saved for backward: " << report.saved.size() << " tensors, "
         << formatBytes(report.savedBytes);
      if (report.savedUnknown)
        os << " + " << report.savedUnknown << " of unknown size";
      os << "\n";
      for (unsigned i : report.saved) {
        const TensorInfo *info = &report.tensors[i];
        auto result = cast<OpResult>(info->value);
        os << "    " << result.getOwner()->getName() << " #"
           << result.getResultNumber() << "  " << info->value.getType() << "  "
           << (info->bytes ? formatBytes(*info->bytes) : "unknown size") << "  "
           << result.getOwner()->getLoc() << "\n";
      }
      if (!report.savedArgs.empty())
        os << "  arguments read by the backward (kept by the caller): "
           << report.savedArgs.size() << ", "
           << formatBytes(report.savedArgBytes) << "\n";
      for (auto [number, bytes] : report.savedArgs)
        os << "    argument #" << number << "  "
           << (bytes ? formatBytes(*bytes) : "unknown size") << "\n";
    }
    os << "  peak live tensors: " << formatBytes(report.peakBytes);
    if (report.peakOp)
      os << " at '" << report.peakOp->getName() << "' "
         << report.peakOp->getLoc();
    os << "\n";
    if (report.unknownTensors)
      os << "  tensors of unknown size (dynamic shapes, not counted): "
         << report.unknownTensors << "\n";
  }
}

void printJson(raw_ostream &os, StringRef label,
               ArrayRef<FunctionReport> reports) {
  llvm::json::Array functions;
  for (const FunctionReport &report : reports) {
    llvm::json::Array saved;
    for (unsigned i : report.saved) {
      const TensorInfo *info = &report.tensors[i];
      auto result = cast<OpResult>(info->value);
      llvm::json::Object entry{
          {"op", result.getOwner()->getName().getStringRef().str()},
          {"result", static_cast<int64_t>(result.getResultNumber())},
          {"type", describeType(info->value.getType())},
          {"loc", describeLoc(result.getOwner()->getLoc())}};
      if (info->bytes)
        entry["bytes"] = toJson(*info->bytes);
      else
        entry["bytes"] = nullptr;
      saved.push_back(std::move(entry));
    }
    llvm::json::Array savedArgs;
    for (auto [number, bytes] : report.savedArgs) {
      llvm::json::Object entry{{"argument", static_cast<int64_t>(number)}};
      if (bytes)
        entry["bytes"] = toJson(*bytes);
      else
        entry["bytes"] = nullptr;
      savedArgs.push_back(std::move(entry));
    }
    if (!report.unsupported.empty()) {
      functions.push_back(llvm::json::Object{
          {"name", report.name}, {"not_analysed", report.unsupported}});
      continue;
    }
    llvm::json::Object function{
        {"name", report.name},
        {"has_backward", report.hasBackward},
        {"saved_tensors", static_cast<int64_t>(report.saved.size())},
        {"saved_arguments", std::move(savedArgs)},
        {"saved_argument_bytes", toJson(report.savedArgBytes)},
        {"saved_bytes", toJson(report.savedBytes)},
        {"saved_unknown_size", static_cast<int64_t>(report.savedUnknown)},
        {"saved", std::move(saved)},
        {"peak_live_bytes", toJson(report.peakBytes)},
        {"unknown_size_tensors", static_cast<int64_t>(report.unknownTensors)}};
    if (report.peakOp)
      function["peak_at"] = report.peakOp->getName().getStringRef().str() +
                            " " + describeLoc(report.peakOp->getLoc());
    functions.push_back(std::move(function));
  }
  llvm::json::Object root{{"label", label.str()},
                          {"functions", std::move(functions)}};
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root))) << "\n";
}

void MemoryReportPass::runOnOperation() {
  std::vector<FunctionReport> reports;
  for (auto func : getOperation().getOps<FunctionOpInterface>())
    if (!func.isExternal())
      reports.push_back(analyze(func));
  std::error_code error;
  std::unique_ptr<llvm::raw_fd_ostream> file;
  if (outputFile != "-") {
    file = std::make_unique<llvm::raw_fd_ostream>(outputFile, error,
                                                  llvm::sys::fs::OF_Append);
    if (error) {
      getOperation().emitError("iabn-memory-report: cannot open '")
          << outputFile << "': " << error.message();
      return signalPassFailure();
    }
  }
  raw_ostream &os = file ? static_cast<raw_ostream &>(*file) : llvm::outs();
  if (json)
    printJson(os, label, reports);
  else
    printText(os, label, reports);
  os.flush();
  markAllAnalysesPreserved();
}

} // namespace
