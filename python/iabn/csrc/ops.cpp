//===- ops.cpp - InPlace-ABN as native PyTorch operators ------------------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//
//
// The PyTorch operators of the iabn namespace (libiabn_torch.so), registered
// with TORCH_LIBRARY so that no Python runs per call:
//
//   iabn::inplace_abn_           eager, z over x (x marked dirty)
//   iabn::inplace_abn            eager, z into a new tensor
//   iabn::inplace_abn_forward    functional forward (torch.compile, export)
//   iabn::inplace_abn_backward   the backward from z and dz alone
//   iabn::statistics, iabn::backward_reduce, iabn::backward_apply
//                                the halves of the synchronized layer
//
// Autograd of the first three is registered here (C++ autograd Functions
// that save z, never x). CUDA tensors of the kernels' dtypes and layouts run
// the compiler-generated kernels of libiabn_cuda.so through its C ABI
// (runtime/cuda/iabn_cuda.h) on the current stream, with the workspace from
// PyTorch's caching allocator and no host synchronization, so that the
// layers can be captured in CUDA graphs. Every other input runs the one
// Python copy of the math (iabn/torch/_reference.py), which the package
// registers as the kernels of iabn::_reference_forward/_reference_backward;
// this file holds no math. Meta kernels let torch.compile trace the
// operators without graph breaks.
//
//===----------------------------------------------------------------------===//

#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/autograd.h>
#include <torch/csrc/autograd/VariableTypeUtils.h>
#include <torch/csrc/autograd/autograd_not_implemented_fallback.h>
#include <torch/library.h>

#include "IABN/Runtime/KernelABI.h"

#ifdef IABN_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "iabn_cuda.h"
#endif

#include <optional>
#include <string>
#include <tuple>

namespace {

using at::Tensor;
using c10::optional;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
namespace abi = mlir::iabn::abi;

//===----------------------------------------------------------------------===//
// Arguments
//===----------------------------------------------------------------------===//

/// The activation named `name` (the IR spelling of KernelABI.h).
abi::Activation parseActivation(c10::string_view name) {
  for (int i = 0; i < abi::kNumActivations; ++i)
    if (name == abi::getName(static_cast<abi::Activation>(i)))
      return static_cast<abi::Activation>(i);
  TORCH_CHECK_VALUE(false, "iabn: unknown activation '", std::string(name),
                    "'");
  return abi::Activation::Identity; // unreachable
}

/// The gamma mode named `name`.
abi::GammaMode parseGammaMode(c10::string_view name) {
  for (int i = 0; i < abi::kNumGammaModes; ++i)
    if (name == abi::getName(static_cast<abi::GammaMode>(i)))
      return static_cast<abi::GammaMode>(i);
  TORCH_CHECK_VALUE(false,
                    "iabn: gamma_mode must be sign_clamp or abs_plus_eps, got '",
                    std::string(name), "'");
  return abi::GammaMode::SignClamp; // unreachable
}

/// The checks every entry point makes on x and the options: the layer's
/// contract, stated once here for all devices.
void checkInput(const Tensor &x, bool training, bool haveRunning,
                c10::string_view activation, double param,
                c10::string_view gammaMode, bool needsInverse) {
  abi::Activation act = parseActivation(activation);
  parseGammaMode(gammaMode);
  TORCH_CHECK_TYPE(at::isFloatingType(x.scalar_type()),
                   "InPlace-ABN needs a floating-point input, got ",
                   x.scalar_type());
  TORCH_CHECK_VALUE(x.dim() >= 2, "expected an input of rank >= 2, got ",
                    x.dim());
  TORCH_CHECK_VALUE(training || haveRunning,
                    "evaluation mode needs running statistics");
  if (needsInverse)
    TORCH_CHECK_VALUE(abi::hasBackwardKernels(act),
                      "InPlaceABN needs an invertible activation: ",
                      std::string(activation),
                      " is not (use leaky_relu with a small slope, or ABN)");
  if (abi::takesParameter(act))
    TORCH_CHECK_VALUE(param > 0, std::string(activation),
                      " needs activation_param > 0 to be invertible, got ",
                      param);
  // Under a tracer with symbolic shapes the caller has checked the batch
  // (iabn.torch.functional); concrete tensors are checked here.
  if (training && !x.unsafeGetTensorImpl()->has_symbolic_sizes_strides() &&
      x.numel() > 0)
    TORCH_CHECK_VALUE(x.numel() / x.size(1) >= 2,
                      "Expected more than 1 value per channel when training, "
                      "got input size ",
                      x.sizes());
}

/// epsilon must be a positive number (as the kernels require).
void checkEps(double eps) {
  TORCH_CHECK_VALUE(eps > 0, "iabn: eps must be > 0, got ", eps);
}

bool given(const optional<Tensor> &t) { return t.has_value() && t->defined(); }

bool concrete(const Tensor &t) {
  return !t.unsafeGetTensorImpl()->has_symbolic_sizes_strides();
}

/// A per-channel argument: on x's device, with `count` values (unless the
/// shapes are symbolic). Checked before anything is written: a rejected
/// call leaves x and the running statistics as they were.
void checkPerChannel(const Tensor &x, const Tensor &t, const char *name,
                     int64_t factor = 1) {
  TORCH_CHECK(t.device() == x.device(), "iabn: expected all tensors on ",
              x.device(), ", but ", name, " is on ", t.device());
  if (concrete(x) && concrete(t))
    TORCH_CHECK_VALUE(t.numel() == factor * x.size(1), "iabn: ", name,
                      " should contain ", factor * x.size(1),
                      " elements, not ", t.numel());
}

/// The checks of the layer's tensors: weight, bias and the running
/// statistics (both or neither) per channel on x's device.
void checkLayerTensors(const Tensor &x, const optional<Tensor> &weight,
                       const optional<Tensor> &bias,
                       const optional<Tensor> &runningMean,
                       const optional<Tensor> &runningVar) {
  TORCH_CHECK_VALUE(given(runningMean) == given(runningVar),
                    "iabn: running_mean and running_var must both be given "
                    "or both be None");
  if (given(weight))
    checkPerChannel(x, *weight, "weight");
  if (given(bias))
    checkPerChannel(x, *bias, "bias");
  if (given(runningMean)) {
    checkPerChannel(x, *runningMean, "running_mean");
    checkPerChannel(x, *runningVar, "running_var");
  }
}

/// The checks of the backward's tensors.
void checkBackwardTensors(const Tensor &z, const Tensor &dz,
                          const optional<Tensor> &weight,
                          const optional<Tensor> &bias, const Tensor &var) {
  TORCH_CHECK(dz.device() == z.device(), "iabn: expected all tensors on ",
              z.device(), ", but dz is on ", dz.device());
  if (concrete(z) && concrete(dz))
    TORCH_CHECK_VALUE(dz.sizes() == z.sizes(), "iabn: dz has shape ",
                      dz.sizes(), ", z has ", z.sizes());
  checkLayerTensors(z, weight, bias, c10::nullopt, c10::nullopt);
  checkPerChannel(z, var, "var");
}

/// Every check of a forward entry point, before anything is written.
void checkLayer(const Tensor &x, const optional<Tensor> &weight,
                const optional<Tensor> &bias,
                const optional<Tensor> &runningMean,
                const optional<Tensor> &runningVar, bool training, double eps,
                c10::string_view activation, double param,
                c10::string_view gammaMode, bool needsInverse) {
  checkInput(x, training, given(runningMean), activation, param, gammaMode,
             needsInverse);
  checkEps(eps);
  checkLayerTensors(x, weight, bias, runningMean, runningVar);
}

/// Every check of a backward entry point.
void checkBackward(const Tensor &z, const Tensor &dz,
                   const optional<Tensor> &weight,
                   const optional<Tensor> &bias, const Tensor &var, double eps,
                   c10::string_view activation, double param,
                   c10::string_view gammaMode) {
  checkInput(z, /*training=*/false, /*haveRunning=*/true, activation, param,
             gammaMode, /*needsInverse=*/true);
  checkEps(eps);
  checkBackwardTensors(z, dz, weight, bias, var);
}


/// The accumulation dtype of data of x's dtype: f64 for f64, else f32.
at::ScalarType computeType(const Tensor &x) {
  return x.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

//===----------------------------------------------------------------------===//
// The reference path (Python kernels of _reference_forward/_backward)
//===----------------------------------------------------------------------===//

std::tuple<Tensor, Tensor>
referenceForward(const Tensor &x, Tensor &z, const optional<Tensor> &weight,
                 const optional<Tensor> &bias,
                 const optional<Tensor> &runningMean,
                 const optional<Tensor> &runningVar, bool training,
                 double factor, double eps, c10::string_view activation,
                 double param, c10::string_view gammaMode) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("iabn::_reference_forward", "")
                       .typed<std::tuple<Tensor, Tensor>(
                           const Tensor &, Tensor &, const optional<Tensor> &,
                           const optional<Tensor> &, const optional<Tensor> &,
                           const optional<Tensor> &, bool, double, double,
                           c10::string_view, double, c10::string_view)>();
  return op.call(x, z, weight, bias, runningMean, runningVar, training, factor,
                 eps, activation, param, gammaMode);
}

std::tuple<Tensor, Tensor, Tensor>
referenceBackward(const Tensor &z, const Tensor &dz,
                  const optional<Tensor> &weight, const optional<Tensor> &bias,
                  const Tensor &var, bool training, double eps,
                  c10::string_view activation, double param,
                  c10::string_view gammaMode) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("iabn::_reference_backward", "")
                       .typed<std::tuple<Tensor, Tensor, Tensor>(
                           const Tensor &, const Tensor &,
                           const optional<Tensor> &, const optional<Tensor> &,
                           const Tensor &, bool, double, c10::string_view,
                           double, c10::string_view)>();
  return op.call(z, dz, weight, bias, var, training, eps, activation, param,
                 gammaMode);
}

//===----------------------------------------------------------------------===//
// The kernels of libiabn_cuda.so
//===----------------------------------------------------------------------===//

#ifdef IABN_WITH_CUDA

/// The [outer][C][inner] layout of x for the kernels, or nullopt where they
/// do not apply (other dtypes, non-dense or other memory formats).
std::optional<iabn_layout> kernelLayout(const Tensor &x) {
  if (!x.is_cuda())
    return std::nullopt;
  iabn_dtype dtype;
  switch (x.scalar_type()) {
  case at::kFloat:
    dtype = IABN_F32;
    break;
  case at::kHalf:
    dtype = IABN_F16;
    break;
  case at::kBFloat16:
    dtype = IABN_BF16;
    break;
  default:
    return std::nullopt;
  }
  int64_t n = x.size(0), c = x.size(1);
  if (n == 0 || c == 0)
    return std::nullopt;
  if (x.is_contiguous())
    return iabn_layout{dtype, n, c, x.numel() / (n * c)};
  if (x.dim() == 4 && x.is_contiguous(at::MemoryFormat::ChannelsLast))
    return iabn_layout{dtype, x.numel() / c, c, 1};
  return std::nullopt;
}

bool sameLayout(const iabn_layout &a, const iabn_layout &b) {
  return a.dtype == b.dtype && a.outer == b.outer &&
         a.channels == b.channels && a.inner == b.inner;
}

iabn_options kernelOptions(c10::string_view activation, double param,
                           c10::string_view gammaMode, double eps) {
  return iabn_options{
      static_cast<iabn_activation>(parseActivation(activation)),
      static_cast<float>(param),
      static_cast<iabn_gamma_mode>(parseGammaMode(gammaMode)),
      static_cast<float>(eps)};
}

void checkStatus(iabn_status status, const char *what) {
  TORCH_CHECK(status == IABN_OK, "iabn: ", what, " failed (status ",
              static_cast<int>(status), "): ", iabn_last_error());
}

/// The workspace of one call, from the caching allocator: stream-ordered,
/// so no synchronization, and capturable in CUDA graphs.
Tensor workspace(const iabn_layout &layout, const Tensor &like) {
  size_t bytes = iabn_workspace_size(&layout);
  TORCH_CHECK(bytes > 0, "iabn: workspace_size failed: ", iabn_last_error());
  return at::empty({static_cast<int64_t>((bytes + 3) / 4)},
                   like.options().dtype(at::kFloat).memory_format(
                       at::MemoryFormat::Contiguous));
}

void *stream(const Tensor &x) {
  return c10::cuda::getCurrentCUDAStream(x.device().index()).stream();
}

/// A per-channel tensor as the kernels take it (f32, contiguous), or an
/// undefined tensor for None.
Tensor f32(const optional<Tensor> &t) {
  if (!t.has_value() || !t->defined())
    return Tensor();
  return t->detach().to(at::kFloat).contiguous();
}

const float *ptr(const Tensor &t) {
  return t.defined() ? t.data_ptr<float>() : nullptr;
}

/// The dz the kernels read: z's dtype and memory format.
Tensor kernelGrad(const iabn_layout &layout, const Tensor &z,
                  const Tensor &dz) {
  bool channelsLast = layout.inner == 1 && z.dim() == 4 && !z.is_contiguous();
  return dz.to(z.scalar_type())
      .contiguous(channelsLast ? at::MemoryFormat::ChannelsLast
                               : at::MemoryFormat::Contiguous);
}

/// The training forward, or the inference forward with the running
/// statistics, on the kernels; z may be x. Returns (mean, var) in f32.
std::tuple<Tensor, Tensor>
kernelForward(const iabn_layout &layout, const Tensor &x, Tensor &z,
              const optional<Tensor> &weight, const optional<Tensor> &bias,
              const optional<Tensor> &runningMean,
              const optional<Tensor> &runningVar, bool training, double factor,
              double eps, c10::string_view activation, double param,
              c10::string_view gammaMode) {
  c10::cuda::CUDAGuard guard(x.device());
  iabn_options options = kernelOptions(activation, param, gammaMode, eps);
  Tensor ws = workspace(layout, x);
  Tensor gamma = f32(weight), beta = f32(bias);
  if (training) {
    Tensor stats = at::empty({2, layout.channels},
                             x.options().dtype(at::kFloat).memory_format(
                                 at::MemoryFormat::Contiguous));
    Tensor mean = stats[0], var = stats[1];
    // The kernel updates the running statistics in place when they are f32
    // and contiguous; others are updated from f32 copies.
    bool haveRunning = runningMean.has_value() && runningMean->defined();
    Tensor rm, rv;
    if (haveRunning) {
      rm = runningMean->scalar_type() == at::kFloat &&
                   runningMean->is_contiguous()
               ? *runningMean
               : runningMean->to(at::kFloat).contiguous();
      rv = runningVar->scalar_type() == at::kFloat &&
                   runningVar->is_contiguous()
               ? *runningVar
               : runningVar->to(at::kFloat).contiguous();
    }
    checkStatus(iabn_forward_train(&layout, &options, x.data_ptr(),
                                   z.data_ptr(), ptr(gamma), ptr(beta),
                                   mean.data_ptr<float>(),
                                   var.data_ptr<float>(),
                                   haveRunning ? rm.data_ptr<float>() : nullptr,
                                   haveRunning ? rv.data_ptr<float>() : nullptr,
                                   static_cast<float>(factor), ws.data_ptr(),
                                   ws.numel() * 4, stream(x)),
                "forward_train");
    if (haveRunning && !rm.is_same(*runningMean)) {
      runningMean->copy_(rm);
      runningVar->copy_(rv);
    }
    return {mean, var};
  }
  Tensor mean = f32(runningMean), var = f32(runningVar);
  checkStatus(iabn_forward_inference(
                  &layout, &options, x.data_ptr(), z.data_ptr(), ptr(gamma),
                  ptr(beta), mean.data_ptr<float>(), var.data_ptr<float>(),
                  ws.data_ptr(), ws.numel() * 4, stream(x)),
              "forward_inference");
  return {mean, var};
}

#endif // IABN_WITH_CUDA

//===----------------------------------------------------------------------===//
// Kernels of the operators (below autograd)
//===----------------------------------------------------------------------===//

/// z = phi(gamma_hat * x_hat + beta) into z (which may be x), updating the
/// running statistics in training when given. Returns the statistics used
/// (f32, f64 for f64 data).
std::tuple<Tensor, Tensor>
forwardInto(const Tensor &x, Tensor &z, const optional<Tensor> &weight,
            const optional<Tensor> &bias, const optional<Tensor> &runningMean,
            const optional<Tensor> &runningVar, bool training, double factor,
            double eps, c10::string_view activation, double param,
            c10::string_view gammaMode) {
#ifdef IABN_WITH_CUDA
  if (auto layout = kernelLayout(x)) {
    auto zLayout = kernelLayout(z);
    if (z.is_same(x) ||
        (zLayout && sameLayout(*layout, *zLayout) &&
         z.strides() == x.strides()))
      return kernelForward(*layout, x, z, weight, bias, runningMean,
                           runningVar, training, factor, eps, activation,
                           param, gammaMode);
  }
#endif
  return referenceForward(x, z, weight, bias, runningMean, runningVar,
                          training, factor, eps, activation, param, gammaMode);
}

/// (dx, dgamma, dbeta) from z and dz alone; dx in a new tensor like z
/// (never over dz: autograd may still need it); dgamma and dbeta in the
/// compute dtype, dgamma for the weight itself.
std::tuple<Tensor, Tensor, Tensor>
backwardImpl(const Tensor &z, const Tensor &dz, const optional<Tensor> &weight,
             const optional<Tensor> &bias, const Tensor &var, bool training,
             double eps, c10::string_view activation, double param,
             c10::string_view gammaMode) {
  checkBackward(z, dz, weight, bias, var, eps, activation, param,
                gammaMode);
#ifdef IABN_WITH_CUDA
  if (training) {
    if (auto layout = kernelLayout(z)) {
      c10::cuda::CUDAGuard guard(z.device());
      Tensor g = kernelGrad(*layout, z, dz);
      iabn_options options = kernelOptions(activation, param, gammaMode, eps);
      Tensor dx = at::empty_like(z);
      auto opts = z.options().dtype(at::kFloat).memory_format(
          at::MemoryFormat::Contiguous);
      // Two allocations, not views of one: outputs must not alias.
      Tensor dgamma = at::empty({layout->channels}, opts);
      Tensor dbeta = at::empty({layout->channels}, opts);
      Tensor gamma = f32(weight), beta = f32(bias), v = f32(var);
      Tensor ws = workspace(*layout, z);
      checkStatus(iabn_backward(&*layout, &options, z.data_ptr(), g.data_ptr(),
                                dx.data_ptr(), ptr(gamma), ptr(beta), ptr(v),
                                dgamma.data_ptr<float>(),
                                dbeta.data_ptr<float>(), ws.data_ptr(),
                                ws.numel() * 4, stream(z)),
                  "backward");
      return {dx, dgamma, dbeta};
    }
  }
#endif
  return referenceBackward(z, dz, weight, bias, var, training, eps, activation,
                           param, gammaMode);
}

Tensor &inplaceKernel(Tensor &x, const optional<Tensor> &weight,
                      const optional<Tensor> &bias,
                      const optional<Tensor> &runningMean,
                      const optional<Tensor> &runningVar, bool training,
                      double factor, double eps, c10::string_view activation,
                      double param, c10::string_view gammaMode) {
  checkLayer(x, weight, bias, runningMean, runningVar, training, eps,
             activation, param, gammaMode, /*needsInverse=*/false);
  forwardInto(x, x, weight, bias, runningMean, runningVar, training, factor,
              eps, activation, param, gammaMode);
  return x;
}

Tensor outOfPlaceKernel(const Tensor &x, const optional<Tensor> &weight,
                        const optional<Tensor> &bias,
                        const optional<Tensor> &runningMean,
                        const optional<Tensor> &runningVar, bool training,
                        double factor, double eps,
                        c10::string_view activation, double param,
                        c10::string_view gammaMode) {
  checkLayer(x, weight, bias, runningMean, runningVar, training, eps,
             activation, param, gammaMode, /*needsInverse=*/false);
  Tensor z = at::empty_like(x);
  forwardInto(x, z, weight, bias, runningMean, runningVar, training, factor,
              eps, activation, param, gammaMode);
  return z;
}

/// The functional forward: (z, mean, var), the statistics in the compute
/// dtype and never aliasing an input. Running statistics are read in
/// evaluation and never written (the caller updates them).
std::tuple<Tensor, Tensor, Tensor>
functionalForward(const Tensor &x, const optional<Tensor> &weight,
                  const optional<Tensor> &bias,
                  const optional<Tensor> &runningMean,
                  const optional<Tensor> &runningVar, bool training,
                  double eps, c10::string_view activation, double param,
                  c10::string_view gammaMode) {
  checkLayer(x, weight, bias, runningMean, runningVar, training, eps,
             activation, param, gammaMode, /*needsInverse=*/false);
  Tensor z = at::empty_like(x);
  optional<Tensor> none;
  auto [mean, var] =
      forwardInto(x, z, weight, bias, training ? none : runningMean,
                  training ? none : runningVar, training, 0.0, eps,
                  activation, param, gammaMode);
  at::ScalarType compute = computeType(x);
  return {z, mean.to(compute).clone(), var.to(compute).clone()};
}

std::tuple<Tensor, Tensor, Tensor>
functionalForwardMeta(const Tensor &x, const optional<Tensor> &weight,
                      const optional<Tensor> &bias,
                      const optional<Tensor> &runningMean,
                      const optional<Tensor> &runningVar, bool, double,
                      c10::string_view, double, c10::string_view) {
  checkLayerTensors(x, weight, bias, runningMean, runningVar);
  auto stats = x.options().dtype(computeType(x)).memory_format(
      at::MemoryFormat::Contiguous);
  return {at::empty_like(x), at::empty_symint({x.sym_size(1)}, stats),
          at::empty_symint({x.sym_size(1)}, stats)};
}

std::tuple<Tensor, Tensor, Tensor>
backwardMeta(const Tensor &z, const Tensor &dz, const optional<Tensor> &weight,
             const optional<Tensor> &bias, const Tensor &var, bool, double,
             c10::string_view, double, c10::string_view) {
  checkBackwardTensors(z, dz, weight, bias, var);
  auto stats = z.options().dtype(computeType(z)).memory_format(
      at::MemoryFormat::Contiguous);
  return {at::empty_like(z), at::empty_symint({z.sym_size(1)}, stats),
          at::empty_symint({z.sym_size(1)}, stats)};
}

//===----------------------------------------------------------------------===//
// The synchronized layer's halves (CUDA kernels; the Python layer keeps the
// reference path and the collectives)
//===----------------------------------------------------------------------===//

#ifdef IABN_WITH_CUDA

iabn_layout requireLayout(const Tensor &x, const char *op) {
  auto layout = kernelLayout(x);
  TORCH_CHECK(layout.has_value(), "iabn::", op,
              " runs on CUDA f32/f16/bf16 tensors that are contiguous or "
              "channels_last; got ",
              x.scalar_type(), " on ", x.device());
  return *layout;
}

std::tuple<Tensor, Tensor> statisticsCUDA(const Tensor &x) {
  iabn_layout layout = requireLayout(x, "statistics");
  c10::cuda::CUDAGuard guard(x.device());
  Tensor stats = at::empty({2, layout.channels},
                           x.options().dtype(at::kFloat).memory_format(
                               at::MemoryFormat::Contiguous));
  Tensor mean = stats[0].clone(), var = stats[1].clone();
  Tensor ws = workspace(layout, x);
  checkStatus(iabn_statistics(&layout, x.data_ptr(), mean.data_ptr<float>(),
                              var.data_ptr<float>(), ws.data_ptr(),
                              ws.numel() * 4, stream(x)),
              "statistics");
  return {mean, var};
}


Tensor backwardReduceCUDA(const Tensor &z, const Tensor &dz,
                          const optional<Tensor> &weight,
                          const optional<Tensor> &bias, const Tensor &var,
                          double eps, c10::string_view activation,
                          double param, c10::string_view gammaMode) {
  iabn_layout layout = requireLayout(z, "backward_reduce");
  checkBackward(z, dz, weight, bias, var, eps, activation, param,
                gammaMode);
  c10::cuda::CUDAGuard guard(z.device());
  iabn_options options = kernelOptions(activation, param, gammaMode, eps);
  Tensor g = kernelGrad(layout, z, dz);
  Tensor sums = at::empty({2 * layout.channels},
                          z.options().dtype(at::kFloat).memory_format(
                              at::MemoryFormat::Contiguous));
  Tensor gamma = f32(weight), beta = f32(bias), v = f32(var);
  Tensor ws = workspace(layout, z);
  checkStatus(iabn_backward_reduce(&layout, &options, z.data_ptr(),
                                   g.data_ptr(), ptr(gamma), ptr(beta), ptr(v),
                                   sums.data_ptr<float>(), ws.data_ptr(),
                                   ws.numel() * 4, stream(z)),
              "backward_reduce");
  return sums;
}

Tensor backwardApplyCUDA(const Tensor &z, const Tensor &dz,
                         const optional<Tensor> &weight,
                         const optional<Tensor> &bias, const Tensor &var,
                         const Tensor &sums, double count, double eps,
                         c10::string_view activation, double param,
                         c10::string_view gammaMode) {
  iabn_layout layout = requireLayout(z, "backward_apply");
  checkBackward(z, dz, weight, bias, var, eps, activation, param,
                gammaMode);
  checkPerChannel(z, sums, "sums", 2);
  c10::cuda::CUDAGuard guard(z.device());
  iabn_options options = kernelOptions(activation, param, gammaMode, eps);
  Tensor g = kernelGrad(layout, z, dz);
  Tensor dx = at::empty_like(z);
  Tensor gamma = f32(weight), beta = f32(bias), v = f32(var);
  Tensor s = f32(sums);
  Tensor ws = workspace(layout, z);
  checkStatus(iabn_backward_apply(&layout, &options, z.data_ptr(),
                                  g.data_ptr(), dx.data_ptr(), ptr(gamma),
                                  ptr(beta), ptr(v), s.data_ptr<float>(),
                                  count, ws.data_ptr(), ws.numel() * 4,
                                  stream(z)),
              "backward_apply");
  return dx;
}

#endif // IABN_WITH_CUDA

std::tuple<Tensor, Tensor> statisticsMeta(const Tensor &x) {
  auto stats = x.options().dtype(at::kFloat);
  return {at::empty_symint({x.sym_size(1)}, stats),
          at::empty_symint({x.sym_size(1)}, stats)};
}

Tensor backwardReduceMeta(const Tensor &z, const Tensor &,
                          const optional<Tensor> &, const optional<Tensor> &,
                          const Tensor &, double, c10::string_view, double,
                          c10::string_view) {
  return at::empty_symint({z.sym_size(1) * 2}, z.options().dtype(at::kFloat));
}

Tensor backwardApplyMeta(const Tensor &z, const Tensor &,
                         const optional<Tensor> &, const optional<Tensor> &,
                         const Tensor &, const Tensor &, double, double,
                         c10::string_view, double, c10::string_view) {
  return at::empty_like(z);
}

//===----------------------------------------------------------------------===//
// Autograd (C++: no Python per call)
//===----------------------------------------------------------------------===//

/// The backward operator, through the dispatcher (CUDA kernels, reference,
/// or a tracer's fake tensors).
std::tuple<Tensor, Tensor, Tensor>
callBackward(const Tensor &z, const Tensor &dz, const optional<Tensor> &weight,
             const optional<Tensor> &bias, const Tensor &var, bool training,
             double eps, c10::string_view activation, double param,
             c10::string_view gammaMode) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("iabn::inplace_abn_backward", "")
                       .typed<decltype(backwardImpl)>();
  return op.call(z, dz, weight, bias, var, training, eps, activation, param,
                 gammaMode);
}

optional<Tensor> maybe(const Tensor &t) {
  return t.defined() ? optional<Tensor>(t) : c10::nullopt;
}

/// The layer's configuration, kept on the autograd context.
struct Config {
  bool training;
  double eps;
  std::string activation;
  double param;
  std::string gammaMode;
};

void saveConfig(AutogradContext *ctx, const Config &config) {
  ctx->saved_data["training"] = config.training;
  ctx->saved_data["eps"] = config.eps;
  ctx->saved_data["activation"] = config.activation;
  ctx->saved_data["param"] = config.param;
  ctx->saved_data["gamma_mode"] = config.gammaMode;
}

/// The gradients of (x, weight, bias) from the saved z, weight, bias, var
/// and the incoming dz; dgamma/dbeta in the parameters' dtypes.
variable_list layerBackward(AutogradContext *ctx, const Tensor &dz,
                            size_t numInputs) {
  variable_list saved = ctx->get_saved_variables();
  const Tensor &z = saved[0], &weight = saved[1], &bias = saved[2],
               &var = saved[3];
  variable_list grads(numInputs);
  if (!dz.defined())
    return grads;
  auto &data = ctx->saved_data;
  auto [dx, dgamma, dbeta] = callBackward(
      z, dz, maybe(weight), maybe(bias), var, data["training"].toBool(),
      data["eps"].toDouble(), data["activation"].toStringRef(),
      data["param"].toDouble(), data["gamma_mode"].toStringRef());
  grads[0] = dx;
  if (weight.defined())
    grads[1] = dgamma.to(weight.scalar_type());
  if (bias.defined())
    grads[2] = dbeta.to(bias.scalar_type());
  return grads;
}

/// The eager layer: z over x (inplace) or into a new tensor; saves z only.
struct EagerFunction : public torch::autograd::Function<EagerFunction> {
  static Tensor forward(AutogradContext *ctx, Tensor x,
                        optional<Tensor> weight, optional<Tensor> bias,
                        optional<Tensor> runningMean,
                        optional<Tensor> runningVar, bool training,
                        double factor, double eps, std::string activation,
                        double param, std::string gammaMode, bool inplace) {
    checkLayer(x, weight, bias, runningMean, runningVar, training, eps,
               activation, param, gammaMode, /*needsInverse=*/true);
    Tensor z;
    Tensor var;
    {
      at::AutoDispatchBelowADInplaceOrView guard;
      z = inplace ? x : at::empty_like(x);
      var = std::get<1>(forwardInto(x, z, weight, bias,
                                    runningMean, runningVar, training, factor,
                                    eps, activation, param, gammaMode));
    }
    if (inplace)
      ctx->mark_dirty({x});
    ctx->save_for_backward({z, weight.value_or(Tensor()),
                            bias.value_or(Tensor()), var});
    saveConfig(ctx, {training, eps, activation, param, gammaMode});
    return z;
  }

  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    return layerBackward(ctx, grads[0], 12);
  }
};

/// The functional forward's autograd: (z, mean, var), mean and var not
/// differentiable; saves z, never x.
struct FunctionalFunction
    : public torch::autograd::Function<FunctionalFunction> {
  static variable_list forward(AutogradContext *ctx, Tensor x,
                               optional<Tensor> weight, optional<Tensor> bias,
                               optional<Tensor> runningMean,
                               optional<Tensor> runningVar, bool training,
                               double eps, std::string activation,
                               double param, std::string gammaMode) {
    checkLayer(x, weight, bias, runningMean, runningVar, training, eps,
               activation, param, gammaMode, /*needsInverse=*/true);
    static auto op = c10::Dispatcher::singleton()
                         .findSchemaOrThrow("iabn::inplace_abn_forward", "")
                         .typed<decltype(functionalForward)>();
    Tensor z, mean, var;
    {
      at::AutoDispatchBelowADInplaceOrView guard;
      std::tie(z, mean, var) =
          op.call(x, weight, bias, runningMean, runningVar,
                  training, eps, activation, param, gammaMode);
    }
    ctx->mark_non_differentiable({mean, var});
    ctx->save_for_backward({z, weight.value_or(Tensor()),
                            bias.value_or(Tensor()), var});
    saveConfig(ctx, {training, eps, activation, param, gammaMode});
    return {z, mean, var};
  }

  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    return layerBackward(ctx, grads[0], 10);
  }
};

Tensor &inplaceAutograd(Tensor &x, const optional<Tensor> &weight,
                        const optional<Tensor> &bias,
                        const optional<Tensor> &runningMean,
                        const optional<Tensor> &runningVar, bool training,
                        double factor, double eps,
                        c10::string_view activation, double param,
                        c10::string_view gammaMode) {
  // PyTorch's own checks of an in-place write (a leaf that requires grad,
  // a view of one, a view from a multi-output op or a custom Function), made
  // before anything is written, with PyTorch's messages.
  torch::autograd::check_inplace(
      x, x.requires_grad() || (given(weight) && weight->requires_grad()) ||
             (given(bias) && bias->requires_grad()));
  Tensor z = EagerFunction::apply(
      x, weight, bias, runningMean,
      runningVar, training, factor, eps, std::string(activation), param,
      std::string(gammaMode), /*inplace=*/true);
  // The autograd Function rebased x's history onto its node (x and z are
  // one tensor).
  return x;
}

Tensor outOfPlaceAutograd(const Tensor &x, const optional<Tensor> &weight,
                          const optional<Tensor> &bias,
                          const optional<Tensor> &runningMean,
                          const optional<Tensor> &runningVar, bool training,
                          double factor, double eps,
                          c10::string_view activation, double param,
                          c10::string_view gammaMode) {
  return EagerFunction::apply(
      x, weight, bias, runningMean,
      runningVar, training, factor, eps, std::string(activation), param,
      std::string(gammaMode), /*inplace=*/false);
}

std::tuple<Tensor, Tensor, Tensor>
functionalAutograd(const Tensor &x, const optional<Tensor> &weight,
                   const optional<Tensor> &bias,
                   const optional<Tensor> &runningMean,
                   const optional<Tensor> &runningVar, bool training,
                   double eps, c10::string_view activation, double param,
                   c10::string_view gammaMode) {
  variable_list out = FunctionalFunction::apply(
      x, weight, bias, runningMean,
      runningVar, training, eps, std::string(activation), param,
      std::string(gammaMode));
  return {out[0], out[1], out[2]};
}

} // namespace

//===----------------------------------------------------------------------===//
// Registration
//===----------------------------------------------------------------------===//

TORCH_LIBRARY(iabn, m) {
  // The layer's arguments, as in iabn.torch.functional.inplace_abn.
#define IABN_LAYER_ARGS                                                        \
  "Tensor? weight, Tensor? bias, Tensor(b!)? running_mean, "                   \
  "Tensor(c!)? running_var, bool training, float factor, float eps, "          \
  "str activation, float activation_param, str gamma_mode"
  m.def("inplace_abn_(Tensor(a!) x, " IABN_LAYER_ARGS ") -> Tensor(a!)");
  m.def("inplace_abn(Tensor x, " IABN_LAYER_ARGS ") -> Tensor");
#undef IABN_LAYER_ARGS
  m.def("inplace_abn_forward(Tensor x, Tensor? weight, Tensor? bias, "
        "Tensor? running_mean, Tensor? running_var, bool training, float eps, "
        "str activation, float activation_param, str gamma_mode) -> "
        "(Tensor, Tensor, Tensor)");
  m.def("inplace_abn_backward(Tensor z, Tensor dz, Tensor? weight, "
        "Tensor? bias, Tensor var, bool training, float eps, str activation, "
        "float activation_param, str gamma_mode) -> (Tensor, Tensor, Tensor)");
  m.def("statistics(Tensor x) -> (Tensor, Tensor)");
  m.def("backward_reduce(Tensor z, Tensor dz, Tensor? weight, Tensor? bias, "
        "Tensor var, float eps, str activation, float activation_param, "
        "str gamma_mode) -> Tensor");
  m.def("backward_apply(Tensor z, Tensor dz, Tensor? weight, Tensor? bias, "
        "Tensor var, Tensor sums, float count, float eps, str activation, "
        "float activation_param, str gamma_mode) -> Tensor");
  // The reference math, implemented in Python by iabn.torch._reference.
  m.def("_reference_forward(Tensor x, Tensor(a!) z, Tensor? weight, "
        "Tensor? bias, Tensor(b!)? running_mean, Tensor(c!)? running_var, "
        "bool training, float factor, float eps, str activation, "
        "float activation_param, str gamma_mode) -> (Tensor, Tensor)");
  m.def("_reference_backward(Tensor z, Tensor dz, Tensor? weight, "
        "Tensor? bias, Tensor var, bool training, float eps, str activation, "
        "float activation_param, str gamma_mode) -> (Tensor, Tensor, Tensor)");
}

/// Every backend kernel: the CUDA kernels where they apply, the reference
/// otherwise (CPU, f64, other layouts).
TORCH_LIBRARY_IMPL(iabn, CPU, m) {
  m.impl("inplace_abn_", inplaceKernel);
  m.impl("inplace_abn", outOfPlaceKernel);
  m.impl("inplace_abn_forward", functionalForward);
  m.impl("inplace_abn_backward", backwardImpl);
}

#ifdef IABN_WITH_CUDA
TORCH_LIBRARY_IMPL(iabn, CUDA, m) {
  m.impl("inplace_abn_", inplaceKernel);
  m.impl("inplace_abn", outOfPlaceKernel);
  m.impl("inplace_abn_forward", functionalForward);
  m.impl("inplace_abn_backward", backwardImpl);
  m.impl("statistics", statisticsCUDA);
  m.impl("backward_reduce", backwardReduceCUDA);
  m.impl("backward_apply", backwardApplyCUDA);
}
#endif

TORCH_LIBRARY_IMPL(iabn, Meta, m) {
  m.impl("inplace_abn_forward", functionalForwardMeta);
  m.impl("inplace_abn_backward", backwardMeta);
  m.impl("statistics", statisticsMeta);
  m.impl("backward_reduce", backwardReduceMeta);
  m.impl("backward_apply", backwardApplyMeta);
}

TORCH_LIBRARY_IMPL(iabn, Autograd, m) {
  m.impl("inplace_abn_", inplaceAutograd);
  m.impl("inplace_abn", outOfPlaceAutograd);
  m.impl("inplace_abn_forward", functionalAutograd);
  // No double backward: an error if a gradient of the backward is needed.
  m.impl("inplace_abn_backward",
         torch::autograd::autogradNotImplementedFallback());
}
