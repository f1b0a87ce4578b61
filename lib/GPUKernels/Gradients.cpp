//===- Gradients.cpp - The reduction kernels of the backward --------------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//
//
// prepare_grad -> partial_grads[_planar]_<T>_<act> -> finalize_grads: the
// per-channel backward parameters [1/gamma_hat | beta | gamma_hat * rstd |
// k1 | k2] that apply_grad reads, and dgamma, dbeta. The partial sums
// (sum g_y, sum g_y * x_hat) are computed from z and dz only: y = phi^-1(z),
// g_y = dz * phi'(z), x_hat = (y - beta) / gamma_hat.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

using namespace mlir;
using namespace mlir::iabn;
using namespace mlir::iabn::common;
using namespace mlir::iabn::gpukernels;

/// The address of slot k of channel c in the per-channel parameters.
static Value paramSlot(KernelBuilder &kb, int64_t k, Value channels, Value c) {
  return kb.addi(kb.muli(kb.idx(k), channels), c);
}

void LibraryBuilder::buildPrepareGrad() {
  using K = abi::PrepareGrad;
  using P = abi::GradParam;
  static_assert(P::InverseGammaHat == 0 && P::Beta == 1,
                "slots 0 and 1 are unscaled");
  kernel<K>(0, [&](KernelBuilder &kb, ValueRange a, ArrayRef<Value>) {
    Value var = a[K::var], gamma = a[K::gamma], beta = a[K::beta],
          hasGamma = a[K::hasGamma], hasBeta = a[K::hasBeta],
          mode = a[K::gammaMode], eps = a[K::epsilon],
          channels = a[K::channels], params = a[K::params];
    Value c = kb.globalThread().first;
    kb.ifThen(kb.ult(c, channels), [&] {
      auto [g, bt, rstd] = loadChannelParams(
          kb, c, gamma, beta, hasGamma, hasBeta, mode, eps, kb.load(var, c));
      kb.store(kb.divf(kb.f(1.0), g), params, c);
      kb.store(bt, params, kb.addi(channels, c));
      kb.store(kb.mulf(g, rstd), params, paramSlot(kb, P::Coef, channels, c));
    });
  });
}

void LibraryBuilder::buildPartialGrads(Type storage, ActivationKind act,
                                       bool planar) {
  using K = abi::PartialGrads;
  using P = abi::GradParam;
  int64_t width = planar ? getVectorWidth(storage) : 1;
  kernel<K>(
      planar ? abi::Variant::Planar : abi::Variant::Scalar, storage, act,
      abi::GradPartial::kCount,
      [&](KernelBuilder &kb, ValueRange a, ArrayRef<Value> scratch) {
        Value z = a[K::z], dz = a[K::dz], params = a[K::params], ws = a[K::ws],
              channels = a[K::channels], inner = a[K::inner],
              perChannel = a[K::perChannel], splits = a[K::splits],
              chunk = a[K::chunk], param = a[K::activationParam];
        BlockSplit range = splitOfBlock(kb, splits, chunk, perChannel);
        Value c = range.channel, s = range.split, begin = range.begin,
              end = range.end;
        static_assert(P::InverseGammaHat == 0 && P::Beta == 1,
                      "slots 0 and 1 are unscaled");
        Value inverseGamma = kb.load(params, c);
        Value beta = kb.load(params, kb.addi(channels, c));
        SmallVector<Value> sums = kb.loop(
            kb.addi(begin, kb.muli(kb.threadId(), kb.idx(width))), end,
            kb.idx(kBlockSize * width), {kb.f(0), kb.f(0)},
            [&](Value j, ValueRange acc) -> SmallVector<Value> {
              SmallVector<Value> zs, gs;
              if (planar) {
                Value pos = planarElement(kb, j, c, channels, inner);
                zs = kb.loadLanes(z, pos, width);
                gs = kb.loadLanes(dz, pos, width);
              } else {
                Value pos = channelElement(kb, j, c, channels, inner);
                zs = {kb.loadf(z, pos)};
                gs = {kb.loadf(dz, pos)};
              }
              Value sg = acc[abi::GradPartial::SumG];
              Value sgx = acc[abi::GradPartial::SumGXHat];
              for (int64_t k = 0; k < width; ++k) {
                auto [gy, xHat] =
                    emitRecoverFromOutput(kb, kb.getLoc(), act, param, gs[k],
                                          zs[k], inverseGamma, beta);
                sg = kb.addf(sg, gy);
                sgx = kb.addf(sgx, kb.mulf(gy, xHat));
              }
              return {sg, sgx};
            });
        SmallVector<Value> total =
            blockReduce(kb, sums, scratch, sumMerge, {kb.f(0), kb.f(0)});
        storePartials(kb, total, ws, channels, splits, c, s);
      });
}

void LibraryBuilder::buildFinalizeGrads() {
  using K = abi::FinalizeGrads;
  using P = abi::GradParam;
  // One block per channel sums its P partials.
  kernel<K>(abi::GradPartial::kCount, [&](KernelBuilder &kb, ValueRange a,
                                          ArrayRef<Value> scratch) {
    Value ws = a[K::ws], channels = a[K::channels], splits = a[K::splits],
          count = a[K::count], gamma = a[K::gamma], hasGamma = a[K::hasGamma],
          mode = a[K::gammaMode], dgamma = a[K::dgamma], dbeta = a[K::dbeta],
          params = a[K::params];
    Value c = kb.blockId();
    Value stride = kb.muli(channels, splits);
    Value base = kb.muli(c, splits);
    static_assert(abi::GradPartial::SumG == 0 &&
                      abi::GradPartial::SumGXHat == 1,
                  "partial k at k * stride");
    SmallVector<Value> partial = kb.loop(
        kb.threadId(), splits, kb.idx(kBlockSize), {kb.f(0), kb.f(0)},
        [&](Value s, ValueRange acc) -> SmallVector<Value> {
          Value slot = kb.addi(base, s);
          return {kb.addf(acc[0], kb.load(ws, slot)),
                  kb.addf(acc[1], kb.load(ws, kb.addi(stride, slot)))};
        });
    SmallVector<Value> sums =
        blockReduce(kb, partial, scratch, sumMerge, {kb.f(0), kb.f(0)});
    kb.ifThen(kb.isThread0(), [&] {
      Value sumG = sums[abi::GradPartial::SumG];
      Value sumGXHat = sums[abi::GradPartial::SumGXHat];
      kb.store(sumG, dbeta, c);
      Value g = kb.select(kb.ne0(hasGamma), kb.load(gamma, c), kb.f(1.0));
      kb.store(
          emitGradScaleFromGradGammaHat(kb, kb.getLoc(), sumGXHat, g, mode),
          dgamma, c);
      kb.store(kb.divf(sumG, count), params,
               paramSlot(kb, P::K1, channels, c));
      kb.store(kb.divf(sumGXHat, count), params,
               paramSlot(kb, P::K2, channels, c));
    });
  });
}
