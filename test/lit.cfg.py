# -*- Python -*-
"""lit configuration of the IABN regression suite."""

import os
import sys

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "IABN"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]

config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.iabn_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%shlibext", config.shlibext))
config.substitutions.append(("%iabn_src_root", config.iabn_src_root))
config.substitutions.append(("%iabn_obj_root", config.iabn_obj_root))
config.substitutions.append(
    ("%iabn_plugin", os.path.join(config.iabn_lib_dir, "IABNPlugin" + config.shlibext))
)

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()
# `not` and `count` at the start of a RUN line come from PATH.
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

# The CPU integration tests compile graphs ahead of time with these tools and
# run them from Python (NumPy references).
config.environment["IABN_OPT"] = os.path.join(config.iabn_tools_dir, "iabn-opt")
config.environment["MLIR_TRANSLATE"] = os.path.join(config.llvm_tools_dir, "mlir-translate")
config.environment["CLANG"] = os.path.join(config.llvm_tools_dir, "clang")
config.environment["PYTHONPATH"] = os.path.join(
    config.test_source_root, "Integration", "CPU")
config.environment["PYTHONDONTWRITEBYTECODE"] = "1"

tool_dirs = [config.iabn_tools_dir, config.llvm_tools_dir]
tools = [
    "iabn-opt",
    # The stock mlir-opt of the LLVM install, for the plugin tests.
    ToolSubst("%mlir_opt", config.mlir_opt),
]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# GPU tests run only where a CUDA GPU, PyTorch with CUDA and the kernel
# library are present (the GPU machine); elsewhere lit reports them as
# UNSUPPORTED.
import shutil
import subprocess

config.iabn_cuda_lib = os.path.join(config.iabn_lib_dir, "libiabn_cuda.so")
config.substitutions.append(("%iabn_cuda_lib", config.iabn_cuda_lib))


def _cuda_gpus():
    """The number of CUDA GPUs torch sees (0 without the kernel library)."""
    if not os.path.exists(config.iabn_cuda_lib) or not shutil.which("nvidia-smi"):
        return 0
    try:
        probe = subprocess.run(
            [sys.executable, "-c",
             "import torch; print(torch.cuda.device_count() "
             "if torch.cuda.is_available() else 0)"],
            capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    if probe.returncode != 0:
        return 0
    return int(probe.stdout.strip().splitlines()[-1])


# The runtime's host-side tests need the kernel library and the fake driver.
config.iabn_fake_cuda_dir = os.path.join(config.iabn_obj_root, "test", "Runtime",
                                         "fake-driver")
config.substitutions.append(("%iabn_fake_cuda_dir", config.iabn_fake_cuda_dir))
if os.path.exists(config.iabn_cuda_lib) and os.path.exists(
        os.path.join(config.iabn_fake_cuda_dir, "libcuda.so.1")):
    config.available_features.add("iabn-cuda-runtime")

_gpus = _cuda_gpus()
if _gpus >= 1:
    config.available_features.add("cuda-gpu")
if _gpus >= 2:
    config.available_features.add("cuda-gpus-2")

# The model-zoo check needs torchvision next to torch (setup installs
# Debian's python3-torchvision).
try:
    _tv = subprocess.run([getattr(config, "python_executable", sys.executable),
                          "-c", "import torchvision"],
                         capture_output=True, timeout=120)
    if _tv.returncode == 0:
        config.available_features.add("torchvision")
except (OSError, subprocess.TimeoutExpired):
    pass

# The exact LLVM release: tests that pin printed IR byte for byte (the
# generated GPU kernels) hold for the release they were recorded with.
try:
    import subprocess
    _llvm_version = subprocess.run(
        [os.path.join(config.llvm_tools_dir, "llvm-config"), "--version"],
        capture_output=True, text=True, check=True).stdout.strip()
    config.available_features.add("llvm-" + _llvm_version)
except (OSError, subprocess.CalledProcessError):
    pass
