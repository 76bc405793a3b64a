"""clusopt Python package.

- `clusopt.load(path)`: a `clusopt-compile` library as Python callables.
- `clusopt.compile(mlir, target="host")`: compiles (cached on disk) and
  loads.
- `clusopt.ops`: the clus ops as PyTorch custom ops (`torch.ops.clusopt`);
  importing it imports torch, importing `clusopt` does not.
- `clusopt.compile_model(module, example_inputs)`: a whole PyTorch model
  compiled (`clusopt.importer`, torch-mlir); it also registers the
  `torch.compile` backend "clusopt" (as does importing
  `clusopt.compiled_model`); `.save(dir)` writes it as an artifact that
  `clusopt-run --artifact` runs.
- `clusopt.load_model(dir, weights)`: such an artifact, its weights bound
  by state_dict name from a safetensors file (`clusopt.artifact`).
"""

import importlib

from .errors import (ArgumentError, ArtifactError, ClusoptError, CompileError,
                     ImporterError, UnsupportedOpError,
                     UnsupportedTargetError)
from .version import __version__
from .library import Kernel, Library, load
from .compiler import compile  # noqa: A001 - clusopt.compile is the API


def __getattr__(name):
    if name in ("ops", "importer", "compiled_model", "artifact"):
        return importlib.import_module(f".{name}", __name__)
    if name == "load_model":
        return importlib.import_module(".artifact", __name__).load_model
    if name == "compile_model":
        return importlib.import_module(".compiled_model",
                                       __name__).compile_model
    raise AttributeError(f"module 'clusopt' has no attribute '{name}'")
