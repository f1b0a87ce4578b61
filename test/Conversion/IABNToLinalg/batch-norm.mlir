// RUN: iabn-opt %s -split-input-file --convert-iabn-to-linalg --canonicalize --cse | FileCheck %s

// Standard training BN writes y into a new tensor (x stays intact for its
// backward); NHWC reduces over every dimension but the last.
// CHECK-LABEL: func.func @train_nhwc
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<2x3x3x4xbf16>)
// CHECK: iterator_types = ["reduction", "reduction", "reduction", "parallel"]
// CHECK: arith.extf %{{.*}} : bf16 to f32
// CHECK: %[[E:.*]] = tensor.empty() : tensor<2x3x3x4xbf16>
// CHECK: %[[Y:.*]] = linalg.generic {{.*}} ins(%[[X]], {{.*}} outs(%[[E]] : tensor<2x3x3x4xbf16>)
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK: return %[[Y]]
func.func @train_nhwc(%x: tensor<2x3x3x4xbf16>) -> tensor<2x3x3x4xbf16> {
  %y, %m, %v = iabn.batch_norm_train %x {feature_dim = 3 : i64} : tensor<2x3x3x4xbf16>, tensor<4xf32>
  return %y : tensor<2x3x3x4xbf16>
}

// -----

// The standard backward reads x and writes dx into a new tensor.
// CHECK-LABEL: func.func @train_grad
// CHECK-SAME: (%[[DY:[a-z0-9]+]]: tensor<5x2xf32>, %[[X:[a-z0-9]+]]: tensor<5x2xf32>
// CHECK: linalg.generic {{.*}} ins(%[[DY]], %[[X]]
// CHECK: %[[E:.*]] = tensor.empty() : tensor<5x2xf32>
// CHECK: linalg.generic {{.*}} ins(%[[DY]], %[[X]], {{.*}} outs(%[[E]] : tensor<5x2xf32>)
func.func @train_grad(%dy: tensor<5x2xf32>, %x: tensor<5x2xf32>, %g: tensor<2xf32>, %m: tensor<2xf32>, %v: tensor<2xf32>) -> (tensor<5x2xf32>, tensor<2xf32>, tensor<2xf32>) {
  %dx, %dg, %db = iabn.batch_norm_train_grad %dy, %x scale %g stats(%m, %v) : tensor<5x2xf32>, tensor<2xf32>
  return %dx, %dg, %db : tensor<5x2xf32>, tensor<2xf32>, tensor<2xf32>
}

// -----

// Inference uses the running statistics: no reduction.
// CHECK-LABEL: func.func @inference
// CHECK-NOT: "reduction"
// CHECK: math.rsqrt
// CHECK-NOT: "reduction"
func.func @inference(%x: tensor<5x2xf32>, %rm: tensor<2xf32>, %rv: tensor<2xf32>) -> tensor<5x2xf32> {
  %y = iabn.batch_norm_inference %x stats(%rm, %rv) : tensor<5x2xf32>, tensor<2xf32>
  return %y : tensor<5x2xf32>
}

// -----

// Running statistics: momentum blend, unbiased variance m / (m - 1) = 8 / 7.
// CHECK-LABEL: func.func @running_momentum
// CHECK-DAG: arith.constant 1.000000e-01 : f32
// CHECK-DAG: arith.constant 1.14285719 : f32
// CHECK: linalg.generic
func.func @running_momentum(%rm: tensor<2xf32>, %rv: tensor<2xf32>, %m: tensor<2xf32>, %v: tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>) {
  %a, %b = iabn.running_stats_update %rm, %rv, %m, %v {momentum = 0.1 : f64, sample_count = 8 : i64} : tensor<2xf32>
  return %a, %b : tensor<2xf32>, tensor<2xf32>
}

// -----

// Cumulative average: factor 1 / num_batches_tracked.
// CHECK-LABEL: func.func @running_cumulative
// CHECK: %[[N:.*]] = tensor.extract %{{.*}}[] : tensor<i64>
// CHECK: %[[NF:.*]] = arith.sitofp %[[N]] : i64 to f32
// CHECK: arith.divf %{{.*}}, %[[NF]]
func.func @running_cumulative(%rm: tensor<2xf32>, %rv: tensor<2xf32>, %m: tensor<2xf32>, %v: tensor<2xf32>, %n: tensor<i64>) -> (tensor<2xf32>, tensor<2xf32>) {
  %a, %b = iabn.running_stats_update %rm, %rv, %m, %v count(%n : tensor<i64>) {sample_count = 8 : i64} : tensor<2xf32>
  return %a, %b : tensor<2xf32>, tensor<2xf32>
}
