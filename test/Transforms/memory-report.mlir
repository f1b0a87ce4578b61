// RUN: iabn-opt %s --iabn-memory-report="label=before" -o /dev/null | FileCheck %s
// RUN: iabn-opt %s --iabn-memory-report="label=before json=true" --iabn-pipeline --iabn-memory-report="label=after json=true" -o /dev/null | FileCheck %s --check-prefix=JSON

func.func private @producer() -> tensor<8x16x4x4xf32>
func.func private @weight_grad(tensor<8x16x4x4xf32>, tensor<8x16x4x4xf32>) -> tensor<16x16xf32>

// One BN -> leaky_relu chain with its backward. A framework keeps x, z and
// the statistics from the forward to the backward (8*16*4*4*4 = 8192 bytes
// per large tensor, 64 per statistic).
// CHECK-LABEL: === IABN memory report (before) ===
// CHECK-NEXT: func @step
// CHECK-NEXT:   saved for backward: 4 tensors, 16512 B (0.02 MiB)
// CHECK-NEXT:     func.call #0  tensor<8x16x4x4xf32>  8192 B (0.01 MiB)
// CHECK-NEXT:     iabn.batch_norm_train #1  tensor<16xf32>  64 B
// CHECK-NEXT:     iabn.batch_norm_train #2  tensor<16xf32>  64 B
// CHECK-NEXT:     iabn.activation #0  tensor<8x16x4x4xf32>  8192 B (0.01 MiB)
// The scale gamma is read by the backward; the incoming gradient is not
// counted.
// CHECK-NEXT:   arguments read by the backward (kept by the caller): 1, 64 B
// CHECK-NEXT:     argument #0  64 B
// CHECK-NEXT:   peak live tensors: 25856 B (0.02 MiB) at 'iabn.batch_norm_train_grad'
// CHECK-LABEL: func @forward_only
// CHECK-NEXT: saved for backward: none (no backward in this function)
// CHECK-NEXT: peak live tensors: 16384 B (0.02 MiB) at 'iabn.activation'
// CHECK-LABEL: func @dynamic
// CHECK: peak live tensors: 128 B
// CHECK-NEXT: tensors of unknown size (dynamic shapes, not counted): 1

// After the rewrite only z and the variance are saved, and z reuses x's
// buffer, so the peak drops.
// JSON: "name": "step"
// JSON-NEXT: "peak_at": "iabn.batch_norm_train_grad
// JSON-NEXT: "peak_live_bytes": 25856
// JSON: "saved_bytes": 16512
// JSON-NEXT: "saved_tensors": 4
// JSON: "label": "before"
// JSON: "name": "step"
// JSON-NEXT: "peak_at": "iabn.inplace_abn_grad
// JSON-NEXT: "peak_live_bytes": 17600
// JSON: "op": "iabn.inplace_abn"
// JSON: "saved_bytes": 8256
// JSON-NEXT: "saved_tensors": 2
// JSON: "label": "after"
func.func @step(%g: tensor<16xf32>, %b: tensor<16xf32>,
    %dout: tensor<8x16x4x4xf32> {iabn.gradient})
    -> (tensor<16x16xf32>, tensor<8x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>) {
  %x = call @producer() : () -> tensor<8x16x4x4xf32>
  %y, %m, %v = iabn.batch_norm_train %x scale %g offset %b : tensor<8x16x4x4xf32>, tensor<16xf32>
  %z = iabn.activation <leaky_relu, 0.01> %y : tensor<8x16x4x4xf32>
  %dw = call @weight_grad(%z, %dout) : (tensor<8x16x4x4xf32>, tensor<8x16x4x4xf32>) -> tensor<16x16xf32>
  %dy = iabn.activation_grad <leaky_relu, 0.01> %dout, %z {self_is_result} : tensor<8x16x4x4xf32>
  %dx, %dg, %db = iabn.batch_norm_train_grad %dy, %x scale %g stats(%m, %v) : tensor<8x16x4x4xf32>, tensor<16xf32>
  return %dw, %dx, %dg, %db : tensor<16x16xf32>, tensor<8x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>
}

func.func @forward_only(%x: tensor<8x16x4x4xf32>) -> tensor<8x16x4x4xf32> {
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16x4x4xf32>, tensor<16xf32>
  %z = iabn.activation <leaky_relu, 0.01> %y : tensor<8x16x4x4xf32>
  return %z : tensor<8x16x4x4xf32>
}

func.func @dynamic(%x: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %y, %m, %v = iabn.batch_norm_train %x : tensor<?x16xf32>, tensor<16xf32>
  return %y : tensor<?x16xf32>
}

// Unstructured control flow is not analysed, and the report says so.
// CHECK-LABEL: func @multi_block
// CHECK-NEXT: not analysed: body has 3 blocks; only single-block bodies (structured control flow) are analysed
func.func @multi_block(%x: tensor<8x16xf32>, %c: i1) -> tensor<8x16xf32> {
  cf.cond_br %c, ^a, ^b
^a:
  %y, %m, %v = iabn.batch_norm_train %x : tensor<8x16xf32>, tensor<16xf32>
  return %y : tensor<8x16xf32>
^b:
  return %x : tensor<8x16xf32>
}
