"""Compiled models as artifacts: a directory that `clusopt-run` runs and
`clusopt.load_model` loads, with the weights bound at load time by their
`state_dict` names from a safetensors file.

    compiled = clusopt.compile_model(module, (x,))
    compiled.save("model/")                           # the artifact
    model = clusopt.load_model("model/", weights="w.safetensors")
    logits = model(x)                                 # torch in, torch out

    $ clusopt-run --artifact model/ --weights w.safetensors --image cat.jpg

An artifact directory holds:
- `model.json`: the artifact's manifest (format MODEL_FORMAT): the entry
  point, each argument in order with its role (`input`, or `weights`: one
  flat argument per dtype, listing each weight's state_dict name, shape,
  dtype and offset), the outputs, the compiler version and the target
  with the CPU features it needs;
- `kernels.so`, `kernels.json`, `kernels.h`: the kernel library
  `clusopt-compile` built, its manifest and C header;
- `model.mlir`: the imported module it was compiled from;
- `constants.safetensors`, when the model has tensors that are not in a
  state_dict (constants made in forward, non-persistent buffers).

No weights are stored: a checkpoint with the same names binds unchanged.
An artifact runs only with the clusopt version that built it (the calling
convention and runtime may change between versions) and on a CPU with the
features its target needs; both are checked before any code is loaded.
"""

import json
import os
import pathlib
import platform
import shutil
import tempfile

from . import library as _library
from . import safetensors_io, toolchain
from .errors import ArgumentError, ArtifactError, UnsupportedTargetError
from .version import build_info

MODEL_FORMAT = "clusopt-model/1"
MANIFEST = "model.json"
LIBRARY = "kernels.so"
KERNELS_MANIFEST = "kernels.json"
HEADER = "kernels.h"
SOURCE = "model.mlir"
CONSTANTS = "constants.safetensors"

# torch dtype name (the importer's) -> manifest element type (the kernel
# manifest's) and safetensors dtype.
_ELEMENT_TYPES = {"float32": "f32", "float16": "f16", "bfloat16": "bf16",
                  "int32": "i32", "int64": "i64"}
_SAFETENSORS = {"f32": "F32", "f16": "F16", "bf16": "BF16", "i32": "I32",
                "i64": "I64"}
_TORCH_NAMES = {v: k for k, v in _ELEMENT_TYPES.items()}


def compiler_version():
    """"clusopt 0.1.0 (git 1234abcd)": what the tools' --version prints
    first, and what an artifact must have been built by."""
    return build_info().text().splitlines()[0]


def _element_type(torch_name, what):
    try:
        return _ELEMENT_TYPES[torch_name]
    except KeyError:
        raise ArtifactError(f"{what} is {torch_name}; an artifact takes "
                            f"{', '.join(_ELEMENT_TYPES)}") from None


# ----------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------


def _manifest(compiled):
    imported, lib = compiled.imported, compiled.library
    target = dict(lib.manifest.get("target", {}))
    if lib.is_gpu:
        raise ArtifactError("save: GPU artifacts are not supported yet "
                            "(compile for a CPU target)")
    target["features"] = sorted(_library._required_features(target))
    arguments = []
    for b in imported.arguments:
        if b.kind == "weights":
            members = []
            for w, offset in imported.packed[b.dtype]:
                members.append({
                    "name": w.name, "shape": list(w.shape),
                    "dtype": _element_type(w.dtype, f"weight '{w.name}'"),
                    "offset": offset,
                    "source": "constant" if w.kind == "constant"
                    else "state_dict"})
            arguments.append({"role": "weights",
                              "dtype": _element_type(b.dtype, "weights"),
                              "shape": list(b.shape), "weights": members})
        elif b.kind == "input":
            arguments.append({"role": "input", "name": b.name,
                              "dtype": _element_type(b.dtype,
                                                     f"input '{b.name}'"),
                              "shape": list(b.shape)})
        else:
            raise ArtifactError(f"save: argument '{b.name}' ({b.kind}) is "
                                f"not packed; compile with compile_model")
    outputs = [{"dtype": _element_type(d, f"output {i}"), "shape": list(s)}
               for i, (s, d) in enumerate(imported.outputs)]
    info = build_info()
    manifest = {
        "format": MODEL_FORMAT,
        "name": compiled.name,
        "compiler": {"version": compiler_version(),
                     "llvm": info.llvm_version,
                     "torch_mlir": _importer_version()},
        "target": target,
        "library": LIBRARY,
        "kernels": KERNELS_MANIFEST,
        "entry_point": imported.func_name,
        "arguments": arguments,
        "outputs": outputs,
    }
    if imported.constants:
        manifest["constants"] = CONSTANTS
    return manifest


def _importer_version():
    from . import importer
    return importer.TORCH_MLIR_VERSION


def _write_constants(path, constants):
    import torch
    arrays, bf16 = {}, []
    for name, tensor in constants.items():
        tensor = tensor.detach().contiguous().cpu()
        if tensor.dtype == torch.bfloat16:
            arrays[name] = tensor.view(torch.uint16).numpy()
            bf16.append(name)
        else:
            arrays[name] = tensor.numpy()
    safetensors_io.save(path, arrays, bf16=bf16)


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def save(compiled, path, overwrite=False):
    """Writes `compiled` (a CompiledModel) as an artifact directory at
    `path` (see the module docstring).

    The directory is written in full under a private temporary name beside
    `path` and then renamed into place, so readers see the old artifact or
    the new one, never a part. `path` must not exist, unless `overwrite`
    and it is an artifact (a directory with a model.json), which is then
    replaced. A symbolic link at `path` is refused, never written through.
    Raises ArtifactError.
    """
    path = pathlib.Path(path)
    if path.is_symlink():
        raise ArtifactError(f"{path}: is a symbolic link; refusing to "
                            f"write the artifact through it")
    if path.exists():
        if not overwrite:
            raise ArtifactError(f"{path}: already exists (overwrite=True, "
                                f"or --force, replaces an artifact)")
        if not path.is_dir() or not (path / MANIFEST).is_file():
            raise ArtifactError(f"{path}: exists and is not a model "
                                f"artifact (no {MANIFEST}); refusing to "
                                f"replace it")
    parent = path.parent
    if not parent.is_dir():
        raise ArtifactError(f"{path}: the directory {parent} does not exist")
    manifest = _manifest(compiled)
    lib = compiled.library
    kernels = dict(lib.manifest)
    kernels["library"], kernels["header"] = LIBRARY, HEADER
    try:
        work = pathlib.Path(tempfile.mkdtemp(prefix=f".{path.name}.",
                                             suffix=".tmp", dir=parent))
    except OSError as e:
        raise ArtifactError(f"{path}: cannot create a temporary directory "
                            f"in {parent}: {e.strerror or e}") from e
    old = None
    try:
        shutil.copyfile(lib.path, work / LIBRARY)
        os.chmod(work / LIBRARY, 0o755 & ~_umask())
        header = pathlib.Path(lib.path).with_suffix(".h")
        if header.is_file():
            shutil.copyfile(header, work / HEADER)
        (work / KERNELS_MANIFEST).write_text(json.dumps(kernels, indent=2)
                                             + "\n")
        (work / SOURCE).write_text(compiled.imported.mlir)
        if compiled.imported.constants:
            _write_constants(work / CONSTANTS, compiled.imported.constants)
        (work / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        os.chmod(work, 0o777 & ~_umask())  # mkdtemp made it 0700
        if path.exists():
            old = pathlib.Path(tempfile.mkdtemp(prefix=f".{path.name}.",
                                                suffix=".old", dir=parent))
            os.rename(path, old / "artifact")
        try:
            # Fails (ENOTDIR, EEXIST) rather than follow a link or merge
            # into a directory planted since the checks above.
            os.rename(work, path)
        except OSError:
            if old is not None:
                os.rename(old / "artifact", path)
            raise
    except OSError as e:
        raise ArtifactError(f"{path}: cannot write the artifact: "
                            f"{e.strerror or e}") from e
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return path


# ----------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------


def _fail(where, problem):
    return ArtifactError(f"{where}: {problem}")


def _check_spec(where, item, keys):
    if not isinstance(item, dict) or not all(k in item for k in keys):
        raise _fail(where, f"expected an object with {', '.join(keys)}")
    if item["dtype"] not in _SAFETENSORS:
        raise _fail(where, f"unsupported dtype {item['dtype']!r}")
    shape = item["shape"]
    if not isinstance(shape, list) or not all(
            type(d) is int and d >= 0 for d in shape):
        raise _fail(where, f"malformed shape {shape!r}")


def read_manifest(path):
    """The parsed, checked model.json of the artifact at `path` (a
    directory). Raises ArtifactError for a missing or malformed manifest,
    UnsupportedTargetError for another clusopt version or a target this
    CPU cannot run."""
    path = pathlib.Path(path)
    where = path / MANIFEST
    if not path.is_dir():
        raise _fail(path, "not a directory (a model artifact is a directory "
                          "with a model.json)")
    try:
        manifest = json.loads(where.read_text())
    except OSError as e:
        raise _fail(where, f"cannot read the artifact's manifest: "
                           f"{e.strerror or e}") from e
    except ValueError as e:
        raise _fail(where, f"not valid JSON: {e}") from e
    if not isinstance(manifest, dict) or manifest.get("format") != \
            MODEL_FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise _fail(where, f"format is {found!r}, expected {MODEL_FORMAT!r}")
    for key, kind in (("compiler", dict), ("target", dict),
                      ("library", str), ("kernels", str),
                      ("entry_point", str), ("arguments", list),
                      ("outputs", list)):
        if not isinstance(manifest.get(key), kind):
            raise _fail(where, f"missing or malformed '{key}'")
    for name in ("library", "kernels", "constants"):
        value = manifest.get(name)
        if value is not None and (not isinstance(value, str) or "/" in value
                                  or value in ("", ".", "..")):
            raise _fail(where, f"'{name}' must name a file in the artifact, "
                               f"got {value!r}")
    built_by = manifest["compiler"].get("version")
    if built_by != compiler_version():
        raise UnsupportedTargetError(
            f"{path}: built by {built_by}, but this is "
            f"{compiler_version()}; compile the model again with this "
            f"clusopt")
    target = manifest["target"]
    triple = str(target.get("triple", ""))
    arch = triple.split("-", 1)[0] if triple else "?"
    machine = platform.machine()
    if arch != machine and not (arch == "x86_64" and machine == "AMD64"):
        raise UnsupportedTargetError(
            f"{path}: built for {arch} ({target.get('name')}); this machine "
            f"is {machine}")
    features = target.get("features", [])
    if not isinstance(features, list):
        raise _fail(where, "malformed 'target.features'")
    missing = set(features) - toolchain.host_cpu_features()
    if missing:
        raise UnsupportedTargetError(
            f"{path}: built for {target.get('name')}, which needs CPU "
            f"features this machine lacks: {', '.join(sorted(missing))}")
    for i, arg in enumerate(manifest["arguments"]):
        at = f"{where}: argument {i}"
        role = arg.get("role") if isinstance(arg, dict) else None
        if role == "input":
            _check_spec(at, arg, ("name", "dtype", "shape"))
        elif role == "weights":
            _check_spec(at, arg, ("dtype", "shape", "weights"))
            if not isinstance(arg["weights"], list):
                raise _fail(at, "'weights' must be a list")
            for j, w in enumerate(arg["weights"]):
                _check_spec(f"{at} weight {j}", w,
                            ("name", "dtype", "shape", "offset", "source"))
                if w["source"] not in ("state_dict", "constant"):
                    raise _fail(f"{at} weight {j}",
                                f"unknown source {w['source']!r}")
        else:
            raise _fail(at, f"role must be 'input' or 'weights', got "
                            f"{role!r}")
    for i, out in enumerate(manifest["outputs"]):
        _check_spec(f"{where}: output {i}", out, ("dtype", "shape"))
    return manifest


def _read_weights(path, what):
    """name -> torch tensor of a safetensors file."""
    from .compiled_model import _load_weights
    return _load_weights(path, caller=what)


class LoadedModel:
    """A model artifact, loaded with its weights bound: call it with torch
    tensors (the inputs, in the order and shapes it was compiled for); it
    returns one tensor, or a tuple for several outputs."""

    def __init__(self, path, manifest, library, kernel, bound):
        self.path = path
        self.manifest = manifest
        self.library = library
        self._kernel = kernel
        self._bound = bound
        self.inputs = [a for a in manifest["arguments"]
                       if a["role"] == "input"]

    @property
    def name(self):
        return self.manifest.get("name", self.path.name)

    def __repr__(self):
        return f"<clusopt model {self.name} from {self.path}>"

    def __call__(self, *args):
        import torch
        if len(args) != len(self.inputs):
            raise ArgumentError(f"{self.name}: expected {len(self.inputs)} "
                                f"input tensors, got {len(args)}")
        tensors = []
        for value, spec in zip(args, self.inputs):
            if not isinstance(value, torch.Tensor):
                raise ArgumentError(f"{self.name}: input '{spec['name']}' "
                                    f"must be a torch tensor, got "
                                    f"{type(value).__name__}")
            want = getattr(torch, _TORCH_NAMES[spec["dtype"]])
            if list(value.shape) != spec["shape"] or value.dtype != want:
                raise ArgumentError(
                    f"{self.name}: input '{spec['name']}' has shape "
                    f"{list(value.shape)} and dtype {value.dtype}; the "
                    f"artifact was compiled for {spec['shape']} "
                    f"{_TORCH_NAMES[spec['dtype']]} (compile again for "
                    f"another shape)")
            tensors.append(value.detach().contiguous())
        with torch.no_grad():
            out = self._kernel(*self._bound, *tensors)
        if isinstance(out, tuple) and len(self.manifest["outputs"]) == 1:
            return out[0]
        return out


def _bind(manifest, path, state, source):
    """One flat tensor per weights argument, each weight checked by name,
    shape and dtype against the manifest."""
    import torch
    constants = None
    bound = []
    for arg in manifest["arguments"]:
        if arg["role"] != "weights":
            continue
        dtype = getattr(torch, _TORCH_NAMES[arg["dtype"]])
        blob = torch.empty(arg["shape"], dtype=dtype)
        for w in arg["weights"]:
            name, shape = w["name"], w["shape"]
            if w["source"] == "constant":
                if constants is None:
                    constants = _read_weights(
                        path / manifest.get("constants", CONSTANTS),
                        f"{path}: the artifact's constants")
                table, where = constants, f"{path}/{CONSTANTS}"
            else:
                table, where = state, source
            tensor = table.get(name)
            if tensor is None:
                raise ArgumentError(f"{where}: weight '{name}' is missing "
                                    f"(the model needs {w['dtype']} "
                                    f"{shape})")
            if list(tensor.shape) != shape:
                raise ArgumentError(
                    f"{where}: weight '{name}' has shape "
                    f"{list(tensor.shape)}, the model expects {shape}")
            want = getattr(torch, _TORCH_NAMES[w["dtype"]])
            if tensor.dtype != want:
                raise ArgumentError(
                    f"{where}: weight '{name}' is "
                    f"{str(tensor.dtype).removeprefix('torch.')}, the model "
                    f"expects {_TORCH_NAMES[w['dtype']]}")
            size = tensor.numel()
            offset = w["offset"]
            if offset + size > blob.numel():
                raise ArtifactError(f"{path}/{MANIFEST}: weight '{name}' "
                                    f"lies outside its argument")
            blob[offset:offset + size] = tensor.detach().reshape(-1)
        bound.append(blob)
    return bound


def load_model(path, weights):
    """Loads the artifact at `path` (a directory `CompiledModel.save` or
    `python -m clusopt compile-model` wrote) and binds `weights`: a
    safetensors file (by state_dict names) or a state_dict. Returns a
    LoadedModel, callable on torch tensors.

    Raises ArtifactError (a missing or malformed artifact),
    UnsupportedTargetError (another clusopt version, or a target this CPU
    cannot run), ArgumentError (a weight missing, or of another shape or
    dtype). Tensors the model does not use are ignored.
    """
    path = pathlib.Path(path)
    manifest = read_manifest(path)
    if isinstance(weights, dict):
        state, source = weights, "the given state_dict"
    elif isinstance(weights, (str, os.PathLike)):
        state, source = _read_weights(weights, "load_model"), str(weights)
    else:
        raise ArgumentError(f"load_model: weights must be a safetensors "
                            f"path or a state_dict, got "
                            f"{type(weights).__name__}")
    lib = _library.load(path / manifest["kernels"])
    try:
        kernel = lib[manifest["entry_point"]]
    except KeyError:
        raise ArtifactError(f"{path}: the kernel library has no entry point "
                            f"'{manifest['entry_point']}'") from None
    args = manifest["arguments"]
    if len(kernel.arguments) != len(args) or any(
            k.dtype != a["dtype"] or list(k.shape) != a["shape"]
            for k, a in zip(kernel.arguments, args)):
        raise ArtifactError(f"{path}: {MANIFEST} and {manifest['kernels']} "
                            f"disagree on the arguments of "
                            f"'{manifest['entry_point']}'")
    bound = _bind(manifest, path, state, source)
    return LoadedModel(path, manifest, lib, kernel, bound)
