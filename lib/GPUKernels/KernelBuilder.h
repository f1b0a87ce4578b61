//===- KernelBuilder.h - Building blocks of the GPU kernels -----*- C++ -*-===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//
//
// The pieces every kernel of the library is built from: KernelBuilder (index
// and f32 arithmetic, loads and stores, loops, vector lanes, on an
// ImplicitLocOpBuilder), block-wide reductions, the addressing of
// [outer][C][inner] data, and LibraryBuilder, which declares each kernel
// from its argument list in the kernel ABI (IABN/Runtime/KernelABI.h). The
// kernels themselves live one concern per file: Statistics.cpp,
// Gradients.cpp, Elementwise.cpp, ChannelsLast.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef IABN_LIB_GPUKERNELS_KERNELBUILDER_H
#define IABN_LIB_GPUKERNELS_KERNELBUILDER_H

#include "IABN/Conversion/IABNCommon/Math.h"
#include "IABN/GPUKernels/KernelLibrary.h"
#include "IABN/Runtime/KernelABI.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir {
namespace iabn {
namespace gpukernels {

namespace abi = ::mlir::iabn::abi;

using abi::kBlockSize;
using abi::kNumWarps;
using abi::kWarpSize;

/// A builder for kernel bodies: index and f32 arithmetic, loads and stores,
/// loops and 16-byte vector lanes, at one location.
class KernelBuilder : public ImplicitLocOpBuilder {
public:
  KernelBuilder(Location loc, const OpBuilder &builder)
      : ImplicitLocOpBuilder(loc, builder), f32(getF32Type()) {}

  FloatType f32;

  Value idx(int64_t v) {
    return arith::ConstantIndexOp::create(*this, getLoc(), v);
  }
  Value f(double v) { return common::constantFloat(*this, getLoc(), f32, v); }
  Value i32(int64_t v) {
    return arith::ConstantIntOp::create(*this, getLoc(), getI32Type(), v);
  }
  Value addi(Value x, Value y) {
    return arith::AddIOp::create(*this, getLoc(), x, y);
  }
  Value subi(Value x, Value y) {
    return arith::SubIOp::create(*this, getLoc(), x, y);
  }
  Value muli(Value x, Value y) {
    return arith::MulIOp::create(*this, getLoc(), x, y);
  }
  Value divui(Value x, Value y) {
    return arith::DivUIOp::create(*this, getLoc(), x, y);
  }
  Value remui(Value x, Value y) {
    return arith::RemUIOp::create(*this, getLoc(), x, y);
  }
  Value minui(Value x, Value y) {
    return arith::MinUIOp::create(*this, getLoc(), x, y);
  }
  Value ult(Value x, Value y) {
    return arith::CmpIOp::create(*this, getLoc(), arith::CmpIPredicate::ult, x,
                                 y);
  }
  Value eqi(Value x, Value y) {
    return arith::CmpIOp::create(*this, getLoc(), arith::CmpIPredicate::eq, x,
                                 y);
  }
  Value andi(Value x, Value y) {
    return arith::AndIOp::create(*this, getLoc(), x, y);
  }
  Value addf(Value x, Value y) {
    return arith::AddFOp::create(*this, getLoc(), x, y);
  }
  Value subf(Value x, Value y) {
    return arith::SubFOp::create(*this, getLoc(), x, y);
  }
  Value mulf(Value x, Value y) {
    return arith::MulFOp::create(*this, getLoc(), x, y);
  }
  Value divf(Value x, Value y) {
    return arith::DivFOp::create(*this, getLoc(), x, y);
  }
  Value maxf(Value x, Value y) {
    return arith::MaximumFOp::create(*this, getLoc(), x, y);
  }
  Value gtf(Value x, Value y) {
    return arith::CmpFOp::create(*this, getLoc(), arith::CmpFPredicate::OGT, x,
                                 y);
  }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(*this, getLoc(), c, x, y);
  }
  /// Whether an i32 flag is non-zero.
  Value ne0(Value i32Flag) {
    return arith::CmpIOp::create(*this, getLoc(), arith::CmpIPredicate::ne,
                                 i32Flag, i32(0));
  }
  /// An index as an f32 (through an unsigned i64).
  Value indexToF32(Value index);

  Value load(Value memref, Value i);
  /// Loads and extends to f32.
  Value loadf(Value memref, Value i);
  void store(Value v, Value memref, Value i);
  /// Truncates to the memref's element type and stores.
  void storef(Value v, Value memref, Value i);

  Value threadId() {
    return gpu::ThreadIdOp::create(*this, getLoc(), gpu::Dimension::x);
  }
  Value blockId() {
    return gpu::BlockIdOp::create(*this, getLoc(), gpu::Dimension::x);
  }
  Value gridDim() {
    return gpu::GridDimOp::create(*this, getLoc(), gpu::Dimension::x);
  }
  /// Whether this is thread 0 of the block.
  Value isThread0() { return eqi(threadId(), idx(0)); }
  /// Global thread index and the grid-wide stride.
  std::pair<Value, Value> globalThread() {
    return {addi(muli(blockId(), idx(kBlockSize)), threadId()),
            muli(gridDim(), idx(kBlockSize))};
  }
  void barrier() { gpu::BarrierOp::create(*this, getLoc()); }

  /// for (i = lb; i < ub; i += step) with loop-carried f32 values.
  SmallVector<Value>
  loop(Value lb, Value ub, Value step, ValueRange init,
       function_ref<SmallVector<Value>(Value, ValueRange)> body);

  /// if (cond) { body }.
  void ifThen(Value cond, function_ref<void()> body);

  /// 32-bit index arithmetic (the vectorized kernels require fewer than
  /// 2^31 elements; 32-bit division is much cheaper than 64-bit).
  Value toI32(Value index);
  Value toIndex(Value i32Value);

  /// A 16-byte aligned vector load of `width` elements at `i`, split into
  /// f32 lanes.
  SmallVector<Value> loadLanes(Value memref, Value i, int64_t width);
  /// Stores f32 `lanes` as one aligned vector of the memref's element type.
  void storeLanes(ArrayRef<Value> lanes, Value memref, Value i);

  Value shuffleXor(Value v, int32_t offset);
};

//===----------------------------------------------------------------------===//
// Reductions and addressing
//===----------------------------------------------------------------------===//

/// A combine function for tree reductions of tuples of f32 values.
using CombineFn =
    function_ref<SmallVector<Value>(KernelBuilder &, ValueRange, ValueRange)>;

/// Reduces `values` over the whole thread block: warp shuffles, then one
/// value per warp through shared memory (`scratch`, one memref<8xf32> per
/// value), then warp 0. The result is valid in thread 0.
SmallVector<Value> blockReduce(KernelBuilder &kb, ValueRange values,
                               ArrayRef<Value> scratch, CombineFn combine,
                               ValueRange identity);

/// Chan's merge of (count, mean, M2) triples.
SmallVector<Value> chanMerge(KernelBuilder &kb, ValueRange a, ValueRange b);
/// Element-wise sums.
SmallVector<Value> sumMerge(KernelBuilder &kb, ValueRange a, ValueRange b);

/// Thread 0 stores the block's partial results: value k of channel c and
/// split s at ws[k*C*P + c*P + s].
void storePartials(KernelBuilder &kb, ArrayRef<Value> values, Value ws,
                   Value channels, Value splits, Value c, Value s);

/// Position of the j-th element of channel c in [outer][C][inner] data.
Value channelElement(KernelBuilder &kb, Value j, Value c, Value channels,
                     Value inner);
/// The same for j a multiple of the vector width, with 32-bit arithmetic.
Value planarElement(KernelBuilder &kb, Value j, Value c, Value channels,
                    Value inner);
/// The channel of the element at `i` (32-bit arithmetic), as an index.
Value channelOf(KernelBuilder &kb, Value i, Value channels, Value inner,
                bool channelsLast);

/// The work of block (c, s) of a per-channel partial reduction over
/// `splits` blocks per channel: channel c, split s and its element range
/// [begin, end) = [s*chunk, min(s*chunk + chunk, perChannel)).
struct BlockSplit {
  Value channel, split, begin, end;
};
BlockSplit splitOfBlock(KernelBuilder &kb, Value splits, Value chunk,
                        Value perChannel);

/// Elements per 16-byte vector of `storage`.
int64_t getVectorWidth(Type storage);

/// Per-channel parameters of channel c: gamma_hat (1 without a scale),
/// beta (0 without an offset) and rsqrt(var + eps).
struct ChannelParams {
  Value gammaHat, beta, rstd;
};
ChannelParams loadChannelParams(KernelBuilder &kb, Value c, Value gamma,
                                Value beta, Value hasGamma, Value hasBeta,
                                Value mode, Value eps, Value var);

//===----------------------------------------------------------------------===//
// The library being built
//===----------------------------------------------------------------------===//

/// The body of kernel family K: the builder, the kernel's arguments (index
/// them by name: args[K::x]) and its shared-memory arrays.
using KernelBodyFn =
    function_ref<void(KernelBuilder &, ValueRange, ArrayRef<Value>)>;

class LibraryBuilder {
public:
  explicit LibraryBuilder(gpu::GPUModuleOp module);

  void buildAll(ArrayRef<Type> storageTypes,
                ArrayRef<ActivationKind> activations);

private:
  /// Declares the kernel of family K for the variant, storage type and
  /// activation given, with K's parameter list, `numScratch` shared
  /// memref<8xf32> arrays plus one of each `extraScratchSizes`, and builds
  /// its body.
  template <typename K>
  void kernel(abi::Variant variant, Type storage, ActivationKind act,
              unsigned numScratch, KernelBodyFn body,
              ArrayRef<int64_t> extraScratchSizes = {}) {
    SmallVector<Type> args;
    for (abi::ArgType type : K::kTypes)
      args.push_back(getArgType(type, storage));
    std::string name = abi::getKernelName<K>(
        variant, *getKernelDType(storage),
        static_cast<abi::Activation>(static_cast<int>(act)));
    buildKernel(name, args, numScratch, body, extraScratchSizes);
  }
  /// The same for kernel families that do not depend on the storage type
  /// and activation.
  template <typename K>
  void kernel(unsigned numScratch, KernelBodyFn body) {
    kernel<K>(abi::Variant::Scalar, b.getF32Type(), ActivationKind::Identity,
              numScratch, body);
  }

  Type getArgType(abi::ArgType type, Type storage);
  void buildKernel(StringRef name, ArrayRef<Type> args, unsigned numScratch,
                   KernelBodyFn body, ArrayRef<int64_t> extraScratchSizes);

  // Statistics.cpp
  void buildPartialStats(Type storage, bool planar);
  void buildFinalizeStats();
  void buildPrepareInference();
  // Gradients.cpp
  void buildPrepareGrad();
  void buildPartialGrads(Type storage, ActivationKind act, bool planar);
  void buildFinalizeGrads();
  // Elementwise.cpp
  void buildApply(Type storage, ActivationKind act);
  void buildApplyVector(Type storage, ActivationKind act, bool channelsLast);
  void buildApplyGrad(Type storage, ActivationKind act);
  void buildApplyGradVector(Type storage, ActivationKind act,
                            bool channelsLast);
  // ChannelsLast.cpp
  void buildPartialStatsChannelsLast(Type storage);
  void buildPartialGradsChannelsLast(Type storage, ActivationKind act);

  gpu::GPUModuleOp module;
  MLIRContext *ctx;
  OpBuilder b;
  Location loc;
};

} // namespace gpukernels
} // namespace iabn
} // namespace mlir

#endif // IABN_LIB_GPUKERNELS_KERNELBUILDER_H
