// RUN: iabn-opt %s -split-input-file -verify-diagnostics --iabn-inplace-abn | FileCheck %s
// RUN: iabn-opt %s -split-input-file --iabn-inplace-abn="overwrite-arguments=true" 2>/dev/null | FileCheck %s --check-prefix=OVERWRITE
// RUN: iabn-opt %s -split-input-file --iabn-inplace-abn="overwrite-arguments=true" 2>&1 >/dev/null | FileCheck %s --check-prefix=OVREMARK

// The fused ops never write memory the caller owns: x and dz are followed
// through their aliases back to the function arguments, which are marked
// read-only unless the contract lets the function write them. Each remark
// says what One-Shot Bufferize will do.

// x is a view (expand_shape) of an argument: the argument is protected and
// the reshape works on a copy.
// CHECK-LABEL: func.func @expand_shape_of_argument
// CHECK-SAME: {bufferization.writable = false}
// OVERWRITE-LABEL: func.func @expand_shape_of_argument
// OVERWRITE-NOT: bufferization.writable
// OVREMARK: inplace-abn-aliases.mlir:[[@LINE+5]]:{{.*}}remark: {{.*}}; z overwrites x{{$}}
func.func @expand_shape_of_argument(%a: tensor<8x16x4xf32>) -> tensor<8x16x2x2xf32> {
  %x = tensor.expand_shape %a [[0], [1], [2, 3]] output_shape [8, 16, 2, 2]
      : tensor<8x16x4xf32> into tensor<8x16x2x2xf32>
  // expected-remark @+1 {{z overwrites a copy of x made for 'tensor.expand_shape' at loc(}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16x2x2xf32>, tensor<16xf32>
  %z = iabn.activation <leaky_relu, 0.01> %y : tensor<8x16x2x2xf32>
  return %z : tensor<8x16x2x2xf32>
}

// -----

// Two views in a row, collapse then cast to a dynamic shape: the remark
// names the whole alias chain.
// CHECK-LABEL: func.func @collapse_then_cast
// CHECK-SAME: {bufferization.writable = false}
func.func @collapse_then_cast(%a: tensor<8x16x2x2xf32>) -> tensor<?x16x4xf32> {
  %c = tensor.collapse_shape %a [[0], [1], [2, 3]]
      : tensor<8x16x2x2xf32> into tensor<8x16x4xf32>
  %x = tensor.cast %c : tensor<8x16x4xf32> to tensor<?x16x4xf32>
  // expected-remark @+1 {{x is function argument #0 (through the result of 'tensor.cast' at loc(}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<?x16x4xf32>, tensor<16xf32>
  %z = iabn.activation <elu, 1.0> %y : tensor<?x16x4xf32>
  return %z : tensor<?x16x4xf32>
}

// -----

// x is a loop-carried value initialised from an argument: the loop's first
// iteration works on a copy; later iterations overwrite their own value.
// CHECK-LABEL: func.func @loop_iter_arg
// CHECK-SAME: {bufferization.writable = false}
func.func @loop_iter_arg(%a: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %r = scf.for %i = %c0 to %c3 step %c1 iter_args(%x = %a) -> tensor<8x16xf32> {
    // expected-remark @+1 {{z overwrites a copy of x made for 'scf.for' at loc(}}
    %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
    %z = iabn.activation <leaky_relu, 0.01> %y : tensor<8x16xf32>
    scf.yield %z : tensor<8x16xf32>
  }
  return %r : tensor<8x16xf32>
}

// -----

// x is defined outside the loop and read again by every iteration: the
// remark says so (One-Shot Bufferize copies it).
func.func @loop_invariant_x(%a: tensor<8x16xf32>, %s: f32) -> tensor<8x16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %e = tensor.empty() : tensor<8x16xf32>
  %x = linalg.fill ins(%s : f32) outs(%e : tensor<8x16xf32>) -> tensor<8x16xf32>
  %r = scf.for %i = %c0 to %c3 step %c1 iter_args(%acc = %a) -> tensor<8x16xf32> {
    // expected-remark @+1 {{z does not overwrite x (x is copied): x is defined outside 'scf.for' at loc(}}
    %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
    %z = iabn.activation <leaky_relu, 0.01> %y : tensor<8x16xf32>
    %sum = linalg.add ins(%z, %acc : tensor<8x16xf32>, tensor<8x16xf32>)
        outs(%acc : tensor<8x16xf32>) -> tensor<8x16xf32>
    scf.yield %sum : tensor<8x16xf32>
  }
  return %r : tensor<8x16xf32>
}

// -----

// The incoming gradient is an argument: dx does not overwrite it, even with
// overwrite-arguments (which covers the other arguments only).
// CHECK-LABEL: func.func @gradient_argument
// CHECK-SAME: (%{{.*}}: tensor<8x16xf32> {bufferization.writable = false}, %{{.*}}: tensor<8x16xf32> {bufferization.writable = false, iabn.gradient})
// OVERWRITE-LABEL: func.func @gradient_argument
// OVERWRITE-SAME: (%{{.*}}: tensor<8x16xf32>, %{{.*}}: tensor<8x16xf32> {bufferization.writable = false, iabn.gradient})
// OVREMARK: remark: {{.*}}z overwrites x; dx does not overwrite dz (dz is copied): dz is function argument #1, which is an incoming gradient ({iabn.gradient}): mark it bufferization.writable = true
func.func @gradient_argument(%x: tensor<8x16xf32>, %dz: tensor<8x16xf32> {iabn.gradient}) -> tensor<8x16xf32> {
  // expected-remark @+1 {{dx does not overwrite dz (dz is copied): dz is function argument #1, which is not marked bufferization.writable = true}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <leaky_relu, 0.01> %y : tensor<8x16xf32>
  %dy = iabn.activation_grad <leaky_relu, 0.01> %dz, %z {self_is_result} : tensor<8x16xf32>
  %dx, %dg, %db = iabn.batch_norm_train_grad %dy, %x stats(%m, %v) : tensor<8x16xf32>, tensor<16xf32>
  return %dx : tensor<8x16xf32>
}

// -----

// An incoming gradient marked writable by the user is overwritten.
// CHECK-LABEL: func.func @writable_gradient
// CHECK-SAME: {bufferization.writable = true, iabn.gradient}
func.func @writable_gradient(%x: tensor<8x16xf32> {bufferization.writable = true},
    %dz: tensor<8x16xf32> {bufferization.writable = true, iabn.gradient}) -> tensor<8x16xf32> {
  // expected-remark @+1 {{z overwrites x; dx overwrites dz}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <leaky_relu, 0.01> %y : tensor<8x16xf32>
  %dy = iabn.activation_grad <leaky_relu, 0.01> %dz, %z {self_is_result} : tensor<8x16xf32>
  %dx, %dg, %db = iabn.batch_norm_train_grad %dy, %x stats(%m, %v) : tensor<8x16xf32>, tensor<16xf32>
  return %dx : tensor<8x16xf32>
}

// -----

// x comes out of an scf.if whose branches yield an argument or a local
// value: the argument is protected.
// CHECK-LABEL: func.func @if_of_argument
// CHECK-SAME: (%{{.*}}: i1, %{{.*}}: tensor<8x16xf32> {bufferization.writable = false}
func.func @if_of_argument(%c: i1, %a: tensor<8x16xf32>, %s: f32) -> tensor<8x16xf32> {
  %x = scf.if %c -> tensor<8x16xf32> {
    scf.yield %a : tensor<8x16xf32>
  } else {
    %e = tensor.empty() : tensor<8x16xf32>
    %f = linalg.fill ins(%s : f32) outs(%e : tensor<8x16xf32>) -> tensor<8x16xf32>
    scf.yield %f : tensor<8x16xf32>
  }
  // expected-remark @+1 {{x is function argument #1 (through the result of 'scf.if' at loc(}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <leaky_relu, 0.01> %y : tensor<8x16xf32>
  return %z : tensor<8x16xf32>
}

// -----

// x is the result of a call: it may alias the call's operands, so the
// argument passed in is protected; a callee that promises new buffers
// ({iabn.fresh_results}, as imported stand-ins do) is trusted.
// CHECK-LABEL: func.func @call_results
// CHECK-SAME: (%{{.*}}: tensor<8x16xf32> {bufferization.writable = false}, %{{.*}}: tensor<8x16xf32>)
func.func private @may_alias(tensor<8x16xf32>) -> tensor<8x16xf32>
func.func private @fresh(tensor<8x16xf32>) -> tensor<8x16xf32> attributes {iabn.fresh_results}
func.func @call_results(%a: tensor<8x16xf32>, %b: tensor<8x16xf32>) -> (tensor<8x16xf32>, tensor<8x16xf32>) {
  %x1 = func.call @may_alias(%a) : (tensor<8x16xf32>) -> tensor<8x16xf32>
  // expected-remark @+1 {{x is function argument #0 (through the result of 'func.call @may_alias' at loc(}}
  %y1, %m1, %v1 = iabn.batch_norm_train %x1 : tensor<8x16xf32>, tensor<16xf32>
  %z1 = iabn.activation <leaky_relu, 0.01> %y1 : tensor<8x16xf32>
  %x2 = func.call @fresh(%b) : (tensor<8x16xf32>) -> tensor<8x16xf32>
  // expected-remark @+1 {{; z overwrites x}}
  %y2, %m2, %v2 = iabn.batch_norm_train %x2 : tensor<8x16xf32>, tensor<16xf32>
  %z2 = iabn.activation <leaky_relu, 0.01> %y2 : tensor<8x16xf32>
  return %z1, %z2 : tensor<8x16xf32>, tensor<8x16xf32>
}

// -----

// A function whose argument is x, called from another function: the callee's
// argument is protected, so the caller's tensor survives the call.
// CHECK-LABEL: func.func @callee
// CHECK-SAME: {bufferization.writable = false}
func.func @callee(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {
  // expected-remark @+1 {{z does not overwrite x (x is copied): x is function argument #0}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <elu, 1.0> %y : tensor<8x16xf32>
  return %z : tensor<8x16xf32>
}
func.func @caller(%a: tensor<8x16xf32>) -> (tensor<8x16xf32>, tensor<8x16xf32>) {
  %z = func.call @callee(%a) : (tensor<8x16xf32>) -> tensor<8x16xf32>
  return %z, %a : tensor<8x16xf32>, tensor<8x16xf32>
}

// -----

// epsilon = 0 is a valid batch norm (StableHLO allows it) but the fused ops
// need epsilon > 0: the chain is left alone with the reason.
// CHECK-LABEL: func.func @epsilon_zero
// CHECK: iabn.batch_norm_train
// CHECK-NOT: iabn.inplace_abn
func.func @epsilon_zero(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {
  // expected-remark @+1 {{not rewritten: epsilon is 0: the fused ops need epsilon > 0}}
  %y, %m, %v = iabn.batch_norm_train %x {epsilon = 0.0 : f64} : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <leaky_relu, 0.01> %y : tensor<8x16xf32>
  return %z : tensor<8x16xf32>
}

// -----

// Found by check_remarks.py on generated graphs: a residual add whose result
// nobody uses kept x "read after the batch norm" in the remark, while the
// cleanup removed it and bufferization wrote in place. The rewrite drops dead
// ops first.
// CHECK-LABEL: func.func @dead_reader
// CHECK-NOT: linalg.add
// CHECK: return
func.func @dead_reader(%e: tensor<8x16xf32>, %s: f32) -> tensor<8x16xf32> {
  %x = linalg.fill ins(%s : f32) outs(%e : tensor<8x16xf32>) -> tensor<8x16xf32>
  // expected-remark @+1 {{; z overwrites x}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <leaky_relu, 0.01> %y : tensor<8x16xf32>
  %e2 = tensor.empty() : tensor<8x16xf32>
  %dead = linalg.add ins(%z, %x : tensor<8x16xf32>, tensor<8x16xf32>)
      outs(%e2 : tensor<8x16xf32>) -> tensor<8x16xf32>
  return %z : tensor<8x16xf32>
}

// -----

// Found by check_remarks.py: the second chain's x is the first chain's z,
// whose own buffer is a copy of the argument (the first remark says so); the
// second chain overwrites that buffer, it makes no copy of its own.
func.func @chain_after_copied_chain(%a: tensor<8x16xf32>) -> (tensor<8x16xf32>, tensor<8x16xf32>) {
  // expected-remark @+1 {{z does not overwrite x (x is copied): x is read by 'func.return'}}
  %y1, %m1, %v1 = iabn.batch_norm_train %a : tensor<8x16xf32>, tensor<16xf32>
  %z1 = iabn.activation <leaky_relu, 0.01> %y1 : tensor<8x16xf32>
  // expected-remark-re @+1 {{{{.*}}; z overwrites x{{$}}}}
  %y2, %m2, %v2 = iabn.batch_norm_train %z1 : tensor<8x16xf32>, tensor<16xf32>
  %z2 = iabn.activation <elu, 1.0> %y2 : tensor<8x16xf32>
  return %z2, %a : tensor<8x16xf32>, tensor<8x16xf32>
}

// -----

// A destination-passing op whose init is shared (CSE merges equal
// linalg.fill inits): bufferization copies the shared init for one of the
// producers; that copy is the producer's, not a copy of x.
func.func @shared_init(%s: f32, %w: tensor<8x16xf32>) -> (tensor<8x16xf32>, tensor<8x16xf32>) {
  %e = tensor.empty() : tensor<8x16xf32>
  %acc = linalg.fill ins(%s : f32) outs(%e : tensor<8x16xf32>) -> tensor<8x16xf32>
  %x1 = linalg.add ins(%w, %w : tensor<8x16xf32>, tensor<8x16xf32>) outs(%acc : tensor<8x16xf32>) -> tensor<8x16xf32>
  %x2 = linalg.mul ins(%w, %w : tensor<8x16xf32>, tensor<8x16xf32>) outs(%acc : tensor<8x16xf32>) -> tensor<8x16xf32>
  // expected-remark-re @+1 {{{{.*}}; z overwrites x{{$}}}}
  %y1, %m1, %v1 = iabn.batch_norm_train %x1 : tensor<8x16xf32>, tensor<16xf32>
  %z1 = iabn.activation <leaky_relu, 0.01> %y1 : tensor<8x16xf32>
  // expected-remark-re @+1 {{{{.*}}; z overwrites x{{$}}}}
  %y2, %m2, %v2 = iabn.batch_norm_train %x2 : tensor<8x16xf32>, tensor<16xf32>
  %z2 = iabn.activation <leaky_relu, 0.01> %y2 : tensor<8x16xf32>
  return %z1, %z2 : tensor<8x16xf32>, tensor<8x16xf32>
}

// -----

// Found in review: a callee whose contract lets it write its argument is
// called with the caller's own argument; the caller's argument is protected
// by the caller's contract (the call works on a copy), recursively.
// CHECK-LABEL: func.func private @writes_its_argument
// CHECK-SAME: {bufferization.writable = true}
// CHECK-LABEL: func.func @passes_its_argument
// CHECK-SAME: {bufferization.writable = false}
func.func private @writes_its_argument(%x: tensor<8x16xf32> {bufferization.writable = true}) -> tensor<8x16xf32> {
  // expected-remark @+1 {{z overwrites x}}
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  %z = iabn.activation <leaky_relu, 0.01> %y : tensor<8x16xf32>
  return %z : tensor<8x16xf32>
}
func.func @passes_its_argument(%a: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %r = func.call @writes_its_argument(%a) : (tensor<8x16xf32>) -> tensor<8x16xf32>
  return %r : tensor<8x16xf32>
}
