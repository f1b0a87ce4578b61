// RUN: iabn-opt %s -split-input-file --convert-iabn-to-linalg --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --canonicalize | FileCheck %s

// After lowering and bufferization, the fused forward allocates nothing of
// the data's size: z is written into x's buffer (only per-channel buffers
// are allocated). The fused backward writes dx into dz's buffer.
// CHECK-LABEL: func.func @fused_step
// CHECK-SAME: (%[[X:[a-z0-9]+]]: memref<16x8x4x4xf32>, %{{.*}}: memref<8xf32>, %{{.*}}: memref<8xf32>, %[[DZ:[a-z0-9]+]]: memref<16x8x4x4xf32>)
// CHECK-NOT: memref.alloc() {{.*}} : memref<16x8x4x4xf32>
// CHECK-NOT: memref.copy
// CHECK: linalg.generic {{.*}} outs(%[[X]] : memref<16x8x4x4xf32>)
// CHECK: linalg.generic {{.*}} outs(%[[DZ]] : memref<16x8x4x4xf32>)
// CHECK: return %[[X]], %[[DZ]]
func.func @fused_step(%x: tensor<16x8x4x4xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>, %dz: tensor<16x8x4x4xf32>) -> (tensor<16x8x4x4xf32>, tensor<16x8x4x4xf32>) {
  %z, %m, %v = iabn.inplace_abn <leaky_relu, 0.01> %x scale %g offset %b : tensor<16x8x4x4xf32>, tensor<8xf32>
  %dx, %dg, %db = iabn.inplace_abn_grad <leaky_relu, 0.01> %dz, %z scale %g offset %b variance(%v) : tensor<16x8x4x4xf32>, tensor<8xf32>
  return %z, %dx : tensor<16x8x4x4xf32>, tensor<16x8x4x4xf32>
}

// -----

func.func private @use(tensor<16x8xf32>)

// x is read after the forward: z gets a new buffer (a copy of x).
// CHECK-LABEL: func.func @x_read_later
// CHECK-SAME: (%[[X:[a-z0-9]+]]: memref<16x8xf32>)
// CHECK: %[[Z:.*]] = memref.alloc() {{.*}} : memref<16x8xf32>
// CHECK: memref.copy %[[X]], %[[Z]]
// CHECK: linalg.generic {{.*}} outs(%[[Z]] : memref<16x8xf32>)
// CHECK: call @use(%[[X]])
func.func @x_read_later(%x: tensor<16x8xf32>) -> tensor<16x8xf32> {
  %z, %m, %v = iabn.inplace_abn <identity> %x : tensor<16x8xf32>, tensor<8xf32>
  call @use(%x) : (tensor<16x8xf32>) -> ()
  return %z : tensor<16x8xf32>
}

// -----

// The framework form allocates y, z, dy and dx: four data-sized buffers.
// CHECK-LABEL: func.func @framework_step
// CHECK-COUNT-4: memref.alloc() {{.*}} : memref<16x8xf32>
// CHECK-NOT: memref.alloc() {{.*}} : memref<16x8xf32>
func.func @framework_step(%x: tensor<16x8xf32>, %dz: tensor<16x8xf32>) -> (tensor<16x8xf32>, tensor<16x8xf32>) {
  %y, %m, %v = iabn.batch_norm_train %x : tensor<16x8xf32>, tensor<8xf32>
  %z = iabn.activation <leaky_relu, 0.01> %y : tensor<16x8xf32>
  %dy = iabn.activation_grad <leaky_relu, 0.01> %dz, %z {self_is_result} : tensor<16x8xf32>
  %dx, %dg, %db = iabn.batch_norm_train_grad %dy, %x stats(%m, %v) : tensor<16x8xf32>, tensor<8xf32>
  return %z, %dx : tensor<16x8xf32>, tensor<16x8xf32>
}
