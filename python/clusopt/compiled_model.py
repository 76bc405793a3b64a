"""Whole PyTorch models as compiled programs.

    model = clusopt.compile_model(module, (x,))   # weights: state_dict
    model = clusopt.compile_model(module, (x,), weights="w.safetensors")
    y = model(x)                                  # torch in, torch out

    torch.compile(module, backend="clusopt")      # per graph; eager
                                                  # fallback + warning

`compile_model` imports the module (`clusopt.importer`), compiles the MLIR
with `clusopt.compile` (disk-cached) and binds the parameters and buffers
by their `state_dict` names, from the module itself or from a safetensors
file, checking each one's shape and dtype.
"""

import os
import pathlib
import warnings

import torch
import torch.utils._pytree as pytree

from . import compiler, importer, toolchain
from .errors import ArgumentError, ClusoptError

_DTYPES = {"float32": torch.float32, "float16": torch.float16,
           "bfloat16": torch.bfloat16, "float64": torch.float64,
           "int32": torch.int32, "int64": torch.int64, "bool": torch.bool}


def _load_weights(path, caller="compile_model"):
    """name -> torch tensor from a safetensors file."""
    from . import safetensors_io
    try:
        arrays, dtypes, _ = safetensors_io.load(path)
    except OSError as e:
        raise ArgumentError(f"{caller}: cannot read weights file "
                            f"{path}: {e.strerror or e}") from e
    except ValueError as e:
        raise ArgumentError(f"{caller}: {e}") from e
    out = {}
    for name, array in arrays.items():
        tensor = torch.from_numpy(array.astype(array.dtype.newbyteorder(
            "="), copy=True))
        if dtypes[name] == "BF16":  # read as its bit pattern
            tensor = tensor.view(torch.bfloat16)
        out[name] = tensor
    return out


def _weight(imported, b, weights, source):
    """The tensor bound to weight `b`, checked."""
    if b.kind == "constant":
        tensor = imported.constants[b.name]
    else:
        tensor = weights.get(b.name)
        if tensor is None:
            raise ArgumentError(f"compile_model: weight '{b.name}' is "
                                f"missing from {source}")
    if tuple(tensor.shape) != b.shape:
        raise ArgumentError(
            f"compile_model: weight '{b.name}' in {source} has shape "
            f"{list(tensor.shape)}, the model expects {list(b.shape)}")
    if tensor.dtype != _DTYPES.get(b.dtype):
        raise ArgumentError(
            f"compile_model: weight '{b.name}' in {source} is "
            f"{str(tensor.dtype).removeprefix('torch.')}, the model "
            f"expects {b.dtype}")
    return tensor.detach()


def _bind(imported, weights, source):
    """The tensors of the weight arguments: one flat tensor per dtype
    (packed weights) or one per weight, each weight checked."""
    bound = []
    for b in imported.arguments:
        if b.kind == "weights":
            parts = [_weight(imported, w, weights, source).reshape(-1)
                     for w, _ in imported.packed[b.dtype]]
            bound.append(torch.cat(parts).contiguous())
        elif b.kind != "input":
            bound.append(_weight(imported, b, weights, source).contiguous())
    return bound


class CompiledModel:
    """A compiled model: call it like the module, on torch tensors."""

    def __init__(self, imported, kernel, weights, library, name="model"):
        self.imported = imported
        self.library = library
        self.name = name
        self._kernel = kernel
        self._weights = weights
        program = imported.exported
        self._in_spec = program.call_spec.in_spec
        self._out_spec = program.call_spec.out_spec
        self._inputs = imported.inputs

    @property
    def mlir(self):
        return self.imported.mlir

    def save(self, path, overwrite=False):
        """Writes this model as an artifact directory that `clusopt-run
        --artifact` runs and `clusopt.load_model` loads, with the weights
        bound at load time by their state_dict names (`clusopt.artifact`).
        Returns the path."""
        from . import artifact
        return artifact.save(self, path, overwrite=overwrite)

    def __call__(self, *args, **kwargs):
        flat, spec = pytree.tree_flatten((args, kwargs))
        if spec != self._in_spec or len(flat) != len(self._inputs):
            raise ArgumentError(f"compiled model: expected inputs like the "
                                f"example ({len(self._inputs)} tensors), got "
                                f"{len(flat)}")
        tensors = []
        for value, b in zip(flat, self._inputs):
            if not isinstance(value, torch.Tensor):
                raise ArgumentError(f"compiled model: input '{b.name}' must "
                                    f"be a torch tensor, got "
                                    f"{type(value).__name__}")
            if tuple(value.shape) != b.shape or value.dtype != _DTYPES.get(
                    b.dtype):
                raise ArgumentError(
                    f"compiled model: input '{b.name}' has shape "
                    f"{list(value.shape)} and dtype {value.dtype}; it was "
                    f"compiled for {list(b.shape)} {b.dtype} (compile again "
                    f"for another shape)")
            tensors.append(value.detach().contiguous())
        with torch.no_grad():
            out = self._kernel(*self._weights, *tensors)
        out = list(out) if isinstance(out, (tuple, list)) else [out]
        return pytree.tree_unflatten(out, self._out_spec)


def compile_model(module, example_inputs, target="host", weights=None,
                  fuse_paca=True, fuse_attention=True, cache_dir=None):
    """Compiles `module` (a torch.nn.Module, in eval mode) for the shapes
    of `example_inputs` (a tensor or a tuple) and returns a CompiledModel.

    - `target`: as for `clusopt.compile` ("host", "x86-64-v4", ...).
    - `weights`: None binds the module's own `state_dict`; a dict binds
      that state_dict; a path binds a safetensors file (a checkpoint
      exported by `clusopt.export`), by the state_dict names.
    - `fuse_paca`, `fuse_attention`: the importer's pattern rewrites
      (see `clusopt.importer.import_module`).

    Raises UnsupportedOpError (an op the importer cannot compile),
    ImporterError, CompileError, or ArgumentError (a weight missing, of
    another shape or dtype).
    """
    # Packed weights: a call through clusopt.load takes at most 24
    # arguments, and real models have hundreds of weights.
    imported = importer.import_module(module, example_inputs,
                                      fuse_paca=fuse_paca,
                                      fuse_attention=fuse_attention,
                                      pack_weights=True)
    if weights is None:
        state, source = module.state_dict(keep_vars=False), "the module"
    elif isinstance(weights, dict):
        state, source = weights, "the given state_dict"
    elif isinstance(weights, (str, os.PathLike)):
        state, source = _load_weights(weights), str(pathlib.Path(weights))
    else:
        raise ArgumentError(f"compile_model: weights must be None, a "
                            f"state_dict or a safetensors path, got "
                            f"{type(weights).__name__}")
    bound = _bind(imported, state, source)
    library = compiler.compile(imported.mlir, target=target,
                               cache_dir=cache_dir)
    kernel = library[imported.func_name]
    return CompiledModel(imported, kernel, bound, library,
                         name=type(module).__name__)


# ----------------------------------------------------------------------
# torch.compile backend
# ----------------------------------------------------------------------


def _fallback(gm, reason):
    warnings.warn(f"clusopt backend: running this graph eagerly: {reason}",
                  stacklevel=2)
    return gm.forward


def backend(gm, example_inputs):
    """torch.compile backend "clusopt": compiles each graph Dynamo gives
    it (its parameters arrive as inputs) and falls back to eager, with a
    warning naming the reason, for a graph it cannot compile."""
    for value in example_inputs:
        if not isinstance(value, torch.Tensor):
            return _fallback(gm, f"a non-tensor input "
                                 f"({type(value).__name__}): clusopt "
                                 f"compiles static tensor shapes")
        if any(not isinstance(d, int) for d in value.shape):
            return _fallback(gm, "dynamic shapes: clusopt compiles static "
                                 "shapes (torch.compile(dynamic=False))")
    try:
        compiled = compile_model(gm.eval(), tuple(example_inputs))
    except ClusoptError as e:
        return _fallback(gm, str(e))

    def run(*args):
        out = compiled(*args)
        return out
    return run


def register_backend():
    """Registers `backend` with torch._dynamo as "clusopt" (idempotent)."""
    from torch._dynamo import list_backends
    from torch._dynamo.backends.registry import register_backend as reg
    if "clusopt" not in list_backends(exclude_tags=()):
        reg(name="clusopt")(backend)


register_backend()
