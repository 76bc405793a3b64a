"""clusopt Python package.

- `clusopt.load(path)`: a `clusopt-compile` library as Python callables.
- `clusopt.compile(mlir, target="host")`: compiles (cached on disk) and
  loads.
- `clusopt.ops`: the clus ops as PyTorch custom ops (`torch.ops.clusopt`);
  importing it imports torch, importing `clusopt` does not.
"""

import importlib

from .errors import (ArgumentError, ArtifactError, ClusoptError, CompileError,
                     UnsupportedTargetError)
from .version import __version__
from .library import Kernel, Library, load
from .compiler import compile  # noqa: A001 - clusopt.compile is the API


def __getattr__(name):
    if name == "ops":
        return importlib.import_module(".ops", __name__)
    raise AttributeError(f"module 'clusopt' has no attribute '{name}'")
