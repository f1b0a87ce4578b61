// RUN: iabn-opt %s -split-input-file -verify-diagnostics

// One case per verifier rule: every diagnostic is located on the op (or the
// attribute) that breaks the rule.

//===----------------------------------------------------------------------===//
// #iabn.activation
//===----------------------------------------------------------------------===//

func.func @unknown_activation(%y: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{unknown activation 'swish'; expected identity, relu, leaky_relu, elu, relu6, silu, gelu or hardswish}}
  %z = iabn.activation <swish> %y : tensor<4x4xf32>
  return %z : tensor<4x4xf32>
}

// -----

func.func @relu_with_param(%y: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{activation 'relu' takes no parameter}}
  %z = iabn.activation <relu, 0.5> %y : tensor<4x4xf32>
  return %z : tensor<4x4xf32>
}

// -----

func.func @leaky_without_param(%y: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{activation 'leaky_relu' requires a parameter (negative slope)}}
  %z = iabn.activation <leaky_relu> %y : tensor<4x4xf32>
  return %z : tensor<4x4xf32>
}

// -----

func.func @elu_non_finite(%y: tensor<4x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{activation 'elu' has a non-finite alpha}}
  %z = iabn.activation <elu, 0x7FF0000000000000> %y : tensor<4x4xf32>
  return %z : tensor<4x4xf32>
}

// -----

//===----------------------------------------------------------------------===//
// Types (ODS constraints)
//===----------------------------------------------------------------------===//

func.func @integer_data(%x: tensor<4x4xi32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float values}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<4x4xi32>, tensor<4xf32>
  return
}

// -----

func.func @f16_statistics(%x: tensor<4x4xf16>) {
  // expected-error @+1 {{'mean' must be 1D tensor of 32-bit float or 64-bit float values, but got 'tensor<4xf16>'}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<4x4xf16>, tensor<4xf16>
  return
}

// -----

func.func @scale_type_differs(%x: tensor<4x4xf32>, %g: tensor<5xf32>) {
  // expected-error @+1 {{failed to verify that per-channel operands have the same type}}
  %y, %m, %v = "iabn.batch_norm_train"(%x, %g) <{operandSegmentSizes = array<i32: 1, 1, 0>}>
      : (tensor<4x4xf32>, tensor<5xf32>) -> (tensor<4x4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @output_type_differs(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{failed to verify that all of {input, output} have same type}}
  %y, %m, %v = "iabn.batch_norm_train"(%x) <{operandSegmentSizes = array<i32: 1, 0, 0>}>
      : (tensor<4x4xf32>) -> (tensor<4x4xf16>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

//===----------------------------------------------------------------------===//
// Layout
//===----------------------------------------------------------------------===//

func.func @rank_one(%x: tensor<16xf32>) {
  // expected-error @+1 {{expects data of rank >= 2 (batch, channels, ...), got rank 1}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<16xf32>, tensor<16xf32>
  return
}

// -----

func.func @feature_dim_too_large(%x: tensor<8x16x4x4xf32>) {
  // expected-error @+1 {{feature_dim 4 is out of range for data of rank 4}}
  %y, %m, %v = iabn.batch_norm_train %x {feature_dim = 4 : i64}
      : tensor<8x16x4x4xf32>, tensor<16xf32>
  return
}

// -----

func.func @feature_dim_negative(%x: tensor<8x16x4x4xf32>) {
  // expected-error @+1 {{feature_dim -1 is out of range for data of rank 4}}
  %y, %m, %v = iabn.batch_norm_train %x {feature_dim = -1 : i64}
      : tensor<8x16x4x4xf32>, tensor<16xf32>
  return
}

// -----

func.func @channel_extent(%x: tensor<8x16x4x4xf32>) {
  // expected-error @+1 {{per-channel 'mean' has 8 elements but the data has 16 channels (dimension 1)}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16x4x4xf32>, tensor<8xf32>
  return
}

// -----

func.func @channel_extent_nhwc(%x: tensor<8x4x4x16xf32>, %g: tensor<4xf32>) {
  // expected-error @+1 {{per-channel 'scale' has 4 elements but the data has 16 channels (dimension 3)}}
  %z, %m, %v = iabn.inplace_abn <identity> %x scale %g {feature_dim = 3 : i64}
      : tensor<8x4x4x16xf32>, tensor<4xf32>
  return
}

// -----

func.func @f64_stats_need_f64_data(%x: tensor<8x16xf32>) {
  // expected-error @+1 {{per-channel 'mean' is f64, which requires f64 data, got 'f32'}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf64>
  return
}

// -----

func.func @mixed_channel_types(%x: memref<8x16xf64>, %m: memref<16xf32>,
                               %v: memref<16xf64>) {
  // expected-error @+1 {{per-channel 'variance' has element type 'f64' but other per-channel values have 'f32'}}
  iabn.inplace_abn_buffer <identity> %x stats(%m, %v)
      : memref<8x16xf64>, memref<16xf32>, memref<16xf64>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Numeric attributes
//===----------------------------------------------------------------------===//

// epsilon = 0 is valid on the standard ops (as in StableHLO), not on the
// fused ones, which need a non-zero gamma_hat.
func.func @epsilon_zero_fused(%x: tensor<8x16xf32>) {
  // expected-error @+1 {{epsilon must be > 0 on the fused ops, got 0}}
  %z, %m, %v = iabn.inplace_abn <identity> %x {epsilon = 0.0 : f64}
      : tensor<8x16xf32>, tensor<16xf32>
  return
}

// -----

func.func @epsilon_nan(%x: tensor<8x16xf32>) {
  // expected-error @+1 {{epsilon must be a finite value >= 0, got}}
  %y, %m, %v = iabn.batch_norm_train %x {epsilon = 0x7FF8000000000000 : f64}
      : tensor<8x16xf32>, tensor<16xf32>
  return
}

// -----

func.func @epsilon_negative_inference(%x: tensor<8x16xf32>, %r: tensor<16xf32>) {
  // expected-error @+1 {{epsilon must be a finite value >= 0, got -1}}
  %y = iabn.batch_norm_inference %x stats(%r, %r) {epsilon = -1.0 : f64}
      : tensor<8x16xf32>, tensor<16xf32>
  return
}

// -----

func.func @one_value_per_channel(%x: tensor<1x16x1x1xf32>) {
  // expected-error @+1 {{training-mode batch norm needs more than one value per channel, got 1}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<1x16x1x1xf32>, tensor<16xf32>
  return
}

// -----

func.func @one_value_per_channel_grad(%x: tensor<1x16xf32>, %s: tensor<16xf32>) {
  // expected-error @+1 {{training-mode batch norm needs more than one value per channel, got 1}}
  %dx, %dg, %db = iabn.batch_norm_train_grad %x, %x stats(%s, %s)
      : tensor<1x16xf32>, tensor<16xf32>
  return
}

// -----

func.func @grad_channel_extent(%x: tensor<8x16xf32>, %s: tensor<15xf32>) {
  // expected-error @+1 {{per-channel 'mean' has 15 elements but the data has 16 channels (dimension 1)}}
  %dx, %dg, %db = iabn.batch_norm_train_grad %x, %x stats(%s, %s)
      : tensor<8x16xf32>, tensor<15xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Invertibility (fused ops) and self_is_result
//===----------------------------------------------------------------------===//

func.func @fused_relu(%x: tensor<8x16xf32>) {
  // expected-error @+1 {{activation #iabn.activation<relu> is not invertible; the fused ops accept identity, leaky_relu with slope > 0 and elu with alpha > 0}}
  %z, %m, %v = iabn.inplace_abn <relu> %x : tensor<8x16xf32>, tensor<16xf32>
  return
}

// -----

func.func @fused_leaky_zero_slope(%x: tensor<8x16xf32>) {
  // expected-error @+1 {{activation #iabn.activation<leaky_relu, 0.000000e+00> is not invertible}}
  %z, %m, %v = iabn.inplace_abn <leaky_relu, 0.0> %x : tensor<8x16xf32>, tensor<16xf32>
  return
}

// -----

func.func @fused_grad_elu_negative_alpha(%dz: tensor<8x16xf32>, %v: tensor<16xf32>) {
  // expected-error @+1 {{activation #iabn.activation<elu, -1.000000e+00> is not invertible}}
  %dx, %dg, %db = iabn.inplace_abn_grad <elu, -1.0> %dz, %dz variance(%v)
      : tensor<8x16xf32>, tensor<16xf32>
  return
}

// -----

func.func @fused_buffer_relu(%x: memref<8x16xf32>, %s: memref<16xf32>) {
  // expected-error @+1 {{activation #iabn.activation<relu> is not invertible}}
  iabn.inplace_abn_buffer <relu> %x stats(%s, %s)
      : memref<8x16xf32>, memref<16xf32>, memref<16xf32>
  return
}

// -----

func.func @fused_grad_buffer_shapes(%dz: memref<8x16xf32>, %z: memref<4x16xf32>,
                                    %s: memref<16xf32>) {
  // expected-error @+1 {{grad_output 'memref<8x16xf32>' and output 'memref<4x16xf32>' must have the same shape and element type}}
  iabn.inplace_abn_grad_buffer <identity> %dz, %z variance(%s : memref<16xf32>)
      grads(%s, %s) : memref<8x16xf32>, memref<4x16xf32>, memref<16xf32>,
      memref<16xf32>
  return
}

// -----

func.func @self_is_result_negative_slope(%g: tensor<8xf32>, %z: tensor<8xf32>) {
  // expected-error @+1 {{cannot compute the derivative of #iabn.activation<leaky_relu, -1.000000e-01> from its output (self_is_result)}}
  %d = iabn.activation_grad <leaky_relu, -0.1> %g, %z {self_is_result} : tensor<8xf32>
  return
}

// -----

func.func @self_is_result_negative_alpha(%g: tensor<8xf32>, %z: tensor<8xf32>) {
  // expected-error @+1 {{cannot compute the derivative of #iabn.activation<elu, -2.000000e+00> from its output (self_is_result)}}
  %d = iabn.activation_grad <elu, -2.0> %g, %z {self_is_result} : tensor<8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Running statistics
//===----------------------------------------------------------------------===//

func.func @sample_count_one(%s: tensor<16xf32>) {
  // expected-error @+1 {{sample_count must be >= 2 for the unbiased variance m / (m - 1), got 1}}
  %a, %b = iabn.running_stats_update %s, %s, %s, %s
      {momentum = 0.1 : f64, sample_count = 1 : i64} : tensor<16xf32>
  return
}

// -----

func.func @momentum_and_count(%s: tensor<16xf32>, %n: tensor<i64>) {
  // expected-error @+1 {{takes either a 'momentum' attribute (exponential average) or a 'count' operand (cumulative average), not both}}
  %a, %b = iabn.running_stats_update %s, %s, %s, %s count(%n : tensor<i64>)
      {momentum = 0.1 : f64, sample_count = 8 : i64} : tensor<16xf32>
  return
}

// -----

func.func @neither_momentum_nor_count(%s: tensor<16xf32>) {
  // expected-error @+1 {{needs a 'momentum' attribute (exponential average) or a 'count' operand (cumulative average)}}
  %a, %b = iabn.running_stats_update %s, %s, %s, %s {sample_count = 8 : i64}
      : tensor<16xf32>
  return
}

// -----

func.func @momentum_out_of_range(%s: tensor<16xf32>) {
  // expected-error @+1 {{momentum must be in [0, 1], got 1.5}}
  %a, %b = iabn.running_stats_update %s, %s, %s, %s
      {momentum = 1.5 : f64, sample_count = 8 : i64} : tensor<16xf32>
  return
}

// -----

func.func @fused_silu(%x: tensor<8x16xf32>) {
  // expected-error @+1 {{activation #iabn.activation<silu> is not invertible}}
  %z, %m, %v = iabn.inplace_abn <silu> %x : tensor<8x16xf32>, tensor<16xf32>
  return
}

// -----

func.func @relu6_param(%y: tensor<4xf32>) {
  // expected-error @+1 {{activation 'relu6' takes no parameter}}
  %z = iabn.activation <relu6, 6.0> %y : tensor<4xf32>
  return
}

// -----

func.func @self_is_result_silu(%g: tensor<8xf32>, %z: tensor<8xf32>) {
  // expected-error @+1 {{cannot compute the derivative of #iabn.activation<silu> from its output (self_is_result): leaky_relu needs slope >= 0, elu needs alpha >= 0, and silu, gelu and hardswish need their input}}
  %d = iabn.activation_grad <silu> %g, %z {self_is_result} : tensor<8xf32>
  return
}

// -----

func.func @self_is_result_hardswish(%g: tensor<8xf32>, %z: tensor<8xf32>) {
  // expected-error @+1 {{cannot compute the derivative of #iabn.activation<hardswish> from its output}}
  %d = iabn.activation_grad <hardswish> %g, %z {self_is_result} : tensor<8xf32>
  return
}
