//===- iabn_cuda.cpp - Host runtime of the IABN GPU kernel library --------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//
//
// Loads the kernels the IABN compiler generated (embedded cubin, PTX as JIT
// fallback) through the CUDA driver API, resolved with dlopen so that the
// library depends on nothing but libcuda.so.1 at run time, and launches
// them. Every driver call is checked; errors come back as iabn_status with
// a message in iabn_last_error().
//
//===----------------------------------------------------------------------===//

#include "iabn_cuda.h"

#include "iabn_kernels.h"

#include <cuda.h>
#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

namespace {

thread_local std::string lastError;

iabn_status fail(iabn_status status, const char *format, ...) {
  char buffer[512];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buffer, sizeof(buffer), format, args);
  va_end(args);
  lastError = buffer;
  return status;
}

/// The driver entry points we use, resolved from libcuda.so.1.
struct Driver {
  decltype(&cuInit) init = nullptr;
  decltype(&cuGetErrorString) getErrorString = nullptr;
  decltype(&cuCtxGetCurrent) ctxGetCurrent = nullptr;
  decltype(&cuCtxSetCurrent) ctxSetCurrent = nullptr;
  decltype(&cuCtxGetDevice) ctxGetDevice = nullptr;
  decltype(&cuDeviceGet) deviceGet = nullptr;
  decltype(&cuDevicePrimaryCtxRetain) primaryCtxRetain = nullptr;
  decltype(&cuDeviceGetAttribute) deviceGetAttribute = nullptr;
  decltype(&cuModuleLoadData) moduleLoadData = nullptr;
  decltype(&cuModuleGetFunction) moduleGetFunction = nullptr;
  decltype(&cuLaunchKernel) launchKernel = nullptr;
  bool loaded = false;
  std::string loadError;
};

template <typename T>
bool resolve(void *handle, const char *name, T &fn, std::string &error) {
  fn = reinterpret_cast<T>(dlsym(handle, name));
  if (!fn)
    error = std::string("libcuda.so.1 has no symbol ") + name;
  return fn != nullptr;
}

Driver &driver() {
  static Driver d;
  static std::once_flag once;
  std::call_once(once, [] {
    void *handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      d.loadError = std::string("cannot load libcuda.so.1: ") + dlerror();
      return;
    }
    std::string &e = d.loadError;
    d.loaded =
        resolve(handle, "cuInit", d.init, e) &&
        resolve(handle, "cuGetErrorString", d.getErrorString, e) &&
        resolve(handle, "cuCtxGetCurrent", d.ctxGetCurrent, e) &&
        resolve(handle, "cuCtxSetCurrent", d.ctxSetCurrent, e) &&
        resolve(handle, "cuCtxGetDevice", d.ctxGetDevice, e) &&
        resolve(handle, "cuDeviceGet", d.deviceGet, e) &&
        resolve(handle, "cuDevicePrimaryCtxRetain", d.primaryCtxRetain, e) &&
        resolve(handle, "cuDeviceGetAttribute", d.deviceGetAttribute, e) &&
        resolve(handle, "cuModuleLoadData", d.moduleLoadData, e) &&
        resolve(handle, "cuModuleGetFunction", d.moduleGetFunction, e) &&
        // Legacy default-stream semantics for a NULL stream (not the
        // per-thread variant): PyTorch's default stream is legacy.
        resolve(handle, "cuLaunchKernel", d.launchKernel, e);
  });
  return d;
}

iabn_status check(CUresult result, const char *what) {
  if (result == CUDA_SUCCESS)
    return IABN_OK;
  const char *message = nullptr;
  driver().getErrorString(result, &message);
  return fail(IABN_ERROR_CUDA, "%s failed: %s (CUresult %d)", what,
              message ? message : "unknown error", static_cast<int>(result));
}

#define IABN_CHECK(call, what)                                                 \
  do {                                                                         \
    iabn_status status_ = check((call), (what));                               \
    if (status_ != IABN_OK)                                                    \
      return status_;                                                          \
  } while (false)

/// The loaded kernel module of the current context (one per process: the
/// library assumes all calls use one context).
struct Library {
  CUcontext context = nullptr;
  CUmodule module = nullptr;
  int multiprocessors = 1;
};

std::mutex libraryMutex;
Library library;
/// library.module once the library is complete (published after its
/// fields, read without the lock).
std::atomic<CUmodule> loadedModule{nullptr};

iabn_status getLibrary(Library *&out) {
  Driver &d = driver();
  if (!d.loaded)
    return fail(IABN_ERROR_NO_DRIVER, "%s", d.loadError.c_str());
  // The common case, once loaded: the caller's current context is the
  // library's (one driver call, no lock, no cuInit).
  if (CUmodule module = loadedModule.load(std::memory_order_acquire)) {
    CUcontext current = nullptr;
    if (d.ctxGetCurrent(&current) == CUDA_SUCCESS && current &&
        current == library.context) {
      (void)module;
      out = &library;
      return IABN_OK;
    }
  }
  std::lock_guard<std::mutex> lock(libraryMutex);
  IABN_CHECK(d.init(0), "cuInit");
  CUcontext context = nullptr;
  IABN_CHECK(d.ctxGetCurrent(&context), "cuCtxGetCurrent");
  if (!context) {
    CUdevice device;
    IABN_CHECK(d.deviceGet(&device, 0), "cuDeviceGet");
    IABN_CHECK(d.primaryCtxRetain(&context, device),
               "cuDevicePrimaryCtxRetain");
    IABN_CHECK(d.ctxSetCurrent(context), "cuCtxSetCurrent");
  }
  if (library.module && library.context != context)
    return fail(IABN_ERROR_UNSUPPORTED,
                "the kernels were loaded in another CUDA context; use one "
                "context per process");
  if (!library.module) {
    CUmodule module = nullptr;
    CUresult result = d.moduleLoadData(&module, iabn_kernels_cubin);
    if (result != CUDA_SUCCESS) // e.g. a newer GPU: JIT the PTX
      IABN_CHECK(d.moduleLoadData(&module, iabn_kernels_ptx),
                 "cuModuleLoadData (cubin and PTX)");
    CUdevice device;
    IABN_CHECK(d.ctxGetDevice(&device), "cuCtxGetDevice");
    IABN_CHECK(d.deviceGetAttribute(&library.multiprocessors,
                                    CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
                                    device),
               "cuDeviceGetAttribute");
    library.module = module;
    library.context = context;
    loadedModule.store(module, std::memory_order_release);
  }
  out = &library;
  return IABN_OK;
}

namespace abi = mlir::iabn::abi;

/// The parameter array of one launch of kernel family K: every argument of
/// K's list (IABN/Runtime/KernelABI.h) in order, a buffer as its memref<?xT>
/// descriptor (allocated and aligned pointer, offset, size, stride), then a
/// NULL: the driver reads only as many as the kernel declares; the test
/// driver (test/Runtime) checks the count.
class PackedArgs {
public:
  template <typename K>
  static PackedArgs of(const typename K::Values &values) {
    PackedArgs packed;
    K::forEach(values,
               [&](abi::ArgType, const auto &value) { packed.add(value); });
    for (Slot &slot : packed.slots)
      packed.pointers.push_back(&slot);
    packed.pointers.push_back(nullptr);
    return packed;
  }
  PackedArgs(PackedArgs &&) = default;
  void **data() { return pointers.data(); }

private:
  PackedArgs() = default;
  /// One parameter; the driver reads as many bytes as the kernel declares
  /// from its address (little-endian: the low bytes come first).
  union Slot {
    const void *pointer;
    int64_t index;
    int32_t i32;
    float f32;
  };
  void add(const abi::Buffer &buffer) {
    for (int k = 0; k < 2; ++k) {
      slots.emplace_back();
      slots.back().pointer = buffer.pointer;
    }
    add(int64_t(0));
    add(buffer.size);
    add(int64_t(1));
  }
  void add(int64_t value) {
    slots.emplace_back();
    slots.back().index = value;
  }
  void add(int32_t value) {
    slots.emplace_back();
    slots.back().i32 = value;
  }
  void add(float value) {
    slots.emplace_back();
    slots.back().f32 = value;
  }
  std::vector<Slot> slots;
  std::vector<void *> pointers;
};

constexpr int kBlock = abi::kBlockSize;

/// Launches the kernel of family K for the variant, storage type and
/// activation given (ignored where K does not depend on them).
template <typename K>
iabn_status launch(Library &lib, unsigned grid, const typename K::Values &args,
                   void *stream, abi::Variant variant = abi::Variant::Scalar,
                   iabn_dtype dtype = IABN_F32,
                   iabn_activation act = IABN_IDENTITY) {
  // The functions of K, looked up once per (variant, dtype, activation):
  // the lookup and the name are host costs of every launch otherwise. The
  // module never changes once loaded (one context per process).
  constexpr int kSlots = 3 * abi::kNumDTypes * abi::kNumActivations;
  static std::atomic<CUfunction> functions[kSlots];
  int slot = (static_cast<int>(variant) * abi::kNumDTypes + dtype) *
                 abi::kNumActivations +
             act;
  if (slot < 0 || slot >= kSlots)
    return fail(IABN_ERROR_INVALID_ARGUMENT, "kernel variant out of range");
  CUfunction function = functions[slot].load(std::memory_order_acquire);
  if (!function) {
    std::string name =
        abi::getKernelName<K>(variant, static_cast<abi::DType>(dtype),
                              static_cast<abi::Activation>(act));
    IABN_CHECK(
        driver().moduleGetFunction(&function, lib.module, name.c_str()),
        ("cuModuleGetFunction(" + name + ")").c_str());
    functions[slot].store(function, std::memory_order_release);
  }
  PackedArgs params = PackedArgs::of<K>(args);
  CUresult result = driver().launchKernel(function, grid, 1, 1, kBlock, 1, 1,
                                          0, static_cast<CUstream>(stream),
                                          params.data(), nullptr);
  if (result != CUDA_SUCCESS)
    return check(result,
                 ("cuLaunchKernel(" +
                  abi::getKernelName<K>(variant,
                                        static_cast<abi::DType>(dtype),
                                        static_cast<abi::Activation>(act)) +
                  ")")
                     .c_str());
  return IABN_OK;
}

const char *dtypeName(iabn_dtype dtype) {
  return abi::getName(static_cast<abi::DType>(dtype));
}

const char *activationName(iabn_activation act) {
  return abi::getName(static_cast<abi::Activation>(act));
}

/// Sizes derived from a layout, and the kernel variants that apply.
struct Plan {
  int64_t channels, inner, perChannel, total;
  int64_t splits, chunk;
  /// Elements per 16-byte vector.
  int64_t width;
  /// Vectorized variants (before the alignment check of the pointers):
  /// planar needs inner % width == 0, channels-last inner == 1 and
  /// C % width == 0; both need < 2^31 elements (32-bit index math).
  bool planar, channelsLast;
  /// Channels-last partial reductions: groups of `width` channels (G),
  /// groups per tile (Gt), row lanes (L), tiles, row splits; one partial
  /// per channel and split (the lanes are summed in the block).
  int64_t groups, groupsPerTile, lanes, tiles, clSplits, rowsPerSplit;
};

bool aligned(const void *ptr) {
  return (reinterpret_cast<uintptr_t>(ptr) & 15) == 0;
}

iabn_status makePlan(const iabn_layout *layout, int multiprocessors,
                     Plan &plan) {
  if (!layout)
    return fail(IABN_ERROR_INVALID_ARGUMENT, "layout is NULL");
  if (!dtypeName(layout->dtype))
    return fail(IABN_ERROR_UNSUPPORTED, "unsupported dtype %d",
                static_cast<int>(layout->dtype));
  if (layout->outer < 1 || layout->channels < 1 || layout->inner < 1)
    return fail(IABN_ERROR_INVALID_ARGUMENT,
                "layout sizes must be >= 1, got outer=%lld channels=%lld "
                "inner=%lld",
                static_cast<long long>(layout->outer),
                static_cast<long long>(layout->channels),
                static_cast<long long>(layout->inner));
  plan.channels = layout->channels;
  plan.inner = layout->inner;
  // Checked products: sizes from the caller must not wrap.
  if (__builtin_mul_overflow(layout->outer, layout->inner, &plan.perChannel) ||
      __builtin_mul_overflow(plan.perChannel, plan.channels, &plan.total) ||
      plan.perChannel > (int64_t(1) << 40) || plan.total > (int64_t(1) << 46))
    return fail(IABN_ERROR_INVALID_ARGUMENT,
                "tensor too large: outer=%lld channels=%lld inner=%lld "
                "exceeds 2^40 values per channel or 2^46 values",
                static_cast<long long>(layout->outer),
                static_cast<long long>(layout->channels),
                static_cast<long long>(layout->inner));
  // Grids have one block per channel (and split): keep them within the
  // 2^31 - 1 blocks of a grid's x dimension, with room for the splits.
  if (plan.channels > (int64_t(1) << 24))
    return fail(IABN_ERROR_UNSUPPORTED,
                "too many channels: %lld (at most %lld)",
                static_cast<long long>(plan.channels),
                static_cast<long long>(int64_t(1) << 24));
  // Enough blocks to fill the GPU several times over, each with at least
  // 2048 elements to reduce.
  plan.width = layout->dtype == IABN_F32 ? 4 : 8;
  bool small = plan.total < (int64_t(1) << 31);
  plan.planar = small && plan.inner % plan.width == 0;
  plan.channelsLast =
      small && plan.inner == 1 && plan.channels % plan.width == 0;
  int64_t wanted = std::max<int64_t>(1, 8LL * multiprocessors / plan.channels);
  int64_t most = std::max<int64_t>(1, plan.perChannel / 2048);
  plan.splits = std::min(wanted, most);
  plan.chunk = (plan.perChannel + plan.splits - 1) / plan.splits;
  if (plan.planar) // vector partials need whole vectors per chunk
    plan.chunk = (plan.chunk + plan.width - 1) / plan.width * plan.width;
  if (plan.channelsLast) {
    int64_t rows = layout->outer;
    plan.groups = plan.channels / plan.width;
    plan.groupsPerTile = std::min<int64_t>(plan.groups, kBlock);
    plan.lanes = kBlock / plan.groupsPerTile;
    plan.tiles = (plan.groups + plan.groupsPerTile - 1) / plan.groupsPerTile;
    // About eight blocks per SM (enough loads in flight), at least 8 rows
    // per lane.
    int64_t wantedSplits =
        std::max<int64_t>(1, 8LL * multiprocessors / plan.tiles);
    int64_t mostSplits = std::max<int64_t>(1, rows / (8 * plan.lanes));
    plan.clSplits = std::min(wantedSplits, mostSplits);
    plan.rowsPerSplit = (rows + plan.clSplits - 1) / plan.clSplits;
  }
  return IABN_OK;
}

/// Partials per channel of the reduction kernels in use.
int64_t numPartials(const Plan &plan, bool channelsLastPartials) {
  return channelsLastPartials ? plan.clSplits : plan.splits;
}

size_t workspaceFloats(const Plan &plan) {
  int64_t partials = std::max(numPartials(plan, false),
                              plan.channelsLast ? numPartials(plan, true) : 0);
  return static_cast<size_t>(abi::StatsPartial::kCount * plan.channels *
                                 partials +
                             abi::GradParam::kCount * plan.channels);
}

/// A buffer argument of `size` elements.
abi::Buffer buffer(const void *pointer, int64_t size) {
  return {pointer, size};
}

/// Fills the placement arguments of a channels-last partial kernel.
template <typename Values>
void setChannelsLastPlacement(Values &args, const Plan &plan, int64_t rows) {
  args.channels = plan.channels;
  args.rows = rows;
  args.groups = plan.groups;
  args.groupsPerTile = plan.groupsPerTile;
  args.lanes = plan.lanes;
  args.tiles = plan.tiles;
  args.splits = plan.clSplits;
  args.rowsPerSplit = plan.rowsPerSplit;
}

unsigned elementwiseGrid(const Plan &plan, int multiprocessors) {
  int64_t blocks = (plan.total + kBlock - 1) / kBlock;
  return static_cast<unsigned>(
      std::max<int64_t>(1, std::min<int64_t>(blocks, 32LL * multiprocessors)));
}

unsigned channelGrid(const Plan &plan) {
  return static_cast<unsigned>((plan.channels + kBlock - 1) / kBlock);
}

iabn_status checkOptions(const iabn_options *options, bool backward) {
  if (!options)
    return fail(IABN_ERROR_INVALID_ARGUMENT, "options is NULL");
  if (!activationName(options->activation))
    return fail(IABN_ERROR_UNSUPPORTED, "unknown activation %d",
                static_cast<int>(options->activation));
  if (!(options->epsilon > 0.0f))
    return fail(IABN_ERROR_INVALID_ARGUMENT, "epsilon must be > 0");
  if (options->gamma_mode != IABN_SIGN_CLAMP &&
      options->gamma_mode != IABN_ABS_PLUS_EPS)
    return fail(IABN_ERROR_INVALID_ARGUMENT, "unknown gamma mode %d",
                static_cast<int>(options->gamma_mode));
  auto activation = static_cast<abi::Activation>(options->activation);
  if (abi::takesParameter(activation) && !(options->activation_param > 0.0f))
    return fail(IABN_ERROR_UNSUPPORTED,
                "the fused ops need an invertible activation: leaky_relu "
                "slope and elu alpha must be > 0");
  if (backward && !abi::hasBackwardKernels(activation))
    return fail(IABN_ERROR_UNSUPPORTED,
                "%s is not invertible: no fused backward from z",
                activationName(options->activation));
  return IABN_OK;
}

/// The element-wise variant for the given pointers and the number of work
/// items (vectors or elements).
std::pair<abi::Variant, int64_t>
elementwiseVariant(const Plan &plan, std::initializer_list<const void *> ptrs) {
  bool allAligned = std::all_of(ptrs.begin(), ptrs.end(), aligned);
  if (allAligned && plan.planar)
    return {abi::Variant::Planar, plan.total / plan.width};
  if (allAligned && plan.channelsLast)
    return {abi::Variant::ChannelsLast, plan.total / plan.width};
  return {abi::Variant::Scalar, plan.total};
}

/// Fills the trailing arguments of the element-wise kernels (C, inner, work
/// items, activation parameter) and launches kernel family K over `items`
/// work items.
template <typename K>
iabn_status launchElementwise(Library &lib, const Plan &plan,
                              typename K::Values &args, abi::Variant variant,
                              int64_t items, const iabn_layout *layout,
                              const iabn_options *options, void *stream) {
  args.channels = plan.channels;
  args.inner = plan.inner;
  args.items = items;
  args.activationParam = options->activation_param;
  Plan grid = plan;
  grid.total = items;
  return launch<K>(lib, elementwiseGrid(grid, lib.multiprocessors), args,
                   stream, variant, layout->dtype, options->activation);
}

iabn_status launchApply(Library &lib, const Plan &plan,
                        const iabn_layout *layout, const void *x, void *z,
                        const float *params, const iabn_options *options,
                        void *stream) {
  auto [variant, items] = elementwiseVariant(plan, {x, z, params});
  abi::Apply::Values apply;
  apply.x = buffer(x, plan.total);
  apply.z = buffer(z, plan.total);
  apply.params = buffer(params, abi::ForwardParam::kCount * plan.channels);
  return launchElementwise<abi::Apply>(lib, plan, apply, variant, items,
                                       layout, options, stream);
}

/// The prologue of every entry point: clear the error, load the kernels,
/// plan the layout and check the options.
iabn_status begin(const iabn_layout *layout, const iabn_options *options,
                  bool backward, Library *&lib, Plan &plan) {
  lastError.clear();
  if (iabn_status s = getLibrary(lib))
    return s;
  if (iabn_status s = makePlan(layout, lib->multiprocessors, plan))
    return s;
  return checkOptions(options, backward);
}

/// Checks the workspace size of a call.
iabn_status checkWorkspace(const Plan &plan, size_t workspaceBytes) {
  if (workspaceBytes < workspaceFloats(plan) * sizeof(float))
    return fail(IABN_ERROR_INVALID_ARGUMENT,
                "workspace too small: %zu bytes, need %zu", workspaceBytes,
                workspaceFloats(plan) * sizeof(float));
  return IABN_OK;
}

/// The statistics half of the training forward: partial sums of x, then
/// finalize_stats (mean, biased var, the apply parameters, the running
/// statistics). `params` is set to where the apply parameters were written.
iabn_status launchStatistics(Library &lib, const Plan &plan,
                             const iabn_layout *layout, float epsilon,
                             iabn_gamma_mode gammaMode, const void *x,
                             const float *gamma, const float *beta, float *mean,
                             float *var, float *runningMean, float *runningVar,
                             float factor, float *ws, float *&params,
                             void *stream) {
  int64_t C = plan.channels;
  bool clPartials = plan.channelsLast && aligned(x);
  int64_t partials = numPartials(plan, clPartials);
  int64_t partialFloats = abi::StatsPartial::kCount * C * partials;
  params = ws + partialFloats;

  if (clPartials) {
    abi::PartialStatsCL::Values partial;
    partial.x = buffer(x, plan.total);
    partial.ws = buffer(ws, partialFloats);
    setChannelsLastPlacement(partial, plan, layout->outer);
    if (iabn_status s = launch<abi::PartialStatsCL>(
            lib, static_cast<unsigned>(plan.tiles * plan.clSplits), partial,
            stream, abi::Variant::ChannelsLast, layout->dtype))
      return s;
  } else {
    bool planarX = plan.planar && aligned(x);
    abi::PartialStats::Values partial;
    partial.x = buffer(x, plan.total);
    partial.ws = buffer(ws, partialFloats);
    partial.channels = C;
    partial.inner = plan.inner;
    partial.perChannel = plan.perChannel;
    partial.splits = plan.splits;
    partial.chunk = plan.chunk;
    if (iabn_status s = launch<abi::PartialStats>(
            lib, static_cast<unsigned>(C * plan.splits), partial, stream,
            planarX ? abi::Variant::Planar : abi::Variant::Scalar,
            layout->dtype))
      return s;
  }

  double m = static_cast<double>(plan.perChannel);
  abi::FinalizeStats::Values finalize;
  finalize.ws = buffer(ws, partialFloats);
  finalize.channels = C;
  finalize.splits = partials;
  finalize.epsilon = epsilon;
  finalize.gamma = buffer(gamma ? gamma : mean, C);
  finalize.beta = buffer(beta ? beta : mean, C);
  finalize.hasGamma = gamma != nullptr;
  finalize.hasBeta = beta != nullptr;
  finalize.gammaMode = gammaMode;
  finalize.meanOut = buffer(mean, C);
  finalize.varOut = buffer(var, C);
  finalize.params = buffer(params, abi::ForwardParam::kCount * C);
  finalize.runningMean = buffer(runningMean ? runningMean : mean, C);
  finalize.runningVar = buffer(runningVar ? runningVar : var, C);
  finalize.updateRunning = runningMean != nullptr;
  finalize.factor = factor;
  finalize.unbias = m > 1.0 ? static_cast<float>(m / (m - 1.0)) : 1.0f;
  return launch<abi::FinalizeStats>(lib, static_cast<unsigned>(C), finalize,
                                    stream);
}

/// Fills the per-channel affine arguments of the prepare kernels: gamma,
/// beta (`fallback` stands in for a NULL one: never read), their presence,
/// the gamma mode, epsilon and C.
template <typename Values>
void setAffineArgs(Values &args, int64_t C, const iabn_options *options,
                   const float *gamma, const float *beta,
                   const float *fallback) {
  args.gamma = buffer(gamma ? gamma : fallback, C);
  args.beta = buffer(beta ? beta : fallback, C);
  args.hasGamma = gamma != nullptr;
  args.hasBeta = beta != nullptr;
  args.gammaMode = options->gamma_mode;
  args.epsilon = options->epsilon;
  args.channels = C;
}

/// prepare_grad: the InverseGammaHat, Beta and Coef slots of `params`.
iabn_status launchPrepareGrad(Library &lib, const Plan &plan,
                              const iabn_options *options, const float *gamma,
                              const float *beta, const float *var,
                              float *params, void *stream) {
  int64_t C = plan.channels;
  abi::PrepareGrad::Values prepare;
  prepare.var = buffer(var, C);
  setAffineArgs(prepare, C, options, gamma, beta, var);
  prepare.params = buffer(params, abi::GradParam::kCount * C);
  return launch<abi::PrepareGrad>(lib, channelGrid(plan), prepare, stream);
}

/// The first half of every backward: prepare_grad's parameters, then the
/// partial gradient sums (sum g_y, sum g_y * x_hat) of z and dz into `ws`.
/// Sets `params` (in `ws`) and the number of partials per channel.
iabn_status launchGradSums(Library &lib, const Plan &plan,
                           const iabn_layout *layout,
                           const iabn_options *options, const void *z,
                           const void *dz, const float *gamma,
                           const float *beta, const float *var, float *ws,
                           float *&params, int64_t &partials, void *stream) {
  int64_t C = plan.channels;
  bool clPartials = plan.channelsLast && aligned(z) && aligned(dz);
  partials = numPartials(plan, clPartials);
  params = ws + abi::StatsPartial::kCount * C * partials;
  if (iabn_status s = launchPrepareGrad(lib, plan, options, gamma, beta, var,
                                        params, stream))
    return s;
  abi::Buffer paramsArg = buffer(params, abi::GradParam::kCount * C);
  abi::Buffer sums = buffer(ws, abi::GradPartial::kCount * C * partials);
  if (clPartials) {
    abi::PartialGradsCL::Values partial;
    partial.z = buffer(z, plan.total);
    partial.dz = buffer(dz, plan.total);
    partial.params = paramsArg;
    partial.ws = sums;
    setChannelsLastPlacement(partial, plan, layout->outer);
    partial.activationParam = options->activation_param;
    return launch<abi::PartialGradsCL>(
        lib, static_cast<unsigned>(plan.tiles * plan.clSplits), partial, stream,
        abi::Variant::ChannelsLast, layout->dtype, options->activation);
  }
  bool planarZ = plan.planar && aligned(z) && aligned(dz);
  abi::PartialGrads::Values partial;
  partial.z = buffer(z, plan.total);
  partial.dz = buffer(dz, plan.total);
  partial.params = paramsArg;
  partial.ws = sums;
  partial.channels = C;
  partial.inner = plan.inner;
  partial.perChannel = plan.perChannel;
  partial.splits = plan.splits;
  partial.chunk = plan.chunk;
  partial.activationParam = options->activation_param;
  return launch<abi::PartialGrads>(
      lib, static_cast<unsigned>(C * plan.splits), partial, stream,
      planarZ ? abi::Variant::Planar : abi::Variant::Scalar, layout->dtype,
      options->activation);
}

/// finalize_grads: sums the `partials` per channel of `sums` (layout
/// [sum g_y | sum g_y * x_hat], each C * partials), writes dbeta and dgamma
/// (times sign(gamma) in abs_plus_eps mode) and the apply parameters
/// k1 = sum g_y / count, k2 = sum g_y * x_hat / count.
iabn_status launchFinalizeGrads(Library &lib, const Plan &plan,
                                const float *sums, int64_t partials,
                                float count, const float *gamma,
                                iabn_gamma_mode gammaMode, float *dgamma,
                                float *dbeta, float *params, void *stream) {
  int64_t C = plan.channels;
  abi::FinalizeGrads::Values finalize;
  finalize.ws = buffer(sums, abi::GradPartial::kCount * C * partials);
  finalize.channels = C;
  finalize.splits = partials;
  finalize.count = count;
  finalize.gamma = buffer(gamma ? gamma : params, C);
  finalize.hasGamma = gamma != nullptr;
  finalize.gammaMode = gammaMode;
  finalize.dgamma = buffer(dgamma, C);
  finalize.dbeta = buffer(dbeta, C);
  finalize.params = buffer(params, abi::GradParam::kCount * C);
  return launch<abi::FinalizeGrads>(lib, static_cast<unsigned>(C), finalize,
                                    stream);
}

/// apply_grad: dx = gamma_hat * rstd * (g_y - k1 - x_hat * k2).
iabn_status launchApplyGrad(Library &lib, const Plan &plan,
                            const iabn_layout *layout,
                            const iabn_options *options, const void *z,
                            const void *dz, void *dx, const float *params,
                            void *stream) {
  auto [variant, items] = elementwiseVariant(plan, {z, dz, dx, params});
  abi::ApplyGrad::Values apply;
  apply.z = buffer(z, plan.total);
  apply.dz = buffer(dz, plan.total);
  apply.dx = buffer(dx, plan.total);
  apply.params = buffer(params, abi::GradParam::kCount * plan.channels);
  return launchElementwise<abi::ApplyGrad>(lib, plan, apply, variant, items,
                                           layout, options, stream);
}

/// The common checks of the backward entry points.
iabn_status checkBackward(const Plan &plan, const void *z, const void *dz,
                          const float *var, const void *workspace,
                          size_t workspaceBytes) {
  if (!z || !dz || !var || !workspace)
    return fail(IABN_ERROR_INVALID_ARGUMENT,
                "z, dz, var and workspace must not be NULL");
  return checkWorkspace(plan, workspaceBytes);
}

} // namespace

#define IABN_EXPORT __attribute__((visibility("default")))

extern "C" {

IABN_EXPORT const char *iabn_last_error(void) { return lastError.c_str(); }

IABN_EXPORT size_t iabn_workspace_size(const iabn_layout *layout) {
  Library *lib = nullptr;
  int multiprocessors = getLibrary(lib) == IABN_OK ? lib->multiprocessors : 132;
  Plan plan;
  if (makePlan(layout, multiprocessors, plan) != IABN_OK)
    return 0;
  return workspaceFloats(plan) * sizeof(float);
}

IABN_EXPORT iabn_status iabn_forward_train(
    const iabn_layout *layout, const iabn_options *options, const void *x,
    void *z, const float *gamma, const float *beta, float *mean, float *var,
    float *running_mean, float *running_var, float factor, void *workspace,
    size_t workspace_bytes, void *stream) {
  Library *lib;
  Plan plan;
  if (iabn_status s = begin(layout, options, /*backward=*/false, lib, plan))
    return s;
  if (!x || !z || !mean || !var || !workspace)
    return fail(IABN_ERROR_INVALID_ARGUMENT,
                "x, z, mean, var and workspace must not be NULL");
  if ((running_mean == nullptr) != (running_var == nullptr))
    return fail(IABN_ERROR_INVALID_ARGUMENT,
                "running_mean and running_var must both be given or both "
                "be NULL");
  if (plan.perChannel < 2)
    return fail(IABN_ERROR_INVALID_ARGUMENT,
                "training needs more than one value per channel, got %lld",
                static_cast<long long>(plan.perChannel));
  if (iabn_status s = checkWorkspace(plan, workspace_bytes))
    return s;
  float *params = nullptr;
  if (iabn_status s = launchStatistics(
          *lib, plan, layout, options->epsilon, options->gamma_mode, x, gamma,
          beta, mean, var, running_mean, running_var, factor,
          static_cast<float *>(workspace), params, stream))
    return s;
  return launchApply(*lib, plan, layout, x, z, params, options, stream);
}

IABN_EXPORT iabn_status iabn_statistics(const iabn_layout *layout,
                                        const void *x, float *mean, float *var,
                                        void *workspace, size_t workspace_bytes,
                                        void *stream) {
  lastError.clear();
  Library *lib;
  Plan plan;
  if (iabn_status s = getLibrary(lib))
    return s;
  if (iabn_status s = makePlan(layout, lib->multiprocessors, plan))
    return s;
  if (!x || !mean || !var || !workspace)
    return fail(IABN_ERROR_INVALID_ARGUMENT,
                "x, mean, var and workspace must not be NULL");
  if (iabn_status s = checkWorkspace(plan, workspace_bytes))
    return s;
  float *params = nullptr;
  return launchStatistics(*lib, plan, layout, /*epsilon=*/1.0f, IABN_SIGN_CLAMP,
                          x, nullptr, nullptr, mean, var, nullptr, nullptr,
                          0.0f, static_cast<float *>(workspace), params,
                          stream);
}

IABN_EXPORT iabn_status iabn_forward_inference(
    const iabn_layout *layout, const iabn_options *options, const void *x,
    void *z, const float *gamma, const float *beta, const float *running_mean,
    const float *running_var, void *workspace, size_t workspace_bytes,
    void *stream) {
  Library *lib;
  Plan plan;
  if (iabn_status s = begin(layout, options, /*backward=*/false, lib, plan))
    return s;
  if (!x || !z || !running_mean || !running_var || !workspace)
    return fail(IABN_ERROR_INVALID_ARGUMENT,
                "x, z, running statistics and workspace must not be NULL");
  if (iabn_status s = checkWorkspace(plan, workspace_bytes))
    return s;
  int64_t C = plan.channels;
  float *params = static_cast<float *>(workspace);
  abi::PrepareInference::Values prepare;
  prepare.runningMean = buffer(running_mean, C);
  prepare.runningVar = buffer(running_var, C);
  setAffineArgs(prepare, C, options, gamma, beta, running_mean);
  prepare.params = buffer(params, abi::ForwardParam::kCount * C);
  if (iabn_status s = launch<abi::PrepareInference>(*lib, channelGrid(plan),
                                                    prepare, stream))
    return s;
  return launchApply(*lib, plan, layout, x, z, params, options, stream);
}

IABN_EXPORT iabn_status iabn_backward(const iabn_layout *layout,
                                      const iabn_options *options,
                                      const void *z, const void *dz, void *dx,
                                      const float *gamma, const float *beta,
                                      const float *var, float *dgamma,
                                      float *dbeta, void *workspace,
                                      size_t workspace_bytes, void *stream) {
  Library *lib;
  Plan plan;
  if (iabn_status s = begin(layout, options, /*backward=*/true, lib, plan))
    return s;
  if (!dx || !dgamma || !dbeta)
    return fail(IABN_ERROR_INVALID_ARGUMENT,
                "dx, dgamma and dbeta must not be NULL");
  if (iabn_status s =
          checkBackward(plan, z, dz, var, workspace, workspace_bytes))
    return s;
  if (plan.perChannel < 2)
    return fail(IABN_ERROR_INVALID_ARGUMENT,
                "training needs more than one value per channel");
  float *ws = static_cast<float *>(workspace);
  float *params = nullptr;
  int64_t partials = 0;
  if (iabn_status s = launchGradSums(*lib, plan, layout, options, z, dz, gamma,
                                     beta, var, ws, params, partials, stream))
    return s;
  if (iabn_status s = launchFinalizeGrads(
          *lib, plan, ws, partials, static_cast<float>(plan.perChannel), gamma,
          options->gamma_mode, dgamma, dbeta, params, stream))
    return s;
  return launchApplyGrad(*lib, plan, layout, options, z, dz, dx, params,
                         stream);
}

IABN_EXPORT iabn_status iabn_backward_reduce(
    const iabn_layout *layout, const iabn_options *options, const void *z,
    const void *dz, const float *gamma, const float *beta, const float *var,
    float *sums, void *workspace, size_t workspace_bytes, void *stream) {
  Library *lib;
  Plan plan;
  if (iabn_status s = begin(layout, options, /*backward=*/true, lib, plan))
    return s;
  if (!sums)
    return fail(IABN_ERROR_INVALID_ARGUMENT, "sums must not be NULL");
  if (iabn_status s =
          checkBackward(plan, z, dz, var, workspace, workspace_bytes))
    return s;
  float *ws = static_cast<float *>(workspace);
  int64_t C = plan.channels;
  float *params = nullptr;
  int64_t partials = 0;
  if (iabn_status s = launchGradSums(*lib, plan, layout, options, z, dz, gamma,
                                     beta, var, ws, params, partials, stream))
    return s;
  // The raw sums: no sign flip (sign_clamp mode); the count is unused.
  return launchFinalizeGrads(*lib, plan, ws, partials, 1.0f, gamma,
                             IABN_SIGN_CLAMP, /*dgamma=*/sums + C,
                             /*dbeta=*/sums, params, stream);
}

IABN_EXPORT iabn_status iabn_backward_apply(
    const iabn_layout *layout, const iabn_options *options, const void *z,
    const void *dz, void *dx, const float *gamma, const float *beta,
    const float *var, const float *sums, double count, void *workspace,
    size_t workspace_bytes, void *stream) {
  Library *lib;
  Plan plan;
  if (iabn_status s = begin(layout, options, /*backward=*/true, lib, plan))
    return s;
  if (!dx || !sums)
    return fail(IABN_ERROR_INVALID_ARGUMENT, "dx and sums must not be NULL");
  if (iabn_status s =
          checkBackward(plan, z, dz, var, workspace, workspace_bytes))
    return s;
  if (!(count >= 2.0) || !std::isfinite(count) ||
      count < static_cast<double>(plan.perChannel))
    return fail(IABN_ERROR_INVALID_ARGUMENT,
                "count must be >= 2 and >= the %lld values per channel of "
                "this call, got %g",
                static_cast<long long>(plan.perChannel), count);
  int64_t C = plan.channels;
  float *params = static_cast<float *>(workspace);
  // dgamma, dbeta of the global sums (unused) after the parameters.
  float *scratch = params + abi::GradParam::kCount * C;
  if (iabn_status s = launchPrepareGrad(*lib, plan, options, gamma, beta, var,
                                        params, stream))
    return s;
  if (iabn_status s = launchFinalizeGrads(
          *lib, plan, sums, /*partials=*/1, static_cast<float>(count), gamma,
          options->gamma_mode, scratch, scratch + C, params, stream))
    return s;
  return launchApplyGrad(*lib, plan, layout, options, z, dz, dx, params,
                         stream);
}

} // extern "C"
