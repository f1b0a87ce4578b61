//===- Math.cpp - The InPlace-ABN math, once, for every lowering ----------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#include "IABN/Conversion/IABNCommon/Math.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;
using namespace mlir::iabn;
using namespace mlir::iabn::common;

//===----------------------------------------------------------------------===//
// Types and constants
//===----------------------------------------------------------------------===//

FloatType common::getComputeType(Type storage) {
  MLIRContext *ctx = storage.getContext();
  return storage.isF64() ? static_cast<FloatType>(Float64Type::get(ctx))
                         : static_cast<FloatType>(Float32Type::get(ctx));
}

Value common::constantFloat(OpBuilder &b, Location loc, Type type,
                              double value) {
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, value));
}

Value common::toCompute(OpBuilder &b, Location loc, Value value, Type type) {
  if (value.getType() == type)
    return value;
  return arith::ExtFOp::create(b, loc, type, value);
}

Value common::toStorage(OpBuilder &b, Location loc, Value value, Type type) {
  if (value.getType() == type)
    return value;
  return arith::TruncFOp::create(b, loc, type, value);
}

static Value select(OpBuilder &b, Location loc, arith::CmpFPredicate pred,
                    Value lhs, Value rhs, Value ifTrue, Value ifFalse) {
  Value cond = arith::CmpFOp::create(b, loc, pred, lhs, rhs);
  return arith::SelectOp::create(b, loc, cond, ifTrue, ifFalse);
}

/// `lo < v < hi ? 1 : 0` (relu6's derivative, from its input or output).
static Value insideOpenInterval(OpBuilder &b, Location loc, Value v, double lo,
                                double hi) {
  Type type = v.getType();
  Value above = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, v,
                                      constantFloat(b, loc, type, lo));
  Value below = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, v,
                                      constantFloat(b, loc, type, hi));
  return arith::SelectOp::create(b, loc,
                                 arith::AndIOp::create(b, loc, above, below),
                                 constantFloat(b, loc, type, 1.0),
                                 constantFloat(b, loc, type, 0.0));
}

/// `1 / (1 + exp(-v))`.
static Value sigmoid(OpBuilder &b, Location loc, Value v) {
  Type type = v.getType();
  Value one = constantFloat(b, loc, type, 1.0);
  Value expNeg = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, v));
  return arith::DivFOp::create(b, loc, one,
                               arith::AddFOp::create(b, loc, one, expNeg));
}

/// The standard normal CDF, `(1 + erf(v / sqrt(2))) / 2`.
static Value normalCdf(OpBuilder &b, Location loc, Value v) {
  Type type = v.getType();
  Value scaled = arith::MulFOp::create(
      b, loc, v, constantFloat(b, loc, type, 0.70710678118654752440));
  Value erf = math::ErfOp::create(b, loc, scaled);
  return arith::MulFOp::create(
      b, loc, constantFloat(b, loc, type, 0.5),
      arith::AddFOp::create(b, loc, constantFloat(b, loc, type, 1.0), erf));
}

/// The parameter of `act` as a constant of `type`.
static Value paramOf(OpBuilder &b, Location loc, ActivationAttr act,
                     Type type) {
  return constantFloat(b, loc, type, act.getParamOr0());
}

Value common::emitActivation(OpBuilder &b, Location loc, ActivationKind kind,
                               Value param, Value y) {
  Type type = y.getType();
  Value zero = constantFloat(b, loc, type, 0.0);
  switch (kind) {
  case ActivationKind::Identity:
    return y;
  case ActivationKind::ReLU:
    // maximumf propagates NaN, as PyTorch's relu does.
    return arith::MaximumFOp::create(b, loc, y, zero);
  case ActivationKind::LeakyReLU: {
    Value scaled = arith::MulFOp::create(b, loc, y, param);
    return select(b, loc, arith::CmpFPredicate::OGE, y, zero, y, scaled);
  }
  case ActivationKind::ELU: {
    Value negative =
        arith::MulFOp::create(b, loc, param, math::ExpM1Op::create(b, loc, y));
    return select(b, loc, arith::CmpFPredicate::OGE, y, zero, y, negative);
  }
  case ActivationKind::ReLU6:
    return arith::MinimumFOp::create(b, loc,
                                     arith::MaximumFOp::create(b, loc, y, zero),
                                     constantFloat(b, loc, type, 6.0));
  case ActivationKind::SiLU:
    return arith::MulFOp::create(b, loc, y, sigmoid(b, loc, y));
  case ActivationKind::GELU:
    return arith::MulFOp::create(b, loc, y, normalCdf(b, loc, y));
  case ActivationKind::Hardswish: {
    // y * min(max(y + 3, 0), 6) / 6, in PyTorch's order of operations.
    Value shifted =
        arith::AddFOp::create(b, loc, y, constantFloat(b, loc, type, 3.0));
    Value gate = arith::MinimumFOp::create(
        b, loc, arith::MaximumFOp::create(b, loc, shifted, zero),
        constantFloat(b, loc, type, 6.0));
    return arith::DivFOp::create(b, loc, arith::MulFOp::create(b, loc, y, gate),
                                 constantFloat(b, loc, type, 6.0));
  }
  }
  llvm_unreachable("unknown activation");
}

Value common::emitActivationInverse(OpBuilder &b, Location loc,
                                      ActivationKind kind, Value param,
                                      Value z) {
  Type type = z.getType();
  Value zero = constantFloat(b, loc, type, 0.0);
  switch (kind) {
  case ActivationKind::Identity:
    return z;
  case ActivationKind::LeakyReLU: {
    Value scaled = arith::DivFOp::create(b, loc, z, param);
    return select(b, loc, arith::CmpFPredicate::OGE, z, zero, z, scaled);
  }
  case ActivationKind::ELU: {
    // y = log1p(z / alpha) for z < 0. Rounding can put z at (or just below)
    // -alpha, where log1p would give -inf or NaN: clamp z / alpha to the
    // smallest value above -1 (its y is far below any realistic input, and
    // phi'(z) = z + alpha ~ 0 there, so the gradients do not depend on it).
    double tiny = type.isF64() ? 0x1p-52 : 0x1p-23;
    Value ratio = arith::DivFOp::create(b, loc, z, param);
    Value clamped = arith::MaximumFOp::create(
        b, loc, ratio, constantFloat(b, loc, type, -1.0 + tiny));
    Value negative = math::Log1pOp::create(b, loc, clamped);
    return select(b, loc, arith::CmpFPredicate::OGE, z, zero, z, negative);
  }
  case ActivationKind::ReLU:
  case ActivationKind::ReLU6:
  case ActivationKind::SiLU:
  case ActivationKind::GELU:
  case ActivationKind::Hardswish:
    break;
  }
  llvm_unreachable("activation is not invertible");
}

Value common::emitDerivativeFromInput(OpBuilder &b, Location loc,
                                        ActivationKind kind, Value param,
                                        Value y) {
  Type type = y.getType();
  Value zero = constantFloat(b, loc, type, 0.0);
  Value one = constantFloat(b, loc, type, 1.0);
  switch (kind) {
  case ActivationKind::Identity:
    return one;
  case ActivationKind::ReLU:
    return select(b, loc, arith::CmpFPredicate::OGT, y, zero, one, zero);
  case ActivationKind::LeakyReLU:
    return select(b, loc, arith::CmpFPredicate::OGT, y, zero, one, param);
  case ActivationKind::ELU: {
    Value negative =
        arith::MulFOp::create(b, loc, param, math::ExpOp::create(b, loc, y));
    return select(b, loc, arith::CmpFPredicate::OGT, y, zero, one, negative);
  }
  case ActivationKind::ReLU6:
    return insideOpenInterval(b, loc, y, 0.0, 6.0);
  case ActivationKind::SiLU: {
    // s * (1 + y * (1 - s)), as PyTorch's silu_backward.
    Value s = sigmoid(b, loc, y);
    Value inner = arith::AddFOp::create(
        b, loc, one,
        arith::MulFOp::create(b, loc, y,
                              arith::SubFOp::create(b, loc, one, s)));
    return arith::MulFOp::create(b, loc, s, inner);
  }
  case ActivationKind::GELU: {
    // Phi(y) + y * exp(-y^2 / 2) / sqrt(2 pi).
    Value halfSquare = arith::MulFOp::create(
        b, loc, constantFloat(b, loc, type, -0.5),
        arith::MulFOp::create(b, loc, y, y));
    Value pdf = arith::MulFOp::create(
        b, loc, constantFloat(b, loc, type, 0.39894228040143267794),
        math::ExpOp::create(b, loc, halfSquare));
    return arith::AddFOp::create(b, loc, normalCdf(b, loc, y),
                                 arith::MulFOp::create(b, loc, y, pdf));
  }
  case ActivationKind::Hardswish: {
    // y < -3 ? 0 : y <= 3 ? y / 3 + 1/2 : 1, as PyTorch's hardswish_backward.
    Value middle = arith::AddFOp::create(
        b, loc,
        arith::DivFOp::create(b, loc, y, constantFloat(b, loc, type, 3.0)),
        constantFloat(b, loc, type, 0.5));
    Value upper = select(b, loc, arith::CmpFPredicate::OLE, y,
                         constantFloat(b, loc, type, 3.0), middle, one);
    return select(b, loc, arith::CmpFPredicate::OLT, y,
                  constantFloat(b, loc, type, -3.0), zero, upper);
  }
  }
  llvm_unreachable("unknown activation");
}

Value common::emitDerivativeFromOutput(OpBuilder &b, Location loc,
                                         ActivationKind kind, Value param,
                                         Value z) {
  Type type = z.getType();
  Value zero = constantFloat(b, loc, type, 0.0);
  Value one = constantFloat(b, loc, type, 1.0);
  switch (kind) {
  case ActivationKind::Identity:
    return one;
  case ActivationKind::ReLU:
    return select(b, loc, arith::CmpFPredicate::OGT, z, zero, one, zero);
  case ActivationKind::LeakyReLU:
    return select(b, loc, arith::CmpFPredicate::OGT, z, zero, one, param);
  case ActivationKind::ELU: {
    Value negative = arith::AddFOp::create(b, loc, z, param);
    return select(b, loc, arith::CmpFPredicate::OGT, z, zero, one, negative);
  }
  case ActivationKind::ReLU6:
    return insideOpenInterval(b, loc, z, 0.0, 6.0);
  case ActivationKind::SiLU:
  case ActivationKind::GELU:
  case ActivationKind::Hardswish:
    break;
  }
  llvm_unreachable("derivative needs the activation's input");
}

Value common::emitActivation(OpBuilder &b, Location loc, ActivationAttr act,
                               Value y) {
  return emitActivation(b, loc, act.getKind(),
                        paramOf(b, loc, act, y.getType()), y);
}

Value common::emitActivationInverse(OpBuilder &b, Location loc,
                                      ActivationAttr act, Value z) {
  return emitActivationInverse(b, loc, act.getKind(),
                               paramOf(b, loc, act, z.getType()), z);
}

Value common::emitDerivativeFromInput(OpBuilder &b, Location loc,
                                        ActivationAttr act, Value y) {
  return emitDerivativeFromInput(b, loc, act.getKind(),
                                 paramOf(b, loc, act, y.getType()), y);
}

Value common::emitDerivativeFromOutput(OpBuilder &b, Location loc,
                                         ActivationAttr act, Value z) {
  return emitDerivativeFromOutput(b, loc, act.getKind(),
                                  paramOf(b, loc, act, z.getType()), z);
}

//===----------------------------------------------------------------------===//
// Batch norm and InPlace-ABN
//===----------------------------------------------------------------------===//

Value common::emitRstd(OpBuilder &b, Location loc, Value var, Value eps) {
  return math::RsqrtOp::create(b, loc, arith::AddFOp::create(b, loc, var, eps));
}

/// The i32 mode value is non-zero (abs_plus_eps).
static Value isAbsPlusEps(OpBuilder &b, Location loc, Value mode) {
  Value zero = arith::ConstantIntOp::create(b, loc, b.getI32Type(), 0);
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, mode, zero);
}

Value common::emitGammaHat(OpBuilder &b, Location loc, Value gamma,
                           const GammaModeValue &mode, Value eps) {
  std::optional<GammaMode> constant = mode.getConstant();
  Value magnitude = math::AbsFOp::create(b, loc, gamma);
  Value absPlusEps;
  if (!constant || *constant == GammaMode::AbsPlusEps) {
    absPlusEps = arith::AddFOp::create(b, loc, magnitude, eps);
    if (constant)
      return absPlusEps;
  }
  // sign(gamma) * max(|gamma|, eps), sign(0) = +1; NaN propagates.
  Value clamped = arith::MaximumFOp::create(b, loc, magnitude, eps);
  Value negative =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, gamma,
                            constantFloat(b, loc, gamma.getType(), 0.0));
  Value signClamp = arith::SelectOp::create(
      b, loc, negative, arith::NegFOp::create(b, loc, clamped), clamped);
  if (constant)
    return signClamp;
  return arith::SelectOp::create(b, loc, isAbsPlusEps(b, loc, mode.getValue()),
                                 absPlusEps, signClamp);
}

Value common::emitGradScaleFromGradGammaHat(OpBuilder &b, Location loc,
                                            Value gradGammaHat, Value gamma,
                                            const GammaModeValue &mode) {
  std::optional<GammaMode> constant = mode.getConstant();
  if (constant == GammaMode::SignClamp)
    return gradGammaHat;
  Value flip =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, gamma,
                            constantFloat(b, loc, gamma.getType(), 0.0));
  if (!constant)
    flip = arith::AndIOp::create(b, loc, flip,
                                 isAbsPlusEps(b, loc, mode.getValue()));
  return arith::SelectOp::create(
      b, loc, flip, arith::NegFOp::create(b, loc, gradGammaHat), gradGammaHat);
}

Value common::emitNormalize(OpBuilder &b, Location loc, Value x, Value mean,
                            Value scale, Value shift) {
  Value centered = arith::SubFOp::create(b, loc, x, mean);
  return arith::AddFOp::create(
      b, loc, arith::MulFOp::create(b, loc, centered, scale), shift);
}

std::pair<Value, Value>
common::emitRecoverFromOutput(OpBuilder &b, Location loc, ActivationKind kind,
                              Value param, Value dz, Value z,
                              Value inverseGammaHat, Value beta) {
  Value gy = arith::MulFOp::create(
      b, loc, dz, emitDerivativeFromOutput(b, loc, kind, param, z));
  Value y = emitActivationInverse(b, loc, kind, param, z);
  Value xHat = arith::MulFOp::create(
      b, loc, arith::SubFOp::create(b, loc, y, beta), inverseGammaHat);
  return {gy, xHat};
}

Value common::emitGradInput(OpBuilder &b, Location loc, Value gy, Value xHat,
                            Value coef, Value k1, Value k2) {
  Value centered = arith::SubFOp::create(b, loc, gy, k1);
  Value inner = arith::SubFOp::create(
      b, loc, centered, arith::MulFOp::create(b, loc, xHat, k2));
  return arith::MulFOp::create(b, loc, coef, inner);
}
