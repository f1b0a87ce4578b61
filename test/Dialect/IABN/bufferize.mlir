// RUN: iabn-opt %s -split-input-file --one-shot-bufferize="bufferize-function-boundaries test-analysis-only" | FileCheck %s --check-prefix=ANALYSIS
// RUN: iabn-opt %s -split-input-file --one-shot-bufferize="bufferize-function-boundaries" --canonicalize | FileCheck %s

// One-Shot Bufferize writes z over x (and dx over dz) exactly when nothing
// reads x (dz) afterwards, and copies otherwise.

// x is dead after the forward: z takes its buffer, no allocation for z.
// ANALYSIS-LABEL: func.func @forward_in_place
// ANALYSIS: iabn.inplace_abn {{.*}} {__inplace_operands_attr__ = ["true", "true", "true"]}
// CHECK-LABEL: func.func @forward_in_place
// CHECK-SAME: (%[[X:[a-z0-9_]+]]: memref<8x16x4x4xf32, {{.*}}>, %[[G:[a-z0-9_]+]]: memref<16xf32, {{.*}}>, %[[B:[a-z0-9_]+]]: memref<16xf32, {{.*}}>)
// CHECK-NOT: memref.copy
// CHECK: %[[MEAN:.*]] = memref.alloc() {{.*}} : memref<16xf32>
// CHECK: %[[VAR:.*]] = memref.alloc() {{.*}} : memref<16xf32>
// CHECK: iabn.inplace_abn_buffer <leaky_relu, 1.000000e-02> %[[X]] scale %[[G]] {{.*}} offset %[[B]] {{.*}} stats(%[[MEAN]], %[[VAR]])
// CHECK-NOT: memref.copy
// CHECK: return %[[X]]
func.func @forward_in_place(%x: tensor<8x16x4x4xf32>, %g: tensor<16xf32>,
                            %b: tensor<16xf32>) -> tensor<8x16x4x4xf32> {
  %z, %m, %v = iabn.inplace_abn <leaky_relu, 0.01> %x scale %g offset %b
      : tensor<8x16x4x4xf32>, tensor<16xf32>
  return %z : tensor<8x16x4x4xf32>
}

// -----

// x is read after the forward (by an unknown op, assumed to read its
// operands): z gets a copy of x and x stays intact.
// ANALYSIS-LABEL: func.func @forward_x_read_later
// ANALYSIS: iabn.inplace_abn {{.*}} {__inplace_operands_attr__ = ["false", "true", "true"]}
// CHECK-LABEL: func.func @forward_x_read_later
// CHECK-SAME: (%[[X:[a-z0-9_]+]]: memref<8x16x4x4xf32, {{.*}}>
// CHECK: %[[COPY:.*]] = memref.alloc() {{.*}} : memref<8x16x4x4xf32>
// CHECK: memref.copy %[[X]], %[[COPY]]
// CHECK: iabn.inplace_abn_buffer <leaky_relu, 1.000000e-02> %[[COPY]]
// CHECK: call @use(%[[X]])
func.func private @use(tensor<8x16x4x4xf32>)
func.func @forward_x_read_later(%x: tensor<8x16x4x4xf32>, %g: tensor<16xf32>,
                                %b: tensor<16xf32>) -> tensor<8x16x4x4xf32> {
  %z, %m, %v = iabn.inplace_abn <leaky_relu, 0.01> %x scale %g offset %b
      : tensor<8x16x4x4xf32>, tensor<16xf32>
  call @use(%x) : (tensor<8x16x4x4xf32>) -> ()
  return %z : tensor<8x16x4x4xf32>
}

// -----

// A function argument that the caller declared read-only is never written.
// ANALYSIS-LABEL: func.func @forward_readonly_argument
// ANALYSIS: iabn.inplace_abn {{.*}} {__inplace_operands_attr__ = ["false"]}
// CHECK-LABEL: func.func @forward_readonly_argument
// CHECK: memref.copy
// CHECK: iabn.inplace_abn_buffer
func.func @forward_readonly_argument(
    %x: tensor<8x16xf32> {bufferization.writable = false})
    -> tensor<8x16xf32> {
  %z, %m, %v = iabn.inplace_abn <identity> %x : tensor<8x16xf32>, tensor<16xf32>
  return %z : tensor<8x16xf32>
}

// -----

// x produced inside the function (the output of a conv, say) and dead after
// the forward: written in place, one buffer for x and z.
// ANALYSIS-LABEL: func.func @forward_local_tensor
// ANALYSIS: iabn.inplace_abn {{.*}} {__inplace_operands_attr__ = ["true"]}
// CHECK-LABEL: func.func @forward_local_tensor
// CHECK: %[[X:.*]] = memref.alloc() {{.*}} : memref<8x16xf32>
// CHECK: linalg.fill {{.*}} outs(%[[X]]
// CHECK-NOT: memref.copy
// CHECK: iabn.inplace_abn_buffer <elu, 1.000000e+00> %[[X]]
// CHECK: return %[[X]]
func.func @forward_local_tensor(%c: f32) -> tensor<8x16xf32> {
  %e = tensor.empty() : tensor<8x16xf32>
  %x = linalg.fill ins(%c : f32) outs(%e : tensor<8x16xf32>) -> tensor<8x16xf32>
  %z, %m, %v = iabn.inplace_abn <elu, 1.0> %x : tensor<8x16xf32>, tensor<16xf32>
  return %z : tensor<8x16xf32>
}

// -----

// The backward: dx takes dz's buffer when dz is dead, z is only read.
// ANALYSIS-LABEL: func.func @backward_in_place
// ANALYSIS: iabn.inplace_abn_grad {{.*}} {__inplace_operands_attr__ = ["true", "true", "true", "true", "true"]}
// CHECK-LABEL: func.func @backward_in_place
// CHECK-SAME: (%[[DZ:[a-z0-9_]+]]: memref<8x16x4x4xf32, {{.*}}>, %[[Z:[a-z0-9_]+]]: memref<8x16x4x4xf32, {{.*}}>
// CHECK-NOT: memref.copy
// CHECK: iabn.inplace_abn_grad_buffer <leaky_relu, 1.000000e-02> %[[DZ]], %[[Z]]
// CHECK: return %[[DZ]]
func.func @backward_in_place(%dz: tensor<8x16x4x4xf32>, %z: tensor<8x16x4x4xf32>,
                             %g: tensor<16xf32>, %b: tensor<16xf32>,
                             %v: tensor<16xf32>)
    -> (tensor<8x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>) {
  %dx, %dg, %db = iabn.inplace_abn_grad <leaky_relu, 0.01> %dz, %z scale %g
      offset %b variance(%v) : tensor<8x16x4x4xf32>, tensor<16xf32>
  return %dx, %dg, %db : tensor<8x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>
}

// -----

// dz also feeds another gradient (a residual branch): dx gets a new buffer.
// ANALYSIS-LABEL: func.func @backward_dz_read_later
// ANALYSIS: iabn.inplace_abn_grad {{.*}} {__inplace_operands_attr__ = ["false", "true", "true"]}
// CHECK-LABEL: func.func @backward_dz_read_later
// CHECK-SAME: (%[[DZ:[a-z0-9_]+]]: memref<8x16xf32, {{.*}}>
// CHECK: %[[DX:.*]] = memref.alloc() {{.*}} : memref<8x16xf32>
// CHECK: memref.copy %[[DZ]], %[[DX]]
// CHECK: iabn.inplace_abn_grad_buffer <identity> %[[DX]]
// CHECK: call @use(%[[DZ]])
func.func private @use(tensor<8x16xf32>)
func.func @backward_dz_read_later(%dz: tensor<8x16xf32>, %z: tensor<8x16xf32>,
                                  %v: tensor<16xf32>) -> tensor<8x16xf32> {
  %dx, %dg, %db = iabn.inplace_abn_grad <identity> %dz, %z variance(%v)
      : tensor<8x16xf32>, tensor<16xf32>
  call @use(%dz) : (tensor<8x16xf32>) -> ()
  return %dx : tensor<8x16xf32>
}

// -----

// Forward and backward in one function: z is saved for the backward, which
// only reads it; x dies at the forward, so z overwrites it.
// ANALYSIS-LABEL: func.func @training_step
// ANALYSIS: iabn.inplace_abn {{.*}} {__inplace_operands_attr__ = ["true", "true", "true"]}
// ANALYSIS: iabn.inplace_abn_grad {{.*}} {__inplace_operands_attr__ = ["true", "true", "true", "true", "true"]}
// CHECK-LABEL: func.func @training_step
// CHECK-SAME: (%[[X:[a-z0-9_]+]]: memref<4x8x2x2xf32, {{.*}}>, %{{.*}}: memref<8xf32, {{.*}}>, %{{.*}}: memref<8xf32, {{.*}}>, %[[DZ:[a-z0-9_]+]]: memref<4x8x2x2xf32, {{.*}}>)
// CHECK-NOT: memref.copy
// CHECK: iabn.inplace_abn_buffer <leaky_relu, 1.000000e-02> %[[X]]
// CHECK: iabn.inplace_abn_grad_buffer <leaky_relu, 1.000000e-02> %[[DZ]], %[[X]]
// CHECK: return %[[DZ]]
func.func @training_step(%x: tensor<4x8x2x2xf32>, %g: tensor<8xf32>,
                         %b: tensor<8xf32>, %dz: tensor<4x8x2x2xf32>)
    -> (tensor<4x8x2x2xf32>, tensor<8xf32>, tensor<8xf32>) {
  %z, %m, %v = iabn.inplace_abn <leaky_relu, 0.01> %x scale %g offset %b
      : tensor<4x8x2x2xf32>, tensor<8xf32>
  %dx, %dg, %db = iabn.inplace_abn_grad <leaky_relu, 0.01> %dz, %z scale %g
      offset %b variance(%v) : tensor<4x8x2x2xf32>, tensor<8xf32>
  return %dx, %dg, %db : tensor<4x8x2x2xf32>, tensor<8xf32>, tensor<8xf32>
}

// -----

// Dynamic channel extent: the statistics buffers are sized from x.
// CHECK-LABEL: func.func @dynamic_channels
// CHECK-SAME: (%[[X:[a-z0-9_]+]]: memref<4x?xf32, {{.*}}>)
// CHECK: %[[C:.*]] = memref.dim %[[X]], %{{.*}}
// CHECK: memref.alloc(%[[C]]) {{.*}} : memref<?xf32>
// CHECK: iabn.inplace_abn_buffer <identity> %[[X]]
func.func @dynamic_channels(%x: tensor<4x?xf32>) -> (tensor<4x?xf32>, tensor<?xf32>) {
  %z, %m, %v = iabn.inplace_abn <identity> %x : tensor<4x?xf32>, tensor<?xf32>
  return %z, %v : tensor<4x?xf32>, tensor<?xf32>
}
