//===- BufferizableOpInterfaceImpl.cpp - IABN bufferization ---------------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//
//
// One-Shot Bufferize models of the fused InPlace-ABN ops. Each op has one
// "in-place" operand whose buffer its large result takes:
//
//   iabn.inplace_abn       input (x)        -> output (z)
//   iabn.inplace_abn_grad  grad_output (dz) -> grad_input (dx)
//
// The operand bufferizes to a read and a write and is equivalent to the
// result, exactly like the destination of a destination-style op. One-Shot
// Analysis then reuses the buffer when nothing reads the tensor afterwards
// and inserts a copy otherwise. The per-channel results get new buffers.
//
//===----------------------------------------------------------------------===//

#include "IABN/Dialect/IABN/Transforms/BufferizableOpInterfaceImpl.h"
#include "IABN/Dialect/IABN/IR/IABNDialect.h"
#include "IABN/Dialect/IABN/IR/IABNOps.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::bufferization;
using namespace mlir::iabn;

namespace {

/// Index of the in-place operand and of the result that takes its buffer.
struct InPlaceIndices {
  unsigned operand;
  unsigned result;
};

template <typename OpTy> InPlaceIndices getInPlaceIndices(OpTy op);

template <> InPlaceIndices getInPlaceIndices(InPlaceABNOp op) {
  return {op.getInputMutable().getOperandNumber(),
          cast<OpResult>(op.getOutput()).getResultNumber()};
}

template <> InPlaceIndices getInPlaceIndices(InPlaceABNGradOp op) {
  return {op.getGradOutputMutable().getOperandNumber(),
          cast<OpResult>(op.getGradInput()).getResultNumber()};
}

/// Allocates a buffer for a per-channel result; its dynamic extent (if any)
/// is the channel dimension of `data`.
static FailureOr<Value>
allocateChannelBuffer(RewriterBase &rewriter, Location loc, Value result,
                      Value data, int64_t featureDim,
                      const BufferizationOptions &opts) {
  auto type = cast<RankedTensorType>(result.getType());
  auto memrefType = MemRefType::get(type.getShape(), type.getElementType());
  SmallVector<Value> dynamicSizes;
  if (type.isDynamicDim(0))
    dynamicSizes.push_back(
        memref::DimOp::create(rewriter, loc, data, featureDim));
  return opts.createAlloc(rewriter, loc, memrefType, dynamicSizes);
}

/// Shared model for both fused ops.
template <typename OpTy>
struct FusedOpInterface
    : public BufferizableOpInterface::ExternalModel<FusedOpInterface<OpTy>,
                                                    OpTy> {
  bool bufferizesToMemoryRead(Operation *, OpOperand &,
                              const AnalysisState &) const {
    return true;
  }

  bool bufferizesToMemoryWrite(Operation *op, OpOperand &operand,
                               const AnalysisState &) const {
    return operand.getOperandNumber() ==
           getInPlaceIndices(cast<OpTy>(op)).operand;
  }

  AliasingValueList getAliasingValues(Operation *op, OpOperand &operand,
                                      const AnalysisState &) const {
    InPlaceIndices indices = getInPlaceIndices(cast<OpTy>(op));
    if (operand.getOperandNumber() != indices.operand)
      return {};
    return {{op->getResult(indices.result), BufferRelation::Equivalent}};
  }

  bool bufferizesToAllocation(Operation *op, Value value) const {
    return cast<OpResult>(value).getResultNumber() !=
           getInPlaceIndices(cast<OpTy>(op)).result;
  }

  FailureOr<BufferLikeType>
  getBufferType(Operation *op, Value value, const BufferizationOptions &options,
                const BufferizationState &state,
                SmallVector<Value> &invocationStack) const {
    InPlaceIndices indices = getInPlaceIndices(cast<OpTy>(op));
    auto result = cast<OpResult>(value);
    if (result.getResultNumber() == indices.result)
      return bufferization::getBufferType(op->getOperand(indices.operand),
                                          options, state, invocationStack);
    auto type = cast<RankedTensorType>(value.getType());
    return cast<BufferLikeType>(
        MemRefType::get(type.getShape(), type.getElementType()));
  }

  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const;
};

/// Returns the buffer of an optional operand, or a null value if absent.
static FailureOr<Value> getOptionalBuffer(RewriterBase &rewriter, Value value,
                                          const BufferizationOptions &options,
                                          const BufferizationState &state) {
  if (!value)
    return Value();
  return getBuffer(rewriter, value, options, state);
}

template <>
LogicalResult
FusedOpInterface<InPlaceABNOp>::bufferize(Operation *op, RewriterBase &rewriter,
                                          const BufferizationOptions &options,
                                          BufferizationState &state) const {
  auto abn = cast<InPlaceABNOp>(op);
  Location loc = abn.getLoc();
  FailureOr<Value> input = getBuffer(rewriter, abn.getInput(), options, state);
  FailureOr<Value> scale =
      getOptionalBuffer(rewriter, abn.getScale(), options, state);
  FailureOr<Value> offset =
      getOptionalBuffer(rewriter, abn.getOffset(), options, state);
  if (failed(input) || failed(scale) || failed(offset))
    return failure();
  FailureOr<Value> mean = allocateChannelBuffer(
      rewriter, loc, abn.getMean(), *input, abn.getFeatureDim(), options);
  FailureOr<Value> variance = allocateChannelBuffer(
      rewriter, loc, abn.getVariance(), *input, abn.getFeatureDim(), options);
  if (failed(mean) || failed(variance))
    return failure();
  InPlaceABNBufferOp::create(rewriter, loc, *input, *scale, *offset, *mean,
                             *variance, abn.getActivationAttr(),
                             abn.getFeatureDimAttr(), abn.getEpsilonAttr(),
                             abn.getGammaModeAttr());
  replaceOpWithBufferizedValues(rewriter, op, {*input, *mean, *variance});
  return success();
}

template <>
LogicalResult FusedOpInterface<InPlaceABNGradOp>::bufferize(
    Operation *op, RewriterBase &rewriter, const BufferizationOptions &options,
    BufferizationState &state) const {
  auto grad = cast<InPlaceABNGradOp>(op);
  Location loc = grad.getLoc();
  FailureOr<Value> gradOutput =
      getBuffer(rewriter, grad.getGradOutput(), options, state);
  FailureOr<Value> output =
      getBuffer(rewriter, grad.getOutput(), options, state);
  FailureOr<Value> scale =
      getOptionalBuffer(rewriter, grad.getScale(), options, state);
  FailureOr<Value> offset =
      getOptionalBuffer(rewriter, grad.getOffset(), options, state);
  FailureOr<Value> variance =
      getBuffer(rewriter, grad.getVariance(), options, state);
  if (failed(gradOutput) || failed(output) || failed(scale) || failed(offset) ||
      failed(variance))
    return failure();
  FailureOr<Value> gradScale =
      allocateChannelBuffer(rewriter, loc, grad.getGradScale(), *output,
                            grad.getFeatureDim(), options);
  FailureOr<Value> gradOffset =
      allocateChannelBuffer(rewriter, loc, grad.getGradOffset(), *output,
                            grad.getFeatureDim(), options);
  if (failed(gradScale) || failed(gradOffset))
    return failure();
  InPlaceABNGradBufferOp::create(
      rewriter, loc, *gradOutput, *output, *scale, *offset, *variance,
      *gradScale, *gradOffset, grad.getActivationAttr(),
      grad.getFeatureDimAttr(), grad.getEpsilonAttr(), grad.getGammaModeAttr());
  replaceOpWithBufferizedValues(rewriter, op,
                                {*gradOutput, *gradScale, *gradOffset});
  return success();
}

/// Model of the non-fused ops (batch norm, activation and their gradients,
/// inference, running statistics): they read their operands, write none of
/// them and allocate their results, as their linalg lowering does. The model
/// lets One-Shot Analysis reason precisely about graphs that still contain
/// them (the rewrite predicts the in-place decisions with it); bufferizing
/// them directly is refused, since they lower through convert-iabn-to-linalg.
template <typename OpTy>
struct ReadOnlyOpInterface
    : public BufferizableOpInterface::ExternalModel<ReadOnlyOpInterface<OpTy>,
                                                    OpTy> {
  bool bufferizesToMemoryRead(Operation *, OpOperand &,
                              const AnalysisState &) const {
    return true;
  }
  bool bufferizesToMemoryWrite(Operation *, OpOperand &,
                               const AnalysisState &) const {
    return false;
  }
  AliasingValueList getAliasingValues(Operation *, OpOperand &,
                                      const AnalysisState &) const {
    return {};
  }
  bool bufferizesToAllocation(Operation *, Value) const { return true; }
  LogicalResult bufferize(Operation *op, RewriterBase &,
                          const BufferizationOptions &,
                          BufferizationState &) const {
    return op->emitOpError()
           << "is bufferized through its linalg form: run "
              "--convert-iabn-to-linalg before One-Shot Bufferize";
  }
};

template <typename... OpTys> void attachReadOnlyModels(MLIRContext *ctx) {
  (OpTys::template attachInterface<ReadOnlyOpInterface<OpTys>>(*ctx), ...);
}

} // namespace

void mlir::iabn::registerBufferizableOpInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, IABNDialect *) {
    InPlaceABNOp::attachInterface<FusedOpInterface<InPlaceABNOp>>(*ctx);
    InPlaceABNGradOp::attachInterface<FusedOpInterface<InPlaceABNGradOp>>(*ctx);
    attachReadOnlyModels<BatchNormTrainOp, BatchNormTrainGradOp,
                         BatchNormInferenceOp, RunningStatsUpdateOp,
                         ActivationOp, ActivationGradOp>(ctx);
    ctx->loadDialect<memref::MemRefDialect>();
  });
}
