//===- InPlaceABN.cpp - Rewrite BN->activation chains into InPlace-ABN ----===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//
//
// Finds every iabn.batch_norm_train of every function, the activation it
// feeds and their backward, decides a strategy (inplace, recompute, none) and
// applies it. The fused ops may write into their operand (z over x, dx over
// dz); the pass makes sure that no such write reaches memory the caller owns
// (it follows the aliases of x and dz back to the function arguments and
// marks those bufferization.writable = false), then runs One-Shot Analysis
// with the CPU pipeline's options and explains every decision with a remark
// on the batch norm, emitted once the IR is final (a remark never names an op
// that the rewrite deleted).
//
//===----------------------------------------------------------------------===//

#include "IABN/Transforms/Passes.h"

#include "IABN/Analysis/TrainingGraph.h"
#include "IABN/Dialect/IABN/IR/IABNOps.h"

#include "IABN/Transforms/Bufferization.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotModuleBufferize.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Interfaces/CallInterfaces.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"

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

/// Whether `op` is a call to a function that promises new buffers (as the
/// stand-ins of an imported graph do): its results alias none of its
/// operands, whatever One-Shot Analysis assumes of an external callee.
bool returnsNewBuffers(Operation *op) {
  auto call = dyn_cast<CallOpInterface>(op);
  if (!call)
    return false;
  Operation *callee = call.resolveCallable();
  return callee && callee->hasAttr(kFreshResultsAttrName);
}

/// How a value reaches a function argument through aliases (views, casts,
/// reshapes, slices, loop and region arguments, calls): the argument and the
/// steps from the value back to it.
struct ArgumentAlias {
  /// The function argument.
  BlockArgument argument;
  /// "x = 'tensor.expand_shape' at loc of ..." steps, nearest first.
  SmallVector<std::string> steps;
};

/// The result of tracing a value back to the function arguments it may
/// alias.
struct AliasTrace {
  SmallVector<ArgumentAlias> aliases;
  /// Set when some step could not be followed; then any argument may alias.
  std::string untraceable;
};

/// Follows `value` backwards through everything that may make it share a
/// buffer with another value, up to the arguments of the function. Ops
/// without a bufferization model and calls alias all their tensor operands
/// (conservative); loop region arguments alias their init and yielded values.
AliasTrace traceToArguments(Value value, FunctionOpInterface func,
                            const bufferization::AnalysisState &state) {
  AliasTrace trace;
  // Breadth-first, remembering how each value was reached.
  llvm::DenseMap<Value, std::pair<Value, std::string>> reachedFrom;
  SmallVector<Value> worklist{value};
  reachedFrom[value] = {Value(), ""};
  auto visit = [&](Value next, Value from, std::string step) {
    if (!isa<TensorType>(next.getType()))
      return;
    if (reachedFrom.try_emplace(next, from, std::move(step)).second)
      worklist.push_back(next);
  };
  Block *entry = &func.getFunctionBody().front();
  while (!worklist.empty()) {
    Value current = worklist.pop_back_val();
    if (auto arg = dyn_cast<BlockArgument>(current)) {
      if (arg.getOwner() == entry) {
        ArgumentAlias alias{arg, {}};
        for (Value v = current; reachedFrom[v].first; v = reachedFrom[v].first)
          alias.steps.push_back(reachedFrom[v].second);
        std::reverse(alias.steps.begin(), alias.steps.end());
        trace.aliases.push_back(std::move(alias));
        continue;
      }
      Operation *owner = arg.getOwner()->getParentOp();
      auto loop = dyn_cast<LoopLikeOpInterface>(owner);
      OpOperand *init = loop ? loop.getTiedLoopInit(arg) : nullptr;
      if (!init) {
        trace.untraceable = "a region argument of " + describe(owner);
        continue;
      }
      std::string step = "the iteration argument of " + describe(owner);
      visit(init->get(), current, step + " (its initial value)");
      if (OpOperand *yielded = loop.getTiedLoopYieldedValue(arg))
        visit(yielded->get(), current, step + " (a yielded value)");
      continue;
    }
    Operation *def = current.getDefiningOp();
    std::string step = "the result of " + describe(def);
    if (returnsNewBuffers(def))
      continue;
    auto bufferizable = state.getOptions().dynCastBufferizableOp(def);
    if (!bufferizable || isa<CallOpInterface>(def)) {
      for (Value operand : def->getOperands())
        visit(operand, current, step);
      continue;
    }
    for (const bufferization::AliasingOpOperand &alias :
         state.getAliasingOpOperands(current))
      visit(alias.opOperand->get(), current, step);
  }
  return trace;
}

/// "argument #i (via X, via Y)" for a remark.
std::string describeAlias(const ArgumentAlias &alias) {
  std::string text = "function argument #" +
                     std::to_string(alias.argument.getArgNumber());
  if (!alias.steps.empty())
    text += " (through " + llvm::join(alias.steps, ", then ") + ")";
  return text;
}

/// Whether the contract of `func` lets the function write into argument
/// `index`: `bufferization.writable = true`, or `overwrite-arguments` for an
/// argument that is not an incoming gradient.
bool isWritableArgument(FunctionOpInterface func, unsigned index,
                        bool overwriteArguments) {
  auto writable = func.getArgAttrOfType<BoolAttr>(
      index, bufferization::BufferizationDialect::kWritableAttrName);
  if (writable)
    return writable.getValue();
  return overwriteArguments && !func.getArgAttr(index, kGradientArgAttrName);
}

/// What the rewrite did to one batch norm, remembered until the remarks are
/// emitted (after the last rewrite and the analysis).
struct Decision {
  enum Kind { NotRewritten, Refused, InPlace, StoreY, Recompute };
  Kind kind;
  Location loc;
  /// NotRewritten and Recompute: the batch norm (still in the IR).
  BatchNormTrainOp bn;
  /// InPlace: the fused ops (grad is null without a backward). StoreY: the
  /// identity-fused ops that store y and compute dx from it.
  InPlaceABNOp fused;
  InPlaceABNGradOp fusedGrad;
  ActivationAttr activation;
  /// InPlace: why x / dz may not be written, when an argument is in the way.
  std::string xRefusal, dzRefusal;
  /// Refused: why the chain is not rewritten. Recompute: the tensor no
  /// longer saved ("y" or "z"). StoreY: why an invertible activation is
  /// stored as y (empty for a non-invertible one).
  std::string note;
  /// StoreY: the forward activation z = phi(y), the backward readers of z
  /// that now read a recomputed z, and, when z stays saved anyway, why.
  ActivationOp storedAct;
  unsigned numRematerialized = 0;
  std::string zStillSaved;
};

struct InPlaceABNPass : public iabn::impl::InPlaceABNPassBase<InPlaceABNPass> {
  using Base::Base;

  void getDependentDialects(DialectRegistry &registry) const override {
    Base::getDependentDialects(registry);
    registerBufferizationModels(registry);
  }

  void runOnOperation() override;

private:
  /// Rewrites the chains of `func`, appending one decision per batch norm.
  void rewriteFunction(func::FuncOp func, SmallVector<Decision> &decisions);
  /// Keeps the fused op's writes out of the caller's memory: marks every
  /// argument that `operand` may alias and that the contract does not let
  /// the function write `bufferization.writable = false`. Returns why the
  /// operand may not be written, or "" when no argument is in the way.
  std::string protectArguments(func::FuncOp func, Value operand,
                               StringRef name);
  /// Argument `index` of `func` may be written (its contract allows it):
  /// protects, at every call of `func`, the caller's arguments that the
  /// call passes in, by the callers' own contracts.
  void protectCallers(func::FuncOp func, unsigned index, StringRef name);
  InPlaceABNOp rewriteInPlace(Chain chain, InPlaceABNGradOp &fusedGrad);
  InPlaceABNOp rewriteStoreY(Chain chain, InPlaceABNGradOp &fusedGrad);
  /// store-y, after every chain of the function is rewritten: gives the
  /// backward readers of z a z recomputed from y.
  void rematerialize(Decision &decision, const BackwardOpSet &backward);
  void rewriteRecompute(Chain chain);
  /// Emits the remark of one decision, against the final IR.
  void emitDecisionRemark(const Decision &decision,
                          const bufferization::OneShotAnalysisState *state,
                          StringRef analysisFailure);

  /// (function, argument) pairs whose callers are already protected.
  llvm::DenseSet<std::pair<Operation *, unsigned>> protectedWritable;
  /// The decisions in structured form, for decisions-file.
  llvm::json::Array decisionsJson;
};

std::string InPlaceABNPass::protectArguments(func::FuncOp func, Value operand,
                                             StringRef name) {
  bufferization::OneShotBufferizationOptions options =
      getOneShotBufferizationOptions();
  bufferization::AnalysisState state(options);
  AliasTrace trace = traceToArguments(operand, func, state);
  auto markReadOnly = [&](unsigned index) {
    if (!func.getArgAttr(index,
                         bufferization::BufferizationDialect::kWritableAttrName))
      func.setArgAttr(index,
                      bufferization::BufferizationDialect::kWritableAttrName,
                      BoolAttr::get(&getContext(), false));
  };
  std::string reason;
  if (!trace.untraceable.empty()) {
    // Unknown provenance: no argument may be written.
    for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i) {
      if (!isa<TensorType>(func.getArgument(i).getType()))
        continue;
      if (isWritableArgument(func, i, overwriteArguments))
        protectCallers(func, i, name);
      else
        markReadOnly(i);
    }
    reason = (name + " may alias any function argument: its aliases could "
                     "not be followed through " + trace.untraceable)
                 .str();
  }
  for (const ArgumentAlias &alias : trace.aliases) {
    unsigned index = alias.argument.getArgNumber();
    if (isWritableArgument(func, index, overwriteArguments)) {
      // The function may write this argument; its callers' own arguments
      // that they pass in must still be protected by their contracts.
      protectCallers(func, index, name);
      continue;
    }
    markReadOnly(index);
    if (!reason.empty())
      continue;
    reason = (name + " is " + describeAlias(alias) + ", which ").str();
    if (func.getArgAttr(index, kGradientArgAttrName) && overwriteArguments)
      reason += "is an incoming gradient ({iabn.gradient}): mark it "
                "bufferization.writable = true to let the function write it";
    else
      reason += "is not marked bufferization.writable = true";
  }
  return reason;
}

void InPlaceABNPass::protectCallers(func::FuncOp func, unsigned index,
                                    StringRef name) {
  if (!protectedWritable.insert({func.getOperation(), index}).second)
    return;
  std::optional<SymbolTable::UseRange> uses =
      SymbolTable::getSymbolUses(func, getOperation());
  if (!uses)
    return;
  for (const SymbolTable::SymbolUse &use : *uses) {
    auto call = dyn_cast<CallOpInterface>(use.getUser());
    auto caller = use.getUser()->getParentOfType<func::FuncOp>();
    if (!call || !caller || index >= call.getArgOperands().size())
      continue;
    protectArguments(caller, call.getArgOperands()[index], name);
  }
}

InPlaceABNOp InPlaceABNPass::rewriteInPlace(Chain chain,
                                            InPlaceABNGradOp &fusedGrad) {
  BatchNormTrainOp bn = chain.bn;
  OpBuilder builder(bn);
  Location loc = chain.act
                     ? builder.getFusedLoc({bn.getLoc(), chain.act.getLoc()})
                     : bn.getLoc();
  auto gammaModeAttr = GammaModeAttr::get(&getContext(), gammaMode);
  auto fused = InPlaceABNOp::create(
      builder, loc, bn.getOutput().getType(), bn.getMean().getType(),
      bn.getVariance().getType(), bn.getInput(), bn.getScale(), bn.getOffset(),
      chain.getActivation(), bn.getFeatureDimAttr(), bn.getEpsilonAttr(),
      gammaModeAttr);
  fusedGrad = nullptr;
  if (BatchNormTrainGradOp bnGrad = chain.bnGrad) {
    Value dz =
        chain.actGrad ? chain.actGrad.getGradOutput() : bnGrad.getGradOutput();
    builder.setInsertionPoint(bnGrad);
    Location gradLoc =
        chain.actGrad
            ? builder.getFusedLoc({chain.actGrad.getLoc(), bnGrad.getLoc()})
            : bnGrad.getLoc();
    fusedGrad = InPlaceABNGradOp::create(
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
  return fused;
}

/// store-y, for a non-invertible activation with a backward: the forward
/// stores y = BN(x) (an identity-fused op, y may overwrite x) and computes
/// z = phi(y) for its forward readers; the backward reads y only: the
/// activation gradient takes phi'(y) and the identity-fused gradient
/// recovers x_hat from y. The other backward readers of z get z recomputed
/// from y by rematerialize(), once every chain of the function is
/// rewritten (a later chain's gradient may read z as its x). So y is the
/// one tensor saved for the backward, where standard BN keeps x and z.
InPlaceABNOp InPlaceABNPass::rewriteStoreY(Chain chain,
                                           InPlaceABNGradOp &fusedGrad) {
  BatchNormTrainOp bn = chain.bn;
  ActivationOp act = chain.act;
  ActivationGradOp actGrad = chain.actGrad;
  BatchNormTrainGradOp bnGrad = chain.bnGrad;
  MLIRContext *ctx = &getContext();
  auto identity =
      ActivationAttr::get(ctx, ActivationKind::Identity, std::nullopt);
  auto gammaModeAttr = GammaModeAttr::get(ctx, gammaMode);
  OpBuilder builder(bn);
  auto fused = InPlaceABNOp::create(
      builder, bn.getLoc(), bn.getOutput().getType(), bn.getMean().getType(),
      bn.getVariance().getType(), bn.getInput(), bn.getScale(), bn.getOffset(),
      identity, bn.getFeatureDimAttr(), bn.getEpsilonAttr(), gammaModeAttr);
  Value y = fused.getOutput();
  act.getInputMutable().assign(y);

  builder.setInsertionPoint(actGrad);
  auto gradY = ActivationGradOp::create(
      builder, actGrad.getLoc(), actGrad.getGradOutput().getType(),
      actGrad.getGradOutput(), y, act.getActivationAttr(),
      /*self_is_result=*/nullptr);
  actGrad->replaceAllUsesWith(gradY);
  actGrad->erase();
  builder.setInsertionPoint(bnGrad);
  fusedGrad = InPlaceABNGradOp::create(
      builder, bnGrad.getLoc(), bnGrad.getGradInput().getType(),
      bnGrad.getGradScale().getType(), bnGrad.getGradOffset().getType(),
      gradY.getResult(), y, bn.getScale(), bn.getOffset(), fused.getVariance(),
      identity, bn.getFeatureDimAttr(), bn.getEpsilonAttr(), gammaModeAttr);
  bnGrad->replaceAllUsesWith(fusedGrad);
  bnGrad->erase();
  bn.getOutput().replaceAllUsesWith(y);
  bn.getMean().replaceAllUsesWith(fused.getMean());
  bn.getVariance().replaceAllUsesWith(fused.getVariance());
  bn->erase();
  return fused;
}

/// Whether `op` only changes how its operand is viewed (a reshape, cast or
/// slice): its result is z under another shape.
static bool isViewOf(Operation *op) {
  return isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp, tensor::CastOp,
             tensor::ExtractSliceOp, tensor::ReshapeOp>(op);
}

void InPlaceABNPass::rematerialize(Decision &decision,
                                   const BackwardOpSet &backward) {
  ActivationOp act = decision.storedAct;
  Value z = act.getOutput();
  Value y = act.getInput();
  // Backward readers of z, grouped by their ancestor in z's block: the
  // recomputation goes right before that ancestor, once (a reader inside a
  // loop or a linalg body must not recompute z per iteration or element).
  // A terminator (e.g. the function returning z) passes the forward's z
  // on: a result, not a tensor saved for the backward.
  Block *block = act->getBlock();
  llvm::MapVector<Operation *, SmallVector<OpOperand *>> byAncestor;
  for (OpOperand &use : z.getUses()) {
    Operation *reader = use.getOwner();
    if (reader->hasTrait<OpTrait::IsTerminator>() ||
        !backward.isBackward(reader))
      continue;
    Operation *ancestor = block->findAncestorOpInBlock(*reader);
    byAncestor[ancestor ? ancestor : reader].push_back(&use);
  }
  OpBuilder builder(act);
  for (auto &[ancestor, uses] : byAncestor) {
    builder.setInsertionPoint(ancestor);
    auto recomputed = ActivationOp::create(builder, act.getLoc(), z.getType(),
                                           y, act.getActivationAttr());
    recomputed->setAttr(kRematerializedAttrName, builder.getUnitAttr());
    for (OpOperand *use : uses)
      use->set(recomputed.getOutput());
    decision.numRematerialized += uses.size();
  }
  // A view of z that the backward reads keeps z's buffer alive: say so.
  SmallVector<Value> views{z};
  while (!views.empty()) {
    Value view = views.pop_back_val();
    for (Operation *user : view.getUsers()) {
      if (view != z && !user->hasTrait<OpTrait::IsTerminator>() &&
          backward.isBackward(user)) {
        decision.zStillSaved = describe(view.getDefiningOp()) +
                               ", a view of z, is read by " + describe(user) +
                               " in the backward";
        return;
      }
      if (isViewOf(user) && !backward.isBackward(user))
        llvm::append_range(views, user->getResults());
    }
  }
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

/// The op other than the activation gradient that saves the recompute
/// candidate's operand (y or z) for the backward, or null.
Operation *findOtherBackwardReader(Chain chain, const BackwardOpSet &backward) {
  Value source = chain.actGrad.getSource();
  Operation *otherReader = nullptr;
  for (Operation *user : source.getUsers())
    if (user != chain.actGrad && backward.isBackward(user))
      otherReader = user;
  return otherReader;
}

void InPlaceABNPass::rewriteFunction(func::FuncOp func,
                                     SmallVector<Decision> &decisions) {
  BackwardOpSet backward(func);
  SmallVector<BatchNormTrainOp> bns;
  func.walk([&](BatchNormTrainOp bn) { bns.push_back(bn); });
  size_t first = decisions.size();

  for (BatchNormTrainOp bn : bns) {
    Decision decision{Decision::NotRewritten, bn.getLoc(), bn, nullptr,
                      nullptr, nullptr, "", "", "", nullptr, 0, ""};
    MatchResult match = matchChain(bn);
    if (!match.chain) {
      decisions.push_back(decision);
      continue;
    }
    Chain chain = *match.chain;
    decision.activation = chain.getActivation();
    if (decision.activation.isInvertible() &&
        bn.getEpsilon().convertToDouble() == 0.0) {
      decision.kind = Decision::Refused;
      decision.note =
          "epsilon is 0: the fused ops need epsilon > 0 to keep gamma_hat "
          "non-zero when the backward recovers x_hat from z";
      decisions.push_back(decision);
      continue;
    }
    // elu's inverse, y = log1p(z / alpha) for z < 0, loses the precision of
    // a 16-bit z as z saturates at -alpha: those chains store y instead.
    std::string illConditioned;
    unsigned bits = cast<ShapedType>(bn.getInput().getType())
                        .getElementType()
                        .getIntOrFloatBitWidth();
    if (decision.activation.getKind() == ActivationKind::ELU && bits < 32)
      illConditioned = (Twine("the inverse of ") +
                        stringifyActivationKind(ActivationKind::ELU) +
                        " loses the precision of a " + Twine(bits) +
                        "-bit z near -alpha")
                           .str();
    if (decision.activation.isInvertible() && illConditioned.empty()) {
      decision.kind = Decision::InPlace;
      decision.xRefusal = protectArguments(func, bn.getInput(), "x");
      if (chain.bnGrad) {
        Value dz = chain.actGrad ? chain.actGrad.getGradOutput()
                                 : chain.bnGrad.getGradOutput();
        decision.dzRefusal = protectArguments(func, dz, "dz");
      }
      decision.fused = rewriteInPlace(chain, decision.fusedGrad);
      decision.bn = nullptr;
      decisions.push_back(decision);
      continue;
    }
    if (chain.bnGrad && allowRecompute &&
        bn.getEpsilon().convertToDouble() != 0.0) {
      decision.kind = Decision::StoreY;
      decision.note = illConditioned;
      decision.xRefusal = protectArguments(func, bn.getInput(), "x");
      decision.storedAct = chain.act;
      decision.fused = rewriteStoreY(chain, decision.fusedGrad);
      decision.bn = nullptr;
      decisions.push_back(decision);
      continue;
    }
    // epsilon = 0: y cannot be mapped back to x_hat; recompute y from x
    // when that drops a saved tensor.
    if (chain.bnGrad && allowRecompute &&
        !findOtherBackwardReader(chain, backward)) {
      decision.kind = Decision::Recompute;
      decision.loc = bn.getLoc();
      // The remark names y or z: remember which before the rewrite.
      decision.note = chain.actGrad.getSource() == bn.getOutput() ? "y" : "z";
      rewriteRecompute(chain);
    }
    decisions.push_back(decision);
  }
  // store-y: the backward readers of z, once every chain is rewritten.
  for (Decision &decision : MutableArrayRef<Decision>(decisions).drop_front(
           first))
    if (decision.kind == Decision::StoreY)
      rematerialize(decision, backward);
}

/// Why the in-place operand `operand` of `op` must survive the write: the op
/// that reads it afterwards, or the loop whose next iteration does; "" when
/// no such reader can be named.
/// Whether `user` may run after `op`: it follows op in a common block, or
/// sits in another region of an op that contains op (except the other
/// branches of an scf.if / scf.index_switch, which never run after it).
static bool mayRunAfter(Operation *op, Operation *user) {
  for (Operation *level = op; level; level = level->getParentOp()) {
    Block *block = level->getBlock();
    if (!block)
      return true;
    Operation *ancestor = block->findAncestorOpInBlock(*user);
    if (!ancestor)
      continue;
    if (ancestor != level)
      return !ancestor->isBeforeInBlock(level);
    if (level == op)
      return false; // inside op itself
    return !isa<scf::IfOp, scf::IndexSwitchOp>(level);
  }
  return true;
}

std::string findLaterRead(Operation *op, Value operand, StringRef name) {
  for (Operation *user : operand.getUsers()) {
    if (user == op || !mayRunAfter(op, user))
      continue;
    return (name + " is read by " + describe(user) + " after it").str();
  }
  // A value defined outside an enclosing loop is read again by the next
  // iteration.
  Operation *definingScope = operand.getParentBlock()->getParentOp();
  for (Operation *parent = op->getParentOp(); parent && parent != definingScope;
       parent = parent->getParentOp())
    if (isa<LoopLikeOpInterface>(parent))
      return (name + " is defined outside " + describe(parent) +
              ", whose next iteration reads it again")
          .str();
  return "";
}

/// The reasons why `operand` (named `name`) of `op` is not written in place:
/// a later read and/or the argument it aliases (`refusal`).
std::string explainCopy(Operation *op, Value operand, StringRef name,
                        StringRef refusal) {
  SmallVector<std::string> reasons;
  std::string read = findLaterRead(op, operand, name);
  if (!read.empty())
    reasons.push_back(read);
  if (!refusal.empty())
    reasons.push_back(refusal.str());
  if (reasons.empty())
    return (name + "'s buffer is read after the write (One-Shot Analysis "
                   "found a read-after-write conflict through an alias)")
        .str();
  return llvm::join(reasons, "; and ");
}

/// The op whose operand One-Shot Analysis decided to copy on the way from
/// `value` back to its definitions (a view, a loop iteration argument, ...),
/// or null when `value`'s buffer is no copy.
Operation *findCopyOnAliasChain(Value value,
                                const bufferization::OneShotAnalysisState &state) {
  SmallVector<Value> worklist{value};
  llvm::DenseSet<Value> visited{value};
  auto visit = [&](Value next) {
    if (visited.insert(next).second)
      worklist.push_back(next);
  };
  while (!worklist.empty()) {
    Value current = worklist.pop_back_val();
    if (auto arg = dyn_cast<BlockArgument>(current)) {
      auto loop = dyn_cast<LoopLikeOpInterface>(arg.getOwner()->getParentOp());
      if (OpOperand *init = loop ? loop.getTiedLoopInit(arg) : nullptr) {
        if (!state.isInPlace(*init))
          return loop;
        visit(init->get());
      }
      continue;
    }
    Operation *def = current.getDefiningOp();
    // A fused op's result is its own buffer: a copy there is reported by
    // that op's remark.
    if (!state.getOptions().dynCastBufferizableOp(def) ||
        returnsNewBuffers(def) || isa<InPlaceABNOp, InPlaceABNGradOp>(def))
      continue;
    for (const bufferization::AliasingOpOperand &alias :
         state.getAliasingOpOperands(current)) {
      // An op that writes its destination (a linalg op's outs) defines the
      // value in its own buffer: a copy there is that op's, not x's. (A call
      // to an unknown callee counts as a write but may return its operand.)
      if (!isa<CallOpInterface>(def) &&
          state.bufferizesToMemoryWrite(*alias.opOperand))
        continue;
      if (!state.isInPlace(*alias.opOperand))
        return def;
      visit(alias.opOperand->get());
    }
  }
  return nullptr;
}

/// A location as text, for the structured decisions.
std::string locationText(Location loc) {
  std::string text;
  llvm::raw_string_ostream os(text);
  loc.print(os);
  return text;
}

void InPlaceABNPass::emitDecisionRemark(
    const Decision &decision, const bufferization::OneShotAnalysisState *state,
    StringRef analysisFailure) {
  // The remark's text and its structured form (decisions-file).
  std::string text;
  llvm::raw_string_ostream remark(text);
  llvm::json::Object entry{{"loc", locationText(decision.loc)}};
  auto emit = [&](StringRef strategy) {
    entry["strategy"] = strategy.str();
    entry["remark"] = text;
    emitRemark(decision.loc) << text;
    decisionsJson.push_back(std::move(entry));
  };
  auto activationText = [](ActivationAttr activation) {
    llvm::json::Object object{
        {"kind", stringifyActivationKind(activation.getKind()).str()}};
    if (activation.getParam())
      object["param"] = activation.getParam()->convertToDouble();
    return object;
  };
  if (decision.kind == Decision::NotRewritten) {
    BatchNormTrainOp bn = decision.bn;
    MatchResult match = matchChain(bn);
    if (!match.chain) {
      remark << "not rewritten: " << match.reason;
      return emit("none");
    }
    Chain chain = *match.chain;
    ActivationAttr activation = chain.getActivation();
    entry["activation"] = activationText(activation);
    if (!chain.bnGrad) {
      remark << "not rewritten: forward-only chain with non-invertible "
                "activation "
             << activation;
      return emit("none");
    }
    if (!allowRecompute) {
      remark << "not rewritten: activation " << activation
             << " is not invertible and recompute is disabled";
      return emit("none");
    }
    Value source = chain.actGrad.getSource();
    BackwardOpSet backward(bn->getParentOfType<FunctionOpInterface>());
    Operation *otherReader = findOtherBackwardReader(chain, backward);
    remark << "not rewritten: activation " << activation
           << " is not invertible, epsilon is 0 (storing y needs "
              "epsilon > 0 to map y back to x_hat), and recomputing y from "
              "x would not lower the saved bytes: "
           << (source == bn.getOutput() ? "y" : "z") << " is also saved for "
           << (otherReader ? describe(otherReader)
                           : std::string("the backward"));
    return emit("none");
  }
  if (decision.kind == Decision::Refused) {
    remark << "not rewritten: " << decision.note;
    return emit("none");
  }
  entry["activation"] = activationText(decision.activation);
  if (decision.kind == Decision::Recompute) {
    remark << "recompute: activation " << decision.activation
           << " is not invertible; the backward recomputes y from x "
              "and the batch statistics, so "
           << decision.note
           << " is no longer saved for the activation gradient";
    return emit("recompute");
  }

  bool storeY = decision.kind == Decision::StoreY;
  if (storeY) {
    remark << "store-y: activation " << decision.activation
           << (decision.note.empty() ? std::string(" is not invertible")
                                     : " is invertible, but " + decision.note)
           << "; y is saved for the backward instead of x "
              "and z: the backward recovers x_hat from y";
    if (decision.numRematerialized)
      remark << " and recomputes z for " << decision.numRematerialized
             << " reader" << (decision.numRematerialized == 1 ? "" : "s");
    if (!decision.zStillSaved.empty())
      remark << "; but z stays saved: " << decision.zStillSaved;
    entry["rematerialized"] = static_cast<int64_t>(decision.numRematerialized);
  } else {
    remark << "inplace: " << decision.activation << " fused "
           << (decision.fusedGrad
                   ? "forward and backward; the backward recomputes y and "
                     "x_hat from z"
                   : "forward only (no backward in this function)");
  }
  entry["backward"] = static_cast<bool>(decision.fusedGrad);
  // What happens to the in-place operand: "overwritten", "copy_overwritten"
  // (a copy made on its alias chain), "copied" or "unknown".
  auto explain = [&](Operation *op, OpOperand &operand, StringRef written,
                     StringRef name, const std::string &refusal) {
    if (!state) {
      remark << "; whether " << written << " overwrites " << name
             << " is unknown: " << analysisFailure;
      entry[name] = "unknown";
      return;
    }
    if (state->isInPlace(operand)) {
      Operation *copy = findCopyOnAliasChain(operand.get(), *state);
      if (!copy) {
        remark << "; " << written << " overwrites " << name;
        entry[name] = "overwritten";
        return;
      }
      remark << "; " << written << " overwrites a copy of " << name
             << " made for " << describe(copy) << ": "
             << explainCopy(op, operand.get(), name, refusal);
      entry[name] = "copy_overwritten";
      return;
    }
    remark << "; " << written << " does not overwrite " << name << " ("
           << name << " is copied): "
           << explainCopy(op, operand.get(), name, refusal);
    entry[name] = "copied";
  };
  InPlaceABNOp fused = decision.fused;
  explain(fused, fused.getInputMutable(), storeY ? "y" : "z", "x",
          decision.xRefusal);
  if (InPlaceABNGradOp fusedGrad = decision.fusedGrad)
    explain(fusedGrad, fusedGrad.getGradOutputMutable(), "dx",
            storeY ? "dy" : "dz", decision.dzRefusal);
  emit(storeY ? "store-y" : "inplace");
}

void InPlaceABNPass::runOnOperation() {
  ModuleOp module = getOperation();
  protectedWritable.clear();
  // Dead ops (e.g. a residual add whose result nobody uses) would keep x or
  // y alive for the matching and the analysis, and disappear in the next
  // cleanup: drop them first, so that the decisions and their remarks hold
  // for the graph that is bufferized.
  bool erased = true;
  while (erased) {
    erased = false;
    SmallVector<Operation *> dead;
    module.walk([&](Operation *op) {
      if (!isa<func::FuncOp>(op) && op->getParentOp() != module &&
          isOpTriviallyDead(op))
        dead.push_back(op);
    });
    for (Operation *op : dead) {
      op->erase();
      erased = true;
    }
  }

  SmallVector<Decision> decisions;
  for (auto func : module.getOps<func::FuncOp>())
    if (!func.isExternal())
      rewriteFunction(func, decisions);

  // Predict One-Shot Bufferize's decisions on the final IR, with the CPU
  // pipeline's options, so that every remark says what will happen. The
  // analysis only reads the IR.
  bool anyFused = llvm::any_of(decisions, [](const Decision &d) {
    return d.kind == Decision::InPlace || d.kind == Decision::StoreY;
  });
  // The state refers to the options: they outlive it.
  bufferization::OneShotBufferizationOptions options =
      getOneShotBufferizationOptions();
  std::unique_ptr<bufferization::OneShotAnalysisState> state;
  std::string analysisFailure;
  if (anyFused) {
    state = std::make_unique<bufferization::OneShotAnalysisState>(module,
                                                                  options);
    // The analysis reports why it fails as errors; keep them as the reason.
    ScopedDiagnosticHandler handler(&getContext(), [&](Diagnostic &diag) {
      if (diag.getSeverity() != DiagnosticSeverity::Error)
        return failure();
      if (analysisFailure.empty())
        analysisFailure = "One-Shot Analysis failed: " + diag.str();
      return success();
    });
    if (failed(bufferization::analyzeModuleOp(module, *state))) {
      state.reset();
      if (analysisFailure.empty())
        analysisFailure = "One-Shot Analysis failed on this module";
    }
  }
  decisionsJson = llvm::json::Array();
  for (const Decision &decision : decisions)
    emitDecisionRemark(decision, state.get(), analysisFailure);
  if (!decisionsFile.empty()) {
    std::error_code error;
    llvm::raw_fd_ostream file(decisionsFile, error, llvm::sys::fs::OF_Append);
    if (error) {
      module.emitError("iabn-inplace-abn: cannot open '")
          << decisionsFile << "': " << error.message();
      return signalPassFailure();
    }
    file << llvm::json::Value(llvm::json::Object{
                {"decisions", std::move(decisionsJson)}})
         << "\n";
  }
}

} // namespace
