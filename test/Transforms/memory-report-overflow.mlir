// RUN: iabn-opt %s --iabn-memory-report -o /dev/null | FileCheck %s
// RUN: iabn-opt %s --iabn-memory-report=json=true -o /dev/null | FileCheck %s --check-prefix=JSON

// Byte counts never wrap: a tensor of 2^61 f64 values (2^64 bytes), and two
// tensors whose sum exceeds int64, are reported as an overflow, never as a
// small or negative number, and the peak is an overflow too.

func.func private @producer() -> tensor<2147483648x1073741824xf64>
func.func private @producer_half() -> tensor<1073741824x536870912xf64>
func.func private @consume(tensor<2147483648x1073741824xf64>) -> tensor<8xf32>
func.func private @consume2(tensor<1073741824x536870912xf64>, tensor<1073741824x536870912xf64>) -> tensor<8xf32>

// CHECK-LABEL: func @one_huge_tensor
// CHECK-NEXT: saved for backward: 2 tensors, overflow (more than 2^63-1 B)
// CHECK-NEXT: func.call #0  tensor<2147483648x1073741824xf64>  overflow (more than 2^63-1 B)
// CHECK: peak live tensors: overflow (more than 2^63-1 B)
// JSON: "name": "one_huge_tensor"
// JSON: "peak_live_bytes": "overflow"
// JSON: "bytes": "overflow"
// JSON: "saved_bytes": "overflow"
func.func @one_huge_tensor(%g: tensor<8xf32> {iabn.gradient}) -> (tensor<8xf32>, tensor<8xf32>) {
  %x = func.call @producer() : () -> tensor<2147483648x1073741824xf64>
  %a = func.call @consume(%x) : (tensor<2147483648x1073741824xf64>) -> tensor<8xf32>
  %b = arith.addf %g, %a : tensor<8xf32>
  %c = func.call @consume(%x) : (tensor<2147483648x1073741824xf64>) -> tensor<8xf32>
  %d = arith.addf %b, %c : tensor<8xf32>
  return %a, %d : tensor<8xf32>, tensor<8xf32>
}

// Each tensor holds 2^59 f64 values, 2^62 bytes, which int64 represents;
// their sum, 2^63 bytes, does not.
// CHECK-LABEL: func @sum_overflows
// CHECK-NEXT: saved for backward: 3 tensors, overflow (more than 2^63-1 B)
// CHECK-NEXT: func.call #0  tensor<1073741824x536870912xf64>  4611686018427387904 B
// CHECK-NEXT: func.call #0  tensor<1073741824x536870912xf64>  4611686018427387904 B
// CHECK: peak live tensors: overflow (more than 2^63-1 B)
func.func @sum_overflows(%g: tensor<8xf32> {iabn.gradient}) -> (tensor<8xf32>) {
  %x = func.call @producer_half() : () -> tensor<1073741824x536870912xf64>
  %y = func.call @producer_half() : () -> tensor<1073741824x536870912xf64>
  %a = func.call @consume2(%x, %y) : (tensor<1073741824x536870912xf64>, tensor<1073741824x536870912xf64>) -> tensor<8xf32>
  %b = arith.addf %g, %a : tensor<8xf32>
  %c = func.call @consume2(%x, %y) : (tensor<1073741824x536870912xf64>, tensor<1073741824x536870912xf64>) -> tensor<8xf32>
  %d = arith.addf %b, %c : tensor<8xf32>
  return %d : tensor<8xf32>
}
