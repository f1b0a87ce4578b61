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

iabn_status getLibrary(Library *&out) {
  Driver &d = driver();
  if (!d.loaded)
    return fail(IABN_ERROR_NO_DRIVER, "%s", d.loadError.c_str());
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
  }
  out = &library;
  return IABN_OK;
}

/// Kernel arguments: memref<?xT> descriptors are 5 values (allocated and
/// aligned pointers, offset, size, stride); index is int64.
class Args {
public:
  void buffer(const void *ptr, int64_t size) {
    for (int k = 0; k < 2; ++k) {
      pointers.push_back(const_cast<void *>(ptr));
      order.push_back(Kind::Pointer);
    }
    index(0);
    index(size);
    index(1);
  }
  void index(int64_t v) {
    indices.push_back(v);
    order.push_back(Kind::Index);
  }
  void i32(int32_t v) {
    ints.push_back(v);
    order.push_back(Kind::Int);
  }
  void f32(float v) {
    floats.push_back(v);
    order.push_back(Kind::Float);
  }

  /// The void* array cuLaunchKernel wants, in declaration order. The
  /// addresses point into this object: call it after the last argument.
  std::vector<void *> pack() {
    std::vector<void *> out;
    size_t p = 0, i = 0, n = 0, f = 0;
    for (size_t k = 0; k < order.size(); ++k) {
      switch (order[k]) {
      case Kind::Pointer:
        out.push_back(&pointers[p++]);
        break;
      case Kind::Index:
        out.push_back(&indices[i++]);
        break;
      case Kind::Int:
        out.push_back(&ints[n++]);
        break;
      case Kind::Float:
        out.push_back(&floats[f++]);
        break;
      }
    }
    // A NULL after the last argument: the driver reads only as many as the
    // kernel declares; the test driver (test/Runtime) checks the count.
    out.push_back(nullptr);
    return out;
  }

private:
  enum class Kind { Pointer, Index, Int, Float };
  std::vector<void *> pointers;
  std::vector<int64_t> indices;
  std::vector<int32_t> ints;
  std::vector<float> floats;
  std::vector<Kind> order;
};

constexpr int kBlock = 256;

iabn_status launch(Library &lib, const std::string &name, unsigned grid,
                   Args &args, void *stream) {
  CUfunction function;
  IABN_CHECK(driver().moduleGetFunction(&function, lib.module, name.c_str()),
             ("cuModuleGetFunction(" + name + ")").c_str());
  std::vector<void *> params = args.pack();
  IABN_CHECK(driver().launchKernel(function, grid, 1, 1, kBlock, 1, 1, 0,
                                   static_cast<CUstream>(stream), params.data(),
                                   nullptr),
             ("cuLaunchKernel(" + name + ")").c_str());
  return IABN_OK;
}

const char *dtypeName(iabn_dtype dtype) {
  switch (dtype) {
  case IABN_F32:
    return "f32";
  case IABN_F16:
    return "f16";
  case IABN_BF16:
    return "bf16";
  }
  return nullptr;
}

const char *activationName(iabn_activation act) {
  switch (act) {
  case IABN_IDENTITY:
    return "identity";
  case IABN_RELU:
    return "relu";
  case IABN_LEAKY_RELU:
    return "leaky_relu";
  case IABN_ELU:
    return "elu";
  }
  return nullptr;
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
  return static_cast<size_t>(3 * plan.channels * partials + 5 * plan.channels);
}

/// Launches a channels-last partial kernel: `args` holds the leading
/// buffers; the placement arguments are appended here.
void addChannelsLastPlacement(Args &args, const Plan &plan, int64_t rows) {
  args.index(plan.channels);
  args.index(rows);
  args.index(plan.groups);
  args.index(plan.groupsPerTile);
  args.index(plan.lanes);
  args.index(plan.tiles);
  args.index(plan.clSplits);
  args.index(plan.rowsPerSplit);
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
  bool parametric =
      options->activation == IABN_LEAKY_RELU || options->activation == IABN_ELU;
  if (parametric && !(options->activation_param > 0.0f))
    return fail(IABN_ERROR_UNSUPPORTED,
                "the fused ops need an invertible activation: leaky_relu "
                "slope and elu alpha must be > 0");
  if (backward && options->activation == IABN_RELU)
    return fail(IABN_ERROR_UNSUPPORTED,
                "relu is not invertible: no fused backward from z");
  return IABN_OK;
}

/// The element-wise variant for the given pointers: "planar_", "cl_" or ""
/// (scalar), and the number of work items (vectors or elements).
std::pair<const char *, int64_t>
elementwiseVariant(const Plan &plan, std::initializer_list<const void *> ptrs) {
  bool allAligned = std::all_of(ptrs.begin(), ptrs.end(), aligned);
  if (allAligned && plan.planar)
    return {"planar_", plan.total / plan.width};
  if (allAligned && plan.channelsLast)
    return {"cl_", plan.total / plan.width};
  return {"", plan.total};
}

/// Appends the trailing arguments of the element-wise kernels (C, inner,
/// work items, activation parameter) to `args` and launches `name` over
/// `items` work items.
iabn_status launchElementwise(Library &lib, const Plan &plan,
                              const std::string &name, Args &args,
                              int64_t items, const iabn_options *options,
                              void *stream) {
  args.index(plan.channels);
  args.index(plan.inner);
  args.index(items);
  args.f32(options->activation_param);
  Plan grid = plan;
  grid.total = items;
  return launch(lib, name, elementwiseGrid(grid, lib.multiprocessors), args,
                stream);
}

iabn_status launchApply(Library &lib, const Plan &plan, const std::string &sfx,
                        const void *x, void *z, const float *params,
                        const iabn_options *options, void *stream) {
  auto [variant, items] = elementwiseVariant(plan, {x, z, params});
  Args apply;
  apply.buffer(x, plan.total);
  apply.buffer(z, plan.total);
  apply.buffer(params, 3 * plan.channels);
  return launchElementwise(lib, plan, std::string("apply_") + variant + sfx,
                           apply, items, options, stream);
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

std::string suffix(const iabn_layout *layout, const iabn_options *options) {
  return std::string(dtypeName(layout->dtype)) + "_" +
         activationName(options->activation);
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
  params = ws + 3 * C * partials;

  if (clPartials) {
    Args partial;
    partial.buffer(x, plan.total);
    partial.buffer(ws, 3 * C * partials);
    addChannelsLastPlacement(partial, plan, layout->outer);
    if (iabn_status s = launch(
            lib, std::string("partial_stats_cl_") + dtypeName(layout->dtype),
            static_cast<unsigned>(plan.tiles * plan.clSplits), partial, stream))
      return s;
  } else {
    bool planarX = plan.planar && aligned(x);
    Args partial;
    partial.buffer(x, plan.total);
    partial.buffer(ws, 3 * C * partials);
    partial.index(C);
    partial.index(plan.inner);
    partial.index(plan.perChannel);
    partial.index(plan.splits);
    partial.index(plan.chunk);
    if (iabn_status s = launch(
            lib,
            std::string(planarX ? "partial_stats_planar_" : "partial_stats_") +
                dtypeName(layout->dtype),
            static_cast<unsigned>(C * plan.splits), partial, stream))
      return s;
  }

  double m = static_cast<double>(plan.perChannel);
  Args finalize;
  finalize.buffer(ws, 3 * C * partials);
  finalize.index(C);
  finalize.index(partials);
  finalize.f32(epsilon);
  finalize.buffer(gamma ? gamma : mean, C);
  finalize.buffer(beta ? beta : mean, C);
  finalize.i32(gamma != nullptr);
  finalize.i32(beta != nullptr);
  finalize.i32(gammaMode);
  finalize.buffer(mean, C);
  finalize.buffer(var, C);
  finalize.buffer(params, 3 * C);
  finalize.buffer(runningMean ? runningMean : mean, C);
  finalize.buffer(runningVar ? runningVar : var, C);
  finalize.i32(runningMean != nullptr);
  finalize.f32(factor);
  finalize.f32(m > 1.0 ? static_cast<float>(m / (m - 1.0)) : 1.0f);
  return launch(lib, "finalize_stats", static_cast<unsigned>(C), finalize,
                stream);
}

/// The per-channel affine arguments of the prepare kernels: gamma, beta
/// (`fallback` stands in for a NULL one: never read), their presence, the
/// gamma mode, epsilon and C.
void addAffineArgs(Args &args, int64_t C, const iabn_options *options,
                   const float *gamma, const float *beta,
                   const float *fallback) {
  args.buffer(gamma ? gamma : fallback, C);
  args.buffer(beta ? beta : fallback, C);
  args.i32(gamma != nullptr);
  args.i32(beta != nullptr);
  args.i32(options->gamma_mode);
  args.f32(options->epsilon);
  args.index(C);
}

/// prepare_grad: params = [1/gamma_hat | beta | gamma_hat * rstd | . | .].
iabn_status launchPrepareGrad(Library &lib, const Plan &plan,
                              const iabn_options *options, const float *gamma,
                              const float *beta, const float *var,
                              float *params, void *stream) {
  int64_t C = plan.channels;
  Args prepare;
  prepare.buffer(var, C);
  addAffineArgs(prepare, C, options, gamma, beta, var);
  prepare.buffer(params, 5 * C);
  return launch(lib, "prepare_grad", channelGrid(plan), prepare, stream);
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
  params = ws + 3 * C * partials;
  if (iabn_status s = launchPrepareGrad(lib, plan, options, gamma, beta, var,
                                        params, stream))
    return s;
  std::string sfx = suffix(layout, options);
  Args partial;
  partial.buffer(z, plan.total);
  partial.buffer(dz, plan.total);
  partial.buffer(params, 5 * C);
  partial.buffer(ws, 2 * C * partials);
  if (clPartials) {
    addChannelsLastPlacement(partial, plan, layout->outer);
    partial.f32(options->activation_param);
    return launch(lib, "partial_grads_cl_" + sfx,
                  static_cast<unsigned>(plan.tiles * plan.clSplits), partial,
                  stream);
  }
  bool planarZ = plan.planar && aligned(z) && aligned(dz);
  partial.index(C);
  partial.index(plan.inner);
  partial.index(plan.perChannel);
  partial.index(plan.splits);
  partial.index(plan.chunk);
  partial.f32(options->activation_param);
  return launch(lib,
                (planarZ ? "partial_grads_planar_" : "partial_grads_") + sfx,
                static_cast<unsigned>(C * plan.splits), partial, stream);
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
  Args finalize;
  finalize.buffer(sums, 2 * C * partials);
  finalize.index(C);
  finalize.index(partials);
  finalize.f32(count);
  finalize.buffer(gamma ? gamma : params, C);
  finalize.i32(gamma != nullptr);
  finalize.i32(gammaMode);
  finalize.buffer(dgamma, C);
  finalize.buffer(dbeta, C);
  finalize.buffer(params, 5 * C);
  return launch(lib, "finalize_grads", static_cast<unsigned>(C), finalize,
                stream);
}

/// apply_grad: dx = gamma_hat * rstd * (g_y - k1 - x_hat * k2).
iabn_status launchApplyGrad(Library &lib, const Plan &plan,
                            const iabn_layout *layout,
                            const iabn_options *options, const void *z,
                            const void *dz, void *dx, const float *params,
                            void *stream) {
  auto [variant, items] = elementwiseVariant(plan, {z, dz, dx, params});
  Args apply;
  apply.buffer(z, plan.total);
  apply.buffer(dz, plan.total);
  apply.buffer(dx, plan.total);
  apply.buffer(params, 5 * plan.channels);
  return launchElementwise(
      lib, plan, std::string("apply_grad_") + variant + suffix(layout, options),
      apply, items, options, stream);
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
  return launchApply(*lib, plan, suffix(layout, options), x, z, params, options,
                     stream);
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
  Args prepare;
  prepare.buffer(running_mean, C);
  prepare.buffer(running_var, C);
  addAffineArgs(prepare, C, options, gamma, beta, running_mean);
  prepare.buffer(params, 3 * C);
  if (iabn_status s =
          launch(*lib, "prepare_inference", channelGrid(plan), prepare, stream))
    return s;
  return launchApply(*lib, plan, suffix(layout, options), x, z, params, options,
                     stream);
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
  float *scratch = params + 5 * C; // dgamma, dbeta of the global sums: unused
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
