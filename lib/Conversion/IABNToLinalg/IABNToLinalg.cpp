//===- IABNToLinalg.cpp - The convert-iabn-to-linalg pass -----------------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#include "IABN/Conversion/Passes.h"

#include "Common.h"
#include "IABN/Dialect/IABN/IR/IABNDialect.h"

#include "mlir/Transforms/DialectConversion.h"

namespace mlir {
namespace iabn {
#define GEN_PASS_DEF_CONVERTIABNTOLINALGPASS
#include "IABN/Conversion/Passes.h.inc"
} // namespace iabn
} // namespace mlir

using namespace mlir;
using namespace mlir::iabn;

void mlir::iabn::populateIABNToLinalgConversionPatterns(
    RewritePatternSet &patterns) {
  lowering::populateBatchNormPatterns(patterns);
  lowering::populateActivationPatterns(patterns);
}

namespace {
struct ConvertIABNToLinalgPass
    : public iabn::impl::ConvertIABNToLinalgPassBase<ConvertIABNToLinalgPass> {
  void runOnOperation() override {
    // The bufferized forms have no lowering: say how to get here instead.
    WalkResult bufferized = getOperation()->walk([](Operation *op) {
      if (isa<InPlaceABNBufferOp, InPlaceABNGradBufferOp>(op)) {
        op->emitError("has no lowering: run convert-iabn-to-linalg before "
                      "bufferization, on the tensor-level ops");
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (bufferized.wasInterrupted())
      return signalPassFailure();

    ConversionTarget target(getContext());
    target.addIllegalDialect<IABNDialect>();
    target.addLegalDialect<arith::ArithDialect, cf::ControlFlowDialect,
                           linalg::LinalgDialect, math::MathDialect,
                           tensor::TensorDialect>();
    RewritePatternSet patterns(&getContext());
    populateIABNToLinalgConversionPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
