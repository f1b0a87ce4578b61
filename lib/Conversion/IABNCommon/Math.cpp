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
  }
  llvm_unreachable("unknown activation");
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
