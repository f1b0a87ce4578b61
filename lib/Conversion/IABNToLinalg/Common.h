//===- Common.h - Shared pieces of the IABN to linalg lowering --*- C++ -*-===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#ifndef IABN_LIB_CONVERSION_IABNTOLINALG_COMMON_H
#define IABN_LIB_CONVERSION_IABNTOLINALG_COMMON_H

#include "IABN/Conversion/IABNCommon/Math.h"
#include "IABN/Dialect/IABN/IR/IABNOps.h"

#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

namespace mlir {
class RewritePatternSet;

namespace iabn {
namespace lowering {

// The scalar math comes from the shared lowering library.
using namespace ::mlir::iabn::common;

//===----------------------------------------------------------------------===//
// Tensor-level building blocks
//===----------------------------------------------------------------------===//

/// The data layout of a normalizing op.
struct Layout {
  Layout(RankedTensorType dataType, int64_t featureDim);

  RankedTensorType dataType;
  int64_t featureDim;
  /// f64 for f64 data, f32 otherwise (common::getComputeType).
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
