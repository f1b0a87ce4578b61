// RUN: not iabn-opt %s --iabn-cpu-pipeline 2>&1 | FileCheck %s --check-prefix=ERROR

// An op the pipeline does not lower (math.erf has no LLVM lowering without
// libm): a located error and a non-zero exit.
// ERROR: cpu-pipeline-invalid.mlir:[[@LINE+3]]:8: error: 'math.erf' was not lowered to the LLVM dialect; the lowering does not support this graph
// ERROR-NOT: error
func.func @unlowered(%s: f32) -> f32 {
  %e = math.erf %s : f32
  return %e : f32
}
