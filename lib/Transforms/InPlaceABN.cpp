//===- InPlaceABN.cpp - Rewrite BN->activation chains into InPlace-ABN ----===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//
//
// Finds every iabn.batch_norm_train of a function, the activation it feeds
// and their backward, decides a strategy (inplace, recompute, none), applies
// it and explains the decision with a remark on the batch norm.
//
//===----------------------------------------------------------------------===//

#include "IABN/Transforms/Passes.h"

#include "IABN/Dialect/IABN/IR/IABNOps.h"
#include "TrainingGraph.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Interfaces/CallInterfaces.h"
#include "llvm/ADT/STLExtras.h"

namespace mlir {
namespace iabn {
#define GEN_PASS_DEF_INPLACEABNPASS
#include "IABN/Transforms/Passes.h.inc"
} // namespace iabn
} // namespace mlir

using namespace mlir;
using namespace mlir::iabn;

namespace {

/// A training-mode batch norm, the activation it feeds (null: identity, the
/// BN output itself is z) and the matching backward ops (null: none).
struct Chain {
  BatchNormTrainOp bn;
  ActivationOp act;
  ActivationGradOp actGrad;
  BatchNormTrainGradOp bnGrad;

  /// The activation output z (the BN output when there is no activation).
  Value getZ() { return act ? act.getOutput() : bn.getOutput(); }
  /// The activation (identity when there is none).
  ActivationAttr getActivation() {
    return act ? act.getActivation()
               : ActivationAttr::get(bn.getContext(), ActivationKind::Identity,
                                     std::nullopt);
  }
};

/// Describes `op` for a remark: its name and location.
std::string describe(Operation *op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "'" << op->getName();
  // Calls name their callee (e.g. the stand-ins of an imported graph).
  if (auto call = dyn_cast<CallOpInterface>(op))
    if (auto callee = dyn_cast<SymbolRefAttr>(call.getCallableForCallee()))
      os << " " << callee;
  os << "' at " << op->getLoc();
  return text;
}

/// The result of matching: a chain, or the reason there is none.
struct MatchResult {
  std::optional<Chain> chain;
  std::string reason;
};

MatchResult fail(const Twine &reason) { return {std::nullopt, reason.str()}; }

/// Matches the activation and backward around `bn`.
MatchResult matchChain(BatchNormTrainOp bn) {
  Chain chain{bn, nullptr, nullptr, nullptr};
  Value y = bn.getOutput();

  // y feeds one activation (and possibly that activation's gradient in its
  // input form), or no activation at all (identity: y is z).
  SmallVector<ActivationGradOp> yGrads;
  for (Operation *user : y.getUsers()) {
    if (auto act = dyn_cast<ActivationOp>(user)) {
      if (chain.act && chain.act != act)
        return fail("y (the batch norm output) feeds two activations, " +
                    describe(chain.act) + " and " + describe(act));
      chain.act = act;
    } else if (auto grad = dyn_cast<ActivationGradOp>(user);
               grad && grad.getSource() == y && !grad.getSelfIsResult()) {
      yGrads.push_back(grad);
    }
  }
  if (chain.act) {
    for (Operation *user : y.getUsers())
      if (user != chain.act && !llvm::is_contained(yGrads, user))
        return fail("y (the batch norm output) is also used by " +
                    describe(user) + ", so it cannot be dropped");
  } else if (!yGrads.empty()) {
    return fail("y feeds an activation gradient " + describe(yGrads.front()) +
                " but no activation");
  }

  // The backward: one batch_norm_train_grad reading this BN's statistics.
  for (Operation *user : bn.getMean().getUsers()) {
    auto grad = dyn_cast<BatchNormTrainGradOp>(user);
    if (!grad)
      continue;
    if (chain.bnGrad)
      return fail("mismatched backward: two batch norm gradients, " +
                  describe(chain.bnGrad) + " and " + describe(grad));
    chain.bnGrad = grad;
  }
  BatchNormTrainGradOp bnGrad = chain.bnGrad;
  if (!bnGrad) {
    if (!yGrads.empty())
      return fail("mismatched backward: activation gradient " +
                  describe(yGrads.front()) + " without a batch norm gradient");
    return {chain, ""};
  }
  if (bnGrad.getInput() != bn.getInput() ||
      bnGrad.getVariance() != bn.getVariance())
    return fail("mismatched backward: " + describe(bnGrad) +
                " does not read this batch norm's input and statistics");
  if (bnGrad.getScale() != bn.getScale())
    return fail("mismatched backward: " + describe(bnGrad) +
                " uses a different scale");
  if (bnGrad.getFeatureDim() != bn.getFeatureDim() ||
      bnGrad.getEpsilon() != bn.getEpsilon())
    return fail("mismatched backward: " + describe(bnGrad) +
                " has a different feature_dim or epsilon");
  if (!chain.act)
    return {chain, ""};

  // With an activation, dy must come from its gradient, read from y or z.
  auto actGrad = bnGrad.getGradOutput().getDefiningOp<ActivationGradOp>();
  if (!actGrad)
    return fail("mismatched backward: the dy of " + describe(bnGrad) +
                " is not the gradient of the activation");
  Value expectedSource = actGrad.getSelfIsResult() ? chain.act.getOutput() : y;
  if (actGrad.getSource() != expectedSource ||
      actGrad.getActivation() != chain.act.getActivation())
    return fail("mismatched backward: " + describe(actGrad) +
                " is not the gradient of " + describe(chain.act));
  if (!actGrad.getGradInput().hasOneUse())
    return fail("the activation gradient of " + describe(actGrad) +
                " is also used outside the batch norm backward");
  for (ActivationGradOp grad : yGrads)
    if (grad != actGrad)
      return fail("y (the batch norm output) is also used by " +
                  describe(grad));
  chain.actGrad = actGrad;
  return {chain, ""};
}

/// Finds an op that reads x after `bn` (other than the BN backward), or
/// returns null. Uses in other blocks count as later reads (conservative).
Operation *findLaterReader(Chain chain) {
  Value x = chain.bn.getInput();
  Block *block = chain.bn->getBlock();
  for (Operation *user : x.getUsers()) {
    if (user == chain.bn || user == chain.bnGrad)
      continue;
    Operation *ancestor = block->findAncestorOpInBlock(*user);
    if (ancestor && ancestor != chain.bn && ancestor->isBeforeInBlock(chain.bn))
      continue;
    return user;
  }
  return nullptr;
}

struct InPlaceABNPass : public iabn::impl::InPlaceABNPassBase<InPlaceABNPass> {
  using Base::Base;

  LogicalResult initialize(MLIRContext *context) override {
    std::optional<GammaMode> mode = symbolizeGammaMode(gammaMode);
    if (!mode)
      return emitError(UnknownLoc::get(context))
             << "iabn-inplace-abn: invalid gamma-mode '" << gammaMode
             << "'; expected sign_clamp or abs_plus_eps";
    parsedGammaMode = *mode;
    return success();
  }

  void runOnOperation() override;

private:
  /// Decides whether z may overwrite x; returns the reason when not.
  std::optional<std::string> checkInPlace(Chain chain);
  void rewriteInPlace(Chain chain);
  void rewriteRecompute(Chain chain);

  GammaMode parsedGammaMode = GammaMode::SignClamp;
};

std::optional<std::string> InPlaceABNPass::checkInPlace(Chain chain) {
  if (Operation *reader = findLaterReader(chain))
    return "x is read by " + describe(reader) + " after the batch norm";
  auto arg = dyn_cast<BlockArgument>(chain.bn.getInput());
  func::FuncOp func = getOperation();
  if (!arg || arg.getOwner() != &func.getBody().front())
    return std::nullopt;
  unsigned index = arg.getArgNumber();
  auto writable =
      func.getArgAttrOfType<BoolAttr>(index, "bufferization.writable");
  if (writable && writable.getValue())
    return std::nullopt;
  if (!writable && overwriteArguments)
    return std::nullopt;
  if (!writable)
    func.setArgAttr(index, "bufferization.writable",
                    BoolAttr::get(&getContext(), false));
  return "x is function argument #" + std::to_string(index) +
         ", which is not marked bufferization.writable = true";
}

void InPlaceABNPass::rewriteInPlace(Chain chain) {
  BatchNormTrainOp bn = chain.bn;
  OpBuilder builder(bn);
  Location loc = chain.act
                     ? builder.getFusedLoc({bn.getLoc(), chain.act.getLoc()})
                     : bn.getLoc();
  auto gammaModeAttr = GammaModeAttr::get(&getContext(), parsedGammaMode);
  auto fused = InPlaceABNOp::create(
      builder, loc, bn.getOutput().getType(), bn.getMean().getType(),
      bn.getVariance().getType(), bn.getInput(), bn.getScale(), bn.getOffset(),
      chain.getActivation(), bn.getFeatureDimAttr(), bn.getEpsilonAttr(),
      gammaModeAttr);
  if (BatchNormTrainGradOp bnGrad = chain.bnGrad) {
    Value dz =
        chain.actGrad ? chain.actGrad.getGradOutput() : bnGrad.getGradOutput();
    builder.setInsertionPoint(bnGrad);
    Location gradLoc =
        chain.actGrad
            ? builder.getFusedLoc({chain.actGrad.getLoc(), bnGrad.getLoc()})
            : bnGrad.getLoc();
    auto fusedGrad = InPlaceABNGradOp::create(
        builder, gradLoc, bnGrad.getGradInput().getType(),
        bnGrad.getGradScale().getType(), bnGrad.getGradOffset().getType(), dz,
        fused.getOutput(), bn.getScale(), bn.getOffset(), fused.getVariance(),
        chain.getActivation(), bn.getFeatureDimAttr(), bn.getEpsilonAttr(),
        gammaModeAttr);
    bnGrad->replaceAllUsesWith(fusedGrad);
    bnGrad->erase();
    if (chain.actGrad)
      chain.actGrad->erase();
  }
  chain.getZ().replaceAllUsesWith(fused.getOutput());
  bn.getMean().replaceAllUsesWith(fused.getMean());
  bn.getVariance().replaceAllUsesWith(fused.getVariance());
  if (chain.act)
    chain.act->erase();
  bn->erase();
}

void InPlaceABNPass::rewriteRecompute(Chain chain) {
  BatchNormTrainOp bn = chain.bn;
  ActivationGradOp actGrad = chain.actGrad;
  OpBuilder builder(actGrad);
  auto y = BatchNormInferenceOp::create(
      builder, bn.getLoc(), bn.getInput().getType(), bn.getInput(),
      bn.getScale(), bn.getOffset(), bn.getMean(), bn.getVariance(),
      bn.getFeatureDimAttr(), bn.getEpsilonAttr());
  auto grad = ActivationGradOp::create(
      builder, actGrad.getLoc(), actGrad.getGradOutput().getType(),
      actGrad.getGradOutput(), y.getOutput(), actGrad.getActivationAttr(),
      /*self_is_result=*/nullptr);
  actGrad->replaceAllUsesWith(grad);
  actGrad->erase();
}

void InPlaceABNPass::runOnOperation() {
  func::FuncOp func = getOperation();
  BackwardSlice slice(func);
  SmallVector<BatchNormTrainOp> bns;
  func.walk([&](BatchNormTrainOp bn) { bns.push_back(bn); });

  for (BatchNormTrainOp bn : bns) {
    MatchResult match = matchChain(bn);
    if (!match.chain) {
      emitRemark(bn.getLoc()) << "not rewritten: " << match.reason;
      continue;
    }
    Chain chain = *match.chain;
    ActivationAttr activation = chain.getActivation();

    if (activation.isInvertible()) {
      std::optional<std::string> notInPlace = checkInPlace(chain);
      InFlightDiagnostic remark = emitRemark(bn.getLoc());
      remark << "inplace: " << activation << " fused "
             << (chain.bnGrad ? "forward and backward; the backward "
                                "recomputes y and x_hat from z"
                              : "forward only (no backward in this function)");
      if (notInPlace)
        remark << "; z does not overwrite x: " << *notInPlace;
      else
        remark << "; z overwrites x";
      rewriteInPlace(chain);
      continue;
    }

    if (!chain.bnGrad) {
      emitRemark(bn.getLoc()) << "not rewritten: forward-only chain with "
                                 "non-invertible activation "
                              << activation;
      continue;
    }
    if (!allowRecompute) {
      emitRemark(bn.getLoc()) << "not rewritten: activation " << activation
                              << " is not invertible and recompute is disabled";
      continue;
    }
    // Recompute pays off only if the activation gradient's operand (y or z)
    // is saved for nothing else in the backward.
    Value source = chain.actGrad.getSource();
    Operation *otherReader = nullptr;
    for (Operation *user : source.getUsers())
      if (user != chain.actGrad && slice.isBackward(user))
        otherReader = user;
    if (otherReader) {
      emitRemark(bn.getLoc())
          << "not rewritten: activation " << activation
          << " is not invertible and recompute would not lower "
             "the saved bytes: "
          << (source == bn.getOutput() ? "y" : "z") << " is also saved for "
          << describe(otherReader);
      continue;
    }
    emitRemark(bn.getLoc())
        << "recompute: activation " << activation
        << " is not invertible; the backward recomputes y from x "
           "and the batch statistics, so "
        << (source == bn.getOutput() ? "y" : "z")
        << " is no longer saved for the activation gradient";
    rewriteRecompute(chain);
  }
}

} // namespace
