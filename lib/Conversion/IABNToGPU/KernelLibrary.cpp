//===- KernelLibrary.cpp - Generated GPU kernels of the fused ops ---------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//
//
// Builds the `gpu.module @iabn_kernels` that the CUDA runtime
// (runtime/cuda) launches: the InPlace-ABN forward, backward and inference
// forward as gpu-dialect kernels, one set per storage type and activation.
//
// Data of any layout is addressed as [outer][C][inner]: NCHW has
// inner = H*W, NHWC (channels-last) inner = 1, (N, C) inner = 1.
//
//   forward:   partial_stats -> finalize_stats -> apply (z may alias x)
//   backward:  prepare -> partial_grads -> finalize_grads -> apply_grad
//              (dx may alias dz)
//   inference: prepare_inference -> apply
//
// Per-channel statistics are split over P blocks per channel (P chosen by
// the runtime); each block reduces with warp shuffles and shared memory.
// The forward merges (count, mean, M2) triples with Chan's formula, from
// per-thread sums shifted by a per-channel pivot, all in f32.
//
//===----------------------------------------------------------------------===//

#include "IABN/Conversion/KernelLibrary.h"

#include "../IABNToLinalg/Common.h"
#include "IABN/Dialect/IABN/IR/IABNOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"

using namespace mlir;
using namespace mlir::iabn;
using namespace mlir::iabn::lowering;

namespace {

constexpr int64_t kBlockSize = 256;
constexpr int64_t kWarpSize = 32;
constexpr int64_t kNumWarps = kBlockSize / kWarpSize;

/// A small builder for kernel bodies: index and f32 arithmetic, loads and
/// stores, loops.
struct KernelBuilder {
  OpBuilder &b;
  Location loc;
  FloatType f32;

  KernelBuilder(OpBuilder &b, Location loc)
      : b(b), loc(loc), f32(Float32Type::get(b.getContext())) {}

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value f(double v) { return constantFloat(b, loc, f32, v); }
  Value i32(int64_t v) {
    return arith::ConstantIntOp::create(b, loc, b.getI32Type(), v);
  }
  Value addi(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value subi(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value muli(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value divui(Value x, Value y) { return arith::DivUIOp::create(b, loc, x, y); }
  Value remui(Value x, Value y) { return arith::RemUIOp::create(b, loc, x, y); }
  Value minui(Value x, Value y) { return arith::MinUIOp::create(b, loc, x, y); }
  Value ult(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, x, y);
  }
  Value addf(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value subf(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
  Value mulf(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value divf(Value x, Value y) { return arith::DivFOp::create(b, loc, x, y); }
  Value maxf(Value x, Value y) {
    return arith::MaximumFOp::create(b, loc, x, y);
  }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }
  Value ne0(Value i32Flag) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, i32Flag,
                                 i32(0));
  }
  Value load(Value memref, Value i) {
    return memref::LoadOp::create(b, loc, memref, i);
  }
  /// Loads and extends to f32.
  Value loadf(Value memref, Value i) {
    return toCompute(b, loc, load(memref, i), f32);
  }
  void store(Value v, Value memref, Value i) {
    memref::StoreOp::create(b, loc, v, memref, i);
  }
  /// Truncates to the memref's element type and stores.
  void storef(Value v, Value memref, Value i) {
    Type type = cast<MemRefType>(memref.getType()).getElementType();
    store(toStorage(b, loc, v, type), memref, i);
  }
  Value threadId() {
    return gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  }
  Value blockId() { return gpu::BlockIdOp::create(b, loc, gpu::Dimension::x); }
  Value gridDim() { return gpu::GridDimOp::create(b, loc, gpu::Dimension::x); }
  /// Global thread index and the grid-wide stride.
  std::pair<Value, Value> globalThread() {
    return {addi(muli(blockId(), idx(kBlockSize)), threadId()),
            muli(gridDim(), idx(kBlockSize))};
  }

  /// for (i = lb; i < ub; i += step) with loop-carried f32 values.
  SmallVector<Value>
  loop(Value lb, Value ub, Value step, ValueRange init,
       function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    auto forOp = scf::ForOp::create(
        b, loc, lb, ub, step, init,
        [&](OpBuilder &nb, Location nloc, Value iv, ValueRange args) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
          SmallVector<Value> next = body(iv, args);
          scf::YieldOp::create(b, loc, next);
        });
    return SmallVector<Value>(forOp.getResults());
  }

  /// if (cond) { body }.
  void ifThen(Value cond, function_ref<void()> body) {
    auto ifOp = scf::IfOp::create(b, loc, cond, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    body();
  }

  /// 32-bit index arithmetic (the vectorized kernels require fewer than
  /// 2^31 elements; 32-bit division is much cheaper than 64-bit).
  Value toI32(Value index) {
    return arith::IndexCastUIOp::create(b, loc, b.getI32Type(), index);
  }
  Value toIndex(Value i32Value) {
    return arith::IndexCastUIOp::create(b, loc, b.getIndexType(), i32Value);
  }

  /// A 16-byte aligned vector load of `width` elements at `i`, split into
  /// f32 lanes.
  SmallVector<Value> loadLanes(Value memref, Value i, int64_t width) {
    Type element = cast<MemRefType>(memref.getType()).getElementType();
    auto type = VectorType::get({width}, element);
    Value vec =
        vector::LoadOp::create(b, loc, type, memref, ValueRange{i},
                               /*nontemporal=*/false, llvm::MaybeAlign(16));
    SmallVector<Value> lanes;
    for (int64_t k = 0; k < width; ++k)
      lanes.push_back(
          toCompute(b, loc, vector::ExtractOp::create(b, loc, vec, k), f32));
    return lanes;
  }

  /// Stores f32 `lanes` as one aligned vector of the memref's element type.
  void storeLanes(ArrayRef<Value> lanes, Value memref, Value i) {
    Type element = cast<MemRefType>(memref.getType()).getElementType();
    SmallVector<Value> stored;
    for (Value lane : lanes)
      stored.push_back(toStorage(b, loc, lane, element));
    auto type = VectorType::get({static_cast<int64_t>(lanes.size())}, element);
    Value vec = vector::FromElementsOp::create(b, loc, type, stored);
    vector::StoreOp::create(b, loc, vec, memref, ValueRange{i},
                            /*nontemporal=*/false, llvm::MaybeAlign(16));
  }

  Value shuffleXor(Value v, int32_t offset) {
    return gpu::ShuffleOp::create(b, loc, v, offset, kWarpSize,
                                  gpu::ShuffleMode::XOR)
        .getShuffleResult();
  }
};

/// A combine function for tree reductions of tuples of f32 values.
using CombineFn =
    function_ref<SmallVector<Value>(KernelBuilder &, ValueRange, ValueRange)>;

/// Reduces `values` over the whole thread block: warp shuffles, then one
/// value per warp through shared memory (`scratch`, one memref<8xf32> per
/// value), then warp 0. The result is valid in thread 0.
SmallVector<Value> blockReduce(KernelBuilder &kb, ValueRange values,
                               ArrayRef<Value> scratch, CombineFn combine,
                               ValueRange identity) {
  auto warpReduce = [&](SmallVector<Value> v) {
    for (int32_t offset = kWarpSize / 2; offset > 0; offset /= 2) {
      SmallVector<Value> other;
      for (Value x : v)
        other.push_back(kb.shuffleXor(x, offset));
      v = combine(kb, v, other);
    }
    return v;
  };
  SmallVector<Value> partial = warpReduce(SmallVector<Value>(values));
  Value tid = kb.threadId();
  Value lane = kb.remui(tid, kb.idx(kWarpSize));
  Value warp = kb.divui(tid, kb.idx(kWarpSize));
  Value isLeader = arith::CmpIOp::create(kb.b, kb.loc, arith::CmpIPredicate::eq,
                                         lane, kb.idx(0));
  kb.ifThen(isLeader, [&] {
    for (auto [v, s] : llvm::zip_equal(partial, scratch))
      kb.store(v, s, warp);
  });
  gpu::BarrierOp::create(kb.b, kb.loc);
  // Every warp reads the per-warp results (lanes >= kNumWarps read the
  // identity) and reduces them again; thread 0 ends up with the total.
  Value hasValue = kb.ult(lane, kb.idx(kNumWarps));
  Value safeLane = kb.minui(lane, kb.idx(kNumWarps - 1));
  SmallVector<Value> perWarp;
  for (auto [s, id] : llvm::zip_equal(scratch, identity))
    perWarp.push_back(kb.select(hasValue, kb.load(s, safeLane), id));
  return warpReduce(perWarp);
}

/// Chan's merge of (count, mean, M2) triples.
SmallVector<Value> chanMerge(KernelBuilder &kb, ValueRange a, ValueRange b) {
  Value n = kb.addf(a[0], b[0]);
  Value delta = kb.subf(b[1], a[1]);
  Value ratio = kb.divf(b[0], kb.maxf(n, kb.f(1.0)));
  Value mean = kb.addf(a[1], kb.mulf(delta, ratio));
  Value m2 = kb.addf(kb.addf(a[2], b[2]),
                     kb.mulf(kb.mulf(delta, delta), kb.mulf(a[0], ratio)));
  return {n, mean, m2};
}

SmallVector<Value> sumMerge(KernelBuilder &kb, ValueRange a, ValueRange b) {
  SmallVector<Value> result;
  for (auto [x, y] : llvm::zip_equal(a, b))
    result.push_back(kb.addf(x, y));
  return result;
}

/// gamma_hat from gamma and the mode (0: sign_clamp, 1: abs_plus_eps).
Value gammaHat(KernelBuilder &kb, Value gamma, Value mode, Value eps) {
  Value magnitude = math::AbsFOp::create(kb.b, kb.loc, gamma);
  Value absPlusEps = kb.addf(magnitude, eps);
  Value clamped = kb.maxf(magnitude, eps);
  Value negative = arith::CmpFOp::create(
      kb.b, kb.loc, arith::CmpFPredicate::OLT, gamma, kb.f(0.0));
  Value signClamp = kb.select(
      negative, arith::NegFOp::create(kb.b, kb.loc, clamped), clamped);
  return kb.select(kb.ne0(mode), absPlusEps, signClamp);
}

/// gamma_hat (1 without a scale), beta (0 without an offset) and
/// rsqrt(var + eps) of channel c.
struct ChannelParams {
  Value gammaHat, beta, rstd;
};

ChannelParams loadChannelParams(KernelBuilder &kb, Value c, Value gamma,
                                Value beta, Value hasGamma, Value hasBeta,
                                Value mode, Value eps, Value var) {
  Value g = kb.select(kb.ne0(hasGamma),
                      gammaHat(kb, kb.load(gamma, c), mode, eps), kb.f(1.0));
  Value b = kb.select(kb.ne0(hasBeta), kb.load(beta, c), kb.f(0));
  Value rstd = math::RsqrtOp::create(kb.b, kb.loc, kb.addf(var, eps));
  return {g, b, rstd};
}

/// The library being built.
class LibraryBuilder {
public:
  LibraryBuilder(gpu::GPUModuleOp module)
      : module(module), ctx(module.getContext()), b(module.getBodyRegion()),
        loc(module.getLoc()) {
    b.setInsertionPointToEnd(module.getBody());
  }

  void buildAll(ArrayRef<Type> storageTypes,
                ArrayRef<ActivationKind> activations);

private:
  MemRefType buf(Type element) {
    return MemRefType::get({ShapedType::kDynamic}, element);
  }
  Type index() { return b.getIndexType(); }
  Type f32() { return b.getF32Type(); }
  Type i32() { return b.getI32Type(); }
  MemRefType scratch() {
    return MemRefType::get(
        {kNumWarps}, f32(), AffineMap(),
        gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup));
  }

  /// Creates a kernel `name(args)` with `numScratch` shared-memory arrays
  /// and builds its body.
  void
  kernel(StringRef name, ArrayRef<Type> args, unsigned numScratch,
         function_ref<void(KernelBuilder &, ValueRange, ArrayRef<Value>)> body,
         ArrayRef<int64_t> extraScratchSizes = {}) {
    OpBuilder::InsertionGuard guard(b);
    SmallVector<Type> workgroup(numScratch, scratch());
    for (int64_t size : extraScratchSizes)
      workgroup.push_back(MemRefType::get(
          {size}, f32(), AffineMap(),
          gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup)));
    auto func = gpu::GPUFuncOp::create(
        b, loc, name, b.getFunctionType(args, {}), workgroup, TypeRange{});
    func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
    func.setKnownBlockSizeAttr(b.getDenseI32ArrayAttr({kBlockSize, 1, 1}));
    Block &entry = func.getBody().front();
    b.setInsertionPointToStart(&entry);
    KernelBuilder kb(b, loc);
    SmallVector<Value> scratchValues(func.getWorkgroupAttributions());
    body(kb, func.getArguments(), scratchValues);
    gpu::ReturnOp::create(b, loc);
  }

  void buildPartialStats(Type storage, StringRef suffix, bool planar);
  void buildFinalizeStats();
  void buildApply(Type storage, ActivationKind act, StringRef suffix);
  void buildPrepareGrad();
  void buildPrepareInference();
  void buildPartialGrads(Type storage, ActivationKind act, StringRef suffix,
                         bool planar);
  void buildFinalizeGrads();
  void buildApplyGrad(Type storage, ActivationKind act, StringRef suffix);
  void buildApplyVector(Type storage, ActivationKind act, StringRef suffix,
                        bool channelsLast);
  void buildApplyGradVector(Type storage, ActivationKind act, StringRef suffix,
                            bool channelsLast);
  void buildPartialStatsChannelsLast(Type storage, StringRef suffix);
  void buildPartialGradsChannelsLast(Type storage, ActivationKind act,
                                     StringRef suffix);

  gpu::GPUModuleOp module;
  MLIRContext *ctx;
  OpBuilder b;
  Location loc;
};

/// Position of the j-th element of channel c in [outer][C][inner] data.
Value channelElement(KernelBuilder &kb, Value j, Value c, Value channels,
                     Value inner) {
  Value outer = kb.divui(j, inner);
  Value within = kb.remui(j, inner);
  return kb.addi(kb.muli(kb.addi(kb.muli(outer, channels), c), inner), within);
}

// finalize_stats(ws, C, P, eps, gamma, beta, hasGamma, hasBeta, mode,
//                mean_out, var_out, params, running_mean, running_var,
//                updateRunning, factor, unbias)
// One block per channel merges its P partials (threads stride over them,
// then a block reduction). params = [mean | gamma_hat * rstd | beta].
void LibraryBuilder::buildFinalizeStats() {
  kernel("finalize_stats",
         {buf(f32()), index(), index(), f32(), buf(f32()), buf(f32()), i32(),
          i32(), i32(), buf(f32()), buf(f32()), buf(f32()), buf(f32()),
          buf(f32()), i32(), f32(), f32()},
         3, [&](KernelBuilder &kb, ValueRange a, ArrayRef<Value> scratch) {
           Value ws = a[0], channels = a[1], splits = a[2], eps = a[3],
                 gamma = a[4], beta = a[5], hasGamma = a[6], hasBeta = a[7],
                 mode = a[8], meanOut = a[9], varOut = a[10], params = a[11],
                 runningMean = a[12], runningVar = a[13], update = a[14],
                 factor = a[15], unbias = a[16];
           Value c = kb.blockId();
           Value stride = kb.muli(channels, splits);
           Value base = kb.muli(c, splits);
           SmallVector<Value> merged =
               kb.loop(kb.threadId(), splits, kb.idx(kBlockSize),
                       {kb.f(0), kb.f(0), kb.f(0)},
                       [&](Value s, ValueRange acc) -> SmallVector<Value> {
                         Value slot = kb.addi(base, s);
                         SmallVector<Value> part;
                         for (int k = 0; k < 3; ++k)
                           part.push_back(kb.load(
                               ws, kb.addi(kb.muli(kb.idx(k), stride), slot)));
                         return chanMerge(kb, acc, part);
                       });
           SmallVector<Value> total = blockReduce(
               kb, merged, scratch, chanMerge, {kb.f(0), kb.f(0), kb.f(0)});
           kb.ifThen(
               arith::CmpIOp::create(kb.b, kb.loc, arith::CmpIPredicate::eq,
                                     kb.threadId(), kb.idx(0)),
               [&] {
                 Value mean = total[1];
                 Value var = kb.divf(total[2], kb.maxf(total[0], kb.f(1.0)));
                 kb.store(mean, meanOut, c);
                 kb.store(var, varOut, c);
                 auto [g, bt, rstd] = loadChannelParams(
                     kb, c, gamma, beta, hasGamma, hasBeta, mode, eps, var);
                 kb.store(mean, params, c);
                 kb.store(kb.mulf(g, rstd), params, kb.addi(channels, c));
                 kb.store(bt, params, kb.addi(kb.muli(kb.idx(2), channels), c));
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

// prepare_inference(running_mean, running_var, gamma, beta, hasGamma,
//                   hasBeta, mode, eps, C, params)
void LibraryBuilder::buildPrepareInference() {
  kernel("prepare_inference",
         {buf(f32()), buf(f32()), buf(f32()), buf(f32()), i32(), i32(), i32(),
          f32(), index(), buf(f32())},
         0, [&](KernelBuilder &kb, ValueRange a, ArrayRef<Value>) {
           Value rm = a[0], rv = a[1], gamma = a[2], beta = a[3],
                 hasGamma = a[4], hasBeta = a[5], mode = a[6], eps = a[7],
                 channels = a[8], params = a[9];
           Value c = kb.globalThread().first;
           kb.ifThen(kb.ult(c, channels), [&] {
             auto [g, bt, rstd] =
                 loadChannelParams(kb, c, gamma, beta, hasGamma, hasBeta, mode,
                                   eps, kb.load(rv, c));
             kb.store(kb.load(rm, c), params, c);
             kb.store(kb.mulf(g, rstd), params, kb.addi(channels, c));
             kb.store(bt, params, kb.addi(kb.muli(kb.idx(2), channels), c));
           });
         });
}

// apply_<T>_<act>(x, z, params, C, inner, total, param)
// z = phi((x - mean[c]) * a[c] + beta[c]); z may alias x.
void LibraryBuilder::buildApply(Type storage, ActivationKind act,
                                StringRef suffix) {
  kernel(("apply_" + suffix).str(),
         {buf(storage), buf(storage), buf(f32()), index(), index(), index(),
          f32()},
         0, [&](KernelBuilder &kb, ValueRange a, ArrayRef<Value>) {
           Value x = a[0], z = a[1], params = a[2], channels = a[3],
                 inner = a[4], total = a[5], param = a[6];
           auto [start, stride] = kb.globalThread();
           kb.loop(
               start, total, stride, {},
               [&](Value i, ValueRange) -> SmallVector<Value> {
                 Value c = kb.remui(kb.divui(i, inner), channels);
                 Value mean = kb.load(params, c);
                 Value scale = kb.load(params, kb.addi(channels, c));
                 Value shift =
                     kb.load(params, kb.addi(kb.muli(kb.idx(2), channels), c));
                 Value y = kb.addf(
                     kb.mulf(kb.subf(kb.loadf(x, i), mean), scale), shift);
                 kb.storef(emitActivation(kb.b, kb.loc, act, param, y), z, i);
                 return {};
               });
         });
}

// prepare_grad(var, gamma, beta, hasGamma, hasBeta, mode, eps, C, params)
// params = [1/gamma_hat | beta | gamma_hat * rstd | k1 | k2].
void LibraryBuilder::buildPrepareGrad() {
  kernel("prepare_grad",
         {buf(f32()), buf(f32()), buf(f32()), i32(), i32(), i32(), f32(),
          index(), buf(f32())},
         0, [&](KernelBuilder &kb, ValueRange a, ArrayRef<Value>) {
           Value var = a[0], gamma = a[1], beta = a[2], hasGamma = a[3],
                 hasBeta = a[4], mode = a[5], eps = a[6], channels = a[7],
                 params = a[8];
           Value c = kb.globalThread().first;
           kb.ifThen(kb.ult(c, channels), [&] {
             auto [g, bt, rstd] =
                 loadChannelParams(kb, c, gamma, beta, hasGamma, hasBeta, mode,
                                   eps, kb.load(var, c));
             kb.store(kb.divf(kb.f(1.0), g), params, c);
             kb.store(bt, params, kb.addi(channels, c));
             kb.store(kb.mulf(g, rstd), params,
                      kb.addi(kb.muli(kb.idx(2), channels), c));
           });
         });
}

/// g_y and x_hat of one element from dz and z.
std::pair<Value, Value> recover(KernelBuilder &kb, ActivationKind act,
                                Value param, Value dz, Value z,
                                Value inverseGamma, Value beta) {
  Value gy = kb.mulf(dz, emitDerivativeFromOutput(kb.b, kb.loc, act, param, z));
  Value y = emitActivationInverse(kb.b, kb.loc, act, param, z);
  return {gy, kb.mulf(kb.subf(y, beta), inverseGamma)};
}

// finalize_grads(ws, C, P, m, gamma, hasGamma, mode, dgamma, dbeta, params)
// One block per channel sums its P partials.
void LibraryBuilder::buildFinalizeGrads() {
  kernel(
      "finalize_grads",
      {buf(f32()), index(), index(), f32(), buf(f32()), i32(), i32(),
       buf(f32()), buf(f32()), buf(f32())},
      2, [&](KernelBuilder &kb, ValueRange a, ArrayRef<Value> scratch) {
        Value ws = a[0], channels = a[1], splits = a[2], count = a[3],
              gamma = a[4], hasGamma = a[5], mode = a[6], dgamma = a[7],
              dbeta = a[8], params = a[9];
        Value c = kb.blockId();
        Value stride = kb.muli(channels, splits);
        Value base = kb.muli(c, splits);
        SmallVector<Value> partial = kb.loop(
            kb.threadId(), splits, kb.idx(kBlockSize), {kb.f(0), kb.f(0)},
            [&](Value s, ValueRange acc) -> SmallVector<Value> {
              Value slot = kb.addi(base, s);
              return {kb.addf(acc[0], kb.load(ws, slot)),
                      kb.addf(acc[1], kb.load(ws, kb.addi(stride, slot)))};
            });
        SmallVector<Value> sums =
            blockReduce(kb, partial, scratch, sumMerge, {kb.f(0), kb.f(0)});
        kb.ifThen(
            arith::CmpIOp::create(kb.b, kb.loc, arith::CmpIPredicate::eq,
                                  kb.threadId(), kb.idx(0)),
            [&] {
              kb.store(sums[0], dbeta, c);
              // d gamma: straight-through for sign_clamp, times sign(gamma)
              // for abs_plus_eps.
              Value g =
                  kb.select(kb.ne0(hasGamma), kb.load(gamma, c), kb.f(1.0));
              Value negative = arith::CmpFOp::create(
                  kb.b, kb.loc, arith::CmpFPredicate::OLT, g, kb.f(0));
              Value flip =
                  arith::AndIOp::create(kb.b, kb.loc, negative, kb.ne0(mode));
              kb.store(kb.select(flip,
                                 arith::NegFOp::create(kb.b, kb.loc, sums[1]),
                                 sums[1]),
                       dgamma, c);
              kb.store(kb.divf(sums[0], count), params,
                       kb.addi(kb.muli(kb.idx(3), channels), c));
              kb.store(kb.divf(sums[1], count), params,
                       kb.addi(kb.muli(kb.idx(4), channels), c));
            });
      });
}

// apply_grad_<T>_<act>(z, dz, dx, params, C, inner, total, param)
// dx = coef * (g_y - k1 - x_hat * k2); dx may alias dz.
void LibraryBuilder::buildApplyGrad(Type storage, ActivationKind act,
                                    StringRef suffix) {
  kernel(("apply_grad_" + suffix).str(),
         {buf(storage), buf(storage), buf(storage), buf(f32()), index(),
          index(), index(), f32()},
         0, [&](KernelBuilder &kb, ValueRange a, ArrayRef<Value>) {
           Value z = a[0], dz = a[1], dx = a[2], params = a[3], channels = a[4],
                 inner = a[5], total = a[6], param = a[7];
           auto [start, stride] = kb.globalThread();
           kb.loop(start, total, stride, {},
                   [&](Value i, ValueRange) -> SmallVector<Value> {
                     Value c = kb.remui(kb.divui(i, inner), channels);
                     auto at = [&](int64_t k) {
                       return kb.load(params,
                                      kb.addi(kb.muli(kb.idx(k), channels), c));
                     };
                     auto [gy, xHat] = recover(kb, act, param, kb.loadf(dz, i),
                                               kb.loadf(z, i), at(0), at(1));
                     Value inner2 =
                         kb.subf(kb.subf(gy, at(3)), kb.mulf(xHat, at(4)));
                     kb.storef(kb.mulf(at(2), inner2), dx, i);
                     return {};
                   });
         });
}

//===----------------------------------------------------------------------===//
// Vectorized kernels: 16-byte loads and stores, 32-bit index arithmetic.
// "planar" needs inner % width == 0 (all lanes in one channel); "cl"
// (channels-last) needs inner == 1 and C % width == 0 (lanes are
// consecutive channels). The runtime checks both, and the alignment.
//===----------------------------------------------------------------------===//

int64_t vectorWidth(Type storage) {
  return 128 / storage.getIntOrFloatBitWidth();
}

/// The channel of the element at `i` (i32 arithmetic), as an index.
Value channelOf(KernelBuilder &kb, Value i, Value channels, Value inner,
                bool channelsLast) {
  Value i32 = kb.toI32(i);
  Value c32 = kb.toI32(channels);
  if (channelsLast)
    return kb.toIndex(kb.remui(i32, c32));
  return kb.toIndex(kb.remui(kb.divui(i32, kb.toI32(inner)), c32));
}

// apply_{planar,cl}_<T>_<act>(x, z, params, C, inner, numVectors, param)
void LibraryBuilder::buildApplyVector(Type storage, ActivationKind act,
                                      StringRef suffix, bool channelsLast) {
  int64_t width = vectorWidth(storage);
  kernel(((channelsLast ? "apply_cl_" : "apply_planar_") + suffix).str(),
         {buf(storage), buf(storage), buf(f32()), index(), index(), index(),
          f32()},
         0, [&](KernelBuilder &kb, ValueRange a, ArrayRef<Value>) {
           Value x = a[0], z = a[1], params = a[2], channels = a[3],
                 inner = a[4], numVectors = a[5], param = a[6];
           auto [start, stride] = kb.globalThread();
           Value twoC = kb.muli(kb.idx(2), channels);
           kb.loop(
               start, numVectors, stride, {},
               [&](Value v, ValueRange) -> SmallVector<Value> {
                 Value i = kb.muli(v, kb.idx(width));
                 Value c0 = channelOf(kb, i, channels, inner, channelsLast);
                 SmallVector<Value> xs = kb.loadLanes(x, i, width);
                 // Per-channel values: one channel for planar data, or
                 // `width` consecutive channels (vector loads) for
                 // channels-last data.
                 auto perChannel = [&](Value offset) {
                   Value at = kb.addi(offset, c0);
                   return channelsLast
                              ? kb.loadLanes(params, at, width)
                              : SmallVector<Value>(width, kb.load(params, at));
                 };
                 SmallVector<Value> means = perChannel(kb.idx(0));
                 SmallVector<Value> scales = perChannel(channels);
                 SmallVector<Value> shifts = perChannel(twoC);
                 SmallVector<Value> zs;
                 for (int64_t k = 0; k < width; ++k) {
                   Value y = kb.addf(
                       kb.mulf(kb.subf(xs[k], means[k]), scales[k]), shifts[k]);
                   zs.push_back(emitActivation(kb.b, kb.loc, act, param, y));
                 }
                 kb.storeLanes(zs, z, i);
                 return {};
               });
         });
}

// apply_grad_{planar,cl}_<T>_<act>(z, dz, dx, params, C, inner, numVectors,
//                                 param)
void LibraryBuilder::buildApplyGradVector(Type storage, ActivationKind act,
                                          StringRef suffix, bool channelsLast) {
  int64_t width = vectorWidth(storage);
  kernel(
      ((channelsLast ? "apply_grad_cl_" : "apply_grad_planar_") + suffix).str(),
      {buf(storage), buf(storage), buf(storage), buf(f32()), index(), index(),
       index(), f32()},
      0, [&](KernelBuilder &kb, ValueRange a, ArrayRef<Value>) {
        Value z = a[0], dz = a[1], dx = a[2], params = a[3], channels = a[4],
              inner = a[5], numVectors = a[6], param = a[7];
        auto [start, stride] = kb.globalThread();
        kb.loop(start, numVectors, stride, {},
                [&](Value v, ValueRange) -> SmallVector<Value> {
                  Value i = kb.muli(v, kb.idx(width));
                  Value c0 = channelOf(kb, i, channels, inner, channelsLast);
                  SmallVector<Value> zs = kb.loadLanes(z, i, width);
                  SmallVector<Value> gs = kb.loadLanes(dz, i, width);
                  SmallVector<SmallVector<Value>> slots;
                  for (int64_t slot = 0; slot < 5; ++slot) {
                    Value at = kb.addi(kb.muli(kb.idx(slot), channels), c0);
                    slots.push_back(
                        channelsLast
                            ? kb.loadLanes(params, at, width)
                            : SmallVector<Value>(width, kb.load(params, at)));
                  }
                  SmallVector<Value> out;
                  for (int64_t k = 0; k < width; ++k) {
                    auto [gy, xHat] = recover(kb, act, param, gs[k], zs[k],
                                              slots[0][k], slots[1][k]);
                    Value t = kb.subf(kb.subf(gy, slots[3][k]),
                                      kb.mulf(xHat, slots[4][k]));
                    out.push_back(kb.mulf(slots[2][k], t));
                  }
                  kb.storeLanes(out, dx, i);
                  return {};
                });
      });
}

/// Position of element j (a multiple of the vector width) of channel c in
/// planar data, with 32-bit arithmetic.
Value planarElement(KernelBuilder &kb, Value j, Value c, Value channels,
                    Value inner) {
  Value j32 = kb.toI32(j), inner32 = kb.toI32(inner);
  Value outer = kb.divui(j32, inner32);
  Value within = kb.remui(j32, inner32);
  Value pos =
      kb.addi(kb.muli(kb.addi(kb.muli(outer, kb.toI32(channels)), kb.toI32(c)),
                      inner32),
              within);
  return kb.toIndex(pos);
}

/// Thread 0 stores the block's partial results: value k of channel c and
/// split s at ws[k*C*P + c*P + s].
void storePartials(KernelBuilder &kb, ArrayRef<Value> values, Value ws,
                   Value channels, Value splits, Value c, Value s) {
  Value stride = kb.muli(channels, splits);
  Value slot = kb.addi(kb.muli(c, splits), s);
  kb.ifThen(arith::CmpIOp::create(kb.b, kb.loc, arith::CmpIPredicate::eq,
                                  kb.threadId(), kb.idx(0)),
            [&] {
              for (auto [k, v] : llvm::enumerate(values))
                kb.store(v, ws, kb.addi(kb.muli(kb.idx(k), stride), slot));
            });
}

// partial_stats[_planar]_<T>(x, ws, C, inner, perChannel, P, E)
// Block (c, s) reduces elements [s*E, min(s*E + E, perChannel)) of channel c
// into ws[{0,1,2}*C*P + c*P + s] = (count, mean, M2). The planar variant
// loads 16-byte vectors (E and inner multiples of the width) with 32-bit
// index arithmetic; the scalar one handles any layout.
void LibraryBuilder::buildPartialStats(Type storage, StringRef suffix,
                                       bool planar) {
  int64_t width = planar ? vectorWidth(storage) : 1;
  kernel(
      ((planar ? "partial_stats_planar_" : "partial_stats_") + suffix).str(),
      {buf(storage), buf(f32()), index(), index(), index(), index(), index()},
      3, [&](KernelBuilder &kb, ValueRange a, ArrayRef<Value> scratch) {
        Value x = a[0], ws = a[1], channels = a[2], inner = a[3],
              perChannel = a[4], splits = a[5], chunk = a[6];
        Value block = kb.blockId();
        Value c = kb.divui(block, splits);
        Value s = kb.remui(block, splits);
        Value begin = kb.muli(s, chunk);
        Value end = kb.minui(kb.addi(begin, chunk), perChannel);
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
        Value n = arith::UIToFPOp::create(
            kb.b, kb.loc, kb.f32,
            arith::IndexCastUIOp::create(kb.b, kb.loc, kb.b.getI64Type(),
                                         count));
        Value safeN = kb.maxf(n, kb.f(1.0));
        Value shiftedMean = kb.divf(sums[0], safeN);
        Value mean = kb.select(arith::CmpFOp::create(kb.b, kb.loc,
                                                     arith::CmpFPredicate::OGT,
                                                     n, kb.f(0.0)),
                               kb.addf(pivot, shiftedMean), kb.f(0.0));
        Value m2 =
            kb.maxf(kb.subf(sums[1], kb.mulf(sums[0], shiftedMean)), kb.f(0.0));
        SmallVector<Value> total = blockReduce(
            kb, {n, mean, m2}, scratch, chanMerge, {kb.f(0), kb.f(0), kb.f(0)});
        storePartials(kb, total, ws, channels, splits, c, s);
      });
}

// partial_grads[_planar]_<T>_<act>(z, dz, params, ws, C, inner,
//                                   perChannel, P, E, param):
// ws[{0,1}*C*P + c*P + s] = (sum g_y, sum g_y * x_hat).
void LibraryBuilder::buildPartialGrads(Type storage, ActivationKind act,
                                       StringRef suffix, bool planar) {
  int64_t width = planar ? vectorWidth(storage) : 1;
  kernel(((planar ? "partial_grads_planar_" : "partial_grads_") + suffix).str(),
         {buf(storage), buf(storage), buf(f32()), buf(f32()), index(), index(),
          index(), index(), index(), f32()},
         2, [&](KernelBuilder &kb, ValueRange a, ArrayRef<Value> scratch) {
           Value z = a[0], dz = a[1], params = a[2], ws = a[3], channels = a[4],
                 inner = a[5], perChannel = a[6], splits = a[7], chunk = a[8],
                 param = a[9];
           Value block = kb.blockId();
           Value c = kb.divui(block, splits);
           Value s = kb.remui(block, splits);
           Value begin = kb.muli(s, chunk);
           Value end = kb.minui(kb.addi(begin, chunk), perChannel);
           Value inverseGamma = kb.load(params, c);
           Value beta = kb.load(params, kb.addi(channels, c));
           SmallVector<Value> sums =
               kb.loop(kb.addi(begin, kb.muli(kb.threadId(), kb.idx(width))),
                       end, kb.idx(kBlockSize * width), {kb.f(0), kb.f(0)},
                       [&](Value j, ValueRange acc) -> SmallVector<Value> {
                         SmallVector<Value> zs, gs;
                         if (planar) {
                           Value pos = planarElement(kb, j, c, channels, inner);
                           zs = kb.loadLanes(z, pos, width);
                           gs = kb.loadLanes(dz, pos, width);
                         } else {
                           Value pos =
                               channelElement(kb, j, c, channels, inner);
                           zs = {kb.loadf(z, pos)};
                           gs = {kb.loadf(dz, pos)};
                         }
                         Value sg = acc[0], sgx = acc[1];
                         for (int64_t k = 0; k < width; ++k) {
                           auto [gy, xHat] = recover(kb, act, param, gs[k],
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
struct ChannelsLastPlace {
  Value group, lane, split, active, rowBegin, rowEnd, rowStep, partial,
      numPartials;

  /// Whether this thread is lane 0 of an active group: the one that sums
  /// the group's row lanes from shared memory.
  Value isLeader(KernelBuilder &kb) const {
    return arith::AndIOp::create(kb.b, kb.loc, active,
                                 arith::CmpIOp::create(kb.b, kb.loc,
                                                       arith::CmpIPredicate::eq,
                                                       lane, kb.idx(0)));
  }
};

ChannelsLastPlace placeChannelsLast(KernelBuilder &kb, ValueRange a) {
  Value rows = a[1], groups = a[2], groupsPerTile = a[3], lanes = a[4],
        splits = a[6], rowsPerSplit = a[7];
  Value block = kb.blockId();
  Value tile = kb.divui(block, splits);
  Value split = kb.remui(block, splits);
  Value tid = kb.threadId();
  Value lane = kb.divui(tid, groupsPerTile);
  Value group =
      kb.addi(kb.muli(tile, groupsPerTile), kb.remui(tid, groupsPerTile));
  Value active = arith::AndIOp::create(kb.b, kb.loc, kb.ult(lane, lanes),
                                       kb.ult(group, groups));
  Value rowBegin = kb.muli(split, rowsPerSplit);
  Value rowEnd = kb.minui(kb.addi(rowBegin, rowsPerSplit), rows);
  return {group,  lane,  split, active, kb.addi(rowBegin, lane),
          rowEnd, lanes, split, splits};
}

// partial_stats_cl_<T>(x, ws, C, R, G, Gt, L, tiles, splits, rowsPerSplit)
// with the arguments after ws as in placeChannelsLast (C first).
void LibraryBuilder::buildPartialStatsChannelsLast(Type storage,
                                                   StringRef suffix) {
  int64_t width = vectorWidth(storage);
  kernel(
      ("partial_stats_cl_" + suffix).str(),
      {buf(storage), buf(f32()), index(), index(), index(), index(), index(),
       index(), index(), index()},
      0,
      [&](KernelBuilder &kb, ValueRange a, ArrayRef<Value> scratch) {
        Value x = a[0], ws = a[1], channels = a[2], groupsPerTile = a[5];
        Value counts = scratch[0], sum1 = scratch[1], sum2 = scratch[2];
        ChannelsLastPlace p = placeChannelsLast(kb, a.drop_front(2));
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
        gpu::BarrierOp::create(kb.b, kb.loc);
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
              kb.b, kb.loc, arith::CmpFPredicate::OGT, n, kb.f(0.0));
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

// partial_grads_cl_<T>_<act>(z, dz, params, ws, C, R, G, Gt, L, tiles,
//                            splits, rowsPerSplit, param)
void LibraryBuilder::buildPartialGradsChannelsLast(Type storage,
                                                   ActivationKind act,
                                                   StringRef suffix) {
  int64_t width = vectorWidth(storage);
  kernel(("partial_grads_cl_" + suffix).str(),
         {buf(storage), buf(storage), buf(f32()), buf(f32()), index(), index(),
          index(), index(), index(), index(), index(), index(), f32()},
         0,
         [&](KernelBuilder &kb, ValueRange a, ArrayRef<Value> scratch) {
           Value z = a[0], dz = a[1], params = a[2], ws = a[3], channels = a[4],
                 groupsPerTile = a[7], param = a[12];
           Value sumG = scratch[0], sumGX = scratch[1];
           ChannelsLastPlace p =
               placeChannelsLast(kb, a.drop_front(4).take_front(8));
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
                     auto [gy, xHat] = recover(kb, act, param, gs[k], zs[k],
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
           gpu::BarrierOp::create(kb.b, kb.loc);
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

std::string typeSuffix(Type type) {
  if (type.isF16())
    return "f16";
  if (type.isBF16())
    return "bf16";
  if (type.isF64())
    return "f64";
  return "f32";
}

void LibraryBuilder::buildAll(ArrayRef<Type> storageTypes,
                              ArrayRef<ActivationKind> activations) {
  buildFinalizeStats();
  buildPrepareInference();
  buildPrepareGrad();
  buildFinalizeGrads();
  for (Type storage : storageTypes) {
    std::string t = typeSuffix(storage);
    for (bool planar : {false, true})
      buildPartialStats(storage, t, planar);
    buildPartialStatsChannelsLast(storage, t);
    for (ActivationKind act : activations) {
      std::string suffix = t + "_" + stringifyActivationKind(act).str();
      buildApply(storage, act, suffix);
      for (bool channelsLast : {false, true})
        buildApplyVector(storage, act, suffix, channelsLast);
      if (act == ActivationKind::ReLU)
        continue; // not invertible: no fused backward
      for (bool planar : {false, true})
        buildPartialGrads(storage, act, suffix, planar);
      buildPartialGradsChannelsLast(storage, act, suffix);
      buildApplyGrad(storage, act, suffix);
      for (bool channelsLast : {false, true})
        buildApplyGradVector(storage, act, suffix, channelsLast);
    }
  }
}

} // namespace

gpu::GPUModuleOp mlir::iabn::buildKernelLibrary(ModuleOp module,
                                                ArrayRef<Type> storageTypes,
                                                ArrayRef<ActivationKind> acts) {
  OpBuilder b(module.getBodyRegion());
  b.setInsertionPointToEnd(module.getBody());
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  b.getUnitAttr());
  auto gpuModule = gpu::GPUModuleOp::create(b, module.getLoc(), "iabn_kernels");
  LibraryBuilder(gpuModule).buildAll(storageTypes, acts);
  return gpuModule;
}
