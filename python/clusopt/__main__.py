"""`python -m clusopt`: what this clusopt is and where its parts are."""

import argparse
import sys

from . import toolchain
from .version import build_info

DESCRIPTION = """\
clusopt compiles clustering-attention kernels (the `clus` MLIR dialect) to
native code. Its command-line tools are clusopt-opt, clusopt-compile,
clusopt-tune, clusopt-run and clusopt-safetensors (each has --help); from
Python, import clusopt.
"""


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
    args = parser.parse_args(argv)
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
