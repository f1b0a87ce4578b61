//===- RaiseBatchNorm.cpp - Training batch norm from linalg, by meaning ---===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//
//
// Front-ends (torch-mlir, JAX through IREE) lower a training batch norm to a
// few dozen linalg.generic ops whose shape depends on the front-end, its
// decompositions and any fusion. This pass does not match op sequences. It
// builds, for each candidate tensor, the element-wise expression that
// computes it (through generic bodies, broadcasts, casts, reshapes and
// per-channel sums), and then decides what the candidate *means* by
// evaluating that expression in float64 on random inputs and comparing it
// with the batch-norm formulas:
//
//   * y = (x - mean(x)) * rsqrt(var(x) + eps) * gamma + beta (or without
//     gamma/beta): the forward;
//   * z = phi(y) for identity, relu, leaky_relu(s), elu(a), relu6, silu,
//     gelu, hardswish: the activation;
//   * per-channel values equal to mean(x) or var(x): the statistics that the
//     running-statistics update reads;
//   * dx, dgamma, dbeta equal to the batch-norm backward of some dy, and
//     dy = dz * phi'(y): the backward.
//
// Two independent random draws must both agree to 1e-9 (relative), so a
// candidate that only resembles batch norm is not raised. What is found is
// replaced by iabn ops; the old ops become dead and are erased.
//
//===----------------------------------------------------------------------===//

#include "IABN/Dialect/IABN/IR/IABNOps.h"
#include "IABN/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <functional>
#include <map>
#include <random>
#include <tuple>

namespace mlir {
namespace iabn {
#define GEN_PASS_DEF_RAISEBATCHNORMPASS
#include "IABN/Transforms/Passes.h.inc"
} // namespace iabn
} // namespace mlir

using namespace mlir;
using namespace mlir::iabn;

namespace {

//===----------------------------------------------------------------------===//
// Element-wise expressions
//===----------------------------------------------------------------------===//

/// Where an expression lives: one value per element of the full tensor, one
/// per channel, or one in all.
enum class Space { Full, Channel, Scalar };

enum class Kind {
  Leaf,
  Const,
  Add,
  Sub,
  Mul,
  Div,
  Neg,
  Max,
  Min,
  Select,
  CmpOGT,
  CmpOGE,
  CmpOLT,
  CmpOLE,
  CmpOEQ,
  CmpONE,
  Rsqrt,
  Sqrt,
  Exp,
  Expm1,
  Log1p,
  Erf,
  Tanh,
  Round, ///< to a narrower float: number = 32 (f32), 16 (f16), -16 (bf16)
  Or,    ///< of i1 values
  And, ///< of i1 values
  PowI,
  Sum ///< per-channel sum of a full expression
};

struct Node {
  Kind kind;
  Space space;
  SmallVector<Node *, 3> ops;
  Value leaf;         ///< Leaf: the tensor
  double number = 0;  ///< Const: the value; PowI: the exponent
};

/// Builds hash-consed expressions in the iteration space of one full tensor
/// shape with a given channel dimension.
class ExprBuilder {
public:
  ExprBuilder(ArrayRef<int64_t> shape, unsigned channelDim)
      : shape(shape), channelDim(channelDim) {}

  ArrayRef<int64_t> getShape() const { return shape; }
  unsigned getChannelDim() const { return channelDim; }
  int64_t channels() const { return shape[channelDim]; }
  int64_t samples() const {
    int64_t m = 1;
    for (auto [i, d] : llvm::enumerate(shape))
      if (i != channelDim)
        m *= d;
    return m;
  }

  /// The expression of a tensor with the full shape.
  Node *full(Value v);
  /// The expression of a per-channel tensor whose channel is dimension
  /// `pos` of its own shape (all other dimensions 1).
  Node *channel(Value v, unsigned pos);
  /// The expression of a tensor with one element.
  Node *scalar(Value v);

  /// The SSA tensor a node stands for (full space), if any.
  Value valueOf(Node *n) const { return values.lookup(n); }

  Node *get(Kind kind, Space space, ArrayRef<Node *> ops, Value leaf = {},
            double number = 0);
  Node *constant(double c) { return get(Kind::Const, Space::Scalar, {}, {}, c); }

private:
  Node *translateBody(linalg::GenericOp op, Value scalar,
                      ArrayRef<Node *> args, DenseMap<Value, Node *> &memo);
  Node *fromGeneric(linalg::GenericOp op, unsigned result, bool fullSpace,
                    unsigned pos);

  SmallVector<int64_t> shape;
  unsigned channelDim;
  unsigned depth = 0;
  std::map<std::tuple<int, std::vector<Node *>, void *, double, int>, Node *>
      uniq;
  std::vector<std::unique_ptr<Node>> storage;
  DenseMap<Value, Node *> fullCache;
  DenseMap<std::pair<Value, unsigned>, Node *> channelCache;
  DenseMap<Node *, Value> values;
};

Node *ExprBuilder::get(Kind kind, Space space, ArrayRef<Node *> ops,
                       Value leaf, double number) {
  auto key = std::make_tuple(static_cast<int>(kind),
                             std::vector<Node *>(ops.begin(), ops.end()),
                             leaf.getAsOpaquePointer(), number,
                             static_cast<int>(space));
  auto it = uniq.find(key);
  if (it != uniq.end())
    return it->second;
  auto node = std::make_unique<Node>();
  node->kind = kind;
  node->space = space;
  node->ops.assign(ops.begin(), ops.end());
  node->leaf = leaf;
  node->number = number;
  Node *raw = node.get();
  storage.push_back(std::move(node));
  uniq[key] = raw;
  return raw;
}

static Space join(ArrayRef<Node *> ops) {
  Space s = Space::Scalar;
  for (Node *n : ops) {
    if (n->space == Space::Full)
      return Space::Full;
    if (n->space == Space::Channel)
      s = Space::Channel;
  }
  return s;
}

/// A splat float constant held by `v` (arith.constant, linalg.fill).
static std::optional<double> splatOf(Value v) {
  Attribute attr;
  if (matchPattern(v, m_Constant(&attr))) {
    if (auto f = dyn_cast<FloatAttr>(attr))
      return f.getValueAsDouble();
    if (auto i = dyn_cast<IntegerAttr>(attr))
      return static_cast<double>(i.getInt());
    if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
      if (!dense.isSplat())
        return std::nullopt;
      if (isa<FloatType>(dense.getElementType()))
        return dense.getSplatValue<APFloat>().convertToDouble();
      if (isa<IntegerType>(dense.getElementType()))
        return static_cast<double>(dense.getSplatValue<APInt>().getSExtValue());
    }
    return std::nullopt;
  }
  if (auto fill = v.getDefiningOp<linalg::FillOp>())
    return splatOf(fill.getInputs()[0]);
  return std::nullopt;
}

Node *ExprBuilder::translateBody(linalg::GenericOp op, Value scalar,
                                 ArrayRef<Node *> args,
                                 DenseMap<Value, Node *> &memo) {
  if (Node *n = memo.lookup(scalar))
    return n;
  Block *body = op.getBody();
  Node *result = nullptr;
  if (auto arg = dyn_cast<BlockArgument>(scalar)) {
    if (arg.getOwner() == body && arg.getArgNumber() < args.size())
      result = args[arg.getArgNumber()];
  } else if (std::optional<double> c = splatOf(scalar)) {
    result = constant(*c);
  } else if (Operation *def = scalar.getDefiningOp();
             def && def->getBlock() == body) {
    SmallVector<Node *> ops;
    for (Value operand : def->getOperands()) {
      Node *n = translateBody(op, operand, args, memo);
      if (!n)
        return nullptr;
      ops.push_back(n);
    }
    auto make = [&](Kind kind) { return get(kind, join(ops), ops); };
    result =
        llvm::TypeSwitch<Operation *, Node *>(def)
            .Case([&](arith::AddFOp) { return make(Kind::Add); })
            .Case([&](arith::SubFOp) { return make(Kind::Sub); })
            .Case([&](arith::MulFOp) { return make(Kind::Mul); })
            .Case([&](arith::DivFOp) { return make(Kind::Div); })
            .Case([&](arith::NegFOp) { return make(Kind::Neg); })
            .Case<arith::MaximumFOp, arith::MaxNumFOp>(
                [&](auto) { return make(Kind::Max); })
            .Case<arith::MinimumFOp, arith::MinNumFOp>(
                [&](auto) { return make(Kind::Min); })
            .Case([&](arith::SelectOp) { return make(Kind::Select); })
            .Case([&](arith::CmpFOp cmp) -> Node * {
              switch (cmp.getPredicate()) {
              case arith::CmpFPredicate::OGT:
              case arith::CmpFPredicate::UGT:
                return make(Kind::CmpOGT);
              case arith::CmpFPredicate::OGE:
              case arith::CmpFPredicate::UGE:
                return make(Kind::CmpOGE);
              case arith::CmpFPredicate::OLT:
              case arith::CmpFPredicate::ULT:
                return make(Kind::CmpOLT);
              case arith::CmpFPredicate::OLE:
              case arith::CmpFPredicate::ULE:
                return make(Kind::CmpOLE);
              case arith::CmpFPredicate::OEQ:
              case arith::CmpFPredicate::UEQ:
                return make(Kind::CmpOEQ);
              case arith::CmpFPredicate::ONE:
              case arith::CmpFPredicate::UNE:
                return make(Kind::CmpONE);
              default:
                return nullptr;
              }
            })
            .Case<arith::ExtFOp, arith::UIToFPOp>(
                [&](auto) { return ops[0]; })
            .Case([&](arith::SIToFPOp op) -> Node * {
              // A signed i1 converts true to -1.
              if (op.getIn().getType().isInteger(1))
                return make(Kind::Neg);
              return ops[0];
            })
            .Case([&](arith::TruncFOp op) -> Node * {
              Type to = op.getType();
              double bits = to.isF32() ? 32 : to.isF16() ? 16
                            : to.isBF16()  ? -16
                                           : 0;
              if (bits == 0)
                return nullptr;
              return get(Kind::Round, ops[0]->space, {ops[0]}, {}, bits);
            })
            .Case([&](math::RsqrtOp) { return make(Kind::Rsqrt); })
            .Case([&](math::SqrtOp) { return make(Kind::Sqrt); })
            .Case([&](math::ExpOp) { return make(Kind::Exp); })
            .Case([&](math::ExpM1Op) { return make(Kind::Expm1); })
            .Case([&](math::Log1pOp) { return make(Kind::Log1p); })
            .Case([&](math::ErfOp) { return make(Kind::Erf); })
            .Case([&](math::TanhOp) { return make(Kind::Tanh); })
            .Case([&](arith::OrIOp op) -> Node * {
              return op.getType().isInteger(1) ? make(Kind::Or) : nullptr;
            })
            .Case([&](arith::AndIOp op) -> Node * {
              return op.getType().isInteger(1) ? make(Kind::And) : nullptr;
            })
            .Case([&](math::FPowIOp pow) -> Node * {
              if (ops[1]->kind != Kind::Const)
                return nullptr;
              return get(Kind::PowI, ops[0]->space, {ops[0]}, {},
                         ops[1]->number);
            })
            .Default([](Operation *) { return nullptr; });
  }
  memo[scalar] = result;
  return result;
}

/// The position of `dim` among the results of `map` when every other result
/// is the constant 0, or -1.
static int onlyDimAt(AffineMap map, unsigned dim) {
  int pos = -1;
  for (auto [i, expr] : llvm::enumerate(map.getResults())) {
    if (auto d = dyn_cast<AffineDimExpr>(expr)) {
      if (d.getPosition() != dim || pos != -1)
        return -1;
      pos = i;
      continue;
    }
    auto c = dyn_cast<AffineConstantExpr>(expr);
    if (!c || c.getValue() != 0)
      return -1;
  }
  return pos;
}

static bool noDims(AffineMap map) {
  return llvm::all_of(map.getResults(), [](AffineExpr e) {
    auto c = dyn_cast<AffineConstantExpr>(e);
    return c && c.getValue() == 0;
  });
}

/// Translates result `result` of an element-wise or reducing generic. In the
/// full space the generic iterates over the full shape; in the channel space
/// over a per-channel shape whose channel is loop dimension `pos`.
Node *ExprBuilder::fromGeneric(linalg::GenericOp op, unsigned result,
                               bool fullSpace, unsigned pos) {
  if (op.getNumDpsInits() != op->getNumResults())
    return nullptr;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  AffineMap outMap = maps[op.getNumDpsInputs() + result];
  bool allParallel = op.getNumReductionLoops() == 0;
  Value yielded = op.getBody()->getTerminator()->getOperand(result);
  unsigned chan = fullSpace ? channelDim : pos;

  if (allParallel && outMap.isIdentity()) {
    // Element-wise: every input is full (identity), per-channel (only the
    // channel loop), or a scalar.
    SmallVector<Node *> args;
    for (OpOperand *in : op.getDpsInputOperands()) {
      AffineMap map = maps[in->getOperandNumber()];
      Node *n = nullptr;
      if (map.isIdentity())
        n = fullSpace ? full(in->get()) : channel(in->get(), pos);
      else if (noDims(map))
        n = scalar(in->get());
      else if (int at = onlyDimAt(map, chan); at >= 0)
        n = channel(in->get(), at);
      if (!n)
        return nullptr;
      args.push_back(n);
    }
    // The output block arguments may only be unused.
    for (BlockArgument arg :
         op.getBody()->getArguments().drop_front(op.getNumDpsInputs()))
      if (!arg.use_empty())
        return nullptr;
    DenseMap<Value, Node *> memo;
    return translateBody(op, yielded, args, memo);
  }

  // A per-channel sum over every other dimension of one full input: one
  // parallel loop, which indexes the input's channel dimension (the input
  // map may permute the loops, as JAX's reductions do).
  if (fullSpace || op.getNumDpsInputs() != 1)
    return nullptr;
  OpOperand *in = op.getDpsInputOperand(0);
  AffineMap inMap = maps[in->getOperandNumber()];
  auto inType = cast<ShapedType>(in->get().getType());
  auto iterators = op.getIteratorTypesArray();
  if (!inMap.isPermutation() ||
      llvm::count(iterators, utils::IteratorType::parallel) != 1)
    return nullptr;
  unsigned channelLoop = 0;
  while (iterators[channelLoop] != utils::IteratorType::parallel)
    ++channelLoop;
  if (onlyDimAt(outMap, channelLoop) != static_cast<int>(pos))
    return nullptr;
  // The tensor dimension the channel loop reads.
  unsigned inChannel = 0;
  for (auto [i, e] : llvm::enumerate(inMap.getResults()))
    if (cast<AffineDimExpr>(e).getPosition() == channelLoop)
      inChannel = i;
  bool perChannelInput = inType.hasStaticShape() &&
                         inType.getNumElements() == channels() &&
                         inType.getDimSize(inChannel) == channels();
  if (!perChannelInput &&
      (inType.getShape() != ArrayRef(shape) || inChannel != channelDim))
    return nullptr;
  auto add = yielded.getDefiningOp<arith::AddFOp>();
  if (!add || add->getBlock() != op.getBody())
    return nullptr;
  BlockArgument inArg = op.getBody()->getArgument(0);
  BlockArgument outArg = op.getBody()->getArgument(1);
  Value lhs = add.getLhs(), rhs = add.getRhs();
  Value element;
  if (lhs == outArg)
    element = rhs;
  else if (rhs == outArg)
    element = lhs;
  else
    return nullptr;
  // The summed element: the input, possibly cast.
  bool plain = element == inArg;
  if (Operation *def = element.getDefiningOp();
      def && isa<arith::ExtFOp, arith::TruncFOp>(def) &&
      def->getOperand(0) == inArg)
    plain = true;
  if (!plain)
    return nullptr;
  Node *sum;
  if (perChannelInput) {
    // A sum over unit dimensions only: the input itself.
    sum = channel(in->get(), inChannel);
  } else {
    Node *summand = full(in->get());
    sum = get(Kind::Sum, Space::Channel, {summand});
  }
  if (!sum)
    return nullptr;
  Value init = op.getDpsInitOperand(0)->get();
  std::optional<double> initConst = splatOf(init);
  if (initConst && *initConst == 0.0)
    return sum;
  Node *initNode = channel(init, pos);
  return initNode ? get(Kind::Add, Space::Channel, {sum, initNode}) : nullptr;
}

/// Expressions deeper than this are cut (the rest is an opaque input), so
/// that a long chain of ops cannot exhaust the stack.
constexpr unsigned kMaxDepth = 512;

Node *ExprBuilder::full(Value v) {
  if (Node *n = fullCache.lookup(v))
    return n;
  if (depth >= kMaxDepth)
    return get(Kind::Leaf, Space::Full, {}, v);
  ++depth;
  llvm::scope_exit restore([&] { --depth; });
  auto type = dyn_cast<RankedTensorType>(v.getType());
  Node *result = nullptr;
  if (type && type.getShape() == ArrayRef(shape)) {
    if (std::optional<double> c = splatOf(v)) {
      result = constant(*c);
    } else if (auto generic = v.getDefiningOp<linalg::GenericOp>()) {
      result = fromGeneric(generic, cast<OpResult>(v).getResultNumber(),
                           /*fullSpace=*/true, 0);
    } else if (auto cast = v.getDefiningOp<tensor::CastOp>()) {
      result = full(cast.getSource());
    }
  }
  if (!result)
    result = get(Kind::Leaf, Space::Full, {}, v);
  fullCache[v] = result;
  if (!values.count(result))
    values[result] = v;
  return result;
}

/// The position of the only non-unit dimension of a per-channel shape (the
/// first dimension when every one is 1), or -1.
static int channelPosition(ShapedType type, int64_t channels) {
  int pos = -1;
  for (auto [i, d] : llvm::enumerate(type.getShape())) {
    if (d == 1 && channels != 1)
      continue;
    if (d != channels || pos != -1)
      return channels == 1 ? (pos == -1 ? 0 : pos) : -1;
    pos = i;
  }
  return pos;
}

Node *ExprBuilder::channel(Value v, unsigned pos) {
  auto key = std::make_pair(v, pos);
  if (Node *n = channelCache.lookup(key))
    return n;
  if (depth >= kMaxDepth)
    return get(Kind::Leaf, Space::Channel, {}, v);
  ++depth;
  llvm::scope_exit restore([&] { --depth; });
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || !type.hasStaticShape() || pos >= type.getRank() ||
      type.getDimSize(pos) != channels() ||
      type.getNumElements() != channels())
    return nullptr;
  Node *result = nullptr;
  if (std::optional<double> c = splatOf(v)) {
    result = constant(*c);
  } else if (auto generic = v.getDefiningOp<linalg::GenericOp>()) {
    result = fromGeneric(generic, cast<OpResult>(v).getResultNumber(),
                         /*fullSpace=*/false, pos);
  } else if (Operation *def = v.getDefiningOp();
             def && isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp,
                        tensor::CastOp>(def)) {
    Value source = def->getOperand(0);
    int at = channelPosition(cast<ShapedType>(source.getType()), channels());
    if (at >= 0)
      result = channel(source, at);
  }
  if (!result)
    result = get(Kind::Leaf, Space::Channel, {}, v);
  channelCache[key] = result;
  return result;
}

Node *ExprBuilder::scalar(Value v) {
  if (std::optional<double> c = splatOf(v))
    return constant(*c);
  return get(Kind::Leaf, Space::Scalar, {}, v);
}

//===----------------------------------------------------------------------===//
// Evaluation on random inputs
//===----------------------------------------------------------------------===//

/// Values of a node over two channels: Full: 2 * m values (channel-major),
/// Channel: 2, Scalar: 1.
using Values = std::vector<double>;

/// Full tensors are evaluated on `reps` representative elements per channel,
/// each standing for `weight` elements of the real tensor (its m samples per
/// channel), so a per-channel sum is `weight` times the sum over the
/// representatives and means are plain averages: the graph's own 1/m
/// constants then agree with the formulas whatever m is, at a cost that does
/// not grow with the tensor.
constexpr int64_t kRepresentatives = 64;

/// How far (in ops, following uses) from a batch norm's input its
/// statistics and backward are looked for.
constexpr int kNeighbourhood = 256;

class Evaluator {
public:
  Evaluator(int64_t reps, double weight) : m(reps), weight(weight) {}

  /// Fixes a node's value (leaves, or an inner node standing for an input).
  void set(Node *n, Values v) { memo[n] = std::move(v); }
  /// The node's values, or std::nullopt if it depends on an unset leaf.
  std::optional<Values> eval(Node *n);

  int64_t size(Space s) const {
    return s == Space::Full ? 2 * m : s == Space::Channel ? 2 : 1;
  }

private:
  double at(const Values &v, Space s, int64_t i) const {
    if (s == Space::Full)
      return v[i];
    if (s == Space::Channel)
      return v[i / m];
    return v[0];
  }
  int64_t m;
  double weight;
  std::map<Node *, Values> memo;
};

std::optional<Values> Evaluator::eval(Node *n) {
  auto it = memo.find(n);
  if (it != memo.end())
    return it->second;
  if (n->kind == Kind::Leaf)
    return std::nullopt;
  if (n->kind == Kind::Const)
    return Values{n->number};
  SmallVector<Values> args;
  for (Node *op : n->ops) {
    std::optional<Values> v = eval(op);
    if (!v)
      return std::nullopt;
    args.push_back(std::move(*v));
  }
  Values out;
  if (n->kind == Kind::Sum) {
    out.assign(2, 0.0);
    for (int64_t i = 0; i < 2 * m; ++i)
      out[i / m] += weight * at(args[0], n->ops[0]->space, i);
    memo[n] = out;
    return out;
  }
  // Element-wise: iterate over the result space; a per-channel operand in
  // a full result is read at i / m.
  int64_t count = size(n->space);
  out.resize(count);
  auto arg = [&](unsigned k, int64_t i) {
    Space s = n->ops[k]->space;
    if (n->space == Space::Channel && s == Space::Channel)
      return args[k][i];
    return at(args[k], s, i);
  };
  for (int64_t i = 0; i < count; ++i) {
    double a = arg(0, i);
    double b = n->ops.size() > 1 ? arg(1, i) : 0.0;
    double r = 0;
    switch (n->kind) {
    case Kind::Add:
      r = a + b;
      break;
    case Kind::Sub:
      r = a - b;
      break;
    case Kind::Mul:
      r = a * b;
      break;
    case Kind::Div:
      r = a / b;
      break;
    case Kind::Neg:
      r = -a;
      break;
    case Kind::Max:
      r = std::isnan(a) || std::isnan(b) ? NAN : std::max(a, b);
      break;
    case Kind::Min:
      r = std::isnan(a) || std::isnan(b) ? NAN : std::min(a, b);
      break;
    case Kind::Select:
      r = a != 0.0 ? b : arg(2, i);
      break;
    case Kind::CmpOGT:
      r = a > b;
      break;
    case Kind::CmpOGE:
      r = a >= b;
      break;
    case Kind::CmpOLT:
      r = a < b;
      break;
    case Kind::CmpOLE:
      r = a <= b;
      break;
    case Kind::CmpOEQ:
      r = a == b;
      break;
    case Kind::CmpONE:
      r = a != b;
      break;
    case Kind::Rsqrt:
      r = 1.0 / std::sqrt(a);
      break;
    case Kind::Sqrt:
      r = std::sqrt(a);
      break;
    case Kind::Exp:
      r = std::exp(a);
      break;
    case Kind::Expm1:
      r = std::expm1(a);
      break;
    case Kind::Log1p:
      r = std::log1p(a);
      break;
    case Kind::Erf:
      r = std::erf(a);
      break;
    case Kind::Tanh:
      r = std::tanh(a);
      break;
    case Kind::Round: {
      if (n->number == 32) {
        r = static_cast<double>(static_cast<float>(a));
        break;
      }
      APFloat v(a);
      bool lost;
      v.convert(n->number == 16 ? APFloat::IEEEhalf() : APFloat::BFloat(),
                APFloat::rmNearestTiesToEven, &lost);
      r = v.convertToDouble();
      break;
    }
    case Kind::Or:
      r = a != 0.0 || b != 0.0;
      break;
    case Kind::And:
      r = a != 0.0 && b != 0.0;
      break;
    case Kind::PowI:
      r = std::pow(a, n->number);
      break;
    default:
      return std::nullopt;
    }
    out[i] = r;
  }
  memo[n] = out;
  return out;
}

/// Relative agreement of two arrays of the same size.
static bool close(const Values &a, const Values &b, double tol = 1e-9) {
  if (a.size() != b.size())
    return false;
  double scale = 1.0, worst = 0.0;
  for (double v : b)
    scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < a.size(); ++i) {
    double d = std::abs(a[i] - b[i]);
    if (!(d == d))
      return false;
    worst = std::max(worst, d);
  }
  return worst <= tol * scale;
}

/// Agreement of every element on its own scale, |a - b| <= tol * max(1,
/// |b|): for activations, whose inputs span orders of magnitude in a draw.
static bool closeEach(const Values &a, const Values &b, double tol) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i) {
    double d = std::abs(a[i] - b[i]);
    if (!(d <= tol * std::max(1.0, std::abs(b[i]))))
      return false;
  }
  return true;
}

/// Collects the nodes of an expression (each once) into `out`, not looking
/// inside `cut` (an input whose value is given).
static void collect(Node *n, llvm::SetVector<Node *> &out,
                    Node *cut = nullptr) {
  if (!out.insert(n) || n == cut)
    return;
  for (Node *op : n->ops)
    collect(op, out, cut);
}

/// The agreement asked of an expression's values with a formula: 1e-9
/// (float64 evaluation of exact steps), 1e-6 when it rounds to f32 (a
/// variance accumulated in f64 then truncated), or 0 when it rounds to a
/// half-precision type: then nothing is raised (the rounding would hide
/// differences that matter).
static double toleranceOf(Node *root, Node *cut = nullptr) {
  llvm::SetVector<Node *> nodes;
  collect(root, nodes, cut);
  double tol = 1e-9;
  for (Node *n : nodes) {
    if (n->kind != Kind::Round)
      continue;
    if (n->number != 32)
      return 0.0;
    tol = 1e-6;
  }
  return tol;
}

/// Whether an expression contains a per-channel sum.
static bool hasSum(Node *n, DenseMap<Node *, bool> &memo) {
  auto it = memo.find(n);
  if (it != memo.end())
    return it->second;
  bool result = n->kind == Kind::Sum;
  for (Node *op : n->ops)
    result = result || hasSum(op, memo);
  memo[n] = result;
  return result;
}

//===----------------------------------------------------------------------===//
// The batch-norm formulas, in float64 over two channels
//===----------------------------------------------------------------------===//

struct Stats {
  Values mean, var; // per channel
};

static Stats statsOf(const Values &x, int64_t m) {
  Stats s{{0, 0}, {0, 0}};
  for (int64_t i = 0; i < 2 * m; ++i)
    s.mean[i / m] += x[i] / m;
  for (int64_t i = 0; i < 2 * m; ++i) {
    double d = x[i] - s.mean[i / m];
    s.var[i / m] += d * d / m;
  }
  return s;
}

/// x_hat of x under stats and eps.
static Values xHatOf(const Values &x, const Stats &s, double eps, int64_t m) {
  Values out(x.size());
  for (size_t i = 0; i < x.size(); ++i)
    out[i] = (x[i] - s.mean[i / m]) / std::sqrt(s.var[i / m] + eps);
  return out;
}

// The activations and their derivatives in float64: the reference the
// graph's expressions are compared with (PyTorch's formulas and its
// derivatives at the kinks; docs/numerics.md). The IR the compiler emits
// for them is in IABNCommon/Math.cpp.
static double activate(ActivationKind kind, double p, double y) {
  switch (kind) {
  case ActivationKind::Identity:
    return y;
  case ActivationKind::ReLU:
    return y > 0 ? y : 0.0;
  case ActivationKind::LeakyReLU:
    return y >= 0 ? y : p * y;
  case ActivationKind::ELU:
    return y >= 0 ? y : p * std::expm1(y);
  case ActivationKind::ReLU6:
    return std::min(std::max(y, 0.0), 6.0);
  case ActivationKind::SiLU:
    return y / (1.0 + std::exp(-y));
  case ActivationKind::GELU:
    return 0.5 * y * (1.0 + std::erf(y * M_SQRT1_2));
  case ActivationKind::Hardswish:
    return y * std::min(std::max(y + 3.0, 0.0), 6.0) / 6.0;
  }
  return NAN;
}

static double derivative(ActivationKind kind, double p, double y) {
  switch (kind) {
  case ActivationKind::Identity:
    return 1.0;
  case ActivationKind::ReLU:
    return y > 0 ? 1.0 : 0.0;
  case ActivationKind::LeakyReLU:
    return y > 0 ? 1.0 : p;
  case ActivationKind::ELU:
    return y > 0 ? 1.0 : p * std::exp(y);
  case ActivationKind::ReLU6:
    return y > 0 && y < 6 ? 1.0 : 0.0;
  case ActivationKind::SiLU: {
    double s = 1.0 / (1.0 + std::exp(-y));
    return s * (1.0 + y * (1.0 - s));
  }
  case ActivationKind::GELU:
    return 0.5 * (1.0 + std::erf(y * M_SQRT1_2)) +
           y * std::exp(-0.5 * y * y) * 0.5 * M_2_SQRTPI * M_SQRT1_2;
  case ActivationKind::Hardswish:
    return y < -3 ? 0.0 : y <= 3 ? y / 3.0 + 0.5 : 1.0;
  }
  return NAN;
}

//===----------------------------------------------------------------------===//
// Finding one batch norm
//===----------------------------------------------------------------------===//

struct Forward {
  Value x, y, gamma, beta; // gamma/beta may be null
  Node *xNode = nullptr, *yNode = nullptr, *gammaNode = nullptr,
       *betaNode = nullptr;
  double eps = 0;
};

class Raiser {
public:
  Raiser(func::FuncOp func) : func(func) {}
  void run();

private:
  /// Tries every generic result as the output y of a batch norm.
  bool tryForward(Value y);
  std::optional<Forward> matchForward(ExprBuilder &b, Value y);
  void reportMissed();
  std::optional<Forward> matchForwardWith(ExprBuilder &b, Value y,
                                          Node *root, Node *xNode);
  Values random(Space s, int64_t m, int salt, double mean = 0.0,
                double stddev = 1.0);
  Values wide(Space s, int64_t m);

  func::FuncOp func;
  /// Expression builders of this round, by full shape and channel dimension
  /// (the IR changes after every raise: they are dropped then).
  std::map<std::pair<std::vector<int64_t>, unsigned>,
           std::unique_ptr<ExprBuilder>>
      builders;
  std::mt19937_64 rng{2026};
  DenseSet<Value> raised;
};

Values Raiser::random(Space s, int64_t m, int salt, double mean,
                      double stddev) {
  std::normal_distribution<double> normal(mean, stddev);
  int64_t count = s == Space::Full ? 2 * m : s == Space::Channel ? 2 : 1;
  Values v(count);
  for (double &e : v)
    e = normal(rng);
  (void)salt;
  return v;
}

/// Values over many orders of magnitude (1e-3 to 1e6, either sign): a draw
/// that tells a function from one that only agrees with it near zero (relu
/// from a clamp at 14).
Values Raiser::wide(Space s, int64_t m) {
  std::uniform_real_distribution<double> exponent(-3.0, 6.0);
  std::bernoulli_distribution negative(0.5);
  int64_t count = s == Space::Full ? 2 * m : s == Space::Channel ? 2 : 1;
  Values v(count);
  for (double &e : v)
    e = (negative(rng) ? -1.0 : 1.0) * std::pow(10.0, exponent(rng));
  return v;
}

std::optional<Forward> Raiser::matchForward(ExprBuilder &b, Value y) {
  Node *root = b.full(y);
  if (b.samples() < 2)
    return std::nullopt;
  // The input x: a tensor in y's expression computed without statistics
  // (the largest such, e.g. a convolution's output plus its bias).
  llvm::SetVector<Node *> all;
  collect(root, all);
  DenseMap<Node *, bool> sums;
  if (!hasSum(root, sums))
    return std::nullopt;
  SmallVector<Node *> inputs;
  for (Node *n : all)
    if (n->space == Space::Full && b.valueOf(n) && !hasSum(n, sums))
      inputs.push_back(n);
  DenseMap<Node *, size_t> sizes;
  for (Node *n : inputs) {
    llvm::SetVector<Node *> sub;
    collect(n, sub);
    sizes[n] = sub.size();
  }
  DenseMap<Node *, size_t> order;
  for (auto [i, n] : llvm::enumerate(all))
    order[n] = i;
  llvm::sort(inputs, [&](Node *a, Node *c) {
    return sizes[a] != sizes[c] ? sizes[a] > sizes[c] : order[a] < order[c];
  });
  for (Node *xNode : inputs) {
    std::optional<Forward> f = matchForwardWith(b, y, root, xNode);
    if (f)
      return f;
  }
  return std::nullopt;
}

std::optional<Forward> Raiser::matchForwardWith(ExprBuilder &b, Value y,
                                                Node *root, Node *xNode) {
  int64_t m = std::min(b.samples(), kRepresentatives);
  double w = static_cast<double>(b.samples()) / m;
  double tol = toleranceOf(root);
  if (root->space != Space::Full || tol == 0.0)
    return std::nullopt;
  llvm::SetVector<Node *> nodes;
  collect(root, nodes, xNode);
  SmallVector<Node *> fullLeaves{xNode}, channelLeaves;
  SmallVector<double> constants;
  for (Node *n : nodes) {
    if (n == xNode)
      continue;
    if (n->kind == Kind::Leaf && n->space == Space::Full)
      return std::nullopt; // another full input
    if (n->kind == Kind::Leaf && n->space == Space::Channel)
      channelLeaves.push_back(n);
    else if (n->kind == Kind::Leaf)
      return std::nullopt; // an unknown scalar
    else if (n->kind == Kind::Const)
      constants.push_back(n->number);
  }
  if (channelLeaves.size() > 2)
    return std::nullopt;

  // Roles of the channel leaves: (gamma, beta), either may be absent.
  SmallVector<std::pair<Node *, Node *>> roles;
  if (channelLeaves.empty())
    roles.push_back({nullptr, nullptr});
  if (channelLeaves.size() == 1) {
    roles.push_back({channelLeaves[0], nullptr});
    roles.push_back({nullptr, channelLeaves[0]});
  }
  if (channelLeaves.size() == 2) {
    roles.push_back({channelLeaves[0], channelLeaves[1]});
    roles.push_back({channelLeaves[1], channelLeaves[0]});
  }

  for (auto [gammaNode, betaNode] : roles) {
    std::optional<double> eps;
    bool ok = true;
    for (int trial = 0; trial < 3 && ok; ++trial) {
      Evaluator ev(m, w);
      Values x = random(Space::Full, m, trial, 0.3, 1.5);
      if (trial == 2 && eps) {
        // A variance of the order of eps: eps outside the square root, or
        // added to the standard deviation, shows here.
        double scale = std::sqrt(std::max(*eps, 1e-30));
        for (double &e : x)
          e *= scale;
      }
      Values gamma{1.0, 1.0}, beta{0.0, 0.0};
      std::uniform_real_distribution<double> unit(0.5, 1.5);
      if (gammaNode)
        gamma = {unit(rng), -unit(rng)};
      if (betaNode)
        beta = random(Space::Channel, m, trial, 0.0, 0.5);
      if (trial == 1) {
        // Outliers in x, and gamma and beta over orders of magnitude: a
        // clamp of the output, or any function that agrees with batch norm
        // only near zero, shows here.
        for (int64_t i = 0; i < 2 * m; i += 8)
          x[i] *= 1e3;
        Values big = wide(Space::Channel, m);
        if (gammaNode)
          gamma = big;
        if (betaNode)
          beta = wide(Space::Channel, m);
      }
      ev.set(fullLeaves[0], x);
      if (gammaNode)
        ev.set(gammaNode, gamma);
      if (betaNode)
        ev.set(betaNode, beta);
      std::optional<Values> got = ev.eval(root);
      if (!got) {
        ok = false;
        break;
      }
      Stats s = statsOf(x, m);
      if (!eps) {
        // Solve for eps from the element farthest from its mean, then take
        // the graph's constant closest to it.
        int64_t best = 0;
        double far = -1;
        for (int64_t i = 0; i < 2 * m; ++i)
          if (std::abs(x[i] - s.mean[i / m]) > far) {
            far = std::abs(x[i] - s.mean[i / m]);
            best = i;
          }
        int64_t c = best / m;
        double rstd = ((*got)[best] - beta[c]) /
                      ((x[best] - s.mean[c]) * gamma[c]);
        double estimate = 1.0 / (rstd * rstd) - s.var[c];
        for (double k : constants)
          if (k >= 0 && std::abs(k - estimate) <= 1e-6 * s.var[c] &&
              (!eps || std::abs(k - estimate) < std::abs(*eps - estimate)))
            eps = k;
        if (!eps && std::abs(estimate) <= 1e-9 * s.var[c])
          eps = 0.0;
        if (!eps) {
          ok = false;
          break;
        }
      }
      Values want = xHatOf(x, s, *eps, m);
      for (int64_t i = 0; i < 2 * m; ++i)
        want[i] = want[i] * gamma[i / m] + beta[i / m];
      ok = close(*got, want, tol);
    }
    if (!ok || !eps)
      continue;
    Forward f;
    f.y = y;
    f.yNode = root;
    f.xNode = xNode;
    f.x = b.valueOf(xNode);
    f.gammaNode = gammaNode;
    f.betaNode = betaNode;
    f.gamma = gammaNode ? gammaNode->leaf : Value();
    f.beta = betaNode ? betaNode->leaf : Value();
    f.eps = *eps;
    return f;
  }
  return std::nullopt;
}

/// A per-channel tensor of type `type` holding `value` (a tensor<C>):
/// reshaped to a [1, C, 1, ...] form when needed.
static Value reshapeChannel(OpBuilder &b, Location loc, Value value,
                            RankedTensorType type) {
  if (value.getType() == type)
    return value;
  if (type.getRank() == 1)
    return {};
  SmallVector<ReassociationIndices> groups(1);
  for (int64_t i = 0; i < type.getRank(); ++i)
    groups[0].push_back(i);
  return tensor::ExpandShapeOp::create(b, loc, type, value, groups);
}

/// `value` with its elements converted to `element` (extf or truncf in a
/// linalg.generic), or `value` itself when they already are.
static Value castElements(OpBuilder &b, Location loc, Value value,
                          Type element) {
  auto type = cast<RankedTensorType>(value.getType());
  Type from = type.getElementType();
  if (from == element)
    return value;
  auto to = RankedTensorType::get(type.getShape(), element);
  Value init = tensor::EmptyOp::create(b, loc, type.getShape(), element);
  AffineMap id = b.getMultiDimIdentityMap(type.getRank());
  SmallVector<utils::IteratorType> iterators(type.getRank(),
                                             utils::IteratorType::parallel);
  bool widen = from.getIntOrFloatBitWidth() < element.getIntOrFloatBitWidth();
  auto op = linalg::GenericOp::create(
      b, loc, TypeRange{to}, ValueRange{value}, ValueRange{init},
      ArrayRef<AffineMap>{id, id}, iterators,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value v = widen ? arith::ExtFOp::create(nb, nl, element, args[0])
                              .getResult()
                        : arith::TruncFOp::create(nb, nl, element, args[0])
                              .getResult();
        linalg::YieldOp::create(nb, nl, v);
      });
  return op.getResult(0);
}

/// A per-channel value of the raised ops (tensor<C> of the channel type)
/// in the shape and element type of `like`.
static Value channelLike(OpBuilder &b, Location loc, Value value,
                         RankedTensorType like) {
  auto shaped = RankedTensorType::get(
      like.getShape(),
      cast<RankedTensorType>(value.getType()).getElementType());
  Value r = reshapeChannel(b, loc, value, shaped);
  return r ? castElements(b, loc, r, like.getElementType()) : Value();
}

/// A tensor<C> of `value` (a per-channel tensor with unit dimensions).
static Value collapseChannel(OpBuilder &b, Location loc, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getRank() == 1)
    return value;
  SmallVector<ReassociationIndices> groups(1);
  for (int64_t i = 0; i < type.getRank(); ++i)
    groups[0].push_back(i);
  auto flat = RankedTensorType::get({type.getNumElements()},
                                    type.getElementType());
  return tensor::CollapseShapeOp::create(b, loc, flat, value, groups);
}

/// The op that comes first in the block, of those defining `values`.
static Operation *latestDef(Block *block, ArrayRef<Value> values) {
  Operation *latest = nullptr;
  for (Value v : values) {
    if (!v)
      continue;
    Operation *def = v.getDefiningOp();
    if (!def)
      continue;
    if (def->getBlock() != block)
      return reinterpret_cast<Operation *>(-1);
    if (!latest || latest->isBeforeInBlock(def))
      latest = def;
  }
  return latest;
}

bool Raiser::tryForward(Value y) {
  auto type = dyn_cast<RankedTensorType>(y.getType());
  if (!type || !type.hasStaticShape() || type.getRank() < 2 ||
      !isa<FloatType>(type.getElementType()) || raised.count(y))
    return false;
  Block *block = &func.getBody().front();
  for (unsigned k = 0; k < type.getRank(); ++k) {
    if (type.getDimSize(k) < 1)
      continue;
    auto key = std::make_pair(
        std::vector<int64_t>(type.getShape().begin(), type.getShape().end()),
        k);
    std::unique_ptr<ExprBuilder> &cached = builders[key];
    if (!cached)
      cached = std::make_unique<ExprBuilder>(type.getShape(), k);
    ExprBuilder &b = *cached;
    // A batch norm's output is a per-channel scale or shift of something:
    // a per-channel operand within two steps of the root (this keeps long
    // element-wise chains after a batch norm from each being a candidate).
    std::function<bool(Node *, int)> nearChannel = [&](Node *n, int d) {
      if (n->space == Space::Channel)
        return true;
      if (d == 0)
        return false;
      return llvm::any_of(n->ops,
                          [&](Node *op) { return nearChannel(op, d - 1); });
    };
    if (!nearChannel(b.full(y), 2))
      continue;
    std::optional<Forward> f = matchForward(b, y);
    if (!f)
      continue;
    // x_hat is a batch norm without gamma and beta; prefer what scales and
    // shifts it (a user, or a user's user, with the same x).
    auto roles = [](const Forward &g) {
      return (g.gamma ? 1 : 0) + (g.beta ? 1 : 0);
    };
    for (bool grown = true; grown;) {
      grown = false;
      SmallVector<Value> next;
      for (Operation *user : f->y.getUsers())
        if (isa<linalg::GenericOp>(user))
          for (Value r : user->getResults())
            if (r.getType() == f->y.getType())
              next.push_back(r);
      for (Value r : next) {
        std::optional<Forward> g = matchForward(b, r);
        if (g && g->x == f->x && roles(*g) > roles(*f)) {
          f = g;
          grown = true;
          break;
        }
      }
    }
    y = f->y;
    int64_t m = std::min(b.samples(), kRepresentatives);
    double w = static_cast<double>(b.samples()) / m;
    auto xType = cast<RankedTensorType>(f->x.getType());
    Type elem = xType.getElementType();
    Type channelElem = elem.isF64() ? elem : Float32Type::get(y.getContext());
    auto channelType =
        RankedTensorType::get({b.channels()}, channelElem);
    if (xType.getElementType() != type.getElementType())
      continue;
    Operation *after = latestDef(block, {f->x, f->gamma, f->beta});
    if (after == reinterpret_cast<Operation *>(-1))
      continue;

    OpBuilder builder(func.getContext());
    if (after)
      builder.setInsertionPointAfter(after);
    else
      builder.setInsertionPointToStart(block);
    Location loc = y.getLoc();
    // gamma and beta in the channel type (a bf16 model's are bf16).
    Value gamma = f->gamma ? castElements(builder, loc,
                                          collapseChannel(builder, loc,
                                                          f->gamma),
                                          channelElem)
                           : Value();
    Value beta = f->beta ? castElements(builder, loc,
                                        collapseChannel(builder, loc, f->beta),
                                        channelElem)
                         : Value();
    auto bn = BatchNormTrainOp::create(
        builder, loc, xType, channelType, channelType, f->x, gamma, beta,
        static_cast<uint64_t>(k), APFloat(f->eps));
    Value mean = bn.getResult(1), var = bn.getResult(2);

    // Everything below (statistics, backward) is computed from x within a
    // few dozen ops: the ops of the function's block reached from x's
    // readers in at most kNeighbourhood steps (a bound that keeps the
    // search from growing with the network).
    DenseSet<Operation *> near;
    {
      SmallVector<Operation *> frontier;
      for (Operation *user : f->x.getUsers())
        if (Operation *top = block->findAncestorOpInBlock(*user))
          frontier.push_back(top);
      for (int step = 0; step < kNeighbourhood && !frontier.empty(); ++step) {
        SmallVector<Operation *> next;
        for (Operation *op : frontier) {
          if (!near.insert(op).second)
            continue;
          for (Value r : op->getResults())
            for (Operation *user : r.getUsers())
              if (Operation *top = block->findAncestorOpInBlock(*user))
                next.push_back(top);
        }
        frontier = std::move(next);
      }
    }

    // The statistics that other ops read (the running-statistics update):
    // per-channel tensors equal to mean(x) or var(x).
    SmallVector<std::pair<Value, Value>> replacements;
    Values xs = random(Space::Full, m, 7, -0.2, 2.0);
    Stats st = statsOf(xs, m);
    func.walk([&](Operation *op) {
      if (op == bn || !near.contains(op))
        return;
      for (Value r : op->getResults()) {
        auto rt = dyn_cast<RankedTensorType>(r.getType());
        if (!rt || !rt.hasStaticShape() ||
            rt.getNumElements() != b.channels() ||
            !isa<FloatType>(rt.getElementType()))
          continue;
        int pos = channelPosition(rt, b.channels());
        if (pos < 0)
          continue;
        Node *n = b.channel(r, pos);
        if (!n || n->kind == Kind::Leaf)
          continue;
        llvm::SetVector<Node *> nodes;
        collect(n, nodes, f->xNode);
        bool onlyX = llvm::all_of(nodes, [&](Node *e) {
          return e->kind != Kind::Leaf || e == f->xNode;
        });
        if (!onlyX || !nodes.contains(f->xNode))
          continue;
        double tol = toleranceOf(n);
        if (tol == 0.0)
          continue;
        Evaluator ev(m, w);
        ev.set(f->xNode, xs);
        std::optional<Values> got = ev.eval(n);
        if (!got)
          continue;
        if (close(*got, st.mean, tol))
          replacements.push_back({r, mean});
        else if (close(*got, st.var, tol))
          replacements.push_back({r, var});
      }
    });

    // The activation: values that are a function of y alone.
    SmallVector<Value> zs;
    ActivationKind kind = ActivationKind::Identity;
    double param = 0;
    {
      SmallVector<std::tuple<ActivationKind, double>> guesses = {
          {ActivationKind::ReLU, 0.0},  {ActivationKind::ReLU6, 0.0},
          {ActivationKind::SiLU, 0.0},  {ActivationKind::GELU, 0.0},
          {ActivationKind::Hardswish, 0.0}};
      llvm::MapVector<Value, Node *> candidates;
      for (Operation *user : y.getUsers())
        for (Value r : user->getResults())
          if (r.getType() == y.getType() && isa<linalg::GenericOp>(user))
            candidates[r] = b.full(r);
      // Values computed from those (e.g. max(y,0) + s * min(y,0)).
      for (int round = 0; round < 2; ++round) {
        llvm::MapVector<Value, Node *> next = candidates;
        for (auto &entry : candidates)
          for (Operation *user : entry.first.getUsers())
            for (Value r : user->getResults())
              if (r.getType() == y.getType() && isa<linalg::GenericOp>(user))
                next[r] = b.full(r);
        candidates = next;
      }
      for (auto &[v, n] : candidates) {
        // The activation's own constants, not the batch norm's (its eps).
        llvm::SetVector<Node *> nodes;
        collect(n, nodes, f->yNode);
        for (Node *e : nodes)
          if (e->kind == Kind::Const && e->number > 0 && e->number < 100)
            guesses.push_back({ActivationKind::LeakyReLU, e->number});
      }
      for (auto [g, p] : SmallVector<std::tuple<ActivationKind, double>>(
               guesses)) {
        if (g == ActivationKind::LeakyReLU)
          guesses.push_back({ActivationKind::ELU, p});
      }
      for (auto [guessKind, guessParam] : guesses) {
        SmallVector<Value> matched;
        for (auto &[v, n] : candidates) {
          // Element by element, to f32 precision: the graph's constants
          // (gelu's 1/sqrt(2)) are f32 numbers.
          double tol = std::max(toleranceOf(n, f->yNode), 1e-6);
          if (n == f->yNode || n->space != Space::Full ||
              toleranceOf(n, f->yNode) == 0.0)
            continue;
          bool ok = true;
          for (int trial = 0; trial < 2 && ok; ++trial) {
            Evaluator ev(m, w);
            Values ys = trial == 0 ? random(Space::Full, m, trial, 0.0, 4.0)
                                   : wide(Space::Full, m);
            ev.set(f->yNode, ys);
            std::optional<Values> got = ev.eval(n);
            if (!got) {
              ok = false;
              break;
            }
            Values want(ys.size());
            for (size_t i = 0; i < ys.size(); ++i)
              want[i] = activate(guessKind, guessParam, ys[i]);
            ok = closeEach(*got, want, tol);
          }
          if (ok)
            matched.push_back(v);
        }
        // A part of the activation (relu(y) inside max(y, 0) + s * min(y,
        // 0)) also matches a guess: the activation is the value read by
        // something that is not itself computed from y alone.
        bool final = llvm::any_of(matched, [&](Value v) {
          return llvm::any_of(v.getUsers(), [&](Operation *user) {
            return llvm::none_of(user->getResults(), [&](Value r) {
              return candidates.count(r) != 0;
            });
          });
        });
        if (!matched.empty() && final) {
          kind = guessKind;
          param = guessParam;
          zs = matched;
          break;
        }
      }
    }

    bool parametric =
        kind == ActivationKind::LeakyReLU || kind == ActivationKind::ELU;
    ActivationAttr act =
        parametric ? ActivationAttr::get(y.getContext(), kind, APFloat(param))
                   : ActivationAttr::get(y.getContext(), kind, std::nullopt);

    // The backward: full values dx = BN'(dy) for some dy in their
    // expression, per-channel dgamma = sum(dy * x_hat), dbeta = sum(dy).
    Value dx, dgamma, dbeta, dy, dz;
    Node *dyNode = nullptr;
    SmallVector<Value> fullValues, channelValues;
    func.walk([&](linalg::GenericOp op) {
      if (!near.contains(op))
        return;
      for (Value r : op->getResults()) {
        auto rt = cast<RankedTensorType>(r.getType());
        if (rt.getShape() == type.getShape())
          fullValues.push_back(r);
        else if (rt.hasStaticShape() &&
                 rt.getNumElements() == b.channels() &&
                 channelPosition(rt, b.channels()) >= 0)
          channelValues.push_back(r);
      }
    });
    for (Value v : fullValues) {
      if (dx)
        break;
      Node *n = b.full(v);
      double tol = toleranceOf(n);
      if (n->space != Space::Full || tol == 0.0)
        continue;
      llvm::SetVector<Node *> nodes;
      collect(n, nodes);
      if (!nodes.contains(f->xNode))
        continue;
      // dy: a tensor inside a summand (sum(dy), sum(dy * (x - mean)),
      // sum(-dy * scale), ...).
      llvm::SetVector<Node *> sums;
      for (Node *e : nodes) {
        if (e->kind != Kind::Sum || e->ops[0] == f->xNode)
          continue;
        llvm::SetVector<Node *> inside;
        collect(e->ops[0], inside, f->xNode);
        for (Node *d : inside)
          if (d->space == Space::Full && d != f->xNode && b.valueOf(d))
            sums.insert(d);
      }
      for (Node *d : sums) {
        if (!b.valueOf(d))
          continue;
        bool ok = true;
        for (int trial = 0; trial < 2 && ok; ++trial) {
          Evaluator ev(m, w);
          Values xs2 = random(Space::Full, m, trial, 0.3, 1.5);
          Values ds = trial == 0 ? random(Space::Full, m, trial)
                                 : wide(Space::Full, m);
          Values gamma{0.8, -1.3}, beta{0.1, -0.4};
          ev.set(f->xNode, xs2);
          ev.set(d, ds);
          if (f->gammaNode)
            ev.set(f->gammaNode, gamma);
          else
            gamma = {1.0, 1.0};
          if (f->betaNode)
            ev.set(f->betaNode, beta);
          std::optional<Values> got = ev.eval(n);
          if (!got) {
            ok = false;
            break;
          }
          Stats s = statsOf(xs2, m);
          Values xh = xHatOf(xs2, s, f->eps, m);
          Values k1{0, 0}, k2{0, 0};
          for (int64_t i = 0; i < 2 * m; ++i) {
            k1[i / m] += ds[i] / m;
            k2[i / m] += ds[i] * xh[i] / m;
          }
          Values want(2 * m);
          for (int64_t i = 0; i < 2 * m; ++i) {
            int64_t c = i / m;
            want[i] = gamma[c] / std::sqrt(s.var[c] + f->eps) *
                      (ds[i] - k1[c] - xh[i] * k2[c]);
          }
          ok = close(*got, want, tol);
        }
        if (ok) {
          dx = v;
          dyNode = d;
          dy = b.valueOf(d);
          break;
        }
      }
    }
    if (dx) {
      for (Value v : channelValues) {
        auto rt = cast<RankedTensorType>(v.getType());
        if (!isa<FloatType>(rt.getElementType()))
          continue;
        Node *n = b.channel(v, channelPosition(rt, b.channels()));
        if (!n || toleranceOf(n) == 0.0)
          continue;
        double tol = toleranceOf(n);
        bool gammaOk = f->gamma != nullptr, betaOk = true;
        for (int trial = 0; trial < 2; ++trial) {
          Evaluator ev(m, w);
          Values xs2 = random(Space::Full, m, trial, 0.3, 1.5);
          Values ds = random(Space::Full, m, trial);
          ev.set(f->xNode, xs2);
          ev.set(dyNode, ds);
          if (f->gammaNode)
            ev.set(f->gammaNode, {0.8, -1.3});
          if (f->betaNode)
            ev.set(f->betaNode, {0.1, -0.4});
          std::optional<Values> got = ev.eval(n);
          if (!got) {
            gammaOk = betaOk = false;
            break;
          }
          Stats s = statsOf(xs2, m);
          Values xh = xHatOf(xs2, s, f->eps, m);
          Values dg{0, 0}, db{0, 0};
          for (int64_t i = 0; i < 2 * m; ++i) {
            dg[i / m] += w * ds[i] * xh[i];
            db[i / m] += w * ds[i];
          }
          gammaOk = gammaOk && close(*got, dg, tol);
          betaOk = betaOk && close(*got, db, tol);
        }
        if (gammaOk && !dgamma)
          dgamma = v;
        else if (betaOk && !dbeta && f->beta)
          dbeta = v;
      }
    }
    // dy = dz * phi'(y): dz is an operand of dy's expression.
    if (dx && toleranceOf(dyNode, f->yNode) != 0.0) {
      Node *n = dyNode;
      double tol = std::max(toleranceOf(n, f->yNode), 1e-6);
      llvm::SetVector<Node *> nodes;
      collect(n, nodes);
      for (Node *g : nodes) {
        if (g == n || g->space != Space::Full || !b.valueOf(g) ||
            g == f->yNode || g->kind == Kind::Const)
          continue;
        bool ok = true;
        for (int trial = 0; trial < 2 && ok; ++trial) {
          Evaluator ev(m, w);
          Values ys = random(Space::Full, m, trial, 0.0, 4.0);
          Values gs = trial == 0 ? random(Space::Full, m, trial + 5)
                                 : wide(Space::Full, m);
          ev.set(f->yNode, ys);
          ev.set(g, gs);
          for (Value z : zs)
            ev.set(b.full(z), [&] {
              Values zv(ys.size());
              for (size_t i = 0; i < ys.size(); ++i)
                zv[i] = activate(kind, param, ys[i]);
              return zv;
            }());
          std::optional<Values> got = ev.eval(n);
          if (!got) {
            ok = false;
            break;
          }
          Values want(ys.size());
          for (size_t i = 0; i < ys.size(); ++i)
            want[i] = gs[i] * derivative(kind, param, ys[i]);
          ok = closeEach(*got, want, tol);
        }
        if (ok) {
          dz = b.valueOf(g);
          break;
        }
      }
      if (kind == ActivationKind::Identity && !dz)
        dz = dy;
    }

    // Rewrite. A value is replaced only where the new one dominates every
    // use (equal values: a use left alone keeps the old computation).
    Value newY = bn.getResult(0);
    auto replace = [&](Value old, Value by) {
      DominanceInfo dom(func);
      if (!by || by.getType() != old.getType() ||
          llvm::any_of(old.getUses(), [&](OpOperand &use) {
            return !dom.properlyDominates(by, use.getOwner());
          }))
        return false;
      old.replaceAllUsesWith(by);
      return true;
    };
    unsigned reused = 0;
    for (auto [old, stat] : replacements) {
      OpBuilder at(func.getContext());
      at.setInsertionPointAfter(bn);
      Value r = channelLike(at, old.getLoc(), stat,
                            cast<RankedTensorType>(old.getType()));
      reused += replace(old, r);
    }
    builder.setInsertionPointAfter(bn);
    auto z = ActivationOp::create(builder, loc, xType, newY, act);
    for (Value old : zs)
      replace(old, z.getResult());
    // Without an activation, y's readers read the identity activation's
    // output, the form the InPlace-ABN rewrite takes.
    replace(y, kind == ActivationKind::Identity ? z.getResult() : newY);
    raised.insert(newY);
    std::string what;
    // The backward is rewritten in the function's block only: its ops go
    // before the first of dx, dgamma, dbeta, after dz.
    auto topLevel = [&](Value v) {
      return !v || (v.getDefiningOp()
                        ? v.getDefiningOp()->getBlock() == block
                        : cast<BlockArgument>(v).getOwner() == block);
    };
    bool inBlock = topLevel(dx) && topLevel(dgamma) && topLevel(dbeta) &&
                   topLevel(dz);
    // The backward ops go right before the first of dx, dgamma, dbeta; the
    // forward's statistics and dz must be defined by then.
    auto before = [&](Value v, Operation *op) {
      Operation *def = v ? v.getDefiningOp() : nullptr;
      return !def || def->isBeforeInBlock(op);
    };
    Operation *firstBackward = nullptr;
    if (inBlock)
      for (Value v : {dx, dgamma, dbeta})
        if (v && v.getDefiningOp() &&
            (!firstBackward ||
             v.getDefiningOp()->isBeforeInBlock(firstBackward)))
          firstBackward = v.getDefiningOp();
    bool ordered = firstBackward && bn->isBeforeInBlock(firstBackward) &&
                   before(dz, firstBackward);
    if (dx && dz && !inBlock)
      what = "without its backward (it is inside a region)";
    else if (dx && dz && !ordered)
      what = "without its backward (part of it is computed before the "
             "forward's operands are)";
    else if (dx && dz && (dgamma || !f->gamma)) {
      OpBuilder bb(func.getContext());
      bb.setInsertionPoint(firstBackward);
      Location bloc = dx.getLoc();
      auto grad = ActivationGradOp::create(bb, bloc, xType, dz, newY, act);
      auto bnGrad = BatchNormTrainGradOp::create(
          bb, bloc, xType, channelType, channelType, grad.getResult(), f->x,
          gamma, mean, var, static_cast<uint64_t>(k), APFloat(f->eps));
      replace(dx, bnGrad.getResult(0));
      if (dgamma)
        replace(dgamma, channelLike(bb, bloc, bnGrad.getResult(1),
                                    cast<RankedTensorType>(
                                        dgamma.getType())));
      if (dbeta)
        replace(dbeta, channelLike(bb, bloc, bnGrad.getResult(2),
                                   cast<RankedTensorType>(dbeta.getType())));
      what = "with its backward";
    } else if (what.empty()) {
      what = dx ? "without its backward (the activation gradient's input "
                  "was not found)"
                : "without a backward: no tensor is the batch-norm "
                  "gradient of x for some dy (it may be summed into "
                  "another gradient, e.g. a shortcut's, or absent)";
    }
    emitRemark(loc) << "raised a training batch norm (feature dim " << k
                    << ", epsilon " << f->eps << ", " << act << ", "
                    << reused << " statistics reused) " << what;
    return true;
  }
  return false;
}

void Raiser::run() {
  if (func.getBody().empty() || !func.getBody().hasOneBlock())
    return;
  // Candidates in program order; each raise changes the function (dead ops
  // are erased), so the scan starts over, skipping the ops already tried.
  DenseSet<Operation *> tried;
  for (int round = 0; round < 100000; ++round) {
    builders.clear();
    SmallVector<Value> candidates;
    for (auto op : func.getBody().front().getOps<linalg::GenericOp>())
      if (!tried.contains(op))
        for (Value r : op->getResults())
          candidates.push_back(r);
    bool changed = false;
    for (Value y : candidates) {
      if (tryForward(y)) {
        changed = true;
        break;
      }
      tried.insert(y.getDefiningOp());
    }
    if (!changed)
      break;
    // Erase what became dead (the old batch-norm ops). Their addresses may
    // be reused by ops made later, which are then not candidates: only
    // element conversions the pass makes itself.
    Block &block = func.getBody().front();
    for (bool erased = true; erased;) {
      erased = false;
      for (Operation &op : llvm::make_early_inc_range(llvm::reverse(block)))
        if (isOpTriviallyDead(&op)) {
          tried.erase(&op);
          op.erase();
          erased = true;
        }
    }
  }
  reportMissed();
}

/// A remark at every per-channel sum of squares left in the function (the
/// variance of a normalisation that was not recognised as a training batch
/// norm), so that a user sees where one was missed.
void Raiser::reportMissed() {
  for (auto op : func.getBody().front().getOps<linalg::GenericOp>()) {
    if (op.getNumDpsInputs() != 1 || op->getNumResults() != 1 ||
        op.getNumParallelLoops() != 1 || op.getNumReductionLoops() == 0)
      continue;
    auto inType =
        dyn_cast<RankedTensorType>(op.getDpsInputOperand(0)->get().getType());
    AffineMap inMap = op.getIndexingMapsArray()[0];
    if (!inType || !inType.hasStaticShape() || !inMap.isPermutation())
      continue;
    auto iterators = op.getIteratorTypesArray();
    unsigned loop = 0;
    while (iterators[loop] != utils::IteratorType::parallel)
      ++loop;
    unsigned dim = 0;
    for (auto [i, e] : llvm::enumerate(inMap.getResults()))
      if (cast<AffineDimExpr>(e).getPosition() == loop)
        dim = i;
    ExprBuilder b(inType.getShape(), dim);
    Value result = op->getResult(0);
    auto type = cast<RankedTensorType>(result.getType());
    int pos = channelPosition(type, b.channels());
    if (pos < 0 || type.getNumElements() != b.channels())
      continue;
    Node *n = b.channel(result, pos);
    if (!n || n->kind != Kind::Sum)
      continue;
    Node *summand = n->ops[0];
    bool square = (summand->kind == Kind::Mul &&
                   summand->ops[0] == summand->ops[1]) ||
                  (summand->kind == Kind::PowI && summand->number == 2);
    if (square)
      emitRemark(op.getLoc())
          << "a per-channel sum of squares (over every dimension but "
          << dim << ") is left in linalg: no training batch norm was "
          << "recognised around it (the normalisation did not match "
          << "(x - mean) / sqrt(var + eps) * gamma + beta with the biased "
          << "variance)";
  }
}

struct RaiseBatchNormPass
    : public iabn::impl::RaiseBatchNormPassBase<RaiseBatchNormPass> {
  void runOnOperation() override {
    getOperation().walk([](func::FuncOp func) { Raiser(func).run(); });
  }
};

} // namespace
