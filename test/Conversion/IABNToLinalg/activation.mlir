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

// The non-invertible activations: relu6 clamps; silu is y * sigmoid(y);
// gelu uses erf; hardswish gates y + 3. Their derivatives read the input,
// relu6's may read the output.
// CHECK-LABEL: func.func @more_activations
// CHECK: arith.maximumf
// CHECK: arith.minimumf
// CHECK: linalg.generic
// CHECK: arith.negf
// CHECK: math.exp
// CHECK: arith.divf
// CHECK: arith.mulf
// CHECK: linalg.generic
// CHECK: math.erf
// CHECK: linalg.generic
// CHECK: arith.addf
// CHECK: arith.maximumf
// CHECK: arith.minimumf
// CHECK: linalg.generic
// CHECK: arith.cmpf ogt
// CHECK: arith.cmpf olt
// CHECK: arith.andi
// CHECK: linalg.generic
// CHECK: math.exp
// CHECK: math.erf
// CHECK: linalg.generic
// CHECK: arith.cmpf ole
// CHECK: arith.cmpf olt
func.func @more_activations(%y: tensor<4x3xf32>, %g: tensor<4x3xf32>) -> (tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>) {
  %a = iabn.activation <relu6> %y : tensor<4x3xf32>
  %b = iabn.activation <silu> %y : tensor<4x3xf32>
  %c = iabn.activation <gelu> %y : tensor<4x3xf32>
  %d = iabn.activation <hardswish> %y : tensor<4x3xf32>
  %e = iabn.activation_grad <relu6> %g, %a {self_is_result} : tensor<4x3xf32>
  %f = iabn.activation_grad <gelu> %g, %y : tensor<4x3xf32>
  %h = iabn.activation_grad <hardswish> %g, %y : tensor<4x3xf32>
  return %a, %b, %c, %d, %e, %f, %h : tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>
}
