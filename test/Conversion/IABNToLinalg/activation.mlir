// RUN: iabn-opt %s --convert-iabn-to-linalg --canonicalize --cse | FileCheck %s

// relu uses maximumf (NaN propagates, as in PyTorch); the gradients select
// on the sign of their source.
// CHECK-LABEL: func.func @activations
// CHECK: arith.maximumf
// CHECK: linalg.generic
// CHECK: math.expm1
// CHECK: arith.cmpf oge
// CHECK: linalg.generic
// CHECK: math.exp
// CHECK: arith.cmpf ogt
// CHECK: linalg.generic
// CHECK: arith.addf
// CHECK: arith.cmpf ogt
func.func @activations(%y: tensor<4x3xf32>, %g: tensor<4x3xf32>) -> (tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>) {
  %a = iabn.activation <relu> %y : tensor<4x3xf32>
  %b = iabn.activation <elu, 1.0> %y : tensor<4x3xf32>
  %c = iabn.activation_grad <elu, 1.0> %g, %y : tensor<4x3xf32>
  %d = iabn.activation_grad <elu, 1.0> %g, %b {self_is_result} : tensor<4x3xf32>
  return %a, %b, %c, %d : tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>
}
