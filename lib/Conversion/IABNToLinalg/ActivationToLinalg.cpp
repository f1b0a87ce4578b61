//===- ActivationToLinalg.cpp - Lower activations and their gradients -----===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#include "Common.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::iabn;
using namespace mlir::iabn::lowering;

namespace {

/// A layout for element-wise maps over any rank: the "channel" dimension is
/// irrelevant since no per-channel values are passed.
Layout getElementwiseLayout(RankedTensorType type) {
  return Layout(type, /*featureDim=*/0);
}

struct ActivationLowering : OpRewritePattern<ActivationOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ActivationOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getInput().getType());
    Type storage = type.getElementType();
    Type ct = getComputeType(storage);
    ActivationAttr act = op.getActivation();
    Value z =
        mapData(rewriter, loc, getElementwiseLayout(type), op.getInput(), {},
                emptyLike(rewriter, loc, op.getInput()),
                [&](OpBuilder &nb, Location nloc, ValueRange in, ValueRange,
                    ValueRange) -> SmallVector<Value> {
                  Value y = toCompute(nb, nloc, in[0], ct);
                  return {toStorage(nb, nloc, emitActivation(nb, nloc, act, y),
                                    storage)};
                });
    rewriter.replaceOp(op, z);
    return success();
  }
};

struct ActivationGradLowering : OpRewritePattern<ActivationGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ActivationGradOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getSource().getType());
    Type storage = type.getElementType();
    Type ct = getComputeType(storage);
    ActivationAttr act = op.getActivation();
    bool fromOutput = op.getSelfIsResult();
    Value grad = mapData(
        rewriter, loc, getElementwiseLayout(type),
        {op.getGradOutput(), op.getSource()}, {},
        emptyLike(rewriter, loc, op.getSource()),
        [&](OpBuilder &nb, Location nloc, ValueRange in, ValueRange,
            ValueRange) -> SmallVector<Value> {
          Value g = toCompute(nb, nloc, in[0], ct);
          Value source = toCompute(nb, nloc, in[1], ct);
          Value derivative =
              fromOutput ? emitDerivativeFromOutput(nb, nloc, act, source)
                         : emitDerivativeFromInput(nb, nloc, act, source);
          return {toStorage(nb, nloc,
                            arith::MulFOp::create(nb, nloc, g, derivative),
                            storage)};
        });
    rewriter.replaceOp(op, grad);
    return success();
  }
};

} // namespace

void lowering::populateActivationPatterns(RewritePatternSet &patterns) {
  patterns.add<ActivationLowering, ActivationGradLowering>(
      patterns.getContext());
}
