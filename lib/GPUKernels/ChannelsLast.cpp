//===- ChannelsLast.cpp - The channels-last reduction kernels -------------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//
//
// partial_stats_cl_<T> and partial_grads_cl_<T>_<act>: the partial
// reductions of the forward and backward for channels-last ([rows][C]) data
// with C % width == 0. finalize_stats and finalize_grads merge their
// partials like those of the planar kernels.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

using namespace mlir;
using namespace mlir::iabn;
using namespace mlir::iabn::common;
using namespace mlir::iabn::gpukernels;

//===----------------------------------------------------------------------===//
// Channels-last partial reductions ([R][C] data, C % width == 0): threads
// run along the channels (coalesced 16-byte loads), each owning `width`
// channels and a lane of rows. Sums shifted by a per-channel pivot are
// additive, so the row lanes of a block are summed through shared memory
// and each block writes one partial per channel: partial q = split.
//===----------------------------------------------------------------------===//

/// Thread placement of the channels-last partial kernels: arguments
/// (C, R, G = C / width, Gt = groups per tile, L = row lanes, tiles,
/// splits, rowsPerSplit).
namespace {
struct ChannelsLastPlace {
  Value group, lane, split, active, rowBegin, rowEnd, rowStep, partial,
      numPartials;

  /// Whether this thread is lane 0 of an active group: the one that sums
  /// the group's row lanes from shared memory.
  Value isLeader(KernelBuilder &kb) const {
    return arith::AndIOp::create(kb, kb.getLoc(), active,
                                 arith::CmpIOp::create(kb, kb.getLoc(),
                                                       arith::CmpIPredicate::eq,
                                                       lane, kb.idx(0)));
  }
};
} // namespace

template <typename K>
static ChannelsLastPlace placeChannelsLast(KernelBuilder &kb, ValueRange a) {
  Value rows = a[K::rows], groups = a[K::groups],
        groupsPerTile = a[K::groupsPerTile], lanes = a[K::lanes],
        splits = a[K::splits], rowsPerSplit = a[K::rowsPerSplit];
  Value block = kb.blockId();
  Value tile = kb.divui(block, splits);
  Value split = kb.remui(block, splits);
  Value tid = kb.threadId();
  Value lane = kb.divui(tid, groupsPerTile);
  Value group =
      kb.addi(kb.muli(tile, groupsPerTile), kb.remui(tid, groupsPerTile));
  Value active = arith::AndIOp::create(kb, kb.getLoc(), kb.ult(lane, lanes),
                                       kb.ult(group, groups));
  Value rowBegin = kb.muli(split, rowsPerSplit);
  Value rowEnd = kb.minui(kb.addi(rowBegin, rowsPerSplit), rows);
  return {group,  lane,  split, active, kb.addi(rowBegin, lane),
          rowEnd, lanes, split, splits};
}

// partial_stats_cl_<T>: one (count, mean, M2) partial per channel and split.
void LibraryBuilder::buildPartialStatsChannelsLast(Type storage) {
  using K = abi::PartialStatsCL;
  int64_t width = getVectorWidth(storage);
  kernel<K>(
      abi::Variant::ChannelsLast, storage, ActivationKind::Identity, 0,
      [&](KernelBuilder &kb, ValueRange a, ArrayRef<Value> scratch) {
        Value x = a[K::x], ws = a[K::ws], channels = a[K::channels],
              groupsPerTile = a[K::groupsPerTile];
        Value counts = scratch[0], sum1 = scratch[1], sum2 = scratch[2];
        ChannelsLastPlace p = placeChannelsLast<K>(kb, a);
        kb.ifThen(p.active, [&] {
          Value c0 = kb.muli(p.group, kb.idx(width));
          SmallVector<Value> pivots = kb.loadLanes(x, c0, width);
          SmallVector<Value> init{kb.f(0)};
          for (int64_t k = 0; k < 2 * width; ++k)
            init.push_back(kb.f(0));
          SmallVector<Value> acc = kb.loop(
              p.rowBegin, p.rowEnd, p.rowStep, init,
              [&](Value r, ValueRange in) -> SmallVector<Value> {
                SmallVector<Value> xs =
                    kb.loadLanes(x, kb.addi(kb.muli(r, channels), c0), width);
                SmallVector<Value> out{kb.addf(in[0], kb.f(1.0))};
                for (int64_t k = 0; k < width; ++k) {
                  Value d = kb.subf(xs[k], pivots[k]);
                  out.push_back(kb.addf(in[1 + k], d));
                }
                for (int64_t k = 0; k < width; ++k) {
                  Value d = kb.subf(xs[k], pivots[k]);
                  out.push_back(kb.addf(in[1 + width + k], kb.mulf(d, d)));
                }
                return out;
              });
          // Publish this thread's sums, then lane 0 of each channel
          // group adds the other lanes' and writes the partial.
          Value tid = kb.threadId();
          kb.store(acc[0], counts, tid);
          for (int64_t k = 0; k < width; ++k) {
            Value at = kb.addi(kb.muli(tid, kb.idx(width)), kb.idx(k));
            kb.store(acc[1 + k], sum1, at);
            kb.store(acc[1 + width + k], sum2, at);
          }
          (void)pivots;
        });
        kb.barrier();
        kb.ifThen(p.isLeader(kb), [&] {
          Value tid = kb.threadId();
          Value c0 = kb.muli(p.group, kb.idx(width));
          SmallVector<Value> pivots = kb.loadLanes(x, c0, width);
          SmallVector<Value> init(1 + 2 * width, kb.f(0));
          SmallVector<Value> acc = kb.loop(
              kb.idx(0), p.rowStep, kb.idx(1), init,
              [&](Value l, ValueRange in) -> SmallVector<Value> {
                Value t = kb.addi(tid, kb.muli(l, groupsPerTile));
                SmallVector<Value> out{kb.addf(in[0], kb.load(counts, t))};
                for (int64_t k = 0; k < width; ++k)
                  out.push_back(
                      kb.addf(in[1 + k],
                              kb.load(sum1, kb.addi(kb.muli(t, kb.idx(width)),
                                                    kb.idx(k)))));
                for (int64_t k = 0; k < width; ++k)
                  out.push_back(
                      kb.addf(in[1 + width + k],
                              kb.load(sum2, kb.addi(kb.muli(t, kb.idx(width)),
                                                    kb.idx(k)))));
                return out;
              });
          Value n = acc[0];
          Value safeN = kb.maxf(n, kb.f(1.0));
          Value nonEmpty = arith::CmpFOp::create(
              kb, kb.getLoc(), arith::CmpFPredicate::OGT, n, kb.f(0.0));
          Value stride = kb.muli(channels, p.numPartials);
          for (int64_t k = 0; k < width; ++k) {
            Value c = kb.addi(c0, kb.idx(k));
            Value shifted = kb.divf(acc[1 + k], safeN);
            Value mean =
                kb.select(nonEmpty, kb.addf(pivots[k], shifted), kb.f(0.0));
            Value m2 = kb.maxf(
                kb.subf(acc[1 + width + k], kb.mulf(acc[1 + k], shifted)),
                kb.f(0.0));
            Value slot = kb.addi(kb.muli(c, p.numPartials), p.partial);
            kb.store(n, ws, slot);
            kb.store(mean, ws, kb.addi(stride, slot));
            kb.store(m2, ws, kb.addi(kb.muli(kb.idx(2), stride), slot));
          }
        });
      },
      {kBlockSize, kBlockSize * width, kBlockSize * width});
}

// partial_grads_cl_<T>_<act>: one (sum g_y, sum g_y * x_hat) partial per
// channel and split.
void LibraryBuilder::buildPartialGradsChannelsLast(Type storage,
                                                   ActivationKind act) {
  using K = abi::PartialGradsCL;
  int64_t width = getVectorWidth(storage);
  kernel<K>(abi::Variant::ChannelsLast, storage, act, 0,
         [&](KernelBuilder &kb, ValueRange a, ArrayRef<Value> scratch) {
           Value z = a[K::z], dz = a[K::dz], params = a[K::params],
                 ws = a[K::ws], channels = a[K::channels],
                 groupsPerTile = a[K::groupsPerTile],
                 param = a[K::activationParam];
           Value sumG = scratch[0], sumGX = scratch[1];
           ChannelsLastPlace p = placeChannelsLast<K>(kb, a);
           kb.ifThen(p.active, [&] {
             Value c0 = kb.muli(p.group, kb.idx(width));
             SmallVector<Value> inverseGamma, beta;
             for (int64_t k = 0; k < width; ++k) {
               Value c = kb.addi(c0, kb.idx(k));
               inverseGamma.push_back(kb.load(params, c));
               beta.push_back(kb.load(params, kb.addi(channels, c)));
             }
             SmallVector<Value> init(2 * width, kb.f(0));
             SmallVector<Value> acc = kb.loop(
                 p.rowBegin, p.rowEnd, p.rowStep, init,
                 [&](Value r, ValueRange in) -> SmallVector<Value> {
                   Value pos = kb.addi(kb.muli(r, channels), c0);
                   SmallVector<Value> zs = kb.loadLanes(z, pos, width);
                   SmallVector<Value> gs = kb.loadLanes(dz, pos, width);
                   SmallVector<Value> out(in);
                   for (int64_t k = 0; k < width; ++k) {
                     auto [gy, xHat] = emitRecoverFromOutput(
                         kb, kb.getLoc(), act, param, gs[k], zs[k],
                         inverseGamma[k], beta[k]);
                     out[k] = kb.addf(in[k], gy);
                     out[width + k] = kb.addf(in[width + k], kb.mulf(gy, xHat));
                   }
                   return out;
                 });
             Value tid = kb.threadId();
             for (int64_t k = 0; k < width; ++k) {
               Value at = kb.addi(kb.muli(tid, kb.idx(width)), kb.idx(k));
               kb.store(acc[k], sumG, at);
               kb.store(acc[width + k], sumGX, at);
             }
           });
           kb.barrier();
           kb.ifThen(p.isLeader(kb), [&] {
             Value tid = kb.threadId();
             Value c0 = kb.muli(p.group, kb.idx(width));
             SmallVector<Value> init(2 * width, kb.f(0));
             SmallVector<Value> acc =
                 kb.loop(kb.idx(0), p.rowStep, kb.idx(1), init,
                         [&](Value l, ValueRange in) -> SmallVector<Value> {
                           Value t = kb.addi(tid, kb.muli(l, groupsPerTile));
                           SmallVector<Value> out(in);
                           for (int64_t k = 0; k < width; ++k) {
                             Value at =
                                 kb.addi(kb.muli(t, kb.idx(width)), kb.idx(k));
                             out[k] = kb.addf(in[k], kb.load(sumG, at));
                             out[width + k] =
                                 kb.addf(in[width + k], kb.load(sumGX, at));
                           }
                           return out;
                         });
             Value stride = kb.muli(channels, p.numPartials);
             for (int64_t k = 0; k < width; ++k) {
               Value c = kb.addi(c0, kb.idx(k));
               Value slot = kb.addi(kb.muli(c, p.numPartials), p.partial);
               kb.store(acc[k], ws, slot);
               kb.store(acc[width + k], ws, kb.addi(stride, slot));
             }
           });
         },
         {kBlockSize * width, kBlockSize * width});
}

