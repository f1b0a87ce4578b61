// RUN: iabn-opt %s -verify-diagnostics --iabn-inplace-abn="overwrite-arguments=true gamma-mode=abs_plus_eps" | FileCheck %s

// With overwrite-arguments an unmarked argument is overwritten (and left
// unmarked); gamma-mode reaches the fused ops.
// CHECK-LABEL: func.func @argument
// CHECK-SAME: (%{{.*}}: tensor<8x16xf32>)
// CHECK: iabn.inplace_abn <elu, 5.000000e-01> %{{.*}} {gamma_mode = #iabn.gamma_mode<abs_plus_eps>}
func.func @argument(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {
  // expected-remark @+1 {{fused forward only (no backward in this function); z overwrites x}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <elu, 0.5> %y : tensor<8x16xf32>
  return %z : tensor<8x16xf32>
}

// An argument explicitly marked read-only stays read-only.
// CHECK-LABEL: func.func @readonly_argument
// CHECK-SAME: {bufferization.writable = false}
func.func @readonly_argument(%x: tensor<8x16xf32> {bufferization.writable = false}) -> tensor<8x16xf32> {
  // expected-remark @+1 {{z does not overwrite x (x is copied): x is function argument #0, which is not marked bufferization.writable = true}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <elu, 0.5> %y : tensor<8x16xf32>
  return %z : tensor<8x16xf32>
}
