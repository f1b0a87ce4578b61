//===- IABNAttrs.td - IABN attributes ----------------------*- tablegen -*-===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#ifndef IABN_DIALECT_IABN_IR_IABNATTRS_TD
#define IABN_DIALECT_IABN_IR_IABNATTRS_TD

include "IABN/Dialect/IABN/IR/IABNDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def IABN_ActivationKind : I32EnumAttr<"ActivationKind",
    "element-wise activation function", [
  I32EnumAttrCase<"Identity", 0, "identity">,
  I32EnumAttrCase<"ReLU", 1, "relu">,
  I32EnumAttrCase<"LeakyReLU", 2, "leaky_relu">,
  I32EnumAttrCase<"ELU", 3, "elu">,
  I32EnumAttrCase<"ReLU6", 4, "relu6">,
  I32EnumAttrCase<"SiLU", 5, "silu">,
  I32EnumAttrCase<"GELU", 6, "gelu">,
  I32EnumAttrCase<"Hardswish", 7, "hardswish">
]> {
  let cppNamespace = "::mlir::iabn";
  let genSpecializedAttr = 0;
}

def IABN_GammaMode : I32EnumAttr<"GammaMode",
    "how the fused ops make the scale gamma non-zero", [
  I32EnumAttrCase<"SignClamp", 0, "sign_clamp">,
  I32EnumAttrCase<"AbsPlusEps", 1, "abs_plus_eps">
]> {
  let cppNamespace = "::mlir::iabn";
  let genSpecializedAttr = 0;
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

class IABN_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<IABN_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def IABN_GammaModeAttr : EnumAttr<IABN_Dialect, IABN_GammaMode, "gamma_mode"> {
  let summary = "gamma handling of the fused InPlace-ABN ops";
  let description = [{
    The fused backward divides by the effective scale `gamma_hat`, which
    therefore must never be zero:

    * `sign_clamp` (default): `gamma_hat = sign(gamma) * max(|gamma|, eps)`
      with `sign(0) = +1`. Equals standard batch norm whenever
      `|gamma| >= eps`, so weights trained with standard BN load unchanged.
      Gradient: straight-through, `d gamma = d gamma_hat`. The exact
      derivative of the clamp is 0 for `|gamma| < eps`, which would freeze a
      zero-initialized gamma (the common "zero-gamma" residual init) forever;
      passing the gradient through keeps such a gamma trainable and is exact
      wherever `|gamma| > eps`.
    * `abs_plus_eps`: `gamma_hat = |gamma| + eps`, the official
      `inplace_abn` library's rule, for its checkpoints. Gradient:
      `d gamma = d gamma_hat * sign(gamma)` with `sign(0) = +1`.

    `eps` is the op's `epsilon`, as in the official library.
  }];
  let assemblyFormat = "`<` $value `>`";
}

def IABN_ActivationAttr : IABN_Attr<"Activation", "activation"> {
  let summary = "an element-wise activation and its parameter";
  let description = [{
    `#iabn.activation<identity>`, `#iabn.activation<relu>`,
    `#iabn.activation<leaky_relu, 0.01>` (negative slope),
    `#iabn.activation<elu, 1.0>` (alpha), `#iabn.activation<relu6>`,
    `#iabn.activation<silu>`, `#iabn.activation<gelu>` or
    `#iabn.activation<hardswish>`.

    * identity: `z = y`
    * relu: `z = max(y, 0)`
    * leaky_relu(s): `z = y >= 0 ? y : s * y`
    * elu(a): `z = y >= 0 ? y : a * (exp(y) - 1)`
    * relu6: `z = min(max(y, 0), 6)`
    * silu: `z = y * sigmoid(y) = y / (1 + exp(-y))`
    * gelu: `z = y * Phi(y) = y / 2 * (1 + erf(y / sqrt(2)))` (the exact
      form, PyTorch's `approximate='none'`)
    * hardswish: `z = y * min(max(y + 3, 0), 6) / 6`

    The derivatives follow PyTorch's at the kinks: relu and relu6 have
    derivative 0 at 0 (and at 6), hardswish `y / 3 + 1/2` on `[-3, 3]`.

    The parameter is required for `leaky_relu` and `elu`, forbidden for the
    others, and must be finite. Ops that recover the activation's input from
    its output (the fused InPlace-ABN ops) further require an invertible
    activation: identity, leaky_relu with slope > 0, or elu with alpha > 0.
    The others are rewritten by storing the batch norm's output `y` and
    recomputing the activation from it (the rewrite's store-y strategy).
  }];
  let parameters = (ins "::mlir::iabn::ActivationKind":$kind,
                        OptionalParameter<"std::optional<::llvm::APFloat>">:$param);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Whether `z = phi(y)` can be inverted: y is recoverable from z.
    bool isInvertible() const;
    /// Whether activations of `kind` can be inverted for some parameter
    /// (those that have an inverse and a fused backward).
    static bool isInvertibleKind(::mlir::iabn::ActivationKind kind);
    /// Whether `phi'` can be computed from the output `z` alone (PyTorch's
    /// `self_is_result`).
    bool isDifferentiableFromOutput() const;
    /// The parameter, or 0 when the activation has none.
    double getParamOr0() const {
      return getParam() ? getParam()->convertToDouble() : 0.0;
    }
  }];
}

#endif // IABN_DIALECT_IABN_IR_IABNATTRS_TD
