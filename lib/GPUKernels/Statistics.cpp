//===- Statistics.cpp - The statistics kernels of the forward -------------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//
//
// partial_stats[_planar]_<T> -> finalize_stats (training), and
// prepare_inference: the per-channel forward parameters [mean | gamma_hat *
// rstd | beta] that the apply kernels read. Per-channel statistics are split
// over P blocks per channel; each block merges (count, mean, M2) triples from
// per-thread sums shifted by a per-channel pivot (Chan's formula), in f32.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

using namespace mlir;
using namespace mlir::iabn;
using namespace mlir::iabn::common;
using namespace mlir::iabn::gpukernels;

/// Stores the forward parameters of channel c: mean, gamma_hat * rstd, beta.
static void storeForwardParams(KernelBuilder &kb, Value params, Value channels,
                               Value c, Value mean, Value gammaHat, Value rstd,
                               Value shift) {
  using P = abi::ForwardParam;
  static_assert(P::Mean == 0 && P::Scale == 1, "slots 0 and 1 are unscaled");
  kb.store(mean, params, c);
  kb.store(kb.mulf(gammaHat, rstd), params, kb.addi(channels, c));
  kb.store(shift, params, kb.addi(kb.muli(kb.idx(P::Shift), channels), c));
}

void LibraryBuilder::buildPartialStats(Type storage, bool planar) {
  using K = abi::PartialStats;
  int64_t width = planar ? getVectorWidth(storage) : 1;
  kernel<K>(
      planar ? abi::Variant::Planar : abi::Variant::Scalar, storage,
      ActivationKind::Identity, abi::StatsPartial::kCount,
      [&](KernelBuilder &kb, ValueRange a, ArrayRef<Value> scratch) {
        Value x = a[K::x], ws = a[K::ws], channels = a[K::channels],
              inner = a[K::inner], perChannel = a[K::perChannel],
              splits = a[K::splits], chunk = a[K::chunk];
        BlockSplit range = splitOfBlock(kb, splits, chunk, perChannel);
        Value c = range.channel, s = range.split, begin = range.begin,
              end = range.end;
        auto elements = [&](Value j) -> SmallVector<Value> {
          if (planar)
            return kb.loadLanes(x, planarElement(kb, j, c, channels, inner),
                                width);
          return {kb.loadf(x, channelElement(kb, j, c, channels, inner))};
        };
        // All threads of a channel shift by the same pivot (its first
        // element), so that f32 sums of squares do not cancel.
        Value pivot = elements(kb.idx(0))[0];
        Value first = kb.addi(begin, kb.muli(kb.threadId(), kb.idx(width)));
        Value span = kb.idx(kBlockSize * width);
        SmallVector<Value> sums =
            kb.loop(first, end, span, {kb.f(0), kb.f(0)},
                    [&](Value j, ValueRange acc) -> SmallVector<Value> {
                      Value s1 = acc[0], s2 = acc[1];
                      for (Value v : elements(j)) {
                        Value d = kb.subf(v, pivot);
                        s1 = kb.addf(s1, d);
                        s2 = kb.addf(s2, kb.mulf(d, d));
                      }
                      return {s1, s2};
                    });
        // The number of elements this thread saw.
        Value count =
            kb.select(kb.ult(first, end),
                      kb.muli(kb.divui(kb.addi(kb.subi(end, first),
                                               kb.subi(span, kb.idx(1))),
                                       span),
                              kb.idx(width)),
                      kb.idx(0));
        Value n = kb.indexToF32(count);
        Value safeN = kb.maxf(n, kb.f(1.0));
        Value shiftedMean = kb.divf(sums[0], safeN);
        Value mean = kb.select(kb.gtf(n, kb.f(0.0)),
                               kb.addf(pivot, shiftedMean), kb.f(0.0));
        Value m2 =
            kb.maxf(kb.subf(sums[1], kb.mulf(sums[0], shiftedMean)), kb.f(0.0));
        SmallVector<Value> total = blockReduce(
            kb, {n, mean, m2}, scratch, chanMerge, {kb.f(0), kb.f(0), kb.f(0)});
        storePartials(kb, total, ws, channels, splits, c, s);
      });
}

void LibraryBuilder::buildFinalizeStats() {
  using K = abi::FinalizeStats;
  using Partial = abi::StatsPartial;
  // One block per channel merges its P partials (threads stride over them,
  // then a block reduction).
  kernel<K>(Partial::kCount, [&](KernelBuilder &kb, ValueRange a,
                                 ArrayRef<Value> scratch) {
    Value ws = a[K::ws], channels = a[K::channels], splits = a[K::splits],
          eps = a[K::epsilon], gamma = a[K::gamma], beta = a[K::beta],
          hasGamma = a[K::hasGamma], hasBeta = a[K::hasBeta],
          mode = a[K::gammaMode], meanOut = a[K::meanOut],
          varOut = a[K::varOut], params = a[K::params],
          runningMean = a[K::runningMean], runningVar = a[K::runningVar],
          update = a[K::updateRunning], factor = a[K::factor],
          unbias = a[K::unbias];
    Value c = kb.blockId();
    Value stride = kb.muli(channels, splits);
    Value base = kb.muli(c, splits);
    SmallVector<Value> merged =
        kb.loop(kb.threadId(), splits, kb.idx(kBlockSize),
                {kb.f(0), kb.f(0), kb.f(0)},
                [&](Value s, ValueRange acc) -> SmallVector<Value> {
                  Value slot = kb.addi(base, s);
                  SmallVector<Value> part;
                  for (int k = 0; k < Partial::kCount; ++k)
                    part.push_back(
                        kb.load(ws, kb.addi(kb.muli(kb.idx(k), stride), slot)));
                  return chanMerge(kb, acc, part);
                });
    SmallVector<Value> total = blockReduce(kb, merged, scratch, chanMerge,
                                           {kb.f(0), kb.f(0), kb.f(0)});
    kb.ifThen(kb.isThread0(), [&] {
      Value mean = total[Partial::Mean];
      Value var =
          kb.divf(total[Partial::M2], kb.maxf(total[Partial::Count], kb.f(1.0)));
      kb.store(mean, meanOut, c);
      kb.store(var, varOut, c);
      auto [g, bt, rstd] = loadChannelParams(kb, c, gamma, beta, hasGamma,
                                             hasBeta, mode, eps, var);
      storeForwardParams(kb, params, channels, c, mean, g, rstd, bt);
      kb.ifThen(kb.ne0(update), [&] {
        Value keep = kb.subf(kb.f(1.0), factor);
        kb.store(kb.addf(kb.mulf(keep, kb.load(runningMean, c)),
                         kb.mulf(factor, mean)),
                 runningMean, c);
        kb.store(kb.addf(kb.mulf(keep, kb.load(runningVar, c)),
                         kb.mulf(factor, kb.mulf(var, unbias))),
                 runningVar, c);
      });
    });
  });
}

void LibraryBuilder::buildPrepareInference() {
  using K = abi::PrepareInference;
  kernel<K>(0, [&](KernelBuilder &kb, ValueRange a, ArrayRef<Value>) {
    Value rm = a[K::runningMean], rv = a[K::runningVar], gamma = a[K::gamma],
          beta = a[K::beta], hasGamma = a[K::hasGamma],
          hasBeta = a[K::hasBeta], mode = a[K::gammaMode], eps = a[K::epsilon],
          channels = a[K::channels], params = a[K::params];
    Value c = kb.globalThread().first;
    kb.ifThen(kb.ult(c, channels), [&] {
      auto [g, bt, rstd] = loadChannelParams(kb, c, gamma, beta, hasGamma,
                                             hasBeta, mode, eps, kb.load(rv, c));
      storeForwardParams(kb, params, channels, c, kb.load(rm, c), g, rstd,
                         bt);
    });
  });
}
