"""Console entry points (pyproject.toml's [project.scripts]): `pip install`
puts clusopt-compile and the other tools on PATH as these wrappers, each of
which replaces itself with the tool of the same name that toolchain.tool()
finds (the installed package's clusopt/bin, or $CLUSOPT_BUILD_DIR/bin)."""

import os
import sys

from . import toolchain


def _run(name):
    try:
        path = toolchain.tool(name)
    except toolchain.ToolchainError as error:
        print(f"{name}: error: {error}", file=sys.stderr)
        sys.exit(1)
    os.execv(path, [path, *sys.argv[1:]])


def clusopt_opt():
    _run("clusopt-opt")


def clusopt_compile():
    _run("clusopt-compile")


def clusopt_tune():
    _run("clusopt-tune")


def clusopt_run():
    _run("clusopt-run")


def clusopt_safetensors():
    _run("clusopt-safetensors")
