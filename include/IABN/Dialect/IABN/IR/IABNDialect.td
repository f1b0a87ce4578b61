//===- IABNDialect.td - IABN dialect definition ------------*- tablegen -*-===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#ifndef IABN_DIALECT_IABN_IR_IABNDIALECT_TD
#define IABN_DIALECT_IABN_IR_IABNDIALECT_TD

include "mlir/IR/OpBase.td"

def IABN_Dialect : Dialect {
  let name = "iabn";
  let cppNamespace = "::mlir::iabn";
  let summary = "In-Place Activated BatchNorm (InPlace-ABN) for training graphs";
  let description = [{
    The `iabn` dialect models training-mode batch normalization, its
    activations and their gradients on ranked tensors, together with the
    fused In-Place Activated BatchNorm pair (Rota Bulo, Porzi, Kontschieder,
    CVPR 2018).

    Conventions shared by every op:

    * Activations (`x`, `y`, `z` and their gradients) are ranked tensors of
      rank >= 2 with element type `f16`, `bf16`, `f32` or `f64`.
    * `feature_dim` names the channel dimension (1 for NCHW / NCL / NC,
      `rank - 1` for channels-last layouts). Its extent is `C`; the
      statistics are reduced over the other dimensions, `m` samples per
      channel (`m` = product of all non-channel extents).
    * Per-channel tensors (scale `gamma`, offset `beta`, statistics) are
      `tensor<C x f32>`, or `tensor<C x f64>` when the data is `f64`. All
      per-channel operands and results of one op have the same type.
    * Saved statistics are the batch mean and the *biased* batch variance
      (not the inverse standard deviation): the running-statistics update
      needs the variance exactly, and the backward computes
      `rsqrt(var + epsilon)` per channel, which costs nothing next to the
      element-wise passes.
    * Arithmetic (statistics, normalization, gradients) is carried out in
      at least `f32`, whatever the storage type.
  }];
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
    void registerAttributes();
  }];
}

#endif // IABN_DIALECT_IABN_IR_IABNDIALECT_TD
