"""IABN: In-Place Activated BatchNorm as compiler passes.

* ``iabn.compiler``: run IABN/MLIR passes in-process on textual IR.
* ``iabn.torch``: PyTorch layers (``InPlaceABN``, ``ABN``) backed by the
  compiler-generated GPU kernels (``libiabn_cuda.so``) or by a CPU
  implementation of the same math.
"""

__version__ = "0.1.0"
