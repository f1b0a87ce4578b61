//===- Math.h - The InPlace-ABN math, once, for every lowering --*- C++ -*-===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//
//
// The scalar formulas of batch normalization and InPlace-ABN, emitted as
// arith/math ops on scalars of the compute type. Both lowerings build their
// loops around these: IABNToLinalg (linalg.generic bodies, the CPU path and
// the numerical reference) and the GPU kernel library (lib/GPUKernels). The
// only other copy is the PyTorch reference (python/iabn/torch/_reference.py),
// which test/python/reference-vs-compiled.test ties to the compiled CPU path;
// the GPU checks tie the kernels to it.
//
// Notation (per channel, m values): mean, biased variance var;
// rstd = 1 / sqrt(var + eps); x_hat = (x - mean) * rstd;
// y = gamma_hat * x_hat + beta; z = phi(y).
// Backward from z: y = phi^-1(z), g_y = dz * phi'(z),
// x_hat = (y - beta) / gamma_hat; dbeta = sum g_y; dgamma_hat = sum g_y x_hat;
// dx = gamma_hat * rstd * (g_y - dbeta / m - x_hat * dgamma_hat / m).
//
//===----------------------------------------------------------------------===//

#ifndef IABN_CONVERSION_IABNCOMMON_MATH_H
#define IABN_CONVERSION_IABNCOMMON_MATH_H

#include "IABN/Dialect/IABN/IR/IABNAttrs.h"

#include "mlir/IR/Builders.h"

#include <optional>
#include <utility>

namespace mlir {
namespace iabn {
namespace common {

//===----------------------------------------------------------------------===//
// Types and constants
//===----------------------------------------------------------------------===//

/// The type all arithmetic happens in for data of `storage` type: f64 for
/// f64, f32 otherwise (f16 and bf16 are storage types only).
FloatType getComputeType(Type storage);

/// A floating-point constant of type `type`.
Value constantFloat(OpBuilder &b, Location loc, Type type, double value);
/// Extends `value` to `type` (f16/bf16/f32 -> f32/f64), or returns it.
Value toCompute(OpBuilder &b, Location loc, Value value, Type type);
/// Truncates `value` to `type` for storage, or returns it.
Value toStorage(OpBuilder &b, Location loc, Value value, Type type);

//===----------------------------------------------------------------------===//
// Activations
//===----------------------------------------------------------------------===//

/// The activation functions with the parameter (slope, alpha) as a value of
/// the compute type, e.g. a kernel argument.
/// z = phi(y).
Value emitActivation(OpBuilder &b, Location loc, ActivationKind kind,
                     Value param, Value y);
/// y = phi^-1(z), for an invertible activation.
Value emitActivationInverse(OpBuilder &b, Location loc, ActivationKind kind,
                            Value param, Value z);
/// phi'(y) from the activation input.
Value emitDerivativeFromInput(OpBuilder &b, Location loc, ActivationKind kind,
                              Value param, Value y);
/// phi' from the activation output z (PyTorch's self_is_result).
Value emitDerivativeFromOutput(OpBuilder &b, Location loc, ActivationKind kind,
                               Value param, Value z);

/// The same with the parameter taken from the attribute (a constant).
Value emitActivation(OpBuilder &b, Location loc, ActivationAttr act, Value y);
Value emitActivationInverse(OpBuilder &b, Location loc, ActivationAttr act,
                            Value z);
Value emitDerivativeFromInput(OpBuilder &b, Location loc, ActivationAttr act,
                              Value y);
Value emitDerivativeFromOutput(OpBuilder &b, Location loc, ActivationAttr act,
                               Value z);

//===----------------------------------------------------------------------===//
// Batch norm and InPlace-ABN
//===----------------------------------------------------------------------===//

/// The gamma mode of a fused op: a constant (the op's attribute; only the
/// chosen rule is emitted) or a run-time i32 value (0: sign_clamp,
/// 1: abs_plus_eps; both rules and a select are emitted).
class GammaModeValue {
public:
  GammaModeValue(GammaMode mode) : constant(mode) {}
  GammaModeValue(Value mode) : value(mode) {}

  /// The mode when it is a constant.
  std::optional<GammaMode> getConstant() const { return constant; }
  /// The i32 value when it is known only at run time.
  Value getValue() const { return value; }

private:
  std::optional<GammaMode> constant;
  Value value;
};

/// rstd = rsqrt(var + eps).
Value emitRstd(OpBuilder &b, Location loc, Value var, Value eps);

/// gamma_hat: sign_clamp: sign(gamma) * max(|gamma|, eps) with sign(0) = +1;
/// abs_plus_eps: |gamma| + eps. NaN propagates.
Value emitGammaHat(OpBuilder &b, Location loc, Value gamma,
                   const GammaModeValue &mode, Value eps);

/// d gamma from d gamma_hat: straight-through for sign_clamp, times
/// sign(gamma) (sign(0) = +1) for abs_plus_eps.
Value emitGradScaleFromGradGammaHat(OpBuilder &b, Location loc,
                                    Value gradGammaHat, Value gamma,
                                    const GammaModeValue &mode);

/// y = (x - mean) * scale + shift (scale = gamma_hat * rstd, shift = beta).
Value emitNormalize(OpBuilder &b, Location loc, Value x, Value mean,
                    Value scale, Value shift);

/// The backward's view of one element from z and dz:
/// g_y = dz * phi'(z) and x_hat = (phi^-1(z) - beta) * (1 / gamma_hat).
std::pair<Value, Value> emitRecoverFromOutput(OpBuilder &b, Location loc,
                                              ActivationKind kind, Value param,
                                              Value dz, Value z,
                                              Value inverseGammaHat,
                                              Value beta);

/// dx = coef * (g_y - k1 - x_hat * k2) with coef = gamma_hat * rstd,
/// k1 = sum g_y / m and k2 = sum g_y * x_hat / m.
Value emitGradInput(OpBuilder &b, Location loc, Value gy, Value xHat,
                    Value coef, Value k1, Value k2);

} // namespace common
} // namespace iabn
} // namespace mlir

#endif // IABN_CONVERSION_IABNCOMMON_MATH_H
