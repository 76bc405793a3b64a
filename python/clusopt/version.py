"""clusopt's version, git commit and LLVM version, as the tools' --version
prints them.

CMake generates them into a module, _build_info.py (from _build_info.py.in,
at configure time): `pip install` puts it in the package; in a source
checkout (PYTHONPATH=python) it is read from the build directory
(build/python/clusopt/). Before any build, the version comes from
CMakeLists.txt, the one place it is written, and the rest is "unknown".
"""

import dataclasses
import importlib.util
import re

from . import toolchain


@dataclasses.dataclass(frozen=True)
class BuildInfo:
    version: str
    git_hash: str
    llvm_version: str
    source: str  # where these came from

    def text(self):
        """What `clusopt-compile --version` prints."""
        return (f"clusopt {self.version} (git {self.git_hash})\n"
                f"LLVM {self.llvm_version}")


def _from_module(path):
    spec = importlib.util.spec_from_file_location("_clusopt_build_info", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return BuildInfo(module.VERSION, module.GIT_HASH, module.LLVM_VERSION,
                     str(path))


def build_info():
    """The BuildInfo of the clusopt whose tools toolchain.build_dir() finds."""
    for path in (toolchain.build_dir() / "python" / "clusopt" /
                 "_build_info.py",
                 toolchain.PACKAGE_DIR / "_build_info.py"):
        if path.exists():
            return _from_module(path)
    cmake = toolchain.REPO_ROOT / "CMakeLists.txt"
    match = cmake.exists() and re.search(
        r"project\(clusopt VERSION ([0-9.]+)", cmake.read_text())
    version = match.group(1) if match else "unknown"
    return BuildInfo(version, "unknown", "unknown",
                     f"{cmake} (not built yet)")


__version__ = build_info().version
