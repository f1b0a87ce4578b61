//===- BatchNormToLinalg.cpp - Lower the batch norm family ----------------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//
//
// batch_norm_train / _grad / _inference, running_stats_update and the fused
// inplace_abn / inplace_abn_grad. All arithmetic happens in the compute type
// (f32, or f64 for f64 data); statistics are computed with two passes
// (mean, then the sum of squared deviations), never as E[x^2] - E[x]^2.
//
//===----------------------------------------------------------------------===//

#include "Common.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::iabn;
using namespace mlir::iabn::lowering;

namespace {

/// Per-channel values in the compute type, ready for the element-wise maps.
struct Statistics {
  Value mean;
  Value variance;
};

/// Mean and biased variance of `x` per channel (two passes).
Statistics computeStatistics(OpBuilder &b, Location loc, const Layout &layout,
                             Value x, Value count) {
  Type ct = layout.computeType;
  Value sum =
      reducePerChannel(b, loc, layout, x, {}, 1,
                       [&](OpBuilder &nb, Location nloc, ValueRange data,
                           ValueRange, ValueRange) -> SmallVector<Value> {
                         return {toCompute(nb, nloc, data[0], ct)};
                       })[0];
  auto divideByCount = [&](Value total) {
    return mapChannels(b, loc, total, total, ct,
                       [&](OpBuilder &nb, Location nloc, ValueRange in,
                           ValueRange, ValueRange) -> SmallVector<Value> {
                         return {arith::DivFOp::create(nb, nloc, in[0], count)};
                       })[0];
  };
  Value mean = divideByCount(sum);
  Value squares = reducePerChannel(
      b, loc, layout, x, mean, 1,
      [&](OpBuilder &nb, Location nloc, ValueRange data, ValueRange channels,
          ValueRange) -> SmallVector<Value> {
        Value d = arith::SubFOp::create(
            nb, nloc, toCompute(nb, nloc, data[0], ct), channels[0]);
        return {arith::MulFOp::create(nb, nloc, d, d)};
      })[0];
  return {mean, divideByCount(squares)};
}

/// The effective scale: gamma (standard BN, `mode` empty), or gamma_hat of
/// the fused ops.
Value emitScale(OpBuilder &b, Location loc, Value gamma,
                std::optional<GammaMode> mode, Value eps) {
  if (!mode)
    return gamma;
  return emitGammaHat(b, loc, gamma, *mode, eps);
}

/// Per-channel `a = gamma_hat * rsqrt(var + eps)` and `beta` (0 if absent),
/// in the compute type.
std::pair<Value, Value> prepareNormalization(OpBuilder &b, Location loc,
                                             const Layout &layout,
                                             Value variance, Value scale,
                                             Value offset, double epsilon,
                                             std::optional<GammaMode> mode) {
  Type ct = layout.computeType;
  SmallVector<Value> inputs{variance};
  if (scale)
    inputs.push_back(scale);
  if (offset)
    inputs.push_back(offset);
  SmallVector<Value> results = mapChannels(
      b, loc, variance, inputs, {ct, ct},
      [&](OpBuilder &nb, Location nloc, ValueRange in, ValueRange,
          ValueRange) -> SmallVector<Value> {
        Value var = toCompute(nb, nloc, in[0], ct);
        Value eps = constantFloat(nb, nloc, ct, epsilon);
        Value rstd = emitRstd(nb, nloc, var, eps);
        unsigned next = 1;
        Value a = rstd;
        if (scale) {
          Value gamma = toCompute(nb, nloc, in[next++], ct);
          a = arith::MulFOp::create(
              nb, nloc, emitScale(nb, nloc, gamma, mode, eps), rstd);
        }
        Value beta = offset ? toCompute(nb, nloc, in[next], ct)
                            : constantFloat(nb, nloc, ct, 0.0);
        return {a, beta};
      });
  return {results[0], results[1]};
}

/// y = (x - mean) * a + beta, z = phi(y), written into `init`. With a null
/// `x` the destination holds x (in-place form).
Value normalize(OpBuilder &b, Location loc, const Layout &layout, Value x,
                Value mean, Value a, Value beta, ActivationAttr act,
                Value init) {
  Type ct = layout.computeType;
  Type storage = layout.dataType.getElementType();
  SmallVector<Value> data;
  if (x)
    data.push_back(x);
  return mapData(
      b, loc, layout, data, {mean, a, beta}, init,
      [&](OpBuilder &nb, Location nloc, ValueRange in, ValueRange ch,
          ValueRange out) -> SmallVector<Value> {
        Value value = toCompute(nb, nloc, x ? in[0] : out[0], ct);
        Value y = emitNormalize(nb, nloc, value, ch[0], ch[1], ch[2]);
        Value z = act ? emitActivation(nb, nloc, act, y) : y;
        return {toStorage(nb, nloc, z, storage)};
      });
}

/// Converts compute-type per-channel values to the op's per-channel type.
Value toChannelType(OpBuilder &b, Location loc, Value value, Type type) {
  Type elementType = cast<RankedTensorType>(type).getElementType();
  if (cast<RankedTensorType>(value.getType()).getElementType() == elementType)
    return value;
  return mapChannels(b, loc, value, value, elementType,
                     [&](OpBuilder &nb, Location nloc, ValueRange in,
                         ValueRange, ValueRange) -> SmallVector<Value> {
                       return {toStorage(nb, nloc, in[0], elementType)};
                     })[0];
}

/// Per-channel values of the op's type extended to the compute type.
Value toComputeChannels(OpBuilder &b, Location loc, Value value, Type ct) {
  if (cast<RankedTensorType>(value.getType()).getElementType() == ct)
    return value;
  return mapChannels(b, loc, value, value, ct,
                     [&](OpBuilder &nb, Location nloc, ValueRange in,
                         ValueRange, ValueRange) -> SmallVector<Value> {
                       return {toCompute(nb, nloc, in[0], ct)};
                     })[0];
}

//===----------------------------------------------------------------------===//
// Forward ops
//===----------------------------------------------------------------------===//

/// The training forward shared by batch_norm_train and inplace_abn: batch
/// statistics, then y = gamma' * x_hat + beta (gamma' = gamma for standard
/// BN, gamma_hat for the fused op) and z = phi(y) when `act` is given. The
/// fused op writes z into x itself (destination-passing style: z takes x's
/// buffer when x is dead afterwards); standard BN writes into a new tensor.
template <typename OpTy>
LogicalResult lowerTrainingForward(OpTy op, PatternRewriter &rewriter,
                                   std::optional<GammaMode> mode,
                                   ActivationAttr act) {
  Location loc = op.getLoc();
  Value x = op.getInput();
  Layout layout(cast<RankedTensorType>(x.getType()), op.getFeatureDim());
  double eps = op.getEpsilon().convertToDouble();
  Value count = getSampleCount(rewriter, loc, x, layout, /*training=*/true);
  Statistics stats = computeStatistics(rewriter, loc, layout, x, count);
  auto [a, beta] =
      prepareNormalization(rewriter, loc, layout, stats.variance, op.getScale(),
                           op.getOffset(), eps, mode);
  bool inPlace = mode.has_value();
  Value out =
      normalize(rewriter, loc, layout, inPlace ? Value() : x, stats.mean, a,
                beta, act, inPlace ? x : emptyLike(rewriter, loc, x));
  Type channelType = op.getMean().getType();
  rewriter.replaceOp(
      op, {out, toChannelType(rewriter, loc, stats.mean, channelType),
           toChannelType(rewriter, loc, stats.variance, channelType)});
  return success();
}

struct BatchNormTrainLowering : OpRewritePattern<BatchNormTrainOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BatchNormTrainOp op,
                                PatternRewriter &rewriter) const override {
    return lowerTrainingForward(op, rewriter, std::nullopt, nullptr);
  }
};

struct InPlaceABNLowering : OpRewritePattern<InPlaceABNOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(InPlaceABNOp op,
                                PatternRewriter &rewriter) const override {
    return lowerTrainingForward(op, rewriter, op.getGammaMode(),
                                op.getActivation());
  }
};

struct BatchNormInferenceLowering : OpRewritePattern<BatchNormInferenceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BatchNormInferenceOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Layout layout(op.getInput().getType(), op.getFeatureDim());
    Type ct = layout.computeType;
    auto [a, beta] = prepareNormalization(
        rewriter, loc, layout, op.getRunningVariance(), op.getScale(),
        op.getOffset(), op.getEpsilon().convertToDouble(), std::nullopt);
    Value mean = toComputeChannels(rewriter, loc, op.getRunningMean(), ct);
    rewriter.replaceOp(op, normalize(rewriter, loc, layout, op.getInput(), mean,
                                     a, beta, nullptr,
                                     emptyLike(rewriter, loc, op.getInput())));
    return success();
  }
};

struct RunningStatsUpdateLowering : OpRewritePattern<RunningStatsUpdateOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RunningStatsUpdateOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type elementType =
        cast<RankedTensorType>(op.getRunningMean().getType()).getElementType();
    // The averaging factor: momentum, or 1 / num_batches_tracked.
    Value factor;
    if (std::optional<APFloat> momentum = op.getMomentum()) {
      factor = constantFloat(rewriter, loc, elementType,
                             momentum->convertToDouble());
    } else {
      Value n = tensor::ExtractOp::create(
          rewriter, loc, op.getNumBatchesTracked(), ValueRange{});
      factor = arith::DivFOp::create(
          rewriter, loc, constantFloat(rewriter, loc, elementType, 1.0),
          arith::SIToFPOp::create(rewriter, loc, elementType, n));
    }
    double m = static_cast<double>(op.getSampleCount());
    SmallVector<Value> results = mapChannels(
        rewriter, loc, op.getRunningMean(),
        {op.getRunningMean(), op.getRunningVariance(), op.getBatchMean(),
         op.getBatchVariance()},
        {elementType, elementType},
        [&](OpBuilder &nb, Location nloc, ValueRange in, ValueRange,
            ValueRange) -> SmallVector<Value> {
          Value keep = arith::SubFOp::create(
              nb, nloc, constantFloat(nb, nloc, elementType, 1.0), factor);
          auto blend = [&](Value running, Value batch) {
            return arith::AddFOp::create(
                nb, nloc, arith::MulFOp::create(nb, nloc, keep, running),
                arith::MulFOp::create(nb, nloc, factor, batch));
          };
          Value unbiased = arith::MulFOp::create(
              nb, nloc, in[3],
              constantFloat(nb, nloc, elementType, m / (m - 1.0)));
          return {blend(in[0], in[2]), blend(in[1], unbiased)};
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Backward ops
//===----------------------------------------------------------------------===//

/// dx = coef * (g - k1 - x_hat * k2), with the per-channel values
/// {coef, k1, k2} = {gamma_hat * rstd, sum(g) / m, sum(g * x_hat) / m}.
SmallVector<Value> prepareGradInput(OpBuilder &b, Location loc,
                                    const Layout &layout, Value sumG,
                                    Value sumGXhat, Value count) {
  Type ct = layout.computeType;
  return mapChannels(b, loc, sumG, {sumG, sumGXhat}, {ct, ct},
                     [&](OpBuilder &nb, Location nloc, ValueRange in,
                         ValueRange, ValueRange) -> SmallVector<Value> {
                       return {arith::DivFOp::create(nb, nloc, in[0], count),
                               arith::DivFOp::create(nb, nloc, in[1], count)};
                     });
}

struct BatchNormTrainGradLowering : OpRewritePattern<BatchNormTrainGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BatchNormTrainGradOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Layout layout(op.getInput().getType(), op.getFeatureDim());
    Type ct = layout.computeType;
    Type storage = layout.dataType.getElementType();
    double eps = op.getEpsilon().convertToDouble();
    Value count =
        getSampleCount(rewriter, loc, op.getInput(), layout, /*training=*/true);
    Value mean = toComputeChannels(rewriter, loc, op.getMean(), ct);
    // Per channel: rstd and gamma * rstd.
    SmallVector<Value> inputs{op.getVariance()};
    if (op.getScale())
      inputs.push_back(op.getScale());
    SmallVector<Value> params = mapChannels(
        rewriter, loc, op.getVariance(), inputs, {ct, ct},
        [&](OpBuilder &nb, Location nloc, ValueRange in, ValueRange,
            ValueRange) -> SmallVector<Value> {
          Value rstd =
              emitRstd(nb, nloc, toCompute(nb, nloc, in[0], ct),
                       constantFloat(nb, nloc, ct, eps));
          Value coef = op.getScale()
                           ? arith::MulFOp::create(
                                 nb, nloc, toCompute(nb, nloc, in[1], ct), rstd)
                           : rstd;
          return {rstd, coef};
        });
    Value rstd = params[0], coef = params[1];
    auto xHatOf = [&](OpBuilder &nb, Location nloc, Value x, Value m, Value r) {
      return arith::MulFOp::create(
          nb, nloc,
          arith::SubFOp::create(nb, nloc, toCompute(nb, nloc, x, ct), m), r);
    };
    SmallVector<Value> sums =
        reducePerChannel(rewriter, loc, layout,
                         {op.getGradOutput(), op.getInput()}, {mean, rstd}, 2,
                         [&](OpBuilder &nb, Location nloc, ValueRange data,
                             ValueRange ch, ValueRange) -> SmallVector<Value> {
                           Value g = toCompute(nb, nloc, data[0], ct);
                           Value xHat = xHatOf(nb, nloc, data[1], ch[0], ch[1]);
                           return {g, arith::MulFOp::create(nb, nloc, g, xHat)};
                         });
    SmallVector<Value> ks =
        prepareGradInput(rewriter, loc, layout, sums[0], sums[1], count);
    Value dx = mapData(
        rewriter, loc, layout, {op.getGradOutput(), op.getInput()},
        {mean, rstd, coef, ks[0], ks[1]},
        emptyLike(rewriter, loc, op.getInput()),
        [&](OpBuilder &nb, Location nloc, ValueRange data, ValueRange ch,
            ValueRange) -> SmallVector<Value> {
          Value g = toCompute(nb, nloc, data[0], ct);
          Value xHat = xHatOf(nb, nloc, data[1], ch[0], ch[1]);
          return {toStorage(
              nb, nloc, emitGradInput(nb, nloc, g, xHat, ch[2], ch[3], ch[4]),
              storage)};
        });
    Type channelType = op.getGradScale().getType();
    rewriter.replaceOp(op,
                       {dx, toChannelType(rewriter, loc, sums[1], channelType),
                        toChannelType(rewriter, loc, sums[0], channelType)});
    return success();
  }
};

struct InPlaceABNGradLowering : OpRewritePattern<InPlaceABNGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(InPlaceABNGradOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Layout layout(op.getOutput().getType(), op.getFeatureDim());
    Type ct = layout.computeType;
    Type storage = layout.dataType.getElementType();
    double eps = op.getEpsilon().convertToDouble();
    ActivationAttr act = op.getActivation();
    GammaMode mode = op.getGammaMode();
    Value count = getSampleCount(rewriter, loc, op.getOutput(), layout,
                                 /*training=*/true);

    // Per channel: gamma_hat, 1 / gamma_hat, beta, gamma_hat * rstd.
    SmallVector<Value> inputs{op.getVariance()};
    if (op.getScale())
      inputs.push_back(op.getScale());
    if (op.getOffset())
      inputs.push_back(op.getOffset());
    SmallVector<Value> params = mapChannels(
        rewriter, loc, op.getVariance(), inputs, {ct, ct, ct},
        [&](OpBuilder &nb, Location nloc, ValueRange in, ValueRange,
            ValueRange) -> SmallVector<Value> {
          Value var = toCompute(nb, nloc, in[0], ct);
          Value epsilon = constantFloat(nb, nloc, ct, eps);
          Value rstd = emitRstd(nb, nloc, var, epsilon);
          unsigned next = 1;
          Value gammaHat =
              op.getScale()
                  ? emitGammaHat(nb, nloc, toCompute(nb, nloc, in[next++], ct),
                                 mode, epsilon)
                  : constantFloat(nb, nloc, ct, 1.0);
          Value beta = op.getOffset() ? toCompute(nb, nloc, in[next], ct)
                                      : constantFloat(nb, nloc, ct, 0.0);
          Value inverse = arith::DivFOp::create(
              nb, nloc, constantFloat(nb, nloc, ct, 1.0), gammaHat);
          return {inverse, beta,
                  arith::MulFOp::create(nb, nloc, gammaHat, rstd)};
        });
    Value inverseGammaHat = params[0], beta = params[1], coef = params[2];

    // g_y = dz * phi'(z) and x_hat = (phi^-1(z) - beta) / gamma_hat.
    auto recover = [&](OpBuilder &nb, Location nloc, Value dz, Value z,
                       Value invG, Value b) -> std::pair<Value, Value> {
      Value zc = toCompute(nb, nloc, z, ct);
      Value dzc = toCompute(nb, nloc, dz, ct);
      Value param = constantFloat(nb, nloc, ct, act.getParamOr0());
      return emitRecoverFromOutput(nb, nloc, act.getKind(), param, dzc, zc,
                                   invG, b);
    };
    SmallVector<Value> sums = reducePerChannel(
        rewriter, loc, layout, {op.getGradOutput(), op.getOutput()},
        {inverseGammaHat, beta}, 2,
        [&](OpBuilder &nb, Location nloc, ValueRange data, ValueRange ch,
            ValueRange) -> SmallVector<Value> {
          auto [gy, xHat] = recover(nb, nloc, data[0], data[1], ch[0], ch[1]);
          return {gy, arith::MulFOp::create(nb, nloc, gy, xHat)};
        });
    SmallVector<Value> ks =
        prepareGradInput(rewriter, loc, layout, sums[0], sums[1], count);
    // Destination-passing style into dz: dx takes dz's buffer when dz is
    // dead afterwards.
    Value dx = mapData(
        rewriter, loc, layout, {op.getOutput()},
        {inverseGammaHat, beta, coef, ks[0], ks[1]}, op.getGradOutput(),
        [&](OpBuilder &nb, Location nloc, ValueRange data, ValueRange ch,
            ValueRange out) -> SmallVector<Value> {
          auto [gy, xHat] = recover(nb, nloc, out[0], data[0], ch[0], ch[1]);
          return {toStorage(
              nb, nloc, emitGradInput(nb, nloc, gy, xHat, ch[2], ch[3], ch[4]),
              storage)};
        });

    // d gamma from d gamma_hat: straight-through for sign_clamp,
    // times sign(gamma) (sign(0) = +1) for abs_plus_eps.
    Value gradScale = sums[1];
    if (op.getScale() && mode != GammaMode::SignClamp) {
      Value gamma = toComputeChannels(rewriter, loc, op.getScale(), ct);
      gradScale =
          mapChannels(rewriter, loc, gradScale, {gradScale, gamma}, ct,
                      [&](OpBuilder &nb, Location nloc, ValueRange in,
                          ValueRange, ValueRange) -> SmallVector<Value> {
                        return {emitGradScaleFromGradGammaHat(nb, nloc, in[0],
                                                              in[1], mode)};
                      })[0];
    }
    Type channelType = op.getGradScale().getType();
    rewriter.replaceOp(
        op, {dx, toChannelType(rewriter, loc, gradScale, channelType),
             toChannelType(rewriter, loc, sums[0], channelType)});
    return success();
  }
};

} // namespace

void lowering::populateBatchNormPatterns(RewritePatternSet &patterns) {
  patterns.add<BatchNormTrainLowering, BatchNormTrainGradLowering,
               BatchNormInferenceLowering, RunningStatsUpdateLowering,
               InPlaceABNLowering, InPlaceABNGradLowering>(
      patterns.getContext());
}
