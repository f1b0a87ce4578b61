"""Locating the shared libraries the package wraps.

Search order: the directory in ``$IABN_LIB_DIR``; ``iabn/_lib`` (copied
there by the build before ``pip install ./python``); ``build/lib`` of the
source tree the package lives in.
"""

import ctypes
import os

_HERE = os.path.dirname(os.path.abspath(__file__))
_cache = {}


def candidates(name):
    dirs = []
    if os.environ.get("IABN_LIB_DIR"):
        dirs.append(os.environ["IABN_LIB_DIR"])
    dirs.append(os.path.join(_HERE, "_lib"))
    dirs.append(os.path.join(_HERE, "..", "..", "build", "lib"))
    return [os.path.join(d, name) for d in dirs]


def find(name):
    """Path of shared library `name`, or None."""
    for path in candidates(name):
        if os.path.exists(path):
            return os.path.abspath(path)
    return None


def load(name):
    """Loads shared library `name` (cached); raises OSError with the places
    searched when it is missing."""
    if name not in _cache:
        path = find(name)
        if path is None:
            raise OSError(f"{name} not found; searched: "
                          + ", ".join(candidates(name))
                          + " (set IABN_LIB_DIR to the build's lib directory)")
        _cache[name] = ctypes.CDLL(path)
    return _cache[name]
