"""The benchmarks run on any x86-64 CPU: bench/roofline.c picks its FMA
kernel from the CPU (and can be forced to a narrower level), and
bench/clusopt_kernels.py builds clusopt's kernels for the widest level the
CPU has, not always for AVX-512."""

import importlib
import os
import pathlib
import platform
import re
import subprocess
import sys

import pytest

from clusopt import toolchain

BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench"

pytestmark = pytest.mark.skipif(platform.machine() != "x86_64",
                                reason="the benchmarks target x86-64")

AVX2_ONLY = toolchain._TARGET_FEATURES["x86-64-v3"] | {"sse4_2", "avx"}
AVX512 = AVX2_ONLY | toolchain._TARGET_FEATURES["x86-64-v4"]


@pytest.fixture(scope="module")
def roofline(tmp_path_factory):
    """bench/roofline.c built as cpu_kernels.py builds it (no -march)."""
    exe = tmp_path_factory.mktemp("roofline") / "roofline"
    lib = toolchain.openmp_lib_dir()
    subprocess.run([str(toolchain.LLVM_BIN / "clang"), "-O2", "-Wall",
                    "-Werror", "-fopenmp=libomp", str(BENCH / "roofline.c"),
                    "-o", str(exe), f"-L{lib}", f"-Wl,-rpath,{lib}"],
                   check=True)
    return exe


def run_roofline(exe, *args):
    # One thread and --peak-only (no 768 MiB triad): a fraction of a second.
    return subprocess.run([str(exe), "--peak-only", *args],
                          capture_output=True, text=True,
                          env=dict(os.environ, OMP_NUM_THREADS="1"))


def fields(proc):
    assert proc.returncode == 0, proc.stderr
    out = dict(kv.split("=") for kv in proc.stdout.split())
    assert float(out["peak_gflops"]) > 0
    assert out["threads"] == "1"
    assert "triad_gbs" not in out
    return out


def test_roofline_native_reports_the_widest_level(roofline):
    out = fields(run_roofline(roofline))
    host = toolchain.host_target()
    assert out["isa"] == host
    assert toolchain.isa_name(host) == f"{out['isa']} ({out['vector']})"
    assert int(out["lanes"]) == toolchain.vector_width(host)


@pytest.mark.parametrize("level,vector,lanes", [
    ("x86-64-v3", "AVX2", 8), ("x86-64", "SSE2", 4)])
def test_roofline_forced_narrower_level(roofline, level, vector, lanes):
    if not toolchain.target_runs_here(level):
        pytest.skip(f"this CPU cannot run {level} code")
    out = fields(run_roofline(roofline, f"--isa={level}"))
    assert (out["isa"], out["vector"], int(out["lanes"])) == \
        (level, vector, lanes)


def test_roofline_wider_level_is_faster(roofline):
    """AVX2 doubles SSE2's lanes and adds FMA: its peak must be well above
    the baseline's (a forced level that silently ran another kernel would
    not be)."""
    if not toolchain.target_runs_here("x86-64-v3"):
        pytest.skip("this CPU cannot run x86-64-v3 code")
    v3 = float(fields(run_roofline(roofline, "--isa=x86-64-v3"))[
        "peak_gflops"])
    v1 = float(fields(run_roofline(roofline, "--isa=x86-64"))["peak_gflops"])
    assert v3 > 1.3 * v1, (v3, v1)


def test_roofline_rejects_bad_levels(roofline):
    proc = run_roofline(roofline, "--isa=x86-64-v9")
    assert proc.returncode == 2
    assert "unknown ISA level 'x86-64-v9'" in proc.stderr
    proc = run_roofline(roofline, "--threads")
    assert proc.returncode == 2
    assert "unknown argument '--threads'" in proc.stderr
    if not toolchain.target_runs_here("x86-64-v4"):
        proc = run_roofline(roofline, "--isa=x86-64-v4")
        assert proc.returncode == 2
        assert "this CPU cannot run x86-64-v4 (AVX-512) code" in proc.stderr


@pytest.fixture
def clusopt_kernels(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    sys.modules.pop("clusopt_kernels", None)
    yield
    sys.modules.pop("clusopt_kernels", None)


def test_kernels_pick_avx2_on_an_avx2_only_cpu(clusopt_kernels, monkeypatch):
    monkeypatch.setattr(toolchain, "host_cpu_features", lambda: AVX2_ONLY)
    ck = importlib.import_module("clusopt_kernels")
    assert ck.TARGET == "x86-64-v3"
    assert ck.OPTIMISED.target == ck.REFERENCE.target == "x86-64-v3"
    assert ck.OPTIMISED.pipeline_flag().startswith(
        "--clus-cpu-to-llvm=vector-width=8")
    assert toolchain.isa_name("host") == "x86-64-v3 (AVX2)"
    # Forcing a level this CPU lacks names the problem.
    with pytest.raises(SystemExit, match=re.escape(
            "--target=x86-64-v4: this CPU cannot run x86-64-v4 (AVX-512) "
            "code")):
        ck.select_target("x86-64-v4")


def test_kernels_pick_avx512_where_the_cpu_has_it(clusopt_kernels,
                                                  monkeypatch):
    monkeypatch.setattr(toolchain, "host_cpu_features", lambda: AVX512)
    ck = importlib.import_module("clusopt_kernels")
    assert ck.TARGET == "x86-64-v4"
    assert ck.select_target("x86-64-v3") == "x86-64-v3"
    assert ck.select_target(features={"sse2"}) == "x86-64"
    # AVX-512 F alone (no BW/DQ/VL) is not x86-64-v4.
    assert ck.select_target(features=AVX2_ONLY | {"avx512f"}) == "x86-64-v3"
    with pytest.raises(ValueError, match="unknown target 'x86-64-v9'"):
        ck.select_target("x86-64-v9")
    ck.use_target("x86-64-v3")
    assert ck.OPTIMISED.target == "x86-64-v3"
