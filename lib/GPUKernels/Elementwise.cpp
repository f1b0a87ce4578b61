//===- Elementwise.cpp - The element-wise kernels -------------------------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//
//
// apply[_planar|_cl]_<T>_<act>: z = phi((x - mean) * scale + shift), z may
// alias x (forward, training and inference).
// apply_grad[_planar|_cl]_<T>_<act>: dx = coef * (g_y - k1 - x_hat * k2)
// from z and dz, dx may alias dz (backward).
//
// The vectorized variants use 16-byte loads and stores and 32-bit index
// arithmetic: "planar" needs inner % width == 0 (all lanes in one channel);
// "cl" (channels-last) needs inner == 1 and C % width == 0 (lanes are
// consecutive channels). The runtime checks both, and the alignment.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

using namespace mlir;
using namespace mlir::iabn;
using namespace mlir::iabn::common;
using namespace mlir::iabn::gpukernels;

void LibraryBuilder::buildApply(Type storage, ActivationKind act) {
  using K = abi::Apply;
  using P = abi::ForwardParam;
  static_assert(P::Mean == 0 && P::Scale == 1, "slots 0 and 1 are unscaled");
  kernel<K>(abi::Variant::Scalar, storage, act, 0,
            [&](KernelBuilder &kb, ValueRange a, ArrayRef<Value>) {
              Value x = a[K::x], z = a[K::z], params = a[K::params],
                    channels = a[K::channels], inner = a[K::inner],
                    total = a[K::items], param = a[K::activationParam];
              auto [start, stride] = kb.globalThread();
              kb.loop(start, total, stride, {},
                      [&](Value i, ValueRange) -> SmallVector<Value> {
                        Value c = kb.remui(kb.divui(i, inner), channels);
                        Value mean = kb.load(params, c);
                        Value scale = kb.load(params, kb.addi(channels, c));
                        Value shift = kb.load(
                            params,
                            kb.addi(kb.muli(kb.idx(P::Shift), channels), c));
                        Value y = emitNormalize(kb, kb.getLoc(),
                                                kb.loadf(x, i), mean, scale,
                                                shift);
                        kb.storef(emitActivation(kb, kb.getLoc(), act, param, y),
                                  z, i);
                        return {};
                      });
            });
}

void LibraryBuilder::buildApplyVector(Type storage, ActivationKind act,
                                      bool channelsLast) {
  using K = abi::Apply;
  using P = abi::ForwardParam;
  int64_t width = getVectorWidth(storage);
  kernel<K>(
      channelsLast ? abi::Variant::ChannelsLast : abi::Variant::Planar, storage,
      act, 0, [&](KernelBuilder &kb, ValueRange a, ArrayRef<Value>) {
        Value x = a[K::x], z = a[K::z], params = a[K::params],
              channels = a[K::channels], inner = a[K::inner],
              numVectors = a[K::items], param = a[K::activationParam];
        auto [start, stride] = kb.globalThread();
        Value twoC = kb.muli(kb.idx(P::Shift), channels);
        kb.loop(
            start, numVectors, stride, {},
            [&](Value v, ValueRange) -> SmallVector<Value> {
              Value i = kb.muli(v, kb.idx(width));
              Value c0 = channelOf(kb, i, channels, inner, channelsLast);
              SmallVector<Value> xs = kb.loadLanes(x, i, width);
              // Per-channel values: one channel for planar data, or `width`
              // consecutive channels (vector loads) for channels-last data.
              auto perChannel = [&](Value offset) {
                Value at = kb.addi(offset, c0);
                return channelsLast
                           ? kb.loadLanes(params, at, width)
                           : SmallVector<Value>(width, kb.load(params, at));
              };
              SmallVector<Value> means = perChannel(kb.idx(P::Mean));
              SmallVector<Value> scales = perChannel(channels);
              SmallVector<Value> shifts = perChannel(twoC);
              SmallVector<Value> zs;
              for (int64_t k = 0; k < width; ++k) {
                Value y = emitNormalize(kb, kb.getLoc(), xs[k], means[k],
                                        scales[k], shifts[k]);
                zs.push_back(emitActivation(kb, kb.getLoc(), act, param, y));
              }
              kb.storeLanes(zs, z, i);
              return {};
            });
      });
}

/// The five backward parameters of channel c (one value each), or of the
/// `width` consecutive channels from c (channels-last vectors).
static SmallVector<SmallVector<Value>>
loadGradParams(KernelBuilder &kb, Value params, Value channels, Value c,
               int64_t width, bool vector) {
  SmallVector<SmallVector<Value>> slots;
  for (int64_t slot = 0; slot < abi::GradParam::kCount; ++slot) {
    Value at = kb.addi(kb.muli(kb.idx(slot), channels), c);
    slots.push_back(vector ? kb.loadLanes(params, at, width)
                           : SmallVector<Value>(width, kb.load(params, at)));
  }
  return slots;
}

/// dx of one element from z, dz and the backward parameters.
static Value gradInputOf(KernelBuilder &kb, ActivationKind act, Value param,
                         Value dz, Value z, ArrayRef<SmallVector<Value>> slots,
                         int64_t k) {
  using P = abi::GradParam;
  Location loc = kb.getLoc();
  auto [gy, xHat] =
      emitRecoverFromOutput(kb, loc, act, param, dz, z,
                            slots[P::InverseGammaHat][k], slots[P::Beta][k]);
  return emitGradInput(kb, loc, gy, xHat, slots[P::Coef][k], slots[P::K1][k],
                       slots[P::K2][k]);
}

void LibraryBuilder::buildApplyGrad(Type storage, ActivationKind act) {
  using K = abi::ApplyGrad;
  kernel<K>(abi::Variant::Scalar, storage, act, 0,
            [&](KernelBuilder &kb, ValueRange a, ArrayRef<Value>) {
              Value z = a[K::z], dz = a[K::dz], dx = a[K::dx],
                    params = a[K::params], channels = a[K::channels],
                    inner = a[K::inner], total = a[K::items],
                    param = a[K::activationParam];
              auto [start, stride] = kb.globalThread();
              kb.loop(start, total, stride, {},
                      [&](Value i, ValueRange) -> SmallVector<Value> {
                        Value c = kb.remui(kb.divui(i, inner), channels);
                        Value g = kb.loadf(dz, i);
                        Value zi = kb.loadf(z, i);
                        SmallVector<SmallVector<Value>> slots = loadGradParams(
                            kb, params, channels, c, 1, /*vector=*/false);
                        kb.storef(gradInputOf(kb, act, param, g, zi, slots, 0),
                                  dx, i);
                        return {};
                      });
            });
}

void LibraryBuilder::buildApplyGradVector(Type storage, ActivationKind act,
                                          bool channelsLast) {
  using K = abi::ApplyGrad;
  int64_t width = getVectorWidth(storage);
  kernel<K>(
      channelsLast ? abi::Variant::ChannelsLast : abi::Variant::Planar, storage,
      act, 0, [&](KernelBuilder &kb, ValueRange a, ArrayRef<Value>) {
        Value z = a[K::z], dz = a[K::dz], dx = a[K::dx], params = a[K::params],
              channels = a[K::channels], inner = a[K::inner],
              numVectors = a[K::items], param = a[K::activationParam];
        auto [start, stride] = kb.globalThread();
        kb.loop(start, numVectors, stride, {},
                [&](Value v, ValueRange) -> SmallVector<Value> {
                  Value i = kb.muli(v, kb.idx(width));
                  Value c0 = channelOf(kb, i, channels, inner, channelsLast);
                  SmallVector<Value> zs = kb.loadLanes(z, i, width);
                  SmallVector<Value> gs = kb.loadLanes(dz, i, width);
                  SmallVector<SmallVector<Value>> slots = loadGradParams(
                      kb, params, channels, c0, width, channelsLast);
                  SmallVector<Value> out;
                  for (int64_t k = 0; k < width; ++k)
                    out.push_back(
                        gradInputOf(kb, act, param, gs[k], zs[k], slots, k));
                  kb.storeLanes(out, dx, i);
                  return {};
                });
      });
}
