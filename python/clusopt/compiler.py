"""`clusopt.compile`: MLIR to a loaded library through `clusopt-compile`,
cached on disk.

    lib = clusopt.compile(open("paca.mlir").read())   # or a path
    out = lib.paca_attention(logits, x, q)

The cache lives in `$CLUSOPT_CACHE_DIR`, else `$XDG_CACHE_HOME/clusopt`,
else `~/.cache/clusopt` (under `kernels/`). An entry's key is the SHA-256
of the source, the options, the target and the compiler's identity (its
`--version` and the binary's size and modification time), so a rebuilt
compiler never serves stale kernels. Entries are written to a private
directory and renamed into place, so concurrent processes may compile the
same kernel safely.
"""

import functools
import hashlib
import os
import pathlib
import shutil
import subprocess
import tempfile

from . import toolchain
from .errors import ArgumentError, CompileError
from .library import load

PIPELINES = ("optimised",)
# Bumped when the layout of a cache entry changes.
_CACHE_LAYOUT = "1"


def compiler_path():
    """Path of the `clusopt-compile` binary (the one place that locates
    it)."""
    try:
        return toolchain._tool("clusopt-compile", toolchain.build_dir() / "bin")
    except toolchain.ToolchainError as e:
        raise CompileError(str(e)) from e


@functools.lru_cache(maxsize=None)
def _version_output(path, mtime_ns, size):
    proc = subprocess.run([path, "--version"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise CompileError(f"{path} --version failed ({proc.returncode}):\n"
                           f"{proc.stderr}")
    return proc.stdout.strip()


def compiler_identity():
    """`clusopt-compile --version` (run once per process and binary) plus
    the binary's size and modification time."""
    path = compiler_path()
    st = os.stat(path)
    version = _version_output(path, st.st_mtime_ns, st.st_size)
    return f"{version}\n{path} {st.st_size} {st.st_mtime_ns}"


def cache_root():
    """The directory compiled kernels are cached in (under kernels/)."""
    return toolchain.cache_root()


def _read_source(source):
    """MLIR text of `source`: the text itself, or a file's contents."""
    if isinstance(source, os.PathLike):
        path = pathlib.Path(source)
    elif isinstance(source, str):
        looks_like_path = "\n" not in source and (
            source.endswith(".mlir") or os.path.isfile(source))
        if not looks_like_path:
            return source
        path = pathlib.Path(source)
    else:
        raise ArgumentError(f"compile: source must be MLIR text or a path, "
                            f"got {type(source).__name__}")
    try:
        return path.read_text()
    except OSError as e:
        raise ArgumentError(f"compile: cannot read source file {path}: "
                            f"{e.strerror or e}") from e


def _tile_flag(tile):
    if tile is None:
        return []
    if isinstance(tile, dict):
        unknown = set(tile) - {"rows", "cols"}
        if unknown or not tile:
            raise ArgumentError(f"compile: tile takes 'rows' and 'cols', got "
                                f"{sorted(tile)}")
        text = ",".join(f"{k}={int(v)}" for k, v in sorted(
            tile.items(), reverse=True))
    elif isinstance(tile, (tuple, list)) and len(tile) == 2:
        text = f"rows={int(tile[0])},cols={int(tile[1])}"
    elif isinstance(tile, str):
        text = tile
    else:
        raise ArgumentError(f"compile: tile must be (rows, cols), a dict or "
                            f"'rows=R,cols=C', got {tile!r}")
    return [f"--tile={text}"]


def _options(target, pipeline, tile, tuning_db):
    """The clusopt-compile flags, and what of them the cache key needs
    beyond the flags themselves (the tuning database's state)."""
    if pipeline not in PIPELINES:
        raise ArgumentError(f"compile: pipeline must be one of "
                            f"{list(PIPELINES)}, got {pipeline!r} "
                            f"(clusopt-compile runs the optimised pipeline)")
    if not isinstance(target, str) or not target:
        raise ArgumentError(f"compile: target must be a name such as "
                            f"'host', 'x86-64-v3' or 'sm_90', got {target!r}")
    flags = [f"--target={target}", *_tile_flag(tile)]
    extra = ""
    if tuning_db is None:
        flags.append("--no-tune")  # reproducible: the key covers everything
    else:
        db = pathlib.Path(tuning_db)
        flags.append(f"--tuning-db={db}")
        try:
            st = db.stat()
            extra = f"{db.resolve()} {st.st_size} {st.st_mtime_ns}"
        except OSError:
            extra = f"{db} missing"
    return flags, extra


def cache_key(text, flags, extra=""):
    """The cache key of compiling `text` with `flags`."""
    h = hashlib.sha256()
    for part in (_CACHE_LAYOUT, compiler_identity(), "\0".join(flags), extra,
                 text):
        h.update(part.encode())
        h.update(b"\0\1")
    return h.hexdigest()


def _run_compiler(cmd):
    """Runs clusopt-compile (tests count the calls through this)."""
    return subprocess.run(cmd, capture_output=True, text=True)


def compile(source, target="host", pipeline="optimised", tile=None,
            tuning_db=None, cache_dir=None):
    """Compiles MLIR `source` (text or a path) with `clusopt-compile` and
    returns the loaded library (see `clusopt.load`).

    - `target`: "host", "x86-64", "x86-64-v3", "x86-64-v4" or a GPU
      ("sm_80", "sm_90", ...).
    - `pipeline`: "optimised" (tiled, fused, vectorised and threaded
      kernels; the only pipeline clusopt-compile runs).
    - `tile`: default tile sizes for every op, (rows, cols) or
      {"rows": R, "cols": C}; an op's own `clus.lowering_config` still
      wins.
    - `tuning_db`: a clusopt-tune database to take tiles from; None (the
      default) ignores every database, so results are reproducible.
    - `cache_dir`: overrides the cache directory.

    Raises CompileError with clusopt-compile's diagnostics when it fails.
    """
    text = _read_source(source)
    flags, extra = _options(target, pipeline, tile, tuning_db)
    key = cache_key(text, flags, extra)
    root = pathlib.Path(cache_dir) if cache_dir else cache_root()
    entry = root / "kernels" / key
    library = entry / "kernel.so"
    if (entry / "kernel.json").is_file() and library.is_file():
        return load(library)
    (root / "kernels").mkdir(parents=True, exist_ok=True)
    work = pathlib.Path(tempfile.mkdtemp(prefix=f".{key[:16]}-",
                                         dir=root / "kernels"))
    try:
        (work / "source.mlir").write_text(text)
        cmd = [compiler_path(), str(work / "source.mlir"), *flags, "-o",
               str(work / "kernel.so")]
        proc = _run_compiler(cmd)
        if proc.returncode != 0:
            raise CompileError(f"clusopt-compile failed ({proc.returncode}):"
                               f"\n{proc.stderr.strip()}")
        try:
            os.rename(work, entry)  # atomic; fails if another process won
        except OSError:
            if not (entry / "kernel.json").is_file():
                raise
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return load(library)
