"""Shared pytest setup: the package path, backend selection and the
error summary of the numerics harness."""

import os
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
# No tuning records leak in from the user's cache: a missing default
# database means no records.
os.environ["CLUSOPT_TUNING_DB"] = "/nonexistent/clusopt-tests/tuning.sqlite"

from clusopt.toolchain import Backend, skip_reason  # noqa: E402

# Largest error seen per (backend, op, dtype), printed at the end of a run.
ERRORS = {}
CASES = {}


def parse_backend(text):
    """`PIPELINE[{OPTIONS}]@TARGET[+asan]`, e.g. `clus-to-llvm@x86-64-v3`,
    `clus-cpu-to-llvm{rows=3 cols=32}@x86-64-v4` or
    `clus-gpu-to-nvvm@sm_90`."""
    sanitize = text.endswith("+asan")
    text = text.removesuffix("+asan")
    pipeline, _, target = text.partition("@")
    options = ""
    if "{" in pipeline:
        pipeline, _, options = pipeline.partition("{")
        options = options.removesuffix("}")
    return Backend(pipeline=pipeline, target=target or "x86-64",
                   sanitize=sanitize, options=options)


# The 16-lane (AVX-512-width) lowering built for AVX2: LLVM legalises each
# 512-bit vector into a pair of 256-bit ones, so the code runs on any AVX2
# CPU. It joins every run that checks a CPU backend, on the cases marked
# `wide_sample` (test_numerics.py says which), so the AVX-512-width
# lowering is exercised on machines without AVX-512 too; named with
# --backend, it runs every case.
WIDE_ON_AVX2 = Backend(pipeline="clus-cpu-to-llvm", target="x86-64-v3",
                       options="vector-width=16")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "wide_sample: a numerics case also run on the 16-lane "
        f"lowering built for AVX2 ({WIDE_ON_AVX2.name}) in every run")


def pytest_addoption(parser):
    parser.addoption(
        "--backend", action="append", default=None,
        help="PIPELINE@TARGET[+asan] to check against the oracle, e.g. "
             "clus-cpu-to-llvm@x86-64-v3 or clus-gpu-to-nvvm@sm_90; repeat "
             "for several (default: $CLUSOPT_BACKENDS or "
             "clus-to-llvm@x86-64)")
    parser.addoption(
        "--full", action="store_true",
        default=os.environ.get("CLUSOPT_FULL") == "1",
        help="run every large shape instead of the CI sample")


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        names = metafunc.config.getoption("backend") or os.environ.get(
            "CLUSOPT_BACKENDS", "clus-to-llvm@x86-64").split(",")
        backends = [parse_backend(n) for n in names]
        if WIDE_ON_AVX2 not in backends and any(not b.is_gpu
                                                for b in backends):
            backends.append(WIDE_ON_AVX2)
        metafunc.parametrize("backend", backends, ids=[b.name for b in backends])


def _wide_sampled(config):
    """Whether WIDE_ON_AVX2 runs only its sample: it was added by
    pytest_generate_tests, not named by the user."""
    names = config.getoption("backend") or os.environ.get(
        "CLUSOPT_BACKENDS", "").split(",")
    return WIDE_ON_AVX2 not in [parse_backend(n) for n in names if n]


def pytest_collection_modifyitems(config, items):
    if _wide_sampled(config):
        kept, dropped = [], []
        for item in items:
            callspec = getattr(item, "callspec", None)
            backend = callspec.params.get("backend") if callspec else None
            wide = backend == WIDE_ON_AVX2
            if wide and not item.get_closest_marker("wide_sample"):
                dropped.append(item)
            else:
                kept.append(item)
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = kept
    # A GPU backend on a machine that cannot run it: every test of it is
    # skipped with the reason (clusopt.gpu.available()'s) before any other
    # fixture, such as the large-shape sampling, skips it for another.
    reasons = {}
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend") if callspec else None
        if not isinstance(backend, Backend) or not backend.is_gpu:
            continue
        if backend not in reasons:
            reasons[backend] = skip_reason(backend)
        if reasons[backend] and "runnable" in item.fixturenames:
            item.add_marker(pytest.mark.skip(reason=reasons[backend]))


def paca_torch():
    """bench/paca/paca_torch.py, the PyTorch port of PaCa-ViT, as a module."""
    import importlib.util

    from clusopt import toolchain

    path = toolchain.REPO_ROOT / "bench" / "paca" / "paca_torch.py"
    spec = importlib.util.spec_from_file_location("paca_torch", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def build_tree_kernel_cache():
    """Compiled models are cached in the build tree (reruns skip the
    compile), unless the caller chose a cache."""
    if "CLUSOPT_CACHE_DIR" in os.environ:
        yield
        return
    from clusopt import toolchain

    os.environ["CLUSOPT_CACHE_DIR"] = str(toolchain.build_dir() /
                                          "pytest-clusopt-cache")
    yield
    del os.environ["CLUSOPT_CACHE_DIR"]


@pytest.fixture
def runnable(backend):
    reason = skip_reason(backend)
    if reason:
        pytest.skip(reason)
    return backend


def record(backend, op, dtype, err):
    key = (backend.name, op, dtype)
    ERRORS[key] = max(ERRORS.get(key, 0.0), err)
    CASES[key] = CASES.get(key, 0) + 1


def pytest_terminal_summary(terminalreporter):
    if not ERRORS:
        return
    tr = terminalreporter
    tr.section("clusopt numerics: cases and largest error per op")
    for key in sorted(ERRORS):
        backend, op, dtype = key
        tr.write_line(f"{backend:28s} {op:18s} {dtype:5s} cases={CASES[key]:4d} "
                      f"max_err={ERRORS[key]:.3e}")
