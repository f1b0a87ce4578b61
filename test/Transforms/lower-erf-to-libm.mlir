// RUN: iabn-opt %s --iabn-lower-erf-to-libm | FileCheck %s

// erf and erfc become C library calls (f32: erff, f64: erf); every other
// math op is left to convert-to-llvm (the C library has no rsqrt).
// CHECK-DAG: func.func private @erff(f32) -> f32 attributes {llvm.readnone}
// CHECK-DAG: func.func private @erf(f64) -> f64
// CHECK-DAG: func.func private @erfcf(f32) -> f32
// CHECK-LABEL: func.func @gelu_parts
// CHECK: call @erff(%{{.*}}) : (f32) -> f32
// CHECK: call @erf(%{{.*}}) : (f64) -> f64
// CHECK: call @erfcf(%{{.*}}) : (f32) -> f32
// CHECK: math.rsqrt
// CHECK: math.exp
// CHECK-NOT: math.erf
func.func @gelu_parts(%a: f32, %b: f64) -> (f32, f64, f32, f32, f32) {
  %0 = math.erf %a : f32
  %1 = math.erf %b : f64
  %2 = math.erfc %a : f32
  %3 = math.rsqrt %a : f32
  %4 = math.exp %a : f32
  return %0, %1, %2, %3, %4 : f32, f64, f32, f32, f32
}
