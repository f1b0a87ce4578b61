//===- Passes.td - IABN transformation passes --------------*- tablegen -*-===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#ifndef IABN_TRANSFORMS_PASSES_TD
#define IABN_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def InPlaceABNPass : Pass<"iabn-inplace-abn", "func::FuncOp"> {
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
    * `recompute` (non-invertible activation such as relu): the backward
      recomputes y from x and the saved statistics
      (`iabn.batch_norm_inference` with the batch statistics) instead of
      keeping y or z alive, applied only where the activation input/output
      is saved for nothing else (otherwise it saves no bytes).
    * forward-only chains (no backward present) with an invertible
      activation are fused into `iabn.inplace_abn`.

    A batch norm that feeds no activation (e.g. BN before a residual add) is
    a BN->identity chain; its output may then feed any number of ops.

    Every chain gets a remark: the strategy, whether z is written in place
    (and if not, which op at which location keeps x alive), or the precise
    reason nothing was done. A function argument x is overwritten only if it
    carries `bufferization.writable = true` (or with
    `overwrite-arguments`); otherwise the pass marks it
    `bufferization.writable = false` so that One-Shot Bufferize copies it.
  }];
  let dependentDialects = ["::mlir::iabn::IABNDialect"];
  let options = [
    Option<"gammaMode", "gamma-mode", "std::string", /*default=*/"\"sign_clamp\"",
           "gamma handling of the fused ops: sign_clamp | abs_plus_eps">,
    Option<"allowRecompute", "recompute", "bool", /*default=*/"true",
           "apply the recompute strategy to non-invertible activations">,
    Option<"overwriteArguments", "overwrite-arguments", "bool",
           /*default=*/"false",
           "let z overwrite an x that is a function argument not marked "
           "bufferization.writable">,
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

#endif // IABN_TRANSFORMS_PASSES_TD
