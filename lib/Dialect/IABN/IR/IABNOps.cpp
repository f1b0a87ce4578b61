//===- IABNOps.cpp - IABN operations --------------------------------------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#include "IABN/Dialect/IABN/IR/IABNOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/Support/MathExtras.h"
#include <cmath>

using namespace mlir;
using namespace mlir::iabn;

//===----------------------------------------------------------------------===//
// Shared verification
//===----------------------------------------------------------------------===//

namespace {
/// A per-channel operand or result to check against the data layout.
struct ChannelValue {
  StringRef name;
  Value value; // May be null for an absent optional operand.
};
} // namespace

/// Verifies the layout shared by every normalizing op: `data` has rank >= 2
/// and `featureDim` names one of its dimensions; each per-channel value is
/// 1-d with the channel extent, f32 (or f64 when the data is f64), and all
/// of them have the same element type.
static LogicalResult verifyChannelLayout(Operation *op, ShapedType data,
                                         int64_t featureDim,
                                         ArrayRef<ChannelValue> channels) {
  int64_t rank = data.getRank();
  if (rank < 2)
    return op->emitOpError("expects data of rank >= 2 (batch, channels, ...), "
                           "got rank ")
           << rank;
  if (featureDim < 0 || featureDim >= rank)
    return op->emitOpError("feature_dim ")
           << featureDim << " is out of range for data of rank " << rank;
  // The lowerings compute element and sample counts in int64/index: the
  // static part of the shape must not wrap.
  int64_t elements = 1;
  for (int64_t size : data.getShape())
    if (!ShapedType::isDynamic(size) &&
        llvm::MulOverflow(elements, size, elements))
      return op->emitOpError("data of shape ")
             << data << " has more than 2^63-1 elements";
  int64_t numChannels = data.getDimSize(featureDim);
  Type firstElementType;
  for (const ChannelValue &channel : channels) {
    if (!channel.value)
      continue;
    auto type = cast<ShapedType>(channel.value.getType());
    Type elementType = type.getElementType();
    if (elementType.isF64() && !data.getElementType().isF64())
      return op->emitOpError("per-channel '")
             << channel.name << "' is f64, which requires f64 data, got "
             << data.getElementType();
    if (!firstElementType)
      firstElementType = elementType;
    else if (elementType != firstElementType)
      return op->emitOpError("per-channel '")
             << channel.name << "' has element type " << elementType
             << " but other per-channel values have " << firstElementType;
    int64_t extent = type.getDimSize(0);
    if (!ShapedType::isDynamic(extent) && !ShapedType::isDynamic(numChannels) &&
        extent != numChannels)
      return op->emitOpError("per-channel '")
             << channel.name << "' has " << extent
             << " elements but the data has " << numChannels
             << " channels (dimension " << featureDim << ")";
  }
  return success();
}

/// epsilon >= 0 (finite) on the standard batch-norm ops, as StableHLO's
/// batch_norm_training allows; the fused ops need epsilon > 0 (`fused`).
static LogicalResult verifyEpsilon(Operation *op, double epsilon,
                                   bool fused = false) {
  if (!std::isfinite(epsilon) || epsilon < 0.0)
    return op->emitOpError("epsilon must be a finite value >= 0, got ")
           << epsilon;
  if (fused && !(epsilon > 0.0))
    return op->emitOpError(
               "epsilon must be > 0 on the fused ops, got ")
           << epsilon
           << ": gamma_hat (gamma_mode) must stay non-zero so that the "
              "backward can recover x_hat = (y - offset) / gamma_hat";
  return success();
}

/// Training-mode statistics need more than one value per channel, as in
/// PyTorch; statically known sample counts are checked here.
static LogicalResult verifyTrainingSamples(Operation *op, ShapedType data,
                                           int64_t featureDim) {
  int64_t samples = 1;
  for (auto [dim, size] : llvm::enumerate(data.getShape())) {
    if (static_cast<int64_t>(dim) == featureDim)
      continue;
    if (ShapedType::isDynamic(size))
      return success();
    samples *= size;
  }
  if (samples < 2)
    return op->emitOpError("training-mode batch norm needs more than one "
                           "value per channel, got ")
           << samples;
  return success();
}

/// The fused ops recover the activation input from its output.
static LogicalResult verifyInvertible(Operation *op,
                                      ActivationAttr activation) {
  if (!activation.isInvertible())
    return op->emitOpError("activation ")
           << activation
           << " is not invertible; the fused ops accept identity, "
              "leaky_relu with slope > 0 and elu with alpha > 0";
  return success();
}

/// Everything a fused forward or backward checks, on tensors or buffers.
template <typename OpTy>
static LogicalResult verifyFused(OpTy op, ShapedType data,
                                 ArrayRef<ChannelValue> channels) {
  if (failed(verifyChannelLayout(op, data, op.getFeatureDim(), channels)) ||
      failed(verifyEpsilon(op, op.getEpsilon().convertToDouble(),
                           /*fused=*/true)) ||
      failed(verifyTrainingSamples(op, data, op.getFeatureDim())))
    return failure();
  return verifyInvertible(op, op.getActivation());
}

//===----------------------------------------------------------------------===//
// BatchNormTrainOp
//===----------------------------------------------------------------------===//

LogicalResult BatchNormTrainOp::verify() {
  auto data = getInput().getType();
  if (failed(verifyChannelLayout(*this, data, getFeatureDim(),
                                 {{"scale", getScale()},
                                  {"offset", getOffset()},
                                  {"mean", getMean()}})) ||
      failed(verifyEpsilon(*this, getEpsilon().convertToDouble())))
    return failure();
  return verifyTrainingSamples(*this, data, getFeatureDim());
}

//===----------------------------------------------------------------------===//
// BatchNormTrainGradOp
//===----------------------------------------------------------------------===//

LogicalResult BatchNormTrainGradOp::verify() {
  auto data = getInput().getType();
  if (failed(
          verifyChannelLayout(*this, data, getFeatureDim(),
                              {{"scale", getScale()}, {"mean", getMean()}})) ||
      failed(verifyEpsilon(*this, getEpsilon().convertToDouble())))
    return failure();
  return verifyTrainingSamples(*this, data, getFeatureDim());
}

//===----------------------------------------------------------------------===//
// BatchNormInferenceOp
//===----------------------------------------------------------------------===//

LogicalResult BatchNormInferenceOp::verify() {
  if (failed(verifyChannelLayout(*this, getInput().getType(), getFeatureDim(),
                                 {{"scale", getScale()},
                                  {"offset", getOffset()},
                                  {"running_mean", getRunningMean()}})))
    return failure();
  return verifyEpsilon(*this, getEpsilon().convertToDouble());
}

//===----------------------------------------------------------------------===//
// RunningStatsUpdateOp
//===----------------------------------------------------------------------===//

LogicalResult RunningStatsUpdateOp::verify() {
  if (getSampleCount() < 2)
    return emitOpError("sample_count must be >= 2 for the unbiased variance "
                       "m / (m - 1), got ")
           << getSampleCount();
  std::optional<APFloat> momentum = getMomentum();
  if (momentum && getNumBatchesTracked())
    return emitOpError("takes either a 'momentum' attribute (exponential "
                       "average) or a 'count' operand (cumulative average), "
                       "not both");
  if (!momentum && !getNumBatchesTracked())
    return emitOpError("needs a 'momentum' attribute (exponential average) "
                       "or a 'count' operand (cumulative average)");
  if (momentum) {
    double value = momentum->convertToDouble();
    if (!(value >= 0.0 && value <= 1.0))
      return emitOpError("momentum must be in [0, 1], got ") << value;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// ActivationGradOp
//===----------------------------------------------------------------------===//

LogicalResult ActivationGradOp::verify() {
  if (getSelfIsResult() && !getActivation().isDifferentiableFromOutput())
    return emitOpError("cannot compute the derivative of ")
           << getActivation()
           << " from its output (self_is_result): leaky_relu needs slope "
              ">= 0, elu needs alpha >= 0, and silu, gelu and hardswish "
              "need their input";
  return success();
}

//===----------------------------------------------------------------------===//
// InPlaceABNOp / InPlaceABNGradOp
//===----------------------------------------------------------------------===//

LogicalResult InPlaceABNOp::verify() {
  return verifyFused(
      *this, getInput().getType(),
      {{"scale", getScale()}, {"offset", getOffset()}, {"mean", getMean()}});
}

LogicalResult InPlaceABNGradOp::verify() {
  return verifyFused(*this, getOutput().getType(),
                     {{"scale", getScale()},
                      {"offset", getOffset()},
                      {"variance", getVariance()}});
}

//===----------------------------------------------------------------------===//
// InPlaceABNBufferOp / InPlaceABNGradBufferOp
//===----------------------------------------------------------------------===//

LogicalResult InPlaceABNBufferOp::verify() {
  return verifyFused(*this, getInput().getType(),
                     {{"scale", getScale()},
                      {"offset", getOffset()},
                      {"mean", getMean()},
                      {"variance", getVariance()}});
}

LogicalResult InPlaceABNGradBufferOp::verify() {
  MemRefType gradType = getGradOutput().getType();
  MemRefType outputType = getOutput().getType();
  if (gradType.getShape() != outputType.getShape() ||
      gradType.getElementType() != outputType.getElementType())
    return emitOpError("grad_output ")
           << gradType << " and output " << outputType
           << " must have the same shape and element type";
  return verifyFused(*this, outputType,
                     {{"scale", getScale()},
                      {"offset", getOffset()},
                      {"variance", getVariance()},
                      {"grad_scale", getGradScale()},
                      {"grad_offset", getGradOffset()}});
}

#define GET_OP_CLASSES
#include "IABN/Dialect/IABN/IR/IABNOps.cpp.inc"
