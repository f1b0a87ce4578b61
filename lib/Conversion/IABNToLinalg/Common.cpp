//===- Common.cpp - Shared pieces of the IABN to linalg lowering ----------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//

#include "Common.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::iabn;
using namespace mlir::iabn::lowering;

//===----------------------------------------------------------------------===//
// Tensor-level building blocks
//===----------------------------------------------------------------------===//

Layout::Layout(RankedTensorType dataType, int64_t featureDim)
    : dataType(dataType), featureDim(featureDim) {
  computeType = getComputeType(dataType.getElementType());
}

AffineMap Layout::getDataMap(MLIRContext *ctx) const {
  return AffineMap::getMultiDimIdentityMap(getRank(), ctx);
}

AffineMap Layout::getChannelMap(MLIRContext *ctx) const {
  return AffineMap::get(getRank(), 0, getAffineDimExpr(featureDim, ctx));
}

Value lowering::getChannelCount(OpBuilder &b, Location loc, Value data,
                                int64_t featureDim) {
  return tensor::DimOp::create(b, loc, data, featureDim);
}

Value lowering::getSampleCount(OpBuilder &b, Location loc, Value data,
                               const Layout &layout, bool training) {
  int64_t staticCount = 1;
  Value dynamicCount;
  for (int64_t dim = 0; dim < layout.getRank(); ++dim) {
    if (dim == layout.featureDim)
      continue;
    if (!layout.dataType.isDynamicDim(dim)) {
      staticCount *= layout.dataType.getDimSize(dim);
      continue;
    }
    Value size = tensor::DimOp::create(b, loc, data, dim);
    dynamicCount =
        dynamicCount ? arith::MulIOp::create(b, loc, dynamicCount, size) : size;
  }
  Value count = arith::ConstantIndexOp::create(b, loc, staticCount);
  if (dynamicCount) {
    count = arith::MulIOp::create(b, loc, count, dynamicCount);
    if (training) {
      Value enough =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, count,
                                arith::ConstantIndexOp::create(b, loc, 2));
      cf::AssertOp::create(b, loc, enough,
                           "iabn: training-mode batch norm needs more than "
                           "one value per channel");
    }
  }
  Value asInt = arith::IndexCastOp::create(b, loc, b.getI64Type(), count);
  return arith::SIToFPOp::create(b, loc, layout.computeType, asInt);
}

Value lowering::emptyLike(OpBuilder &b, Location loc, Value like) {
  auto type = cast<RankedTensorType>(like.getType());
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, like);
  return tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
}

/// A zero-filled tensor<C x type>.
static Value zerosPerChannel(OpBuilder &b, Location loc, Value data,
                             const Layout &layout) {
  Type type = layout.computeType;
  int64_t channels = layout.dataType.getDimSize(layout.featureDim);
  SmallVector<Value> dynamic;
  if (ShapedType::isDynamic(channels))
    dynamic.push_back(getChannelCount(b, loc, data, layout.featureDim));
  Value empty = tensor::EmptyOp::create(
      b, loc, RankedTensorType::get({channels}, type), dynamic);
  Value zero = constantFloat(b, loc, type, 0.0);
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

SmallVector<Value> lowering::reducePerChannel(OpBuilder &b, Location loc,
                                              const Layout &layout,
                                              ValueRange data,
                                              ValueRange channels,
                                              unsigned numTerms, BodyFn body) {
  MLIRContext *ctx = b.getContext();
  SmallVector<Value> inits;
  for (unsigned i = 0; i < numTerms; ++i)
    inits.push_back(zerosPerChannel(b, loc, data.front(), layout));
  SmallVector<AffineMap> maps(data.size(), layout.getDataMap(ctx));
  maps.append(channels.size() + numTerms, layout.getChannelMap(ctx));
  SmallVector<utils::IteratorType> iterators(layout.getRank(),
                                             utils::IteratorType::reduction);
  iterators[layout.featureDim] = utils::IteratorType::parallel;
  SmallVector<Type> resultTypes;
  for (Value init : inits)
    resultTypes.push_back(init.getType());
  SmallVector<Value> inputs(data);
  llvm::append_range(inputs, channels);
  auto generic = linalg::GenericOp::create(
      b, loc, resultTypes, inputs, inits, maps, iterators,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        ValueRange dataArgs = args.take_front(data.size());
        ValueRange channelArgs =
            args.drop_front(data.size()).take_front(channels.size());
        ValueRange accumulators = args.take_back(numTerms);
        SmallVector<Value> terms =
            body(nb, nloc, dataArgs, channelArgs, accumulators);
        SmallVector<Value> sums;
        for (auto [acc, term] : llvm::zip_equal(accumulators, terms))
          sums.push_back(arith::AddFOp::create(nb, nloc, acc, term));
        linalg::YieldOp::create(nb, nloc, sums);
      });
  return SmallVector<Value>(generic.getResults());
}

Value lowering::mapData(OpBuilder &b, Location loc, const Layout &layout,
                        ValueRange data, ValueRange channels, Value init,
                        BodyFn body) {
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps(data.size(), layout.getDataMap(ctx));
  maps.append(channels.size(), layout.getChannelMap(ctx));
  maps.push_back(layout.getDataMap(ctx));
  SmallVector<utils::IteratorType> iterators(layout.getRank(),
                                             utils::IteratorType::parallel);
  SmallVector<Value> inputs(data);
  llvm::append_range(inputs, channels);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      iterators, [&](OpBuilder &nb, Location nloc, ValueRange args) {
        ValueRange dataArgs = args.take_front(data.size());
        ValueRange channelArgs =
            args.drop_front(data.size()).take_front(channels.size());
        SmallVector<Value> results =
            body(nb, nloc, dataArgs, channelArgs, args.take_back(1));
        linalg::YieldOp::create(nb, nloc, results);
      });
  return generic.getResult(0);
}

SmallVector<Value> lowering::mapChannels(OpBuilder &b, Location loc,
                                         Value shapeLike, ValueRange inputs,
                                         TypeRange resultTypes, BodyFn body) {
  MLIRContext *ctx = b.getContext();
  auto likeType = cast<RankedTensorType>(shapeLike.getType());
  SmallVector<Value> inits;
  SmallVector<Type> types;
  for (Type elementType : resultTypes) {
    SmallVector<Value> dynamic;
    if (likeType.isDynamicDim(0))
      dynamic.push_back(tensor::DimOp::create(b, loc, shapeLike, 0));
    auto type = RankedTensorType::get(likeType.getShape(), elementType);
    inits.push_back(tensor::EmptyOp::create(b, loc, type, dynamic));
    types.push_back(type);
  }
  AffineMap identity = AffineMap::getMultiDimIdentityMap(1, ctx);
  SmallVector<AffineMap> maps(inputs.size() + inits.size(), identity);
  auto generic = linalg::GenericOp::create(
      b, loc, types, inputs, inits, maps, {utils::IteratorType::parallel},
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        SmallVector<Value> results =
            body(nb, nloc, args.take_front(inputs.size()), {}, {});
        linalg::YieldOp::create(nb, nloc, results);
      });
  return SmallVector<Value>(generic.getResults());
}
