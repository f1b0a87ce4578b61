//===- KernelBuilder.cpp - Building blocks of the GPU kernels -------------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::iabn;
using namespace mlir::iabn::common;
using namespace mlir::iabn::gpukernels;

//===----------------------------------------------------------------------===//
// KernelBuilder
//===----------------------------------------------------------------------===//

Value KernelBuilder::indexToF32(Value index) {
  return arith::UIToFPOp::create(
      *this, getLoc(), f32,
      arith::IndexCastUIOp::create(*this, getLoc(), getI64Type(), index));
}

Value KernelBuilder::load(Value memref, Value i) {
  return memref::LoadOp::create(*this, getLoc(), memref, i);
}

Value KernelBuilder::loadf(Value memref, Value i) {
  return toCompute(*this, getLoc(), load(memref, i), f32);
}

void KernelBuilder::store(Value v, Value memref, Value i) {
  memref::StoreOp::create(*this, getLoc(), v, memref, i);
}

void KernelBuilder::storef(Value v, Value memref, Value i) {
  Type type = cast<MemRefType>(memref.getType()).getElementType();
  store(toStorage(*this, getLoc(), v, type), memref, i);
}

SmallVector<Value>
KernelBuilder::loop(Value lb, Value ub, Value step, ValueRange init,
                    function_ref<SmallVector<Value>(Value, ValueRange)> body) {
  auto forOp = scf::ForOp::create(
      *this, getLoc(), lb, ub, step, init,
      [&](OpBuilder &nb, Location, Value iv, ValueRange args) {
        OpBuilder::InsertionGuard guard(*this);
        setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
        SmallVector<Value> next = body(iv, args);
        scf::YieldOp::create(*this, getLoc(), next);
      });
  return SmallVector<Value>(forOp.getResults());
}

void KernelBuilder::ifThen(Value cond, function_ref<void()> body) {
  auto ifOp =
      scf::IfOp::create(*this, getLoc(), cond, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(*this);
  setInsertionPointToStart(&ifOp.getThenRegion().front());
  body();
}

Value KernelBuilder::toI32(Value index) {
  return arith::IndexCastUIOp::create(*this, getLoc(), getI32Type(), index);
}

Value KernelBuilder::toIndex(Value i32Value) {
  return arith::IndexCastUIOp::create(*this, getLoc(), getIndexType(),
                                      i32Value);
}

SmallVector<Value> KernelBuilder::loadLanes(Value memref, Value i,
                                            int64_t width) {
  Type element = cast<MemRefType>(memref.getType()).getElementType();
  auto type = VectorType::get({width}, element);
  Value vec = vector::LoadOp::create(*this, getLoc(), type, memref,
                                     ValueRange{i},
                                     /*nontemporal=*/false,
                                     llvm::MaybeAlign(abi::kVectorBytes));
  SmallVector<Value> lanes;
  for (int64_t k = 0; k < width; ++k)
    lanes.push_back(toCompute(
        *this, getLoc(), vector::ExtractOp::create(*this, getLoc(), vec, k),
        f32));
  return lanes;
}

void KernelBuilder::storeLanes(ArrayRef<Value> lanes, Value memref, Value i) {
  Type element = cast<MemRefType>(memref.getType()).getElementType();
  SmallVector<Value> stored;
  for (Value lane : lanes)
    stored.push_back(toStorage(*this, getLoc(), lane, element));
  auto type = VectorType::get({static_cast<int64_t>(lanes.size())}, element);
  Value vec = vector::FromElementsOp::create(*this, getLoc(), type, stored);
  vector::StoreOp::create(*this, getLoc(), vec, memref, ValueRange{i},
                          /*nontemporal=*/false,
                          llvm::MaybeAlign(abi::kVectorBytes));
}

Value KernelBuilder::shuffleXor(Value v, int32_t offset) {
  return gpu::ShuffleOp::create(*this, getLoc(), v, offset, kWarpSize,
                                gpu::ShuffleMode::XOR)
      .getShuffleResult();
}

//===----------------------------------------------------------------------===//
// Reductions and addressing
//===----------------------------------------------------------------------===//

SmallVector<Value> gpukernels::blockReduce(KernelBuilder &kb, ValueRange values,
                                           ArrayRef<Value> scratch,
                                           CombineFn combine,
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
  Value isLeader = kb.eqi(lane, kb.idx(0));
  kb.ifThen(isLeader, [&] {
    for (auto [v, s] : llvm::zip_equal(partial, scratch))
      kb.store(v, s, warp);
  });
  kb.barrier();
  // Every warp reads the per-warp results (lanes >= kNumWarps read the
  // identity) and reduces them again; thread 0 ends up with the total.
  Value hasValue = kb.ult(lane, kb.idx(kNumWarps));
  Value safeLane = kb.minui(lane, kb.idx(kNumWarps - 1));
  SmallVector<Value> perWarp;
  for (auto [s, id] : llvm::zip_equal(scratch, identity))
    perWarp.push_back(kb.select(hasValue, kb.load(s, safeLane), id));
  return warpReduce(perWarp);
}

SmallVector<Value> gpukernels::chanMerge(KernelBuilder &kb, ValueRange a,
                                         ValueRange b) {
  Value n = kb.addf(a[0], b[0]);
  Value delta = kb.subf(b[1], a[1]);
  Value ratio = kb.divf(b[0], kb.maxf(n, kb.f(1.0)));
  Value mean = kb.addf(a[1], kb.mulf(delta, ratio));
  Value m2 = kb.addf(kb.addf(a[2], b[2]),
                     kb.mulf(kb.mulf(delta, delta), kb.mulf(a[0], ratio)));
  return {n, mean, m2};
}

SmallVector<Value> gpukernels::sumMerge(KernelBuilder &kb, ValueRange a,
                                        ValueRange b) {
  SmallVector<Value> result;
  for (auto [x, y] : llvm::zip_equal(a, b))
    result.push_back(kb.addf(x, y));
  return result;
}

void gpukernels::storePartials(KernelBuilder &kb, ArrayRef<Value> values,
                               Value ws, Value channels, Value splits, Value c,
                               Value s) {
  Value stride = kb.muli(channels, splits);
  Value slot = kb.addi(kb.muli(c, splits), s);
  kb.ifThen(kb.isThread0(), [&] {
    for (auto [k, v] : llvm::enumerate(values))
      kb.store(v, ws, kb.addi(kb.muli(kb.idx(k), stride), slot));
  });
}

Value gpukernels::channelElement(KernelBuilder &kb, Value j, Value c,
                                 Value channels, Value inner) {
  Value outer = kb.divui(j, inner);
  Value within = kb.remui(j, inner);
  return kb.addi(kb.muli(kb.addi(kb.muli(outer, channels), c), inner), within);
}

Value gpukernels::planarElement(KernelBuilder &kb, Value j, Value c,
                                Value channels, Value inner) {
  Value j32 = kb.toI32(j), inner32 = kb.toI32(inner);
  Value outer = kb.divui(j32, inner32);
  Value within = kb.remui(j32, inner32);
  Value pos =
      kb.addi(kb.muli(kb.addi(kb.muli(outer, kb.toI32(channels)), kb.toI32(c)),
                      inner32),
              within);
  return kb.toIndex(pos);
}

Value gpukernels::channelOf(KernelBuilder &kb, Value i, Value channels,
                            Value inner, bool channelsLast) {
  Value i32 = kb.toI32(i);
  Value c32 = kb.toI32(channels);
  if (channelsLast)
    return kb.toIndex(kb.remui(i32, c32));
  return kb.toIndex(kb.remui(kb.divui(i32, kb.toI32(inner)), c32));
}

BlockSplit gpukernels::splitOfBlock(KernelBuilder &kb, Value splits,
                                    Value chunk, Value perChannel) {
  Value block = kb.blockId();
  Value c = kb.divui(block, splits);
  Value s = kb.remui(block, splits);
  Value begin = kb.muli(s, chunk);
  Value end = kb.minui(kb.addi(begin, chunk), perChannel);
  return {c, s, begin, end};
}

int64_t gpukernels::getVectorWidth(Type storage) {
  return abi::getVectorWidth(*getKernelDType(storage));
}

ChannelParams gpukernels::loadChannelParams(KernelBuilder &kb, Value c,
                                            Value gamma, Value beta,
                                            Value hasGamma, Value hasBeta,
                                            Value mode, Value eps, Value var) {
  Location loc = kb.getLoc();
  Value g = kb.select(kb.ne0(hasGamma),
                      emitGammaHat(kb, loc, kb.load(gamma, c), mode, eps),
                      kb.f(1.0));
  Value b = kb.select(kb.ne0(hasBeta), kb.load(beta, c), kb.f(0));
  Value rstd = emitRstd(kb, loc, var, eps);
  return {g, b, rstd};
}

//===----------------------------------------------------------------------===//
// LibraryBuilder
//===----------------------------------------------------------------------===//

LibraryBuilder::LibraryBuilder(gpu::GPUModuleOp module)
    : module(module), ctx(module.getContext()), b(module.getBodyRegion()),
      loc(module.getLoc()) {
  b.setInsertionPointToEnd(module.getBody());
}

Type LibraryBuilder::getArgType(abi::ArgType type, Type storage) {
  switch (type) {
  case abi::ArgType::Data:
    return MemRefType::get({ShapedType::kDynamic}, storage);
  case abi::ArgType::F32Buffer:
    return MemRefType::get({ShapedType::kDynamic}, b.getF32Type());
  case abi::ArgType::Index:
    return b.getIndexType();
  case abi::ArgType::I32:
    return b.getI32Type();
  case abi::ArgType::F32:
    return b.getF32Type();
  }
  llvm_unreachable("unknown kernel argument type");
}

void LibraryBuilder::buildKernel(StringRef name, ArrayRef<Type> args,
                                 unsigned numScratch, KernelBodyFn body,
                                 ArrayRef<int64_t> extraScratchSizes) {
  OpBuilder::InsertionGuard guard(b);
  auto workgroup = [&](int64_t size) {
    return MemRefType::get(
        {size}, b.getF32Type(), AffineMap(),
        gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup));
  };
  SmallVector<Type> scratch(numScratch, workgroup(kNumWarps));
  for (int64_t size : extraScratchSizes)
    scratch.push_back(workgroup(size));
  auto func = gpu::GPUFuncOp::create(
      b, loc, name, b.getFunctionType(args, {}), scratch, TypeRange{});
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  func.setKnownBlockSizeAttr(b.getDenseI32ArrayAttr({kBlockSize, 1, 1}));
  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);
  KernelBuilder kb(loc, b);
  SmallVector<Value> scratchValues(func.getWorkgroupAttributions());
  body(kb, func.getArguments(), scratchValues);
  gpu::ReturnOp::create(kb, loc);
}
