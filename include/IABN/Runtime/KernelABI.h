/*===- KernelABI.h - The compiler-runtime contract of the GPU kernels -*- C -*-*\
|*                                                                            *|
|* Part of the IABN project.                                                  *|
|*                                                                            *|
|* The one description of the contract between the kernel generator          *|
|* (lib/GPUKernels, which builds the kernels from MLIR) and the runtime       *|
|* (runtime/cuda, which launches them): the enums, every kernel's name and    *|
|* ordered, named, typed arguments, the per-channel slot layout of the        *|
|* workspace, and the launch geometry. MLIR-free; the enum lists are plain C  *|
|* preprocessor lists so that the C API header (runtime/cuda/iabn_cuda.h)     *|
|* declares its enums from them too.                                          *|
|*                                                                            *|
|* Who reads what:                                                            *|
|*  - the kernel builder declares each kernel's parameters from its argument  *|
|*    list and reads them by name (KernelBuilder::kernel<K>());               *|
|*  - the runtime fills a K::Values struct by name and packs it in the order  *|
|*    of the same list (iabn_cuda.cpp: launch<K>());                          *|
|*  - the ODS enums (IABNAttrs.td) are tied to the lists by static_asserts    *|
|*    (lib/GPUKernels/KernelLibrary.cpp);                                     *|
|*  - python/iabn/torch/_abi.py is generated from this file                   *|
|*    (scripts/gen_python_abi.py); a test checks it is up to date.            *|
|* Changing an argument list changes both sides at once; the generated        *|
|* kernels are pinned by test/GPUKernels/kernels-unchanged.test.              *|
\*===----------------------------------------------------------------------===*/

#ifndef IABN_RUNTIME_KERNELABI_H
#define IABN_RUNTIME_KERNELABI_H

/*===----------------------------------------------------------------------===*
 * Enums: X(C enumerator, C++ enumerator, name, value)
 *===----------------------------------------------------------------------===*/

/* Status of a C API call. */
#define IABN_STATUSES(X)                                                       \
  X(IABN_OK, Ok, "ok", 0)                                                      \
  /* null pointer, bad size or option */                                       \
  X(IABN_ERROR_INVALID_ARGUMENT, InvalidArgument, "invalid_argument", 1)       \
  /* e.g. relu in the fused backward */                                        \
  X(IABN_ERROR_UNSUPPORTED, Unsupported, "unsupported", 2)                     \
  /* a driver call failed */                                                   \
  X(IABN_ERROR_CUDA, Cuda, "cuda", 3)                                          \
  /* libcuda.so.1 could not be loaded */                                       \
  X(IABN_ERROR_NO_DRIVER, NoDriver, "no_driver", 4)

/* Storage types of the data (per-channel arrays are always f32). The name is
 * the kernel-name suffix. */
#define IABN_DTYPES(X)                                                         \
  X(IABN_F32, F32, "f32", 0)                                                   \
  X(IABN_F16, F16, "f16", 1)                                                   \
  X(IABN_BF16, BF16, "bf16", 2)

/* Activations; the same values as ActivationKind in IABNAttrs.td. The name is
 * the kernel-name suffix and the IR spelling. relu, relu6, silu, gelu and
 * hardswish have forward kernels only: they are not invertible. */
#define IABN_ACTIVATIONS(X)                                                    \
  X(IABN_IDENTITY, Identity, "identity", 0)                                    \
  X(IABN_RELU, ReLU, "relu", 1)                                                \
  X(IABN_LEAKY_RELU, LeakyReLU, "leaky_relu", 2)                               \
  X(IABN_ELU, ELU, "elu", 3)                                                   \
  X(IABN_RELU6, ReLU6, "relu6", 4)                                             \
  X(IABN_SILU, SiLU, "silu", 5)                                                \
  X(IABN_GELU, GELU, "gelu", 6)                                                \
  X(IABN_HARDSWISH, Hardswish, "hardswish", 7)

/* How gamma is made non-zero; the same values as GammaMode in
 * IABNAttrs.td. */
#define IABN_GAMMA_MODES(X)                                                    \
  X(IABN_SIGN_CLAMP, SignClamp, "sign_clamp", 0)                               \
  X(IABN_ABS_PLUS_EPS, AbsPlusEps, "abs_plus_eps", 1)

/*===----------------------------------------------------------------------===*
 * Kernels: X(name, type) per argument, in parameter order.
 *
 * Types: Data (a buffer of the storage type), F32Buffer, Index (int64),
 * I32 (flags and enums), F32. A buffer is passed as a memref<?xT>
 * descriptor: allocated and aligned pointer, offset 0, size, stride 1.
 *
 * Data of any layout is addressed as [outer][channels][inner]. `splits` (P)
 * blocks reduce each channel; partial k of channel c and split s lives at
 * ws[k*C*P + c*P + s] (the *Partial slots below).
 *===----------------------------------------------------------------------===*/

/* partial_stats[_planar]_<T>: block (c, s) reduces elements
 * [s*chunk, min(s*chunk + chunk, perChannel)) of channel c into
 * (count, mean, M2) partials. */
#define IABN_PARTIAL_STATS_ARGS(X)                                             \
  X(x, Data) X(ws, F32Buffer) X(channels, Index) X(inner, Index)               \
  X(perChannel, Index) X(splits, Index) X(chunk, Index)

/* The placement arguments of the channels-last partial kernels ([rows][C]
 * data, C % width == 0): groups of `width` channels, groups per block
 * (tile), row lanes per group, tiles, row splits, rows per split. */
#define IABN_CHANNELS_LAST_PLACEMENT_ARGS(X)                                   \
  X(channels, Index) X(rows, Index) X(groups, Index) X(groupsPerTile, Index)   \
  X(lanes, Index) X(tiles, Index) X(splits, Index) X(rowsPerSplit, Index)

/* partial_stats_cl_<T>: one (count, mean, M2) partial per channel and split. */
#define IABN_PARTIAL_STATS_CL_ARGS(X)                                          \
  X(x, Data) X(ws, F32Buffer) IABN_CHANNELS_LAST_PLACEMENT_ARGS(X)

/* finalize_stats: one block per channel merges its partials (Chan); writes
 * mean, biased var, the forward parameters and the running statistics
 * (r = (1 - factor) * r + factor * stat, var times `unbias`). */
#define IABN_FINALIZE_STATS_ARGS(X)                                            \
  X(ws, F32Buffer) X(channels, Index) X(splits, Index) X(epsilon, F32)         \
  X(gamma, F32Buffer) X(beta, F32Buffer) X(hasGamma, I32) X(hasBeta, I32)      \
  X(gammaMode, I32) X(meanOut, F32Buffer) X(varOut, F32Buffer)                 \
  X(params, F32Buffer) X(runningMean, F32Buffer) X(runningVar, F32Buffer)      \
  X(updateRunning, I32) X(factor, F32) X(unbias, F32)

/* prepare_inference: the forward parameters from running statistics. */
#define IABN_PREPARE_INFERENCE_ARGS(X)                                         \
  X(runningMean, F32Buffer) X(runningVar, F32Buffer) X(gamma, F32Buffer)       \
  X(beta, F32Buffer) X(hasGamma, I32) X(hasBeta, I32) X(gammaMode, I32)        \
  X(epsilon, F32) X(channels, Index) X(params, F32Buffer)

/* apply[_planar|_cl]_<T>_<act>: z = phi((x - mean) * scale + shift); z may
 * alias x. `items` counts elements (scalar) or 16-byte vectors. */
#define IABN_APPLY_ARGS(X)                                                     \
  X(x, Data) X(z, Data) X(params, F32Buffer) X(channels, Index)                \
  X(inner, Index) X(items, Index) X(activationParam, F32)

/* prepare_grad: the first three backward parameters. */
#define IABN_PREPARE_GRAD_ARGS(X)                                              \
  X(var, F32Buffer) X(gamma, F32Buffer) X(beta, F32Buffer) X(hasGamma, I32)    \
  X(hasBeta, I32) X(gammaMode, I32) X(epsilon, F32) X(channels, Index)         \
  X(params, F32Buffer)

/* partial_grads[_planar]_<T>_<act>: (sum g_y, sum g_y * x_hat) partials from
 * z and dz. */
#define IABN_PARTIAL_GRADS_ARGS(X)                                             \
  X(z, Data) X(dz, Data) X(params, F32Buffer) X(ws, F32Buffer)                 \
  X(channels, Index) X(inner, Index) X(perChannel, Index) X(splits, Index)     \
  X(chunk, Index) X(activationParam, F32)

/* partial_grads_cl_<T>_<act>. */
#define IABN_PARTIAL_GRADS_CL_ARGS(X)                                          \
  X(z, Data) X(dz, Data) X(params, F32Buffer) X(ws, F32Buffer)                 \
  IABN_CHANNELS_LAST_PLACEMENT_ARGS(X) X(activationParam, F32)

/* finalize_grads: one block per channel sums its partials; writes dbeta,
 * dgamma (times sign(gamma) in abs_plus_eps mode) and k1, k2 (the sums
 * divided by `count`). */
#define IABN_FINALIZE_GRADS_ARGS(X)                                            \
  X(ws, F32Buffer) X(channels, Index) X(splits, Index) X(count, F32)           \
  X(gamma, F32Buffer) X(hasGamma, I32) X(gammaMode, I32) X(dgamma, F32Buffer)  \
  X(dbeta, F32Buffer) X(params, F32Buffer)

/* apply_grad[_planar|_cl]_<T>_<act>: dx = coef * (g_y - k1 - x_hat * k2);
 * dx may alias dz. */
#define IABN_APPLY_GRAD_ARGS(X)                                                \
  X(z, Data) X(dz, Data) X(dx, Data) X(params, F32Buffer) X(channels, Index)   \
  X(inner, Index) X(items, Index) X(activationParam, F32)

/* Every kernel family: X(C++ struct, base name, per storage type, per
 * activation, argument list). The kernel name is
 * base_[planar_|cl_]<T>[_<act>]. */
#define IABN_KERNELS(X)                                                        \
  X(PartialStats, "partial_stats", 1, 0, IABN_PARTIAL_STATS_ARGS)              \
  X(PartialStatsCL, "partial_stats", 1, 0, IABN_PARTIAL_STATS_CL_ARGS)         \
  X(FinalizeStats, "finalize_stats", 0, 0, IABN_FINALIZE_STATS_ARGS)           \
  X(PrepareInference, "prepare_inference", 0, 0, IABN_PREPARE_INFERENCE_ARGS)  \
  X(Apply, "apply", 1, 1, IABN_APPLY_ARGS)                                     \
  X(PrepareGrad, "prepare_grad", 0, 0, IABN_PREPARE_GRAD_ARGS)                 \
  X(PartialGrads, "partial_grads", 1, 1, IABN_PARTIAL_GRADS_ARGS)              \
  X(PartialGradsCL, "partial_grads", 1, 1, IABN_PARTIAL_GRADS_CL_ARGS)         \
  X(FinalizeGrads, "finalize_grads", 0, 0, IABN_FINALIZE_GRADS_ARGS)           \
  X(ApplyGrad, "apply_grad", 1, 1, IABN_APPLY_GRAD_ARGS)

/*===----------------------------------------------------------------------===*
 * Workspace layout: per-channel parameter slots, each C floats, slot k of
 * channel c at params[k*C + c].
 *===----------------------------------------------------------------------===*/

/* Forward parameters (finalize_stats, prepare_inference -> apply). */
#define IABN_FORWARD_PARAM_SLOTS(X)                                            \
  X(Mean, 0) /* mean */                                                        \
  X(Scale, 1) /* gamma_hat * rstd */                                           \
  X(Shift, 2) /* beta */

/* Backward parameters (prepare_grad, finalize_grads -> apply_grad). */
#define IABN_GRAD_PARAM_SLOTS(X)                                               \
  X(InverseGammaHat, 0) /* 1 / gamma_hat */                                    \
  X(Beta, 1)            /* beta */                                             \
  X(Coef, 2)            /* gamma_hat * rstd */                                 \
  X(K1, 3)              /* sum g_y / m */                                      \
  X(K2, 4)              /* sum g_y * x_hat / m */

/* Partials of the reductions. */
#define IABN_STATS_PARTIALS(X) X(Count, 0) X(Mean, 1) X(M2, 2)
#define IABN_GRAD_PARTIALS(X) X(SumG, 0) X(SumGXHat, 1)

/* Launch geometry. */
#define IABN_BLOCK_SIZE 256
#define IABN_WARP_SIZE 32
#define IABN_VECTOR_BYTES 16

#ifdef __cplusplus

#include <cstdint>
#include <string>

// The namespace follows SparseTensor's Enums.h: MLIR's, though the header
// does not depend on MLIR.
namespace mlir {
namespace iabn {
namespace abi {

#define IABN_ABI_ENUMERATOR(cname, cppname, name, value) cppname = value,
#define IABN_ABI_COUNT(cname, cppname, name, value) +1
#define IABN_ABI_NAME_CASE(cname, cppname, name, value)                        \
  case value:                                                                  \
    return name;

enum class Status : int { IABN_STATUSES(IABN_ABI_ENUMERATOR) };
enum class DType : int { IABN_DTYPES(IABN_ABI_ENUMERATOR) };
enum class Activation : int { IABN_ACTIVATIONS(IABN_ABI_ENUMERATOR) };
enum class GammaMode : int { IABN_GAMMA_MODES(IABN_ABI_ENUMERATOR) };

constexpr int kNumDTypes = 0 IABN_DTYPES(IABN_ABI_COUNT);
constexpr int kNumActivations = 0 IABN_ACTIVATIONS(IABN_ABI_COUNT);
constexpr int kNumGammaModes = 0 IABN_GAMMA_MODES(IABN_ABI_COUNT);

/// The name of a dtype (the kernel-name suffix), or nullptr if unknown.
inline const char *getName(DType value) {
  switch (static_cast<int>(value)) { IABN_DTYPES(IABN_ABI_NAME_CASE) }
  return nullptr;
}
/// The name of an activation (kernel-name suffix, IR spelling), or nullptr.
inline const char *getName(Activation value) {
  switch (static_cast<int>(value)) { IABN_ACTIVATIONS(IABN_ABI_NAME_CASE) }
  return nullptr;
}
/// Whether the library has backward kernels for an activation: those whose
/// input the fused backward recovers from the output (identity, and
/// leaky_relu / elu with a positive parameter). The others have forward
/// kernels only. KernelLibrary.cpp checks this against the dialect's
/// `ActivationAttr::isInvertibleKind`.
constexpr bool hasBackwardKernels(Activation value) {
  return value == Activation::Identity || value == Activation::LeakyReLU ||
         value == Activation::ELU;
}
/// Whether an activation takes a parameter (leaky_relu's slope, elu's alpha).
constexpr bool takesParameter(Activation value) {
  return value == Activation::LeakyReLU || value == Activation::ELU;
}
/// The name of a gamma mode (IR spelling), or nullptr.
inline const char *getName(GammaMode value) {
  switch (static_cast<int>(value)) { IABN_GAMMA_MODES(IABN_ABI_NAME_CASE) }
  return nullptr;
}

#undef IABN_ABI_NAME_CASE

/// Bytes per element of a storage type (0 if unknown).
constexpr int64_t getElementBytes(DType type) {
  return type == DType::F32 ? 4
         : (type == DType::F16 || type == DType::BF16) ? 2
                                                       : 0;
}
/// Elements per 16-byte vector of the vectorized kernel variants.
constexpr int64_t getVectorWidth(DType type) {
  return IABN_VECTOR_BYTES / getElementBytes(type);
}

constexpr int64_t kBlockSize = IABN_BLOCK_SIZE;
constexpr int64_t kVectorBytes = IABN_VECTOR_BYTES;
constexpr int64_t kWarpSize = IABN_WARP_SIZE;
constexpr int64_t kNumWarps = kBlockSize / kWarpSize;

#define IABN_ABI_SLOT(name, value) name = value,
/// Slots of the forward parameters (ForwardParam::Mean, ...).
struct ForwardParam {
  enum : int64_t { IABN_FORWARD_PARAM_SLOTS(IABN_ABI_SLOT) kCount };
};
/// Slots of the backward parameters.
struct GradParam {
  enum : int64_t { IABN_GRAD_PARAM_SLOTS(IABN_ABI_SLOT) kCount };
};
/// Partials of the statistics reduction.
struct StatsPartial {
  enum : int64_t { IABN_STATS_PARTIALS(IABN_ABI_SLOT) kCount };
};
/// Partials of the gradient reduction.
struct GradPartial {
  enum : int64_t { IABN_GRAD_PARTIALS(IABN_ABI_SLOT) kCount };
};
#undef IABN_ABI_SLOT

/// The kernel variant: scalar (any layout), planar (16-byte vectors along
/// the spatial dimension) or channels-last (16-byte vectors along C).
enum class Variant { Scalar, Planar, ChannelsLast };

//===----------------------------------------------------------------------===//
// Kernel argument lists
//===----------------------------------------------------------------------===//

/// The type of a kernel argument.
enum class ArgType { Data, F32Buffer, Index, I32, F32 };

/// A buffer argument: device pointer and number of elements.
struct Buffer {
  const void *pointer = nullptr;
  int64_t size = 0;
};

template <ArgType T>
struct ArgValue;
template <>
struct ArgValue<ArgType::Data> {
  using type = Buffer;
};
template <>
struct ArgValue<ArgType::F32Buffer> {
  using type = Buffer;
};
template <>
struct ArgValue<ArgType::Index> {
  using type = int64_t;
};
template <>
struct ArgValue<ArgType::I32> {
  using type = int32_t;
};
template <>
struct ArgValue<ArgType::F32> {
  using type = float;
};

#define IABN_ABI_ARG_ENUM(n, t) n,
#define IABN_ABI_ARG_TYPE(n, t) ArgType::t,
#define IABN_ABI_ARG_NAME(n, t) #n,
#define IABN_ABI_ARG_FIELD(n, t) ArgValue<ArgType::t>::type n{};
#define IABN_ABI_ARG_VISIT(n, t) f(ArgType::t, values.n);

/// One struct per kernel family K:
///  - K::Arg: the parameter positions by name (K::x, K::ws, ...);
///  - K::kTypes / K::kNames: the parameter types and names in order;
///  - K::Values: one field per parameter; K::forEach visits them in order.
#define IABN_ABI_KERNEL(Family, baseName, perType, perActivation, ARGS)        \
  struct Family {                                                              \
    static constexpr const char *kBaseName = baseName;                         \
    static constexpr bool kPerType = perType;                                  \
    static constexpr bool kPerActivation = perActivation;                      \
    enum Arg : unsigned { ARGS(IABN_ABI_ARG_ENUM) kNumArgs };                  \
    static constexpr ArgType kTypes[] = {ARGS(IABN_ABI_ARG_TYPE)};             \
    static constexpr const char *kNames[] = {ARGS(IABN_ABI_ARG_NAME)};         \
    struct Values {                                                            \
      ARGS(IABN_ABI_ARG_FIELD)                                                 \
    };                                                                         \
    template <typename Fn>                                                     \
    static void forEach(const Values &values, Fn &&f) {                        \
      ARGS(IABN_ABI_ARG_VISIT)                                                 \
    }                                                                          \
  };
IABN_KERNELS(IABN_ABI_KERNEL)
#undef IABN_ABI_KERNEL
#undef IABN_ABI_ARG_ENUM
#undef IABN_ABI_ARG_TYPE
#undef IABN_ABI_ARG_NAME
#undef IABN_ABI_ARG_FIELD
#undef IABN_ABI_ARG_VISIT

/// The name of kernel family K for a variant, storage type and activation
/// (ignored where K does not depend on them):
/// base_[planar_|cl_]<T>[_<act>].
template <typename K>
std::string getKernelName(Variant variant = Variant::Scalar,
                          DType type = DType::F32,
                          Activation act = Activation::Identity) {
  std::string name = K::kBaseName;
  if (!K::kPerType)
    return name;
  name += '_';
  if (variant == Variant::Planar)
    name += "planar_";
  else if (variant == Variant::ChannelsLast)
    name += "cl_";
  name += getName(type);
  if (K::kPerActivation) {
    name += '_';
    name += getName(act);
  }
  return name;
}

} // namespace abi
} // namespace iabn
} // namespace mlir

#endif // __cplusplus

#endif // IABN_RUNTIME_KERNELABI_H
