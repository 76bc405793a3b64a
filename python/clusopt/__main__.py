"""`python -m clusopt`: what this clusopt is and where its parts are;
`python -m clusopt compile-model`: a PyTorch model compiled to an artifact
that clusopt-run runs."""

import argparse
import importlib
import importlib.util
import pathlib
import sys

from . import toolchain
from .errors import ClusoptError
from .version import build_info

DESCRIPTION = """\
clusopt compiles clustering-attention kernels (the `clus` MLIR dialect) to
native code. Its command-line tools are clusopt-opt, clusopt-compile,
clusopt-tune, clusopt-run and clusopt-safetensors (each has --help); from
Python, import clusopt.

  python -m clusopt compile-model --help   a PyTorch model to an artifact
"""

COMPILE_MODEL = """\
Compiles a PyTorch model (torch.export, torch-mlir, clusopt-compile) for
the input shapes given and writes an artifact directory: the kernel
library, its manifest and model.json (the entry point; each argument's
role, state_dict name, shape and dtype; the outputs; the compiler version
and target). No weights are stored: clusopt-run --artifact DIR --weights
W.safetensors binds them by state_dict name when it loads.

MODEL is MODULE:FACTORY, a Python module (dotted name, or a .py file) and a
function in it that takes no arguments and returns the torch.nn.Module.

example:
  python -m clusopt compile-model mymodels.py:tiny_vit \\
      --input-shape 1x3x224x224 -o tiny_vit/
  clusopt-run --artifact tiny_vit/ --weights tiny_vit.safetensors \\
      --image cat.jpg
"""


def _factory(spec):
    """The callable MODULE:FACTORY names."""
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise ClusoptError(f"MODEL must be MODULE:FACTORY (a module or .py "
                           f"file and a function in it), got '{spec}'")
    if module_name.endswith(".py"):
        path = pathlib.Path(module_name)
        if not path.is_file():
            raise ClusoptError(f"{path}: no such file")
        loader = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(loader)
        loader.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(module_name)
        except ImportError as e:
            raise ClusoptError(f"cannot import {module_name}: {e}") from e
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ClusoptError(f"{module_name} has no function '{attr}'")
    return factory


def _shape(text):
    try:
        dims = [int(d) for d in text.lower().replace(",", "x").split("x")]
    except ValueError:
        dims = []
    if not dims or any(d < 1 for d in dims):
        raise argparse.ArgumentTypeError(
            f"expected positive dims such as 1x3x224x224, got '{text}'")
    return dims


def compile_model_main(args):
    import torch

    from .compiled_model import compile_model
    module = _factory(args.model)()
    if not isinstance(module, torch.nn.Module):
        raise ClusoptError(f"{args.model} returned a "
                           f"{type(module).__name__}, not a torch.nn.Module")
    dtype = getattr(torch, args.input_dtype)
    inputs = tuple(torch.zeros(s, dtype=dtype) for s in args.input_shape)
    compiled = compile_model(module.eval(), inputs, target=args.target,
                             weights=args.weights)
    path = compiled.save(args.output, overwrite=args.force)
    weights = compiled.imported.parameters
    shapes = ", ".join("x".join(map(str, s)) for s in args.input_shape)
    outputs = ", ".join("x".join(map(str, s)) + f" {d}"
                        for s, d in compiled.imported.outputs)
    print(f"{path}: {compiled.name}, {len(weights)} weights by state_dict "
          f"name, inputs {shapes} {args.input_dtype}, outputs {outputs}, "
          f"target {compiled.library.target.get('name')}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m clusopt", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--version", action="store_true",
        help="print clusopt's version and git commit, and the LLVM version "
             "it was built with")
    parser.add_argument(
        "--paths", action="store_true",
        help="print where the tools, the libraries and the kernel cache are")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    cm = commands.add_parser(
        "compile-model", description=COMPILE_MODEL,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="compile a PyTorch model to an artifact clusopt-run runs")
    cm.add_argument("model", metavar="MODEL",
                    help="MODULE:FACTORY, the function that builds the "
                         "torch.nn.Module")
    cm.add_argument("--input-shape", type=_shape, action="append",
                    required=True, metavar="DIMS",
                    help="an input's shape, e.g. 1x3x224x224 (once per "
                         "input, in the order forward takes them)")
    cm.add_argument("--input-dtype", default="float32",
                    choices=["float32", "float16", "bfloat16"],
                    help="the inputs' dtype (default float32)")
    cm.add_argument("--weights", metavar="W.safetensors",
                    help="check the model against these weights while "
                         "compiling (default: the module's own state_dict)")
    cm.add_argument("--target", default="host",
                    help="host (default), x86-64, x86-64-v3 or x86-64-v4")
    cm.add_argument("-o", "--output", required=True, metavar="DIR",
                    help="the artifact directory to write (must not exist, "
                         "or be an artifact with --force)")
    cm.add_argument("--force", action="store_true",
                    help="replace an existing artifact at DIR")
    args = parser.parse_args(argv)
    if args.command == "compile-model":
        try:
            return compile_model_main(args)
        except ClusoptError as e:
            print(f"python -m clusopt compile-model: error: {e}",
                  file=sys.stderr)
            return 1
    if not (args.version or args.paths):
        parser.print_help()
        return 0
    if args.version:
        print(build_info().text())
    if args.paths:
        root = toolchain.build_dir()
        print(f"tools: {root / 'bin'}")
        print(f"libraries: {root / 'lib'}")
        print(f"cache: {toolchain.cache_root()} (clusopt.compile's "
              f"libraries in kernels/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
