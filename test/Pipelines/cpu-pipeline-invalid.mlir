// RUN: not iabn-opt %s --iabn-cpu-pipeline 2>&1 | FileCheck %s --check-prefix=ERROR

// An op the pipeline does not lower (math.cbrt: no LLVM intrinsic, and only
// erf goes to libm): a located error and a non-zero exit.
// ERROR: cpu-pipeline-invalid.mlir:[[@LINE+3]]:8: error: 'math.cbrt' was not lowered to the LLVM dialect; the lowering does not support this graph
// ERROR-NOT: error
func.func @unlowered(%s: f32) -> f32 {
  %e = math.cbrt %s : f32
  return %e : f32
}
