// RUN: iabn-opt %s --iabn-pipeline -verify-diagnostics | FileCheck %s
// RUN: iabn-opt %s --iabn-pipeline="gamma-mode=abs_plus_eps" -verify-diagnostics | FileCheck %s --check-prefix=ABS
// The same pipeline from the stock mlir-opt through the pass plugin.
// RUN: %mlir_opt %s --load-dialect-plugin=%iabn_plugin --load-pass-plugin=%iabn_plugin --pass-pipeline="builtin.module(iabn-pipeline)" -verify-diagnostics | FileCheck %s

func.func private @producer() -> tensor<8x16xf32>

// The rewrite followed by cleanup: the dead forward ops are gone.
// CHECK-LABEL: func.func @step
// CHECK: %[[Z:.*]], %{{.*}}, %[[V:.*]] = iabn.inplace_abn <leaky_relu, 1.000000e-02>
// CHECK-NEXT: %[[DX:.*]], %{{.*}}, %{{.*}} = iabn.inplace_abn_grad <leaky_relu, 1.000000e-02> %{{.*}}, %[[Z]] variance(%[[V]])
// CHECK-NEXT: return %[[Z]], %[[DX]]
// ABS: iabn.inplace_abn <leaky_relu, 1.000000e-02> %{{.*}} {gamma_mode = #iabn.gamma_mode<abs_plus_eps>}
// ABS: iabn.inplace_abn_grad <leaky_relu, 1.000000e-02> {{.*}} {gamma_mode = #iabn.gamma_mode<abs_plus_eps>}
func.func @step(%dz: tensor<8x16xf32> {iabn.gradient}) -> (tensor<8x16xf32>, tensor<8x16xf32>) {
  %x = call @producer() : () -> tensor<8x16xf32>
  // expected-remark @+1 {{inplace}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <leaky_relu, 0.01> %y : tensor<8x16xf32>
  %dy = iabn.activation_grad <leaky_relu, 0.01> %dz, %z {self_is_result} : tensor<8x16xf32>
  %dx, %dg, %db = iabn.batch_norm_train_grad %dy, %x stats(%m, %v) : tensor<8x16xf32>, tensor<16xf32>
  return %z, %dx : tensor<8x16xf32>, tensor<8x16xf32>
}
