// RUN: iabn-opt %s -split-input-file -verify-diagnostics --iabn-inplace-abn="recompute=false" | FileCheck %s --check-prefix=NORECOMPUTE
// RUN: not iabn-opt %s --iabn-inplace-abn="gamma-mode=abs" 2>&1 | FileCheck %s --check-prefix=BADMODE

// RUN: not iabn-opt %s --iabn-pipeline="gamma-mode=abs" 2>&1 | FileCheck %s --check-prefix=BADMODE
// RUN: iabn-opt --help | FileCheck %s --check-prefix=HELP

// gamma-mode is an enum option: a bad value is refused by name, and --help
// lists the values.
// BADMODE: for the --gamma-mode option: Cannot find option named 'abs'!
// HELP: --gamma-mode=<value>
// HELP-NEXT: =sign_clamp
// HELP-NEXT: =abs_plus_eps

// Without overwrite-arguments an unmarked argument is not overwritten.
// NORECOMPUTE-LABEL: func.func @argument
func.func @argument(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {
  // expected-remark @+1 {{z does not overwrite x (x is copied): x is function argument #0}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <elu, 0.5> %y : tensor<8x16xf32>
  return %z : tensor<8x16xf32>
}

// -----

func.func private @producer() -> tensor<8x16xf32>

// recompute=false leaves relu chains alone and says so.
// NORECOMPUTE-LABEL: func.func @relu
// NORECOMPUTE-NOT: iabn.batch_norm_inference
func.func @relu(%dz: tensor<8x16xf32> {iabn.gradient}) -> (tensor<8x16xf32>, tensor<8x16xf32>) {
  %x = call @producer() : () -> tensor<8x16xf32>
  // expected-remark @+1 {{not rewritten: activation #iabn.activation<relu> is not invertible and recompute is disabled}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <relu> %y : tensor<8x16xf32>
  %dy = iabn.activation_grad <relu> %dz, %y : tensor<8x16xf32>
  %dx, %dg, %db = iabn.batch_norm_train_grad %dy, %x stats(%m, %v) : tensor<8x16xf32>, tensor<16xf32>
  return %z, %dx : tensor<8x16xf32>, tensor<8x16xf32>
}
