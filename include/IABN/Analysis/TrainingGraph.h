//===- TrainingGraph.h - Forward/backward structure of a graph --*- C++ -*-===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//
//
// The analysis shared by the rewrite and the memory report: which ops of a
// joint forward+backward function belong to the backward (BackwardOpSet; not
// to be confused with mlir::getBackwardSlice, the use-def slice), and tensor
// byte sizes.
//
//===----------------------------------------------------------------------===//

#ifndef IABN_ANALYSIS_TRAININGGRAPH_H
#define IABN_ANALYSIS_TRAININGGRAPH_H

#include "mlir/IR/Operation.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/DenseSet.h"
#include <optional>

namespace mlir {
namespace iabn {

/// The unit attribute that marks a function argument as an incoming gradient
/// (a seed of the backward).
constexpr StringLiteral kGradientArgAttrName = "iabn.gradient";

/// The unit attribute that marks an external function whose results are new
/// buffers, never aliases of its operands (the contract of the stand-ins of
/// an imported graph: functionalized framework ops). The rewrite trusts it
/// when it follows the aliases of x and dz back to the arguments.
constexpr StringLiteral kFreshResultsAttrName = "iabn.fresh_results";

/// The unit attribute on an activation that the store-y strategy recomputes
/// in the backward from the stored y. It keeps CSE from merging it with the
/// forward's activation of the same y, which would keep z alive across the
/// forward-backward boundary again.
constexpr StringLiteral kRematerializedAttrName = "iabn.rematerialized";

/// Whether `op` is one of the dialect's gradient ops.
bool isGradientOp(Operation *op);

/// The ops of a function that belong to the backward: every op that
/// transitively consumes a gradient, where gradients are the function
/// arguments marked `iabn.gradient` and the results of the iabn gradient
/// ops. An op whose nested region holds a backward op is backward too.
class BackwardOpSet {
public:
  explicit BackwardOpSet(FunctionOpInterface func);

  /// Whether `op` is (or is nested in) a backward op. Gradient ops created
  /// after the analysis count as backward.
  bool isBackward(Operation *op) const;

  /// The first op of the function body's entry block that is backward, or
  /// null if the function has no backward.
  Operation *getBoundary() const { return boundary; }

private:
  llvm::DenseSet<Operation *> ops;
  Operation *boundary = nullptr;
};

/// A byte count that never wraps: a size or sum beyond int64 becomes
/// "overflow", which stays so through further arithmetic and compares larger
/// than any number.
class ByteCount {
public:
  ByteCount() = default;
  explicit ByteCount(int64_t value) : value(value) {}
  static ByteCount overflowed() {
    ByteCount count;
    count.overflow = true;
    return count;
  }
  bool isOverflow() const { return overflow; }
  /// The value; only meaningful when not an overflow.
  int64_t getValue() const { return value; }
  ByteCount &operator+=(ByteCount other);
  ByteCount &operator-=(ByteCount other);
  bool operator>(ByteCount other) const;
  bool isZero() const { return !overflow && value == 0; }

private:
  int64_t value = 0;
  bool overflow = false;
};

/// The size in bytes of a statically shaped tensor (an overflow when it does
/// not fit in int64), or nullopt for dynamic shapes and non-tensor types.
std::optional<ByteCount> getTensorBytes(Type type);

} // namespace iabn
} // namespace mlir

#endif // IABN_ANALYSIS_TRAININGGRAPH_H
