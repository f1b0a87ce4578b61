// RUN: iabn-opt %s -split-input-file -verify-diagnostics --iabn-inplace-abn | FileCheck %s

// Strategies, legality rules and remarks of the InPlace-ABN rewrite.

func.func private @producer() -> tensor<8x16x4x4xf32>
func.func private @use(tensor<8x16x4x4xf32>)

// inplace: leaky_relu, gradient from the output (self_is_result).
// CHECK-LABEL: func.func @leaky_self_is_result
// CHECK: %[[X:.*]] = call @producer()
// CHECK: %[[Z:.*]], %[[M:.*]], %[[V:.*]] = iabn.inplace_abn <leaky_relu, 1.000000e-02> %[[X]] scale %{{.*}} offset %{{.*}} : tensor<8x16x4x4xf32>, tensor<16xf32>
// CHECK-NOT: iabn.batch_norm_train
// CHECK-NOT: iabn.activation
// CHECK: iabn.inplace_abn_grad <leaky_relu, 1.000000e-02> %{{.*}}, %[[Z]] scale %{{.*}} offset %{{.*}} variance(%[[V]])
// CHECK-NOT: iabn.batch_norm_train_grad
func.func @leaky_self_is_result(%g: tensor<16xf32>, %b: tensor<16xf32>,
    %dz: tensor<8x16x4x4xf32> {iabn.gradient})
    -> (tensor<8x16x4x4xf32>, tensor<8x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>) {
  %x = call @producer() : () -> tensor<8x16x4x4xf32>
  // expected-remark @+1 {{inplace: #iabn.activation<leaky_relu, 1.000000e-02> fused forward and backward; the backward recomputes y and x_hat from z; z overwrites x}}
  %y, %m, %v = iabn.batch_norm_train %x scale %g offset %b : tensor<8x16x4x4xf32>, tensor<16xf32>
  %z = iabn.activation <leaky_relu, 0.01> %y : tensor<8x16x4x4xf32>
  %dy = iabn.activation_grad <leaky_relu, 0.01> %dz, %z {self_is_result} : tensor<8x16x4x4xf32>
  %dx, %dg, %db = iabn.batch_norm_train_grad %dy, %x scale %g stats(%m, %v) : tensor<8x16x4x4xf32>, tensor<16xf32>
  return %z, %dx, %dg, %db : tensor<8x16x4x4xf32>, tensor<8x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>
}

// -----

func.func private @producer() -> tensor<8x16xf32>

// inplace: elu, gradient written in terms of the input y; no affine
// parameters; dgamma/dbeta unused; running statistics keep their inputs.
// CHECK-LABEL: func.func @elu_input_form_no_affine
// CHECK: %[[Z:.*]], %[[M:.*]], %[[V:.*]] = iabn.inplace_abn <elu, 1.000000e+00> %{{.*}} : tensor<8x16xf32>, tensor<16xf32>
// CHECK: iabn.running_stats_update %{{.*}}, %{{.*}}, %[[M]], %[[V]]
// CHECK: %[[DX:.*]], %{{.*}}, %{{.*}} = iabn.inplace_abn_grad <elu, 1.000000e+00> %{{.*}}, %[[Z]] variance(%[[V]]) : tensor<8x16xf32>, tensor<16xf32>
// CHECK: return %[[Z]], %[[DX]]
func.func @elu_input_form_no_affine(%rm: tensor<16xf32>, %rv: tensor<16xf32>,
    %dz: tensor<8x16xf32> {iabn.gradient})
    -> (tensor<8x16xf32>, tensor<8x16xf32>, tensor<16xf32>, tensor<16xf32>) {
  %x = call @producer() : () -> tensor<8x16xf32>
  // expected-remark @+1 {{inplace: #iabn.activation<elu, 1.000000e+00> fused forward and backward}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %rm2, %rv2 = iabn.running_stats_update %rm, %rv, %m, %v {momentum = 0.1 : f64, sample_count = 8 : i64} : tensor<16xf32>
  %z = iabn.activation <elu, 1.0> %y : tensor<8x16xf32>
  %dy = iabn.activation_grad <elu, 1.0> %dz, %y : tensor<8x16xf32>
  %dx, %dg, %db = iabn.batch_norm_train_grad %dy, %x stats(%m, %v) : tensor<8x16xf32>, tensor<16xf32>
  return %z, %dx, %rm2, %rv2 : tensor<8x16xf32>, tensor<8x16xf32>, tensor<16xf32>, tensor<16xf32>
}

// -----

func.func private @producer() -> tensor<4x8x2x2xf32>

// inplace: BN with no activation op (BN -> residual add, identity); y may
// feed many consumers.
// CHECK-LABEL: func.func @identity_before_add
// CHECK: %[[Z:.*]], %{{.*}}, %[[V:.*]] = iabn.inplace_abn <identity> %{{.*}} scale
// CHECK: linalg.add ins(%[[Z]], %[[Z]]
// CHECK: iabn.inplace_abn_grad <identity> %{{.*}}, %[[Z]] scale %{{.*}} offset %{{.*}} variance(%[[V]])
func.func @identity_before_add(%g: tensor<8xf32>, %b: tensor<8xf32>,
    %dy: tensor<4x8x2x2xf32> {iabn.gradient})
    -> (tensor<4x8x2x2xf32>, tensor<4x8x2x2xf32>) {
  %x = call @producer() : () -> tensor<4x8x2x2xf32>
  // expected-remark @+1 {{inplace: #iabn.activation<identity> fused forward and backward}}
  %y, %m, %v = iabn.batch_norm_train %x scale %g offset %b : tensor<4x8x2x2xf32>, tensor<8xf32>
  %e = tensor.empty() : tensor<4x8x2x2xf32>
  %s = linalg.add ins(%y, %y : tensor<4x8x2x2xf32>, tensor<4x8x2x2xf32>) outs(%e : tensor<4x8x2x2xf32>) -> tensor<4x8x2x2xf32>
  %dx, %dg, %db = iabn.batch_norm_train_grad %dy, %x scale %g stats(%m, %v) : tensor<4x8x2x2xf32>, tensor<8xf32>
  return %s, %dx : tensor<4x8x2x2xf32>, tensor<4x8x2x2xf32>
}

// -----

func.func private @producer() -> tensor<8x16xf32>
func.func private @use(tensor<8x16xf32>)

// inplace, but x is read after the BN by an unknown op (assumed to read its
// operands): fused, not written in place, and the remark says which op.
// CHECK-LABEL: func.func @x_read_later
// CHECK: iabn.inplace_abn <leaky_relu
// CHECK: call @use
func.func @x_read_later(%dz: tensor<8x16xf32> {iabn.gradient}) -> (tensor<8x16xf32>, tensor<8x16xf32>) {
  %x = call @producer() : () -> tensor<8x16xf32>
  // expected-remark @+1 {{inplace: #iabn.activation<leaky_relu, 1.000000e-01> fused forward and backward; the backward recomputes y and x_hat from z; z does not overwrite x (x is copied): x is read by 'func.call @use' at loc(}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <leaky_relu, 0.1> %y : tensor<8x16xf32>
  call @use(%x) : (tensor<8x16xf32>) -> ()
  %dy = iabn.activation_grad <leaky_relu, 0.1> %dz, %z {self_is_result} : tensor<8x16xf32>
  %dx, %dg, %db = iabn.batch_norm_train_grad %dy, %x stats(%m, %v) : tensor<8x16xf32>, tensor<16xf32>
  return %z, %dx : tensor<8x16xf32>, tensor<8x16xf32>
}

// -----

func.func private @use(tensor<8x16xf32>)

// A read of x before the BN does not prevent writing in place.
// CHECK-LABEL: func.func @x_read_before
func.func @x_read_before(%c: f32) -> tensor<8x16xf32> {
  %e = tensor.empty() : tensor<8x16xf32>
  %x = linalg.fill ins(%c : f32) outs(%e : tensor<8x16xf32>) -> tensor<8x16xf32>
  call @use(%x) : (tensor<8x16xf32>) -> ()
  // expected-remark @+1 {{inplace: #iabn.activation<leaky_relu, 1.000000e-01> fused forward only (no backward in this function); z overwrites x}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <leaky_relu, 0.1> %y : tensor<8x16xf32>
  return %z : tensor<8x16xf32>
}

// -----

// x is a function argument: not overwritten unless the function allows it;
// the pass marks it read-only so that bufferization copies it.
// CHECK-LABEL: func.func @x_is_argument
// CHECK-SAME: %{{.*}}: tensor<8x16xf32> {bufferization.writable = false}
// CHECK-SAME: %{{.*}}: tensor<8x16xf32> {bufferization.writable = true}
func.func @x_is_argument(%x: tensor<8x16xf32>,
                         %x2: tensor<8x16xf32> {bufferization.writable = true})
    -> (tensor<8x16xf32>, tensor<8x16xf32>) {
  // expected-remark @+1 {{fused forward only (no backward in this function); z does not overwrite x (x is copied): x is function argument #0, which is not marked bufferization.writable = true}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <elu, 0.5> %y : tensor<8x16xf32>
  // expected-remark @+1 {{fused forward only (no backward in this function); z overwrites x}}
  %y2, %m2, %v2 = iabn.batch_norm_train %x2 : tensor<8x16xf32>, tensor<16xf32>
  %z2 = iabn.activation <elu, 0.5> %y2 : tensor<8x16xf32>
  return %z, %z2 : tensor<8x16xf32>, tensor<8x16xf32>
}

// -----

func.func private @producer() -> tensor<8x16xf32>

// store-y: relu whose gradient reads y. The forward stores y (an
// identity-fused op, y over x), the activation gradient reads y, and the
// identity-fused gradient recovers x_hat from y: x is not saved.
// CHECK-LABEL: func.func @relu_store_y_grad_from_y
// CHECK: %[[X:.*]] = call @producer()
// CHECK: %[[Y:.*]], %{{.*}}, %[[V:.*]] = iabn.inplace_abn <identity> %[[X]] scale %[[G:[^ ]*]] offset %[[B:[^ ]*]] :
// CHECK: %[[Z:.*]] = iabn.activation <relu> %[[Y]] :
// CHECK: %[[DY:.*]] = iabn.activation_grad <relu> %{{.*}}, %[[Y]] :
// CHECK: iabn.inplace_abn_grad <identity> %[[DY]], %[[Y]] scale %[[G]] offset %[[B]] variance(%[[V]])
// CHECK-NOT: batch_norm
func.func @relu_store_y_grad_from_y(%g: tensor<16xf32>, %b: tensor<16xf32>,
    %dz: tensor<8x16xf32> {iabn.gradient}) -> (tensor<8x16xf32>, tensor<8x16xf32>) {
  %x = call @producer() : () -> tensor<8x16xf32>
  // expected-remark @+1 {{store-y: activation #iabn.activation<relu> is not invertible; y is saved for the backward instead of x and z: the backward recovers x_hat from y; y overwrites x; dx overwrites dy}}
  %y, %m, %v = iabn.batch_norm_train %x scale %g offset %b : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <relu> %y : tensor<8x16xf32>
  %dy = iabn.activation_grad <relu> %dz, %y : tensor<8x16xf32>
  %dx, %dg, %db = iabn.batch_norm_train_grad %dy, %x scale %g stats(%m, %v) : tensor<8x16xf32>, tensor<16xf32>
  return %z, %dx : tensor<8x16xf32>, tensor<8x16xf32>
}

// -----

func.func private @producer() -> tensor<8x16xf32>
func.func private @weight_grad(tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<16x16xf32>

// store-y: relu whose gradient reads z, and z is also read by the next
// layer's weight gradient (the usual BN -> relu -> conv). That reader gets
// z recomputed from y right before it, marked so that CSE keeps it apart
// from the forward's z: only y crosses into the backward.
// CHECK-LABEL: func.func @relu_store_y_weight_grad
// CHECK: %[[Y:.*]], %{{.*}}, %{{.*}} = iabn.inplace_abn <identity>
// CHECK: %[[Z:.*]] = iabn.activation <relu> %[[Y]] :
// CHECK: %[[ZR:.*]] = iabn.activation <relu> %[[Y]] {iabn.rematerialized}
// CHECK: call @weight_grad(%[[ZR]],
// CHECK: %[[DY:.*]] = iabn.activation_grad <relu> %{{.*}}, %[[Y]] :
// CHECK: iabn.inplace_abn_grad <identity> %[[DY]], %[[Y]]
// CHECK: return %[[Z]]
func.func @relu_store_y_weight_grad(%dout: tensor<8x16xf32> {iabn.gradient})
    -> (tensor<8x16xf32>, tensor<16x16xf32>, tensor<8x16xf32>) {
  %x = call @producer() : () -> tensor<8x16xf32>
  // expected-remark @+1 {{store-y: activation #iabn.activation<relu> is not invertible; y is saved for the backward instead of x and z: the backward recovers x_hat from y and recomputes z for 1 reader; y overwrites x; dx overwrites dy}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <relu> %y : tensor<8x16xf32>
  %dw = call @weight_grad(%z, %dout) : (tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<16x16xf32>
  %dy = iabn.activation_grad <relu> %dout, %z {self_is_result} : tensor<8x16xf32>
  %dx, %dg, %db = iabn.batch_norm_train_grad %dy, %x stats(%m, %v) : tensor<8x16xf32>, tensor<16xf32>
  return %z, %dw, %dx : tensor<8x16xf32>, tensor<16x16xf32>, tensor<8x16xf32>
}

// -----

func.func private @producer() -> tensor<8x16xf32>
func.func private @weight_grad(tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<16x16xf32>

// epsilon = 0: y cannot be mapped back to x_hat, and recomputing y from x
// would not lower the saved bytes (z is needed by the weight gradient).
// CHECK-LABEL: func.func @relu_eps0_unprofitable
// CHECK: iabn.batch_norm_train
// CHECK: iabn.activation_grad <relu> %{{.*}}, %{{.*}} {self_is_result}
func.func @relu_eps0_unprofitable(%dout: tensor<8x16xf32> {iabn.gradient})
    -> (tensor<16x16xf32>, tensor<8x16xf32>) {
  %x = call @producer() : () -> tensor<8x16xf32>
  // expected-remark @+1 {{not rewritten: activation #iabn.activation<relu> is not invertible, epsilon is 0 (storing y needs epsilon > 0 to map y back to x_hat), and recomputing y from x would not lower the saved bytes: z is also saved for 'func.call @weight_grad' at loc(}}
  %y, %m, %v = iabn.batch_norm_train %x {epsilon = 0.0 : f64} : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <relu> %y : tensor<8x16xf32>
  %dw = call @weight_grad(%z, %dout) : (tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<16x16xf32>
  %dy = iabn.activation_grad <relu> %dout, %z {self_is_result} : tensor<8x16xf32>
  %dx, %dg, %db = iabn.batch_norm_train_grad %dy, %x stats(%m, %v) {epsilon = 0.0 : f64} : tensor<8x16xf32>, tensor<16xf32>
  return %dw, %dx : tensor<16x16xf32>, tensor<8x16xf32>
}

// -----

func.func private @producer() -> tensor<8x16xf32>
func.func private @consumer(tensor<8x16xf32>) -> tensor<8x16xf32>

// epsilon = 0, relu whose gradient reads z, z used only by forward
// consumers: the backward recomputes y from x, which frees z.
// CHECK-LABEL: func.func @relu_eps0_recompute_from_z
// CHECK: %[[YR:.*]] = iabn.batch_norm_inference
// CHECK: iabn.activation_grad <relu> %{{.*}}, %[[YR]] :
func.func @relu_eps0_recompute_from_z(%dz: tensor<8x16xf32> {iabn.gradient})
    -> (tensor<8x16xf32>, tensor<8x16xf32>) {
  %x = call @producer() : () -> tensor<8x16xf32>
  // expected-remark @+1 {{recompute: activation #iabn.activation<relu> is not invertible; the backward recomputes y from x and the batch statistics, so z is no longer saved for the activation gradient}}
  %y, %m, %v = iabn.batch_norm_train %x {epsilon = 0.0 : f64} : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <relu> %y : tensor<8x16xf32>
  %o = call @consumer(%z) : (tensor<8x16xf32>) -> tensor<8x16xf32>
  %dy = iabn.activation_grad <relu> %dz, %z {self_is_result} : tensor<8x16xf32>
  %dx, %dg, %db = iabn.batch_norm_train_grad %dy, %x stats(%m, %v) {epsilon = 0.0 : f64} : tensor<8x16xf32>, tensor<16xf32>
  return %o, %dx : tensor<8x16xf32>, tensor<8x16xf32>
}

// -----

// Forward-only chain with a non-invertible activation: nothing to do.
// CHECK-LABEL: func.func @forward_only_relu
// CHECK: iabn.batch_norm_train
// CHECK: iabn.activation <relu>
func.func @forward_only_relu(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {
  // expected-remark @+1 {{not rewritten: forward-only chain with non-invertible activation #iabn.activation<relu>}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <relu> %y : tensor<8x16xf32>
  return %z : tensor<8x16xf32>
}

// -----

func.func private @use(tensor<8x16xf32>)

// y must feed only the activation and its gradient.
// CHECK-LABEL: func.func @y_used_elsewhere
// CHECK: iabn.batch_norm_train
func.func @y_used_elsewhere(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {
  // expected-remark @+1 {{not rewritten: y (the batch norm output) is also used by 'func.call @use' at loc(}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <leaky_relu, 0.01> %y : tensor<8x16xf32>
  call @use(%y) : (tensor<8x16xf32>) -> ()
  return %z : tensor<8x16xf32>
}

// -----

// y feeding two activations.
func.func @two_activations(%x: tensor<8x16xf32>) -> (tensor<8x16xf32>, tensor<8x16xf32>) {
  // expected-remark @+1 {{not rewritten: y (the batch norm output) feeds two activations}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <leaky_relu, 0.01> %y : tensor<8x16xf32>
  %z2 = iabn.activation <elu, 1.0> %y : tensor<8x16xf32>
  return %z, %z2 : tensor<8x16xf32>, tensor<8x16xf32>
}

// -----

// Mismatched backward: the activation gradient uses another slope.
// CHECK-LABEL: func.func @mismatched_activation_grad
// CHECK: iabn.batch_norm_train_grad
func.func @mismatched_activation_grad(%x: tensor<8x16xf32>, %dz: tensor<8x16xf32>)
    -> tensor<8x16xf32> {
  // expected-remark @+1 {{not rewritten: mismatched backward: 'iabn.activation_grad' at loc(}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <leaky_relu, 0.01> %y : tensor<8x16xf32>
  %dy = iabn.activation_grad <leaky_relu, 0.2> %dz, %z {self_is_result} : tensor<8x16xf32>
  %dx, %dg, %db = iabn.batch_norm_train_grad %dy, %x stats(%m, %v) : tensor<8x16xf32>, tensor<16xf32>
  return %dx : tensor<8x16xf32>
}

// -----

// Mismatched backward: different epsilon.
func.func @mismatched_epsilon(%x: tensor<8x16xf32>, %dz: tensor<8x16xf32>)
    -> tensor<8x16xf32> {
  // expected-remark @+1 {{has a different feature_dim or epsilon}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <leaky_relu, 0.01> %y : tensor<8x16xf32>
  %dy = iabn.activation_grad <leaky_relu, 0.01> %dz, %z {self_is_result} : tensor<8x16xf32>
  %dx, %dg, %db = iabn.batch_norm_train_grad %dy, %x stats(%m, %v) {epsilon = 1.0e-3 : f64} : tensor<8x16xf32>, tensor<16xf32>
  return %dx : tensor<8x16xf32>
}

// -----

// Mismatched backward: dy does not come from the activation's gradient.
func.func @mismatched_dy(%x: tensor<8x16xf32>, %dz: tensor<8x16xf32>)
    -> (tensor<8x16xf32>, tensor<8x16xf32>) {
  // expected-remark @+1 {{is not the gradient of the activation}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <leaky_relu, 0.01> %y : tensor<8x16xf32>
  %dx, %dg, %db = iabn.batch_norm_train_grad %dz, %x stats(%m, %v) : tensor<8x16xf32>, tensor<16xf32>
  return %z, %dx : tensor<8x16xf32>, tensor<8x16xf32>
}

// -----

// Mismatched backward: two batch norm gradients of one forward.
func.func @two_bn_grads(%x: tensor<8x16xf32>, %dz: tensor<8x16xf32>)
    -> (tensor<8x16xf32>, tensor<8x16xf32>) {
  // expected-remark @+1 {{not rewritten: mismatched backward: two batch norm gradients}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %dx, %dg, %db = iabn.batch_norm_train_grad %dz, %x stats(%m, %v) : tensor<8x16xf32>, tensor<16xf32>
  %dx2, %dg2, %db2 = iabn.batch_norm_train_grad %dx, %x stats(%m, %v) : tensor<8x16xf32>, tensor<16xf32>
  return %y, %dx2 : tensor<8x16xf32>, tensor<8x16xf32>
}

// -----

// Chains inside nested regions are rewritten too.
// CHECK-LABEL: func.func @nested_region
// CHECK: scf.for
// CHECK: iabn.inplace_abn <leaky_relu
// CHECK: iabn.inplace_abn_grad <leaky_relu
func.func @nested_region(%init: tensor<8x16xf32>, %dz: tensor<8x16xf32>, %n: index)
    -> tensor<8x16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%a = %init) -> tensor<8x16xf32> {
    %e = tensor.empty() : tensor<8x16xf32>
    %x = linalg.add ins(%a, %a : tensor<8x16xf32>, tensor<8x16xf32>) outs(%e : tensor<8x16xf32>) -> tensor<8x16xf32>
    // expected-remark @+1 {{inplace: #iabn.activation<leaky_relu, 1.000000e-02> fused forward and backward; the backward recomputes y and x_hat from z; z overwrites x}}
    %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
    %z = iabn.activation <leaky_relu, 0.01> %y : tensor<8x16xf32>
    %dy = iabn.activation_grad <leaky_relu, 0.01> %dz, %z {self_is_result} : tensor<8x16xf32>
    %dx, %dg, %db = iabn.batch_norm_train_grad %dy, %x stats(%m, %v) : tensor<8x16xf32>, tensor<16xf32>
    scf.yield %dx : tensor<8x16xf32>
  }
  return %r : tensor<8x16xf32>
}

// -----

// Dynamic shapes: the rewrite is shape-agnostic.
// CHECK-LABEL: func.func @dynamic
// CHECK: iabn.inplace_abn <identity> %{{.*}} : tensor<?x16xf32>, tensor<16xf32>
func.func @dynamic(%c: f32, %n: index) -> tensor<?x16xf32> {
  %e = tensor.empty(%n) : tensor<?x16xf32>
  %x = linalg.fill ins(%c : f32) outs(%e : tensor<?x16xf32>) -> tensor<?x16xf32>
  // expected-remark @+1 {{inplace: #iabn.activation<identity> fused forward only}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<?x16xf32>, tensor<16xf32>
  return %y : tensor<?x16xf32>
}

// -----

// An activation gradient of y without an activation.
func.func @grad_without_activation(%x: tensor<8x16xf32>, %dz: tensor<8x16xf32>)
    -> (tensor<8x16xf32>, tensor<8x16xf32>) {
  // expected-remark @+1 {{not rewritten: y feeds an activation gradient 'iabn.activation_grad' at loc(}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %dy = iabn.activation_grad <relu> %dz, %y : tensor<8x16xf32>
  return %y, %dy : tensor<8x16xf32>, tensor<8x16xf32>
}

// -----

// An activation gradient but no batch norm gradient.
func.func @no_bn_grad(%x: tensor<8x16xf32>, %dz: tensor<8x16xf32>)
    -> (tensor<8x16xf32>, tensor<8x16xf32>) {
  // expected-remark @+1 {{not rewritten: mismatched backward: activation gradient 'iabn.activation_grad' at loc(}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <elu, 1.0> %y : tensor<8x16xf32>
  %dy = iabn.activation_grad <elu, 1.0> %dz, %y : tensor<8x16xf32>
  return %z, %dy : tensor<8x16xf32>, tensor<8x16xf32>
}

// -----

// The batch norm gradient uses another scale.
func.func @other_scale(%x: tensor<8x16xf32>, %dz: tensor<8x16xf32>,
                       %g: tensor<16xf32>, %g2: tensor<16xf32>) -> tensor<8x16xf32> {
  // expected-remark @+1 {{uses a different scale}}
  %y, %m, %v = iabn.batch_norm_train %x scale %g : tensor<8x16xf32>, tensor<16xf32>
  %dx, %dg, %db = iabn.batch_norm_train_grad %dz, %x scale %g2 stats(%m, %v) : tensor<8x16xf32>, tensor<16xf32>
  return %dx : tensor<8x16xf32>
}

// -----

// The batch norm gradient reads another input than this batch norm's x.
func.func @other_input(%x: tensor<8x16xf32>, %x2: tensor<8x16xf32>,
                       %dz: tensor<8x16xf32>) -> tensor<8x16xf32> {
  // expected-remark @+1 {{does not read this batch norm's input and statistics}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %dx, %dg, %db = iabn.batch_norm_train_grad %dz, %x2 stats(%m, %v) : tensor<8x16xf32>, tensor<16xf32>
  return %dx : tensor<8x16xf32>
}

// -----

func.func private @use(tensor<8x16xf32>)

// The activation gradient also feeds something else than the BN backward.
func.func @act_grad_used_twice(%x: tensor<8x16xf32>, %dz: tensor<8x16xf32>)
    -> tensor<8x16xf32> {
  // expected-remark @+1 {{is also used outside the batch norm backward}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <leaky_relu, 0.01> %y : tensor<8x16xf32>
  %dy = iabn.activation_grad <leaky_relu, 0.01> %dz, %z {self_is_result} : tensor<8x16xf32>
  call @use(%dy) : (tensor<8x16xf32>) -> ()
  %dx, %dg, %db = iabn.batch_norm_train_grad %dy, %x stats(%m, %v) : tensor<8x16xf32>, tensor<16xf32>
  return %dx : tensor<8x16xf32>
}
