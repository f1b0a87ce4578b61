// The stock mlir-opt of LLVM 22 loads the IABN dialect (and its bufferization
// models) from the plugin.
// RUN: %mlir_opt %s --load-dialect-plugin=%iabn_plugin | FileCheck %s
// RUN: %mlir_opt %s --load-dialect-plugin=%iabn_plugin --one-shot-bufferize="bufferize-function-boundaries" | FileCheck %s --check-prefix=BUFFER
// Without the plugin the dialect is unknown.
// RUN: not %mlir_opt %s 2>&1 | FileCheck %s --check-prefix=NOPLUGIN

// NOPLUGIN: Dialect `iabn' not found for custom op 'iabn.inplace_abn'

// CHECK-LABEL: func.func @forward
// CHECK: iabn.inplace_abn <leaky_relu, 1.000000e-02> %{{.*}} scale %{{.*}} offset %{{.*}} : tensor<8x16x4x4xf32>, tensor<16xf32>
// BUFFER-LABEL: func.func @forward
// BUFFER-SAME: (%[[X:[a-z0-9_]+]]: memref<8x16x4x4xf32
// BUFFER-NOT: memref.copy
// BUFFER: iabn.inplace_abn_buffer <leaky_relu, 1.000000e-02> %[[X]]
func.func @forward(%x: tensor<8x16x4x4xf32>, %g: tensor<16xf32>,
                   %b: tensor<16xf32>) -> tensor<8x16x4x4xf32> {
  %z, %m, %v = iabn.inplace_abn <leaky_relu, 0.01> %x scale %g offset %b
      : tensor<8x16x4x4xf32>, tensor<16xf32>
  return %z : tensor<8x16x4x4xf32>
}
