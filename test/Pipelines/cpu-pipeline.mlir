// RUN: iabn-opt %s -split-input-file --iabn-pipeline --iabn-cpu-pipeline 2>/dev/null | FileCheck %s
// RUN: iabn-opt %s -split-input-file --iabn-cpu-pipeline | FileCheck %s

// The CPU pipeline lowers every graph the rewrite accepts, before and after
// the rewrite, down to the LLVM dialect only (these graphs also run in
// test/Integration/CPU/differential.test); what it cannot lower is an error,
// never an exit 0 with other dialects left.

// A returned value written in place into a writable argument, returned
// twice: the deallocation pipeline's clones are lowered.
// CHECK-LABEL: llvm.func @returned_alias
// CHECK-NOT: bufferization.
// CHECK-NOT: memref.
func.func @returned_alias(%x: tensor<8x16xf32> {bufferization.writable = true}) -> (tensor<8x16xf32>, tensor<8x16xf32>) {
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <leaky_relu, 0.01> %y : tensor<8x16xf32>
  return %z, %z : tensor<8x16xf32>, tensor<8x16xf32>
}

// -----

// A loop that yields a freshly computed tensor (relu: not fused).
// CHECK-LABEL: llvm.func @loop_yields_new_tensor
// CHECK-NOT: scf.
// CHECK-NOT: bufferization.
func.func @loop_yields_new_tensor(%a: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %r = scf.for %i = %c0 to %c3 step %c1 iter_args(%x = %a) -> tensor<8x16xf32> {
    %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
    %z = iabn.activation <relu> %y : tensor<8x16xf32>
    scf.yield %z : tensor<8x16xf32>
  }
  return %r : tensor<8x16xf32>
}

// -----

// scf.if choosing x, dynamic batch.
// CHECK-LABEL: llvm.func @if_dynamic
// CHECK-NOT: scf.
func.func @if_dynamic(%c: i1, %a: tensor<?x16xf32>, %b: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %x = scf.if %c -> tensor<?x16xf32> {
    scf.yield %a : tensor<?x16xf32>
  } else {
    scf.yield %b : tensor<?x16xf32>
  }
  %y, %m, %v = iabn.batch_norm_train %x : tensor<?x16xf32>, tensor<16xf32>
  %z = iabn.activation <elu, 1.0> %y : tensor<?x16xf32>
  return %z : tensor<?x16xf32>
}

