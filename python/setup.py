"""Builds the iabn package: the pure-Python modules, the shared libraries the
CMake build made (iabn/_lib: libIABNCAPI.so, the compiler; libiabn_cuda.so,
the GPU kernels) and the native PyTorch operators (iabn/_lib/
libiabn_torch.so, from iabn/csrc/ops.cpp), compiled here against the torch
that is installed, with the C++ compiler only (the kernels are built).

    pip install --no-build-isolation ./python

Build isolation would build against a different torch than the one the
package runs with, so this refuses to run without torch; it also refuses when
the libraries are missing (build IABN first: scripts/setup.sh). The same
build makes the operators of a development tree (CMake target
iabn-torch-ops): `python setup.py build_ext --build-lib DIR --build-temp
DIR` with IABN_LIB_DIR set.
"""

import glob
import os
import sys

from setuptools import setup

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PACKAGE_LIB = os.path.join(HERE, "iabn", "_lib")
OPS = "libiabn_torch.so"


def refuse(message):
    sys.exit(f"error: iabn cannot be built: {message}")


try:
    import torch
    from torch.utils import cpp_extension
except ImportError as e:
    refuse(f"torch is not importable ({e}). iabn compiles its PyTorch "
           "operators against the torch it will run with: install torch "
           "first, then `pip install --no-build-isolation ./python`.")

LIB_DIR = os.environ.get("IABN_LIB_DIR") or PACKAGE_LIB
with_cuda = torch.version.cuda is not None
required = ["libIABNCAPI.so"] + (["libiabn_cuda.so"] if with_cuda else [])
missing = [name for name in required
           if not os.path.exists(os.path.join(LIB_DIR, name))]
if missing and "egg_info" not in sys.argv[1:2] and \
        "dist_info" not in sys.argv[1:2]:
    refuse(f"{', '.join(missing)} not found in {LIB_DIR}. Build IABN first "
           "(scripts/setup.sh, which copies them into python/iabn/_lib), or "
           "set IABN_LIB_DIR to a build's lib directory.")


def cuda_include_dirs():
    """The CUDA runtime headers c10/cuda needs: the toolkit's, or those of
    the nvidia-cuda-runtime wheel torch depends on. No CUDA compiler is
    used."""
    dirs = []
    if cpp_extension.CUDA_HOME:
        dirs.append(os.path.join(cpp_extension.CUDA_HOME, "include"))
    for site in sys.path:
        dirs += glob.glob(os.path.join(site, "nvidia", "cuda_runtime",
                                       "include"))
        dirs += glob.glob(os.path.join(site, "nvidia", "cu*", "include"))
    dirs = [d for d in dirs if os.path.exists(os.path.join(
        d, "cuda_runtime_api.h"))]
    if not dirs:
        refuse("torch has CUDA but no CUDA runtime headers were found (no "
               "CUDA_HOME, no nvidia-cuda-runtime wheel); set CUDA_HOME")
    return dirs[:1]


def cxx_standard():
    """C++17, or C++20 where the installed torch's headers require it
    (they say so in ATen/ATen.h)."""
    for d in cpp_extension.include_paths():
        aten = os.path.join(d, "ATen", "ATen.h")
        if os.path.exists(aten):
            with open(aten) as f:
                if "C++20 or later" in f.read():
                    return "c++20"
    return "c++17"


define_macros = []
include_dirs = [os.path.join(ROOT, "include")]
libraries = []
extra_link_args = ["-Wl,-rpath,$ORIGIN"]
if with_cuda:
    define_macros.append(("IABN_WITH_CUDA", "1"))
    include_dirs += [os.path.join(ROOT, "runtime", "cuda")] + \
        cuda_include_dirs()
    libraries += ["c10_cuda", "torch_cuda", "iabn_cuda"]
    extra_link_args += [f"-L{LIB_DIR}"]

ops = cpp_extension.CppExtension(
    "iabn._lib.libiabn_torch", [os.path.relpath(
        os.path.join(HERE, "iabn", "csrc", "ops.cpp"), os.getcwd())],
    include_dirs=include_dirs, define_macros=define_macros,
    libraries=libraries, extra_link_args=extra_link_args,
    extra_compile_args=["-O2", f"-std={cxx_standard()}"])


class BuildOps(cpp_extension.BuildExtension):
    """The operators as iabn/_lib/libiabn_torch.so: a plain shared library
    (loaded with torch.ops.load_library, not imported)."""

    def get_ext_filename(self, name):
        return OPS


setup(ext_modules=[ops], cmdclass={"build_ext": BuildOps.with_options(
    use_ninja=False)})
