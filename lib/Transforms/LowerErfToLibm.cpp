//===- LowerErfToLibm.cpp - math.erf/erfc to C library calls --------------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#include "IABN/Transforms/Passes.h"

#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir {
namespace iabn {
#define GEN_PASS_DEF_LOWERERFTOLIBMPASS
#include "IABN/Transforms/Passes.h.inc"
} // namespace iabn
} // namespace mlir

using namespace mlir;

namespace {

struct LowerErfToLibmPass
    : public iabn::impl::LowerErfToLibmPassBase<LowerErfToLibmPass> {
  void runOnOperation() override {
    // Upstream's patterns, applied to erf and erfc only: the conversion
    // leaves legal ops alone, so only these two are rewritten.
    RewritePatternSet patterns(&getContext());
    populateMathToLibmConversionPatterns(patterns);
    ConversionTarget target(getContext());
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    target.addIllegalOp<math::ErfOp, math::ErfcOp>();
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
