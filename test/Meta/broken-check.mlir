// Guards the harness itself: a CHECK line that does not hold must make
// FileCheck fail (so a broken expectation anywhere fails the suite).
// RUN: iabn-opt %s | not FileCheck %s
// RUN: iabn-opt %s | FileCheck %s --check-prefix=GOOD

// CHECK: iabn.activation <relu>
// GOOD: iabn.activation <elu, 1.000000e+00>
func.func @f(%y: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %z = iabn.activation <elu, 1.0> %y : tensor<2x2xf32>
  return %z : tensor<2x2xf32>
}
