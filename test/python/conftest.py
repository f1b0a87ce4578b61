import os
import sys

# The package from the source tree; its shared libraries from the build.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..",
                                "python"))
