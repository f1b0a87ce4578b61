// RUN: iabn-opt %s --convert-iabn-to-linalg -verify-diagnostics

func.func @bufferized(%x: memref<8x4xf32>, %s: memref<4xf32>) {
  // expected-error @+1 {{has no lowering: run convert-iabn-to-linalg before bufferization, on the tensor-level ops}}
  iabn.inplace_abn_buffer <identity> %x stats(%s, %s) : memref<8x4xf32>, memref<4xf32>, memref<4xf32>
  return
}
