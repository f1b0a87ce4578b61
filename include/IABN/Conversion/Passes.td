//===- Passes.td - IABN conversion passes ------------------*- tablegen -*-===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#ifndef IABN_CONVERSION_PASSES_TD
#define IABN_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertIABNToLinalgPass : Pass<"convert-iabn-to-linalg"> {
  let summary = "Lower iabn ops to linalg/arith/math on tensors";
  let description = [{
    Lowers every tensor-level `iabn` op to `linalg.generic` ops (plus
    `arith`, `math`, `tensor`) in destination-passing style: the fused
    forward writes z into the destination `x` and the fused backward writes
    dx into the destination `dz`, so that One-Shot Bufferize reuses those
    buffers when nothing reads them afterwards.

    Numerics: statistics are accumulated in f32 (f64 for f64 data) with the
    two-pass method (mean first, then the sum of squared deviations); f16
    and bf16 are storage types only, all arithmetic is f32. A training op
    whose sample count per channel is only known at run time checks
    `m >= 2` with `cf.assert` (static shapes are checked by the verifier).

    The bufferized ops (`iabn.*_buffer`) are rejected with a diagnostic:
    run this pass before bufferization.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::cf::ControlFlowDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def GenerateGPUKernelsPass : Pass<"iabn-generate-gpu-kernels", "ModuleOp"> {
  let summary = "Generate the InPlace-ABN GPU kernel library (gpu dialect)";
  let description = [{
    Adds `gpu.module @iabn_kernels` with the kernels of the fused ops
    (training forward, training backward, inference forward) for the given
    storage types and activations, built from gpu/scf/arith/math/memref ops.
    `iabn-gpu-pipeline` lowers them through NVVM to a cubin (and PTX);
    runtime/cuda loads and launches them behind a C ABI.
  }];
  let options = [
    // Strings, not enums: a ListOption's element parser does not see
    // cl::values (MLIR 22), so the pass checks the names against the kernel
    // ABI's lists itself.
    ListOption<"dtypes", "dtypes", "std::string",
               "storage types: f32, f16, bf16 (default: all)">,
    ListOption<"activations", "activations", "std::string",
               "activations: identity, relu, leaky_relu, elu, relu6, silu, gelu, "
               "hardswish (default: all)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
  ];
}

#endif // IABN_CONVERSION_PASSES_TD
