// RUN: iabn-opt %s -split-input-file -verify-diagnostics --iabn-pipeline | FileCheck %s

// The store-y strategy on the graphs that broke its first version
// (found by an adversarial review); test/Transforms/inplace-abn.mlir has the
// basic cases and test/Integration/CPU executes both sides.

// Stacked BN -> relu -> BN -> relu: the second BN's gradient reads z1 as its
// x. The recomputation of z1 waits until every chain is rewritten, so the
// second chain still matches (its fused gradient no longer reads z1).
// CHECK-LABEL: func.func @stacked
// CHECK-COUNT-2: iabn.inplace_abn <identity>
// CHECK-NOT: iabn.batch_norm
// CHECK-NOT: rematerialized
// CHECK: return
func.func @stacked(%x: tensor<8x16xf32>, %g1: tensor<16xf32>, %b1: tensor<16xf32>, %g2: tensor<16xf32>, %b2: tensor<16xf32>,
    %dout: tensor<8x16xf32> {iabn.gradient}) -> (tensor<8x16xf32>, tensor<8x16xf32>, tensor<16xf32>, tensor<16xf32>) {
  // expected-remark @+1 {{store-y: activation #iabn.activation<relu> is not invertible; y is saved for the backward instead of x and z: the backward recovers x_hat from y; y does not overwrite x (x is copied): x is function argument #0}}
  %y1, %m1, %v1 = iabn.batch_norm_train %x scale %g1 offset %b1 : tensor<8x16xf32>, tensor<16xf32>
  %z1 = iabn.activation <relu> %y1 : tensor<8x16xf32>
  // expected-remark @+1 {{store-y: activation #iabn.activation<relu> is not invertible; y is saved for the backward instead of x and z: the backward recovers x_hat from y; y overwrites x; dx overwrites dy}}
  %y2, %m2, %v2 = iabn.batch_norm_train %z1 scale %g2 offset %b2 : tensor<8x16xf32>, tensor<16xf32>
  %z2 = iabn.activation <relu> %y2 : tensor<8x16xf32>
  %dy2 = iabn.activation_grad <relu> %dout, %z2 {self_is_result} : tensor<8x16xf32>
  %dx2, %dg2, %db2 = iabn.batch_norm_train_grad %dy2, %z1 scale %g2 stats(%m2, %v2) : tensor<8x16xf32>, tensor<16xf32>
  %dy1 = iabn.activation_grad <relu> %dx2, %z1 {self_is_result} : tensor<8x16xf32>
  %dx1, %dg1, %db1 = iabn.batch_norm_train_grad %dy1, %x scale %g1 stats(%m1, %v1) : tensor<8x16xf32>, tensor<16xf32>
  return %z2, %dx1, %dg1, %dg2 : tensor<8x16xf32>, tensor<8x16xf32>, tensor<16xf32>, tensor<16xf32>
}

// -----

func.func private @producer() -> tensor<8x16xf32>

// z read element by element inside a backward linalg.generic: z is
// recomputed once, before the generic, not per element.
// CHECK-LABEL: func.func @reader_in_a_body
// CHECK: %[[Y:.*]], %{{.*}}, %{{.*}} = iabn.inplace_abn <identity>
// CHECK: %[[ZR:.*]] = iabn.activation <relu> %[[Y]] {iabn.rematerialized}
// CHECK-NEXT: linalg.generic
// CHECK: tensor.extract %[[ZR]]
func.func @reader_in_a_body(%dout: tensor<8x16xf32> {iabn.gradient}) -> (tensor<8x16xf32>, tensor<8x16xf32>) {
  %x = call @producer() : () -> tensor<8x16xf32>
  // expected-remark @+1 {{store-y: activation #iabn.activation<relu> is not invertible; y is saved for the backward instead of x and z: the backward recovers x_hat from y and recomputes z for 1 reader; y overwrites x; dx overwrites dy}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <relu> %y : tensor<8x16xf32>
  %dy = iabn.activation_grad <relu> %dout, %z {self_is_result} : tensor<8x16xf32>
  %dx, %dg, %db = iabn.batch_norm_train_grad %dy, %x stats(%m, %v) : tensor<8x16xf32>, tensor<16xf32>
  %e = tensor.empty() : tensor<8x16xf32>
  %k = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%dx : tensor<8x16xf32>) outs(%e : tensor<8x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %zz = tensor.extract %z[%i, %j] : tensor<8x16xf32>
    %s = arith.mulf %a, %zz : f32
    linalg.yield %s : f32
  } -> tensor<8x16xf32>
  return %dx, %k : tensor<8x16xf32>, tensor<8x16xf32>
}

// -----

func.func private @producer() -> tensor<8x4x4xf32>
func.func private @linear(tensor<8x16xf32>) -> tensor<8x10xf32>
func.func private @linear_wgrad(tensor<8x16xf32>, tensor<8x10xf32>) -> tensor<16x10xf32>
func.func private @linear_dgrad(tensor<8x10xf32>) -> tensor<8x16xf32>

// BN -> relu -> flatten -> linear: the weight gradient reads a view of z,
// which keeps z alive; the remark says so instead of claiming z is freed.
// CHECK-LABEL: func.func @view_of_z
func.func @view_of_z(%dout: tensor<8x10xf32> {iabn.gradient})
    -> (tensor<8x10xf32>, tensor<16x10xf32>, tensor<8x4x4xf32>) {
  %x = call @producer() : () -> tensor<8x4x4xf32>
  // expected-remark-re @+1 {{store-y: {{.*}}; but z stays saved: 'tensor.collapse_shape' at loc({{.*}}), a view of z, is read by 'func.call @linear_wgrad' at loc({{.*}}) in the backward{{.*}}}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x4x4xf32>, tensor<4xf32>
  %z = iabn.activation <relu> %y : tensor<8x4x4xf32>
  %zf = tensor.collapse_shape %z [[0], [1, 2]] : tensor<8x4x4xf32> into tensor<8x16xf32>
  %out = call @linear(%zf) : (tensor<8x16xf32>) -> tensor<8x10xf32>
  %dw = call @linear_wgrad(%zf, %dout) : (tensor<8x16xf32>, tensor<8x10xf32>) -> tensor<16x10xf32>
  %dzf = call @linear_dgrad(%dout) : (tensor<8x10xf32>) -> tensor<8x16xf32>
  %dz = tensor.expand_shape %dzf [[0], [1, 2]] output_shape [8, 4, 4] : tensor<8x16xf32> into tensor<8x4x4xf32>
  %dy = iabn.activation_grad <relu> %dz, %z {self_is_result} : tensor<8x4x4xf32>
  %dx, %dg, %db = iabn.batch_norm_train_grad %dy, %x stats(%m, %v) : tensor<8x4x4xf32>, tensor<4xf32>
  return %out, %dw, %dx : tensor<8x10xf32>, tensor<16x10xf32>, tensor<8x4x4xf32>
}

// -----

// The chain in the then-branch of an scf.if whose else-branch yields x: that
// read never runs after the batch norm, so the only reason x is copied is
// the argument contract (the remark used to name the else-branch's yield).
// CHECK-LABEL: func.func @in_then_branch
func.func @in_then_branch(%c: i1, %x: tensor<8x16xf32>, %dout: tensor<8x16xf32> {iabn.gradient})
    -> (tensor<8x16xf32>, tensor<8x16xf32>) {
  %r:2 = scf.if %c -> (tensor<8x16xf32>, tensor<8x16xf32>) {
    // expected-remark @+1 {{store-y: activation #iabn.activation<relu> is not invertible; y is saved for the backward instead of x and z: the backward recovers x_hat from y; y does not overwrite x (x is copied): x is function argument #1, which is not marked bufferization.writable = true; dx overwrites dy}}
    %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
    %z = iabn.activation <relu> %y : tensor<8x16xf32>
    %dy = iabn.activation_grad <relu> %dout, %z {self_is_result} : tensor<8x16xf32>
    %dx, %dg, %db = iabn.batch_norm_train_grad %dy, %x stats(%m, %v) : tensor<8x16xf32>, tensor<16xf32>
    scf.yield %z, %dx : tensor<8x16xf32>, tensor<8x16xf32>
  } else {
    scf.yield %x, %dout : tensor<8x16xf32>, tensor<8x16xf32>
  }
  return %r#0, %r#1 : tensor<8x16xf32>, tensor<8x16xf32>
}

// -----

// elu is invertible, but its inverse y = log1p(z / alpha) loses a 16-bit
// z's precision as z saturates at -alpha: a bf16 chain stores y (store-y);
// the same chain in f32 stays in place (test/Transforms/inplace-abn.mlir).
// CHECK-LABEL: func.func @elu_bf16
// CHECK: %[[Y:.*]], %{{.*}}, %{{.*}} = iabn.inplace_abn <identity>
// CHECK: iabn.activation <elu, 1.000000e+00> %[[Y]]
// CHECK: iabn.activation_grad <elu, 1.000000e+00> %{{.*}}, %[[Y]] :
// CHECK: iabn.inplace_abn_grad <identity>
func.func @elu_bf16(%dout: tensor<8x16xbf16> {iabn.gradient}) -> (tensor<8x16xbf16>, tensor<8x16xbf16>) {
  %x = call @producer() : () -> tensor<8x16xbf16>
  // expected-remark @+1 {{store-y: activation #iabn.activation<elu, 1.000000e+00> is invertible, but the inverse of elu loses the precision of a 16-bit z near -alpha; y is saved for the backward instead of x and z: the backward recovers x_hat from y; y overwrites x; dx overwrites dy}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xbf16>, tensor<16xf32>
  %z = iabn.activation <elu, 1.0> %y : tensor<8x16xbf16>
  %dy = iabn.activation_grad <elu, 1.0> %dout, %z {self_is_result} : tensor<8x16xbf16>
  %dx, %dg, %db = iabn.batch_norm_train_grad %dy, %x stats(%m, %v) : tensor<8x16xbf16>, tensor<16xf32>
  return %z, %dx : tensor<8x16xbf16>, tensor<8x16xbf16>
}

func.func private @producer() -> tensor<8x16xbf16>
