//===- IABNOps.td - IABN operations ------------------------*- tablegen -*-===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#ifndef IABN_DIALECT_IABN_IR_IABNOPS_TD
#define IABN_DIALECT_IABN_IR_IABNOPS_TD

include "IABN/Dialect/IABN/IR/IABNDialect.td"
include "IABN/Dialect/IABN/IR/IABNAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/OpBase.td"

//===----------------------------------------------------------------------===//
// Type constraints and common arguments
//===----------------------------------------------------------------------===//

def IABN_FloatElement : AnyTypeOf<[F16, BF16, F32, F64]>;
def IABN_DataTensor : RankedTensorOf<[F16, BF16, F32, F64]>;
def IABN_ChannelTensor : TensorRankOf<[F32, F64], [1]>;
def IABN_DataMemRef : MemRefOf<[F16, BF16, F32, F64]>;
def IABN_ChannelMemRef : MemRefRankOf<[F32, F64], [1]>;

def IABN_FeatureDimAttr : DefaultValuedAttr<I64Attr, "1">;
def IABN_EpsilonAttr : DefaultValuedAttr<F64Attr, "1.0e-5">;
def IABN_GammaModeDefaultAttr
    : DefaultValuedAttr<IABN_GammaModeAttr, "::mlir::iabn::GammaMode::SignClamp">;

class IABN_Op<string mnemonic, list<Trait> traits = []>
    : Op<IABN_Dialect, mnemonic, traits>;

/// `lhs` (a per-channel value that is always present) and the optional
/// per-channel operand `rhs` have the same type.
class IABN_SameChannelType<string lhs, string rhs>
    : OptionalTypesMatchWith<"per-channel operands have the same type",
                             lhs, rhs, "$_self">;

//===----------------------------------------------------------------------===//
// Standard batch norm
//===----------------------------------------------------------------------===//

def IABN_BatchNormTrainOp : IABN_Op<"batch_norm_train", [
    Pure, AttrSizedOperandSegments,
    AllTypesMatch<["input", "output"]>,
    AllTypesMatch<["mean", "variance"]>,
    IABN_SameChannelType<"mean", "scale">,
    IABN_SameChannelType<"mean", "offset">]> {
  let summary = "training-mode batch normalization (forward)";
  let description = [{
    Normalizes `input` with the statistics of the batch:

    ```
    mean[c]     = sum(x[..c..]) / m
    variance[c] = sum((x[..c..] - mean[c])^2) / m        (biased)
    output      = scale[c] * (x - mean[c]) / sqrt(variance[c] + epsilon)
                  + offset[c]
    ```

    `scale` defaults to 1 and `offset` to 0 when absent (`affine=False`).
    The results `mean` and `variance` are what the backward needs and what
    the running-statistics update consumes.

    ```mlir
    %y, %mean, %var = iabn.batch_norm_train %x scale %gamma offset %beta
        {epsilon = 1.0e-05 : f64, feature_dim = 1 : i64}
        : tensor<8x16x32x32xf32>, tensor<16xf32>
    ```
  }];
  let arguments = (ins IABN_DataTensor:$input,
                       Optional<IABN_ChannelTensor>:$scale,
                       Optional<IABN_ChannelTensor>:$offset,
                       IABN_FeatureDimAttr:$feature_dim,
                       IABN_EpsilonAttr:$epsilon);
  let results = (outs IABN_DataTensor:$output,
                      IABN_ChannelTensor:$mean,
                      IABN_ChannelTensor:$variance);
  let assemblyFormat = [{
    $input (`scale` $scale^)? (`offset` $offset^)? attr-dict
    `:` type($input) `,` type($mean)
  }];
  let hasVerifier = 1;
}

def IABN_BatchNormTrainGradOp : IABN_Op<"batch_norm_train_grad", [
    Pure,
    AllTypesMatch<["grad_output", "input", "grad_input"]>,
    AllTypesMatch<["mean", "variance", "grad_scale", "grad_offset"]>,
    IABN_SameChannelType<"mean", "scale">]> {
  let summary = "training-mode batch normalization (backward, reads x)";
  let description = [{
    The backward of `iabn.batch_norm_train` as frameworks define it today: it
    reads the BN input `input` (x) to rebuild `x_hat`, which keeps x alive
    from the forward to the backward. Removing that read is the point of the
    InPlace-ABN rewrite.

    ```
    rstd        = 1 / sqrt(variance + epsilon)
    x_hat       = (x - mean) * rstd
    grad_offset = sum(dy)
    grad_scale  = sum(dy * x_hat)
    grad_input  = scale * rstd * (dy - grad_offset / m - x_hat * grad_scale / m)
    ```

    `scale` defaults to 1 when absent; `grad_scale` and `grad_offset` are
    always produced (and may be unused).

    ```mlir
    %dx, %dgamma, %dbeta = iabn.batch_norm_train_grad %dy, %x scale %gamma
        stats(%mean, %var) : tensor<8x16x32x32xf32>, tensor<16xf32>
    ```
  }];
  let arguments = (ins IABN_DataTensor:$grad_output,
                       IABN_DataTensor:$input,
                       Optional<IABN_ChannelTensor>:$scale,
                       IABN_ChannelTensor:$mean,
                       IABN_ChannelTensor:$variance,
                       IABN_FeatureDimAttr:$feature_dim,
                       IABN_EpsilonAttr:$epsilon);
  let results = (outs IABN_DataTensor:$grad_input,
                      IABN_ChannelTensor:$grad_scale,
                      IABN_ChannelTensor:$grad_offset);
  let assemblyFormat = [{
    $grad_output `,` $input (`scale` $scale^)?
    `stats` `(` $mean `,` $variance `)` attr-dict
    `:` type($input) `,` type($mean)
  }];
  let hasVerifier = 1;
}

def IABN_BatchNormInferenceOp : IABN_Op<"batch_norm_inference", [
    Pure, AttrSizedOperandSegments,
    AllTypesMatch<["input", "output"]>,
    AllTypesMatch<["running_mean", "running_variance"]>,
    IABN_SameChannelType<"running_mean", "scale">,
    IABN_SameChannelType<"running_mean", "offset">]> {
  let summary = "inference-mode batch normalization (running statistics)";
  let description = [{
    ```
    output = scale[c] * (x - running_mean[c])
             / sqrt(running_variance[c] + epsilon) + offset[c]
    ```

    ```mlir
    %y = iabn.batch_norm_inference %x scale %gamma offset %beta
        stats(%rmean, %rvar) : tensor<8x16x32x32xf32>, tensor<16xf32>
    ```
  }];
  let arguments = (ins IABN_DataTensor:$input,
                       Optional<IABN_ChannelTensor>:$scale,
                       Optional<IABN_ChannelTensor>:$offset,
                       IABN_ChannelTensor:$running_mean,
                       IABN_ChannelTensor:$running_variance,
                       IABN_FeatureDimAttr:$feature_dim,
                       IABN_EpsilonAttr:$epsilon);
  let results = (outs IABN_DataTensor:$output);
  let assemblyFormat = [{
    $input (`scale` $scale^)? (`offset` $offset^)?
    `stats` `(` $running_mean `,` $running_variance `)` attr-dict
    `:` type($input) `,` type($running_mean)
  }];
  let hasVerifier = 1;
}

def IABN_RunningStatsUpdateOp : IABN_Op<"running_stats_update", [
    Pure,
    AllTypesMatch<["running_mean", "running_variance", "batch_mean",
                   "batch_variance", "new_running_mean",
                   "new_running_variance"]>]> {
  let summary = "update of the running statistics (PyTorch convention)";
  let description = [{
    With `f` the averaging factor:

    ```
    new_running_mean     = (1 - f) * running_mean     + f * batch_mean
    new_running_variance = (1 - f) * running_variance
                           + f * batch_variance * m / (m - 1)
    ```

    `batch_variance` is the biased variance produced by the forward; the
    running variance is unbiased (`m / (m - 1)`, `m = sample_count`, the
    number of values per channel in the batch; it must be at least 2).

    * `momentum = f` given: exponential moving average (PyTorch's
      `momentum`, default 0.1 there; note `f` weighs the *new* value).
    * no `momentum`: cumulative moving average, `f = 1 / n` where `n` is the
      0-d `num_batches_tracked` operand, counting this batch (PyTorch
      increments the counter before updating).

    ```mlir
    %rm2, %rv2 = iabn.running_stats_update %rm, %rv, %mean, %var
        {momentum = 1.0e-01 : f64, sample_count = 8192 : i64} : tensor<16xf32>
    %rm3, %rv3 = iabn.running_stats_update %rm, %rv, %mean, %var
        count(%n : tensor<i64>) {sample_count = 8192 : i64} : tensor<16xf32>
    ```
  }];
  let arguments = (ins IABN_ChannelTensor:$running_mean,
                       IABN_ChannelTensor:$running_variance,
                       IABN_ChannelTensor:$batch_mean,
                       IABN_ChannelTensor:$batch_variance,
                       Optional<0DTensorOf<[I64]>>:$num_batches_tracked,
                       I64Attr:$sample_count,
                       OptionalAttr<F64Attr>:$momentum);
  let results = (outs IABN_ChannelTensor:$new_running_mean,
                      IABN_ChannelTensor:$new_running_variance);
  let assemblyFormat = [{
    $running_mean `,` $running_variance `,` $batch_mean `,` $batch_variance
    (`count` `(` $num_batches_tracked^ `:` type($num_batches_tracked) `)`)?
    attr-dict `:` type($running_mean)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Activations
//===----------------------------------------------------------------------===//

def IABN_ActivationOp : IABN_Op<"activation", [
    Pure, AllTypesMatch<["input", "output"]>]> {
  let summary = "element-wise activation";
  let description = [{
    `output = phi(input)` for the activation named by the attribute (see
    `#iabn.activation`). Any ranked float tensor.

    ```mlir
    %z = iabn.activation <leaky_relu, 1.000000e-02> %y : tensor<8x16x32x32xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[F16, BF16, F32, F64]>:$input,
                       IABN_ActivationAttr:$activation);
  let results = (outs RankedTensorOf<[F16, BF16, F32, F64]>:$output);
  let assemblyFormat = "$activation $input attr-dict `:` type($input)";
}

def IABN_ActivationGradOp : IABN_Op<"activation_grad", [
    Pure, AllTypesMatch<["grad_output", "source", "grad_input"]>]> {
  let summary = "gradient of an element-wise activation";
  let description = [{
    `grad_input = grad_output * phi'(.)`. Without `self_is_result`, `source`
    is the activation's input `y`; with it, `source` is the activation's
    output `z` (PyTorch's `self_is_result`) and the derivative is computed
    from the output:

    * identity: 1; relu: `z > 0 ? 1 : 0`
    * leaky_relu(s): `z > 0 ? 1 : s` (requires `s >= 0`)
    * elu(a): `z > 0 ? 1 : z + a` (requires `a >= 0`)
    * relu6: `0 < z < 6 ? 1 : 0`

    silu, gelu and hardswish cannot be differentiated from their output.

    ```mlir
    %dy = iabn.activation_grad <leaky_relu, 1.000000e-02> %dz, %z
        {self_is_result} : tensor<8x16x32x32xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[F16, BF16, F32, F64]>:$grad_output,
                       RankedTensorOf<[F16, BF16, F32, F64]>:$source,
                       IABN_ActivationAttr:$activation,
                       UnitAttr:$self_is_result);
  let results = (outs RankedTensorOf<[F16, BF16, F32, F64]>:$grad_input);
  let assemblyFormat = [{
    $activation $grad_output `,` $source attr-dict `:` type($source)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Fused InPlace-ABN
//===----------------------------------------------------------------------===//

def IABN_InPlaceABNOp : IABN_Op<"inplace_abn", [
    Pure, AttrSizedOperandSegments,
    AllTypesMatch<["input", "output"]>,
    AllTypesMatch<["mean", "variance"]>,
    IABN_SameChannelType<"mean", "scale">,
    IABN_SameChannelType<"mean", "offset">]> {
  let summary = "fused training batch norm + invertible activation, in place";
  let description = [{
    The forward of In-Place Activated BatchNorm:

    ```
    mean, variance = batch statistics of x (biased variance)
    x_hat  = (x - mean) * rsqrt(variance + epsilon)
    output = z = phi(gamma_hat * x_hat + offset)
    ```

    `gamma_hat` follows `gamma_mode` (see `#iabn.gamma_mode`); `scale`
    defaults to 1 and `offset` to 0 when absent. `output` is declared to take
    the buffer of `input`: One-Shot Bufferize writes z over x exactly when x
    is not read afterwards, and copies x otherwise. The activation must be
    invertible (identity, leaky_relu with slope > 0, elu with alpha > 0) so
    that the backward can recover everything from z.

    ```mlir
    %z, %mean, %var = iabn.inplace_abn <leaky_relu, 1.000000e-02> %x
        scale %gamma offset %beta : tensor<8x16x32x32xf32>, tensor<16xf32>
    ```
  }];
  let arguments = (ins IABN_DataTensor:$input,
                       Optional<IABN_ChannelTensor>:$scale,
                       Optional<IABN_ChannelTensor>:$offset,
                       IABN_ActivationAttr:$activation,
                       IABN_FeatureDimAttr:$feature_dim,
                       IABN_EpsilonAttr:$epsilon,
                       IABN_GammaModeDefaultAttr:$gamma_mode);
  let results = (outs IABN_DataTensor:$output,
                      IABN_ChannelTensor:$mean,
                      IABN_ChannelTensor:$variance);
  let assemblyFormat = [{
    $activation $input (`scale` $scale^)? (`offset` $offset^)? attr-dict
    `:` type($input) `,` type($mean)
  }];
  let hasVerifier = 1;
}

def IABN_InPlaceABNGradOp : IABN_Op<"inplace_abn_grad", [
    Pure, AttrSizedOperandSegments,
    AllTypesMatch<["grad_output", "output", "grad_input"]>,
    AllTypesMatch<["variance", "grad_scale", "grad_offset"]>,
    IABN_SameChannelType<"variance", "scale">,
    IABN_SameChannelType<"variance", "offset">]> {
  let summary = "backward of InPlace-ABN from the stored output z only";
  let description = [{
    Reads neither the BN input x nor the BN output y: both are recomputed
    from the activation output `output` (z) through the activation's inverse.

    ```
    y           = phi^-1(z)
    g_y         = dz * phi'(z)     (leaky: z > 0 ? 1 : s; elu: z > 0 ? 1 : z + a)
    x_hat       = (y - offset) / gamma_hat
    grad_offset = sum(g_y)
    dgamma_hat  = sum(g_y * x_hat)
    grad_input  = gamma_hat * rsqrt(variance + epsilon)
                  * (g_y - grad_offset / m - x_hat * dgamma_hat / m)
    grad_scale  = dgamma_hat                     (sign_clamp: straight-through)
                = dgamma_hat * sign(scale)       (abs_plus_eps)
    ```

    The batch mean is not needed. `grad_input` may take the buffer of
    `grad_output`: One-Shot Bufferize writes dx over dz exactly when dz is
    not read afterwards.

    ```mlir
    %dx, %dgamma, %dbeta = iabn.inplace_abn_grad <leaky_relu, 1.000000e-02>
        %dz, %z scale %gamma offset %beta variance(%var)
        : tensor<8x16x32x32xf32>, tensor<16xf32>
    ```
  }];
  let arguments = (ins IABN_DataTensor:$grad_output,
                       IABN_DataTensor:$output,
                       Optional<IABN_ChannelTensor>:$scale,
                       Optional<IABN_ChannelTensor>:$offset,
                       IABN_ChannelTensor:$variance,
                       IABN_ActivationAttr:$activation,
                       IABN_FeatureDimAttr:$feature_dim,
                       IABN_EpsilonAttr:$epsilon,
                       IABN_GammaModeDefaultAttr:$gamma_mode);
  let results = (outs IABN_DataTensor:$grad_input,
                      IABN_ChannelTensor:$grad_scale,
                      IABN_ChannelTensor:$grad_offset);
  let assemblyFormat = [{
    $activation $grad_output `,` $output (`scale` $scale^)?
    (`offset` $offset^)? `variance` `(` $variance `)` attr-dict
    `:` type($output) `,` type($variance)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Fused InPlace-ABN on buffers (result of One-Shot Bufferize)
//===----------------------------------------------------------------------===//

def IABN_InPlaceABNBufferOp : IABN_Op<"inplace_abn_buffer", [
    AttrSizedOperandSegments]> {
  let summary = "InPlace-ABN forward on memrefs: z overwrites x";
  let description = [{
    The bufferized form of `iabn.inplace_abn`: reads `input`, writes
    `z = phi(BN(x))` back into the same buffer and the batch statistics into
    `mean` and `variance`. Produced by One-Shot Bufferize.

    ```mlir
    iabn.inplace_abn_buffer <leaky_relu, 1.000000e-02> %x scale %gamma
        offset %beta stats(%mean, %var) : memref<8x16x32x32xf32>, memref<16xf32>
    ```
  }];
  let arguments = (ins Arg<IABN_DataMemRef, "x in, z out",
                           [MemRead, MemWrite]>:$input,
                       Arg<Optional<IABN_ChannelMemRef>, "", [MemRead]>:$scale,
                       Arg<Optional<IABN_ChannelMemRef>, "", [MemRead]>:$offset,
                       Arg<IABN_ChannelMemRef, "", [MemWrite]>:$mean,
                       Arg<IABN_ChannelMemRef, "", [MemWrite]>:$variance,
                       IABN_ActivationAttr:$activation,
                       IABN_FeatureDimAttr:$feature_dim,
                       IABN_EpsilonAttr:$epsilon,
                       IABN_GammaModeDefaultAttr:$gamma_mode);
  let assemblyFormat = [{
    $activation $input (`scale` $scale^ `:` type($scale))?
    (`offset` $offset^ `:` type($offset))?
    `stats` `(` $mean `,` $variance `)` attr-dict
    `:` type($input) `,` type($mean) `,` type($variance)
  }];
  let hasVerifier = 1;
}

def IABN_InPlaceABNGradBufferOp : IABN_Op<"inplace_abn_grad_buffer", [
    AttrSizedOperandSegments]> {
  let summary = "InPlace-ABN backward on memrefs: dx overwrites dz";
  let description = [{
    The bufferized form of `iabn.inplace_abn_grad`: reads `grad_output` (dz)
    and `output` (z), writes dx back into the buffer of dz and the parameter
    gradients into `grad_scale` and `grad_offset`. Produced by One-Shot
    Bufferize.

    ```mlir
    iabn.inplace_abn_grad_buffer <leaky_relu, 1.000000e-02> %dz, %z
        variance(%var : memref<16xf32>) grads(%dgamma, %dbeta)
        : memref<8x16x32x32xf32>, memref<8x16x32x32xf32>, memref<16xf32>
    ```
  }];
  let arguments = (ins Arg<IABN_DataMemRef, "dz in, dx out",
                           [MemRead, MemWrite]>:$grad_output,
                       Arg<IABN_DataMemRef, "z", [MemRead]>:$output,
                       Arg<Optional<IABN_ChannelMemRef>, "", [MemRead]>:$scale,
                       Arg<Optional<IABN_ChannelMemRef>, "", [MemRead]>:$offset,
                       Arg<IABN_ChannelMemRef, "", [MemRead]>:$variance,
                       Arg<IABN_ChannelMemRef, "", [MemWrite]>:$grad_scale,
                       Arg<IABN_ChannelMemRef, "", [MemWrite]>:$grad_offset,
                       IABN_ActivationAttr:$activation,
                       IABN_FeatureDimAttr:$feature_dim,
                       IABN_EpsilonAttr:$epsilon,
                       IABN_GammaModeDefaultAttr:$gamma_mode);
  let assemblyFormat = [{
    $activation $grad_output `,` $output
    (`scale` $scale^ `:` type($scale))? (`offset` $offset^ `:` type($offset))?
    `variance` `(` $variance `:` type($variance) `)`
    `grads` `(` $grad_scale `,` $grad_offset `)` attr-dict
    `:` type($grad_output) `,` type($output) `,` type($grad_scale) `,`
    type($grad_offset)
  }];
  let hasVerifier = 1;
}

#endif // IABN_DIALECT_IABN_IR_IABNOPS_TD
