//===- Common.h - Shared pieces of the IABN to linalg lowering --*- C++ -*-===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#ifndef IABN_LIB_CONVERSION_IABNTOLINALG_COMMON_H
#define IABN_LIB_CONVERSION_IABNTOLINALG_COMMON_H

#include "IABN/Dialect/IABN/IR/IABNOps.h"

#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

namespace mlir {
class RewritePatternSet;

namespace iabn {
namespace lowering {

//===----------------------------------------------------------------------===//
// Scalar math (inside linalg bodies); values are in the compute type.
//===----------------------------------------------------------------------===//

/// A floating-point constant of type `type`.
Value constantFloat(OpBuilder &b, Location loc, Type type, double value);
/// Extends `value` to `type` (f16/bf16/f32 -> f32/f64), or returns it.
Value toCompute(OpBuilder &b, Location loc, Value value, Type type);
/// Truncates `value` to `type` for storage, or returns it.
Value toStorage(OpBuilder &b, Location loc, Value value, Type type);

/// The same four functions with the activation's parameter (slope, alpha)
/// given as a value of the compute type, e.g. a kernel argument.
Value emitActivation(OpBuilder &b, Location loc, ActivationKind kind,
                     Value param, Value y);
Value emitActivationInverse(OpBuilder &b, Location loc, ActivationKind kind,
                            Value param, Value z);
Value emitDerivativeFromInput(OpBuilder &b, Location loc, ActivationKind kind,
                              Value param, Value y);
Value emitDerivativeFromOutput(OpBuilder &b, Location loc, ActivationKind kind,
                               Value param, Value z);

/// z = phi(y).
Value emitActivation(OpBuilder &b, Location loc, ActivationAttr act, Value y);
/// y = phi^-1(z) for an invertible activation.
Value emitActivationInverse(OpBuilder &b, Location loc, ActivationAttr act,
                            Value z);
/// phi'(y) from the activation input.
Value emitDerivativeFromInput(OpBuilder &b, Location loc, ActivationAttr act,
                              Value y);
/// phi' from the activation output z.
Value emitDerivativeFromOutput(OpBuilder &b, Location loc, ActivationAttr act,
                               Value z);

//===----------------------------------------------------------------------===//
// Tensor-level building blocks
//===----------------------------------------------------------------------===//

/// The data layout of a normalizing op.
struct Layout {
  Layout(RankedTensorType dataType, int64_t featureDim);

  RankedTensorType dataType;
  int64_t featureDim;
  /// f64 for f64 data, f32 otherwise.
  FloatType computeType;

  int64_t getRank() const { return dataType.getRank(); }
  AffineMap getDataMap(MLIRContext *ctx) const;
  AffineMap getChannelMap(MLIRContext *ctx) const;
};

/// The body of a per-element computation: data values and per-channel values
/// (both in storage types, as the block arguments give them) and, for
/// element-wise maps, the destination value. Returns the values to yield
/// (element-wise) or to accumulate (reductions).
using BodyFn =
    function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange data,
                                    ValueRange channels, ValueRange outputs)>;

/// The number of channels (index).
Value getChannelCount(OpBuilder &b, Location loc, Value data,
                      int64_t featureDim);

/// The number of values per channel `m`, as a compute-type float. With
/// `training`, checks at run time that m >= 2 when it is not static.
Value getSampleCount(OpBuilder &b, Location loc, Value data,
                     const Layout &layout, bool training);

/// Sums `body`'s terms per channel over all other dimensions; returns one
/// tensor<C x compute type> per term.
SmallVector<Value> reducePerChannel(OpBuilder &b, Location loc,
                                    const Layout &layout, ValueRange data,
                                    ValueRange channels, unsigned numTerms,
                                    BodyFn body);

/// An element-wise map over the data writing into `init` (destination-
/// passing style): returns the new tensor.
Value mapData(OpBuilder &b, Location loc, const Layout &layout, ValueRange data,
              ValueRange channels, Value init, BodyFn body);

/// An element-wise map over 1-d per-channel tensors producing tensors of
/// `resultTypes` element types; `shapeLike` gives the extent.
SmallVector<Value> mapChannels(OpBuilder &b, Location loc, Value shapeLike,
                               ValueRange inputs, TypeRange resultTypes,
                               BodyFn body);

/// A new (uninitialized) tensor shaped like `like`.
Value emptyLike(OpBuilder &b, Location loc, Value like);

/// Patterns of the two op families.
void populateBatchNormPatterns(RewritePatternSet &patterns);
void populateActivationPatterns(RewritePatternSet &patterns);

} // namespace lowering
} // namespace iabn
} // namespace mlir

#endif // IABN_LIB_CONVERSION_IABNTOLINALG_COMMON_H
