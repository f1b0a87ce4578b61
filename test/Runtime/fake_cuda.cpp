//===- fake_cuda.cpp - A CUDA driver stand-in for host-side tests ---------===//
//
// Part of the IABN project.
//
//===----------------------------------------------------------------------===//
//
// Built as libcuda.so.1 for the runtime tests (test/Runtime): implements the
// driver entry points libiabn_cuda.so resolves, runs nothing, and prints
// every kernel launch (name, grid, block, and each parameter with the type
// the embedded PTX declares for it) to stdout. The cubin is refused so that
// the runtime falls back to the PTX, which gives the parameter lists.
//
// The runtime ends each parameter array with NULL; a count that differs from
// the PTX declaration is printed (MISSING / EXTRA PARAMETERS).
// IABN_FAKE_CUDA_FAIL=<kernel> makes launches of that kernel fail.
//
//===----------------------------------------------------------------------===//

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

/// Parameter types of a kernel, from its PTX `.entry` declaration.
struct Kernel {
  std::string name;
  std::vector<std::string> types; // "u64", "u32", "f32", ...
};

std::string ptx;
std::map<std::string, Kernel> kernels;

bool parseEntry(const std::string &name, Kernel &out) {
  std::string key = ".entry " + name + "(";
  size_t at = ptx.find(key);
  if (at == std::string::npos)
    return false;
  size_t end = ptx.find(')', at);
  out.name = name;
  for (size_t p = ptx.find(".param .", at); p != std::string::npos && p < end;
       p = ptx.find(".param .", p + 1)) {
    size_t start = p + std::strlen(".param .");
    size_t stop = ptx.find_first_of(" \t", start);
    out.types.push_back(ptx.substr(start, stop - start));
  }
  return true;
}

} // namespace

extern "C" {

typedef int CUresult;

CUresult cuInit(unsigned) { return 0; }

CUresult cuGetErrorString(CUresult error, const char **text) {
  *text = error == 700 ? "fake launch failure" : "fake driver error";
  return 0;
}

CUresult cuCtxGetCurrent(void **context) {
  *context = reinterpret_cast<void *>(0xC0);
  return 0;
}

CUresult cuCtxSetCurrent(void *) { return 0; }

CUresult cuCtxGetDevice(int *device) {
  *device = 0;
  return 0;
}

CUresult cuDeviceGet(int *device, int ordinal) {
  *device = ordinal;
  return 0;
}

CUresult cuDevicePrimaryCtxRetain(void **context, int) {
  *context = reinterpret_cast<void *>(0xC0);
  return 0;
}

CUresult cuDeviceGetAttribute(int *value, int, int) {
  *value = 132; // the multiprocessors of an H100 SXM
  return 0;
}

CUresult cuModuleLoadData(void **module, const void *image) {
  if (std::memcmp(image, "\x7f" "ELF", 4) == 0)
    return 209; // CUDA_ERROR_NO_BINARY_FOR_GPU: take the PTX
  ptx = static_cast<const char *>(image);
  *module = reinterpret_cast<void *>(0x1);
  return 0;
}

CUresult cuModuleGetFunction(void **function, void *, const char *name) {
  auto it = kernels.find(name);
  if (it == kernels.end()) {
    Kernel k;
    if (!parseEntry(name, k))
      return 500; // CUDA_ERROR_NOT_FOUND
    it = kernels.emplace(name, k).first;
  }
  *function = &it->second;
  return 0;
}

CUresult cuLaunchKernel(void *function, unsigned gx, unsigned gy, unsigned gz,
                        unsigned bx, unsigned by, unsigned bz, unsigned shared,
                        void *stream, void **params, void **) {
  const Kernel &k = *static_cast<Kernel *>(function);
  std::printf("launch %s grid=%u,%u,%u block=%u,%u,%u shared=%u stream=%p",
              k.name.c_str(), gx, gy, gz, bx, by, bz, shared, stream);
  for (size_t i = 0; i < k.types.size(); ++i) {
    if (!params[i]) { // the runtime's end marker, too early
      std::printf(" MISSING PARAMETERS (%zu of %zu)\n", i, k.types.size());
      std::fflush(stdout);
      return 1; // CUDA_ERROR_INVALID_VALUE
    }
    const std::string &t = k.types[i];
    if (t == "f32") {
      float v;
      std::memcpy(&v, params[i], 4);
      std::printf(" %g", v);
    } else if (t.size() >= 2 && t.substr(1) == "64") {
      int64_t v;
      std::memcpy(&v, params[i], 8);
      std::printf(" %lld", static_cast<long long>(v));
    } else {
      int32_t v;
      std::memcpy(&v, params[i], 4);
      std::printf(" %d", v);
    }
  }
  // The runtime ends the array with NULL: anything else there is an extra
  // argument the kernel does not declare.
  if (params[k.types.size()])
    std::printf(" EXTRA PARAMETERS");
  std::printf("\n");
  std::fflush(stdout);
  const char *fail = std::getenv("IABN_FAKE_CUDA_FAIL");
  return fail && k.name == fail ? 700 : 0;
}

} // extern "C"
