// The bundled example parses, verifies and bufferizes (the README main job).
// RUN: iabn-opt %iabn_src_root/examples/conv_bn_leaky_train.mlir | FileCheck %s
// RUN: iabn-opt %iabn_src_root/examples/conv_bn_leaky_train.mlir --one-shot-bufferize="bufferize-function-boundaries allow-unknown-ops" | FileCheck %s --check-prefix=BUFFER

// CHECK-LABEL: func.func @train_step
// CHECK: iabn.batch_norm_train
// CHECK: iabn.activation <leaky_relu, 1.000000e-02>
// CHECK: iabn.activation_grad <leaky_relu, 1.000000e-02>
// CHECK: iabn.batch_norm_train_grad
// BUFFER-LABEL: func.func @train_step
// BUFFER: linalg.conv_2d_nchw_fchw {{.*}} outs(%{{.*}} : memref<8x16x30x30xf32>)
