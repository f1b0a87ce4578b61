// RUN: iabn-opt %s | iabn-opt | FileCheck %s
// RUN: iabn-opt %s --mlir-print-op-generic | iabn-opt | FileCheck %s
// RUN: iabn-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// Round trip of every op in its custom and generic forms, over the layouts
// and element types the dialect accepts.

// CHECK-LABEL: func.func @nchw_train
// GENERIC-LABEL: sym_name = "nchw_train"
func.func @nchw_train(%x: tensor<8x16x4x4xf32>, %g: tensor<16xf32>,
                      %b: tensor<16xf32>, %dz: tensor<8x16x4x4xf32>)
    -> (tensor<8x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>) {
  // CHECK: %[[Y:.*]], %[[M:.*]], %[[V:.*]] = iabn.batch_norm_train %{{.*}} scale %{{.*}} offset %{{.*}} : tensor<8x16x4x4xf32>, tensor<16xf32>
  // GENERIC: "iabn.batch_norm_train"(%{{.*}}, %{{.*}}, %{{.*}}) <{epsilon = 1.000000e-05 : f64, feature_dim = 1 : i64, operandSegmentSizes = array<i32: 1, 1, 1>}>
  %y, %m, %v = iabn.batch_norm_train %x scale %g offset %b
      : tensor<8x16x4x4xf32>, tensor<16xf32>
  // CHECK: %[[Z:.*]] = iabn.activation <leaky_relu, 1.000000e-02> %[[Y]] : tensor<8x16x4x4xf32>
  // GENERIC: "iabn.activation"(%{{.*}}) <{activation = #iabn.activation<leaky_relu, 1.000000e-02>}>
  %z = iabn.activation <leaky_relu, 0.01> %y : tensor<8x16x4x4xf32>
  // CHECK: %[[DY:.*]] = iabn.activation_grad <leaky_relu, 1.000000e-02> %{{.*}}, %[[Z]] {self_is_result} : tensor<8x16x4x4xf32>
  // GENERIC: "iabn.activation_grad"(%{{.*}}, %{{.*}}) <{activation = #iabn.activation<leaky_relu, 1.000000e-02>, self_is_result}>
  %dy = iabn.activation_grad <leaky_relu, 0.01> %dz, %z {self_is_result}
      : tensor<8x16x4x4xf32>
  // CHECK: iabn.batch_norm_train_grad %[[DY]], %{{.*}} scale %{{.*}} stats(%[[M]], %[[V]]) : tensor<8x16x4x4xf32>, tensor<16xf32>
  // GENERIC: "iabn.batch_norm_train_grad"
  %dx, %dg, %db = iabn.batch_norm_train_grad %dy, %x scale %g stats(%m, %v)
      : tensor<8x16x4x4xf32>, tensor<16xf32>
  return %dx, %dg, %db : tensor<8x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>
}

// CHECK-LABEL: func.func @fused_nhwc_f16
func.func @fused_nhwc_f16(%x: tensor<4x8x8x32xf16>, %g: tensor<32xf32>,
                          %b: tensor<32xf32>, %dz: tensor<4x8x8x32xf16>)
    -> (tensor<4x8x8x32xf16>, tensor<32xf32>, tensor<32xf32>) {
  // CHECK: %[[Z:.*]], %{{.*}}, %[[V:.*]] = iabn.inplace_abn <elu, 1.000000e+00> %{{.*}} scale %{{.*}} offset %{{.*}} {epsilon = 1.000000e-03 : f64, feature_dim = 3 : i64} : tensor<4x8x8x32xf16>, tensor<32xf32>
  %z, %m, %v = iabn.inplace_abn <elu, 1.0> %x scale %g offset %b
      {feature_dim = 3 : i64, epsilon = 1.0e-3 : f64}
      : tensor<4x8x8x32xf16>, tensor<32xf32>
  // CHECK: iabn.inplace_abn_grad <elu, 1.000000e+00> %{{.*}}, %[[Z]] scale %{{.*}} offset %{{.*}} variance(%[[V]]) {epsilon = 1.000000e-03 : f64, feature_dim = 3 : i64} : tensor<4x8x8x32xf16>, tensor<32xf32>
  %dx, %dg, %db = iabn.inplace_abn_grad <elu, 1.0> %dz, %z scale %g offset %b
      variance(%v) {feature_dim = 3 : i64, epsilon = 1.0e-3 : f64}
      : tensor<4x8x8x32xf16>, tensor<32xf32>
  return %dx, %dg, %db : tensor<4x8x8x32xf16>, tensor<32xf32>, tensor<32xf32>
}

// The official library's gamma rule; the default (sign_clamp) is elided.
// CHECK-LABEL: func.func @gamma_modes
func.func @gamma_modes(%x: tensor<2x3xbf16>, %g: tensor<3xf32>)
    -> (tensor<2x3xbf16>, tensor<2x3xbf16>) {
  // CHECK: iabn.inplace_abn <identity> %{{.*}} scale %{{.*}} {gamma_mode = #iabn.gamma_mode<abs_plus_eps>} : tensor<2x3xbf16>, tensor<3xf32>
  %z, %m, %v = iabn.inplace_abn <identity> %x scale %g
      {gamma_mode = #iabn.gamma_mode<abs_plus_eps>}
      : tensor<2x3xbf16>, tensor<3xf32>
  // CHECK: iabn.inplace_abn <identity> %{{.*}} scale %{{.*}} : tensor<2x3xbf16>, tensor<3xf32>
  %z2, %m2, %v2 = iabn.inplace_abn <identity> %x scale %g
      {gamma_mode = #iabn.gamma_mode<sign_clamp>}
      : tensor<2x3xbf16>, tensor<3xf32>
  return %z, %z2 : tensor<2x3xbf16>, tensor<2x3xbf16>
}

// BatchNorm1d (N, C, L) without affine parameters, and 3-d (N, C, D, H, W) in
// f64 with f64 statistics.
// CHECK-LABEL: func.func @no_affine_and_f64
func.func @no_affine_and_f64(%x: tensor<16x8x100xf32>,
                             %x3: tensor<2x4x3x5x5xf64>,
                             %g3: tensor<4xf64>)
    -> (tensor<16x8x100xf32>, tensor<2x4x3x5x5xf64>) {
  // CHECK: iabn.batch_norm_train %{{.*}} : tensor<16x8x100xf32>, tensor<8xf32>
  %y, %m, %v = iabn.batch_norm_train %x : tensor<16x8x100xf32>, tensor<8xf32>
  // CHECK: iabn.inplace_abn <leaky_relu, 2.000000e-01> %{{.*}} offset %{{.*}} : tensor<2x4x3x5x5xf64>, tensor<4xf64>
  %z, %m3, %v3 = iabn.inplace_abn <leaky_relu, 0.2> %x3 offset %g3
      : tensor<2x4x3x5x5xf64>, tensor<4xf64>
  return %y, %z : tensor<16x8x100xf32>, tensor<2x4x3x5x5xf64>
}

// Dynamic dimensions parse and verify (passes reject them where they need
// static shapes).
// CHECK-LABEL: func.func @dynamic
func.func @dynamic(%x: tensor<?x?x7xf32>, %g: tensor<?xf32>)
    -> (tensor<?x?x7xf32>, tensor<?xf32>) {
  // CHECK: iabn.inplace_abn <leaky_relu, 1.000000e-02> %{{.*}} scale %{{.*}} offset %{{.*}} : tensor<?x?x7xf32>, tensor<?xf32>
  %z, %m, %v = iabn.inplace_abn <leaky_relu, 0.01> %x scale %g offset %g
      : tensor<?x?x7xf32>, tensor<?xf32>
  return %z, %v : tensor<?x?x7xf32>, tensor<?xf32>
}

// CHECK-LABEL: func.func @inference_and_running_stats
func.func @inference_and_running_stats(%x: tensor<32x64xf32>,
    %g: tensor<64xf32>, %rm: tensor<64xf32>, %rv: tensor<64xf32>,
    %n: tensor<i64>) -> (tensor<32x64xf32>, tensor<64xf32>, tensor<64xf32>) {
  // CHECK: iabn.batch_norm_inference %{{.*}} scale %{{.*}} offset %{{.*}} stats(%{{.*}}, %{{.*}}) {epsilon = 1.000000e-03 : f64} : tensor<32x64xf32>, tensor<64xf32>
  %y = iabn.batch_norm_inference %x scale %g offset %g stats(%rm, %rv)
      {epsilon = 1.0e-3 : f64} : tensor<32x64xf32>, tensor<64xf32>
  %yt, %m, %v = iabn.batch_norm_train %x : tensor<32x64xf32>, tensor<64xf32>
  // CHECK: iabn.running_stats_update %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {momentum = 1.000000e-01 : f64, sample_count = 32 : i64} : tensor<64xf32>
  %rm1, %rv1 = iabn.running_stats_update %rm, %rv, %m, %v
      {momentum = 0.1 : f64, sample_count = 32 : i64} : tensor<64xf32>
  // CHECK: iabn.running_stats_update %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} count(%{{.*}} : tensor<i64>) {sample_count = 32 : i64} : tensor<64xf32>
  %rm2, %rv2 = iabn.running_stats_update %rm1, %rv1, %m, %v
      count(%n : tensor<i64>) {sample_count = 32 : i64} : tensor<64xf32>
  return %y, %rm2, %rv2 : tensor<32x64xf32>, tensor<64xf32>, tensor<64xf32>
}

// Activations on any ranked float tensor, with and without self_is_result.
// CHECK-LABEL: func.func @activations
func.func @activations(%y: tensor<10xf64>, %g: tensor<10xf64>) -> tensor<10xf64> {
  // CHECK: iabn.activation <identity>
  %a = iabn.activation <identity> %y : tensor<10xf64>
  // CHECK: iabn.activation <relu>
  %b = iabn.activation <relu> %a : tensor<10xf64>
  // CHECK: iabn.activation <leaky_relu, -5.000000e-01>
  %c = iabn.activation <leaky_relu, -0.5> %b : tensor<10xf64>
  // CHECK: iabn.activation <elu, 2.500000e+00>
  %d = iabn.activation <elu, 2.5> %c : tensor<10xf64>
  // CHECK: iabn.activation_grad <relu> %{{.*}}, %{{.*}} {self_is_result}
  %e = iabn.activation_grad <relu> %g, %d {self_is_result} : tensor<10xf64>
  // A negative slope is fine when the gradient reads the activation input.
  // CHECK: iabn.activation_grad <leaky_relu, -5.000000e-01> %{{.*}}, %{{.*}} : tensor<10xf64>
  %f = iabn.activation_grad <leaky_relu, -0.5> %e, %c : tensor<10xf64>
  // CHECK: iabn.activation <relu6>
  %r6 = iabn.activation <relu6> %f : tensor<10xf64>
  // CHECK: iabn.activation <silu>
  %si = iabn.activation <silu> %r6 : tensor<10xf64>
  // CHECK: iabn.activation <gelu>
  %ge = iabn.activation <gelu> %si : tensor<10xf64>
  // CHECK: iabn.activation <hardswish>
  %hs = iabn.activation <hardswish> %ge : tensor<10xf64>
  // relu6's derivative can be computed from its output; the others' only
  // from their input.
  // CHECK: iabn.activation_grad <relu6> %{{.*}}, %{{.*}} {self_is_result}
  %g1 = iabn.activation_grad <relu6> %g, %r6 {self_is_result} : tensor<10xf64>
  // CHECK: iabn.activation_grad <gelu> %{{.*}}, %{{.*}} : tensor<10xf64>
  %g2 = iabn.activation_grad <gelu> %g1, %si : tensor<10xf64>
  return %g2 : tensor<10xf64>
}

// The bufferized forms.
// CHECK-LABEL: func.func @buffers
func.func @buffers(%x: memref<8x16x4x4xf32>, %dz: memref<8x16x4x4xf32>,
                   %g: memref<16xf32>,
                   %c: memref<16xf32, strided<[?], offset: ?>>) {
  // CHECK: iabn.inplace_abn_buffer <leaky_relu, 1.000000e-02> %{{.*}} scale %{{.*}} : memref<16xf32> stats(%{{.*}}, %{{.*}}) : memref<8x16x4x4xf32>, memref<16xf32>, memref<16xf32, strided<[?], offset: ?>>
  iabn.inplace_abn_buffer <leaky_relu, 0.01> %x scale %g : memref<16xf32>
      stats(%g, %c) : memref<8x16x4x4xf32>, memref<16xf32>,
      memref<16xf32, strided<[?], offset: ?>>
  // CHECK: iabn.inplace_abn_grad_buffer <leaky_relu, 1.000000e-02> %{{.*}}, %{{.*}} offset %{{.*}} : memref<16xf32> variance(%{{.*}} : memref<16xf32>) grads(%{{.*}}, %{{.*}}) {gamma_mode = #iabn.gamma_mode<abs_plus_eps>}
  iabn.inplace_abn_grad_buffer <leaky_relu, 0.01> %dz, %x
      offset %g : memref<16xf32> variance(%g : memref<16xf32>)
      grads(%g, %g) {gamma_mode = #iabn.gamma_mode<abs_plus_eps>}
      : memref<8x16x4x4xf32>, memref<8x16x4x4xf32>, memref<16xf32>,
        memref<16xf32>
  return
}
