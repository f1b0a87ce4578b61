//===- Passes.td - IABN transformation passes --------------*- tablegen -*-===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#ifndef IABN_TRANSFORMS_PASSES_TD
#define IABN_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def InPlaceABNPass : Pass<"iabn-inplace-abn", "ModuleOp"> {
  let summary = "Rewrite BatchNorm->activation chains into InPlace-ABN";
  let description = [{
    Finds every training-mode `iabn.batch_norm_train` whose output feeds an
    `iabn.activation`, together with the matching backward
    (`iabn.activation_grad` feeding `iabn.batch_norm_train_grad`) in the same
    function (the joint forward+backward graph), and picks a strategy:

    * `inplace` (invertible activation: identity, leaky_relu with slope > 0,
      elu with alpha > 0): the chain becomes `iabn.inplace_abn` and its
      backward `iabn.inplace_abn_grad`, which recomputes y and x_hat from the
      stored output z; x and y die after the forward and z takes x's buffer.
    * `store-y` (non-invertible activation such as relu, epsilon > 0): the
      forward stores y with an identity `iabn.inplace_abn` (y takes x's
      buffer) and computes z = phi(y); the backward reads y only: the
      activation gradient takes phi'(y), `iabn.inplace_abn_grad <identity>`
      recovers x_hat from y, and every other backward reader of z (e.g. the
      next layer's weight gradient) reads z recomputed from y right before
      it (an `iabn.activation` marked `iabn.rematerialized`, which CSE keeps
      apart). y is the one tensor saved where BN keeps x and z.
    * `recompute` (non-invertible activation with epsilon = 0): the backward
      recomputes y from x and the saved statistics
      (`iabn.batch_norm_inference` with the batch statistics) instead of
      keeping y or z alive, applied only where the activation input/output
      is saved for nothing else (otherwise it saves no bytes).
    * forward-only chains (no backward present) with an invertible
      activation are fused into `iabn.inplace_abn`.

    A batch norm that feeds no activation (e.g. BN before a residual add) is
    a BN->identity chain; its output may then feed any number of ops.

    The fused ops may write into an operand (z over x, dx over dz). The
    caller's memory is never written unless the function's contract allows
    it: the pass follows the aliases of x and dz back to the function
    arguments (through views, casts, reshapes, slices, loop iteration
    arguments and calls, with One-Shot Bufferize's aliasing interfaces; ops
    and region arguments it cannot follow count as aliasing every argument)
    and marks every such argument `bufferization.writable = false` unless it
    carries `bufferization.writable = true`, or `overwrite-arguments` is set
    and it is not an incoming gradient (`{iabn.gradient}`: those are
    written only when marked writable).

    Every batch norm gets a remark, emitted on the final IR: the strategy,
    or the precise reason nothing was done. For fused chains the remark says
    whether z overwrites x (and dx overwrites dz), as predicted by One-Shot
    Analysis of the whole module with the options of `iabn-cpu-pipeline`;
    when a copy is made it names the argument and its alias chain, or the
    op that reads the operand afterwards. The pass runs on the module: the
    decisions of a function depend on its callers and callees.
  }];
  let dependentDialects = ["::mlir::iabn::IABNDialect"];
  let options = [
    Option<"gammaMode", "gamma-mode", "::mlir::iabn::GammaMode",
           /*default=*/"::mlir::iabn::GammaMode::SignClamp",
           "gamma handling of the fused ops: sign_clamp (default) or "
           "abs_plus_eps", "IABN_GAMMA_MODE_OPTION_VALUES">,
    Option<"allowRecompute", "recompute", "bool", /*default=*/"true",
           "apply store-y (or recompute) to non-invertible activations">,
    Option<"overwriteArguments", "overwrite-arguments", "bool",
           /*default=*/"false",
           "let z overwrite an x that is a function argument not marked "
           "bufferization.writable">,
    Option<"decisionsFile", "decisions-file", "std::string",
           /*default=*/"\"\"",
           "also write the decisions as JSON to this file (the structured "
           "form of the remarks: one object per batch norm with its "
           "location, strategy, activation and what happens to x and dz)">,
  ];
}

def MemoryReportPass : Pass<"iabn-memory-report", "ModuleOp"> {
  let summary = "Report tensor bytes saved for the backward and peak live bytes";
  let description = [{
    For each function, prints (to stdout):

    * the tensors saved across the forward->backward boundary: results of
      ops before the first backward op that are used by it or later ops
      (other than the function's terminator: returned outputs are not saved
      for the backward), with their byte sizes;
    * the peak of live tensor bytes in program order (a value lives from
      its definition to its last use; a fused InPlace-ABN op whose in-place
      operand dies there reuses its buffer).

    The backward starts at the first top-level op that (transitively)
    consumes a gradient: a function argument marked `{iabn.gradient}` or a
    result of an iabn gradient op. Only tensors the function defines are
    counted (`tensor.empty` holds no data and counts as 0 bytes); arguments
    read by the backward (other than incoming gradients), which the caller
    must keep alive, are listed apart since parameters live on anyway. Tensors with dynamic
    dimensions are reported as of unknown size. `json=true` prints one JSON
    object per module instead of text.
  }];
  let options = [
    Option<"json", "json", "bool", /*default=*/"false",
           "print JSON instead of text">,
    Option<"label", "label", "std::string", /*default=*/"\"\"",
           "a label printed with the report (e.g. before/after)">,
    Option<"outputFile", "output-file", "std::string", /*default=*/"\"-\"",
           "where to write the report (- for stdout); appends">,
  ];
}

def RaiseBatchNormPass : Pass<"iabn-raise-batch-norm", "ModuleOp"> {
  let summary = "Raise training batch norms written in linalg to iabn ops";
  let description = [{
    Finds training-mode batch norms in linalg-on-tensors graphs as
    front-ends produce them (torch-mlir's fx importer; JAX through IREE's
    input conversion) and replaces them with `iabn.batch_norm_train`,
    `iabn.activation`, `iabn.activation_grad` and
    `iabn.batch_norm_train_grad`, which the InPlace-ABN rewrite consumes.

    Recognition is by meaning, not by op sequence. For each candidate tensor
    the pass builds the element-wise expression that computes it, through
    `linalg.generic` bodies, broadcasts, casts (f64 accumulation), reshapes
    and per-channel sums (`linalg.generic` reductions over every dimension
    but one), and evaluates it in float64 on random inputs:

    * y is a batch norm of x when it equals `(x - mean) * rsqrt(var + eps) *
      gamma + beta` (with or without gamma/beta; two-pass or E[x^2] - E[x]^2
      variance; rsqrt or sqrt and division) for two independent draws, to
      1e-9; eps is the graph constant the values imply, the channel
      dimension any one;
    * z = phi(y) for relu, leaky_relu(s), elu(a), relu6, silu, gelu or
      hardswish, s and a taken from the graph's constants;
    * per-channel values equal to mean(x) or var(x) (what the running
      statistics read) are replaced by the raised op's statistics;
    * dx is the batch-norm backward of some dy in its expression, dgamma and
      dbeta its per-channel sums, and dy = dz * phi'(y) for an operand dz.

    A remark per batch norm says what was raised. Graphs with control flow
    (several blocks) and dynamic shapes are left alone. Run canonicalize and
    CSE first (`iabn-pipeline{raise=true}` does).
  }];
  let dependentDialects = ["::mlir::iabn::IABNDialect",
                           "::mlir::tensor::TensorDialect"];
}

def LowerErfToLibmPass : Pass<"iabn-lower-erf-to-libm", "ModuleOp"> {
  let summary = "Lower math.erf and math.erfc to C library calls";
  let description = [{
    A step of `iabn-cpu-pipeline`, before `convert-to-llvm`: the LLVM
    dialect has no intrinsic for `erf` (gelu's), so `math.erf` and
    `math.erfc` become calls to `erff`/`erf` and `erfcf`/`erfc`. Unlike
    upstream's `convert-math-to-libm`, every other math op is left to
    `convert-to-llvm` (the C library has no `rsqrt`, for instance).
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def VerifyLoweredToLLVMPass : Pass<"iabn-verify-lowered-to-llvm", "ModuleOp"> {
  let summary = "Fail unless only the LLVM dialect is left";
  let description = [{
    The last pass of `iabn-cpu-pipeline`: fails with an error located at
    the first op that is neither in the `llvm` dialect nor a
    `builtin.module` (e.g. a `bufferization.clone` or an `scf.for` that a
    lowering left behind), so that the pipeline never exits 0 with output
    that `mlir-translate --mlir-to-llvmir` cannot take.
  }];
}

#endif // IABN_TRANSFORMS_PASSES_TD
