"""The ctypes bindings of libiabn_cuda.so live in the package
(python/iabn/torch/_cuda.py); tests and benchmarks import them from there."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "python"))

from iabn.torch._cuda import *  # noqa: E402,F401,F403
from iabn.torch._cuda import Error, Kernels, Layout, Options  # noqa: E402,F401
