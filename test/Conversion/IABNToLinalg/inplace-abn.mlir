// RUN: iabn-opt %s -split-input-file --convert-iabn-to-linalg --canonicalize --cse | FileCheck %s

// The fused forward: two-pass statistics accumulated in f32 from f16 storage,
// gamma_hat = |gamma| + eps (abs_plus_eps), and the final element-wise map
// writes z into the destination x (destination-passing style).
// CHECK-LABEL: func.func @forward_f16_abs_plus_eps
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<8x4x2xf16>, %[[G:[a-z0-9]+]]: tensor<4xf32>, %[[B:[a-z0-9]+]]: tensor<4xf32>)
// CHECK-DAG: %[[M:.*]] = arith.constant 1.600000e+01 : f32
// First pass: the sum per channel (channel dim parallel, others reduction).
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}}iterator_types = ["reduction", "parallel", "reduction"]{{.*}} ins(%[[X]] : tensor<8x4x2xf16>)
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: %[[MEAN:.*]] = linalg.generic {{.*}} ins(%[[SUM]]
// CHECK: arith.divf %{{.*}}, %[[M]]
// Second pass: squared deviations from the mean.
// CHECK: %[[SQ:.*]] = linalg.generic {{.*}}iterator_types = ["reduction", "parallel", "reduction"]{{.*}} ins(%[[X]], %[[MEAN]]
// CHECK: arith.subf
// CHECK: arith.mulf
// CHECK: %[[VAR:.*]] = linalg.generic {{.*}} ins(%[[SQ]]
// CHECK: linalg.generic {{.*}} ins(%[[VAR]], %[[G]], %[[B]]
// CHECK: math.rsqrt
// CHECK: math.absf
// CHECK: %[[Z:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel"]{{.*}} outs(%[[X]] : tensor<8x4x2xf16>)
// CHECK: math.expm1
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: return %[[Z]], %[[VAR]]
func.func @forward_f16_abs_plus_eps(%x: tensor<8x4x2xf16>, %g: tensor<4xf32>, %b: tensor<4xf32>) -> (tensor<8x4x2xf16>, tensor<4xf32>) {
  %z, %m, %v = iabn.inplace_abn <elu, 0.5> %x scale %g offset %b {gamma_mode = #iabn.gamma_mode<abs_plus_eps>} : tensor<8x4x2xf16>, tensor<4xf32>
  return %z, %v : tensor<8x4x2xf16>, tensor<4xf32>
}

// -----

// sign_clamp: sign(gamma) * max(|gamma|, eps).
// CHECK-LABEL: func.func @forward_sign_clamp
// CHECK: math.absf
// CHECK: arith.maximumf
// CHECK: arith.cmpf olt
// CHECK: arith.negf
// CHECK: arith.select
func.func @forward_sign_clamp(%x: tensor<8x4xf32>, %g: tensor<4xf32>) -> tensor<8x4xf32> {
  %z, %m, %v = iabn.inplace_abn <identity> %x scale %g : tensor<8x4xf32>, tensor<4xf32>
  return %z : tensor<8x4xf32>
}

// -----

// The fused backward reads z (never x or y), recovers y through the elu
// inverse (log1p of a clamped ratio, so z = -alpha gives no -inf), and
// writes dx into the destination dz. f64 data computes in f64.
// CHECK-LABEL: func.func @backward_f64
// CHECK-SAME: (%[[DZ:[a-z0-9]+]]: tensor<6x3xf64>, %[[Z:[a-z0-9]+]]: tensor<6x3xf64>
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "parallel"]{{.*}} ins(%[[DZ]], %[[Z]]
// CHECK: arith.maximumf
// CHECK: math.log1p
// CHECK: %[[DX:.*]] = linalg.generic {{.*}} ins(%[[Z]], {{.*}} outs(%[[DZ]] : tensor<6x3xf64>)
// CHECK: math.log1p
// CHECK-NOT: arith.extf
// CHECK: return %[[DX]]
func.func @backward_f64(%dz: tensor<6x3xf64>, %z: tensor<6x3xf64>, %g: tensor<3xf64>, %b: tensor<3xf64>, %v: tensor<3xf64>) -> (tensor<6x3xf64>, tensor<3xf64>, tensor<3xf64>) {
  %dx, %dg, %db = iabn.inplace_abn_grad <elu, 2.0> %dz, %z scale %g offset %b variance(%v) : tensor<6x3xf64>, tensor<3xf64>
  return %dx, %dg, %db : tensor<6x3xf64>, tensor<3xf64>, tensor<3xf64>
}

// -----

// abs_plus_eps: d gamma = d gamma_hat * sign(gamma).
// CHECK-LABEL: func.func @backward_abs_plus_eps_gamma_grad
// CHECK: arith.cmpf olt
// CHECK-NEXT: arith.negf
// CHECK-NEXT: arith.select
// CHECK-NEXT: linalg.yield
// CHECK-NEXT: } -> tensor<3xf32>
// CHECK-NEXT: return
func.func @backward_abs_plus_eps_gamma_grad(%dz: tensor<6x3xf32>, %z: tensor<6x3xf32>, %g: tensor<3xf32>, %v: tensor<3xf32>) -> (tensor<6x3xf32>, tensor<3xf32>) {
  %dx, %dg, %db = iabn.inplace_abn_grad <leaky_relu, 0.1> %dz, %z scale %g variance(%v) {gamma_mode = #iabn.gamma_mode<abs_plus_eps>} : tensor<6x3xf32>, tensor<3xf32>
  return %dx, %dg : tensor<6x3xf32>, tensor<3xf32>
}

// -----

// A dynamic batch checks m >= 2 at run time.
// CHECK-LABEL: func.func @dynamic
// CHECK: tensor.dim
// CHECK: cf.assert %{{.*}}, "iabn: training-mode batch norm needs more than one value per channel"
func.func @dynamic(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %z, %m, %v = iabn.inplace_abn <identity> %x : tensor<?x4xf32>, tensor<4xf32>
  return %z : tensor<?x4xf32>
}
