"""The harness's 16-lane backend for AVX2 (conftest.WIDE_ON_AVX2): what it
builds is AVX2 code of the 16-lane lowering, and every run of the numerics
suite checks a sample of cases on it."""

import pathlib
import platform
import re
import subprocess
import sys

import pytest

from clusopt import toolchain
from clusopt.kernels import kernel_source

from conftest import WIDE_ON_AVX2

TESTS = pathlib.Path(__file__).resolve().parent


def test_pipeline_flag_takes_the_width_from_the_options():
    assert WIDE_ON_AVX2.name == "clus-cpu-to-llvm{vector-width=16}@x86-64-v3"
    assert WIDE_ON_AVX2.pipeline_flag() == \
        "--clus-cpu-to-llvm=vector-width=16"
    # Without a width in the options, the target's own.
    plain = toolchain.Backend("clus-cpu-to-llvm", "x86-64-v3",
                              options="rows=2 cols=32")
    assert plain.pipeline_flag() == \
        "--clus-cpu-to-llvm=vector-width=8 rows=2 cols=32"


@pytest.mark.skipif(platform.machine() != "x86_64",
                    reason="x86-64 code is disassembled")
def test_library_is_avx2_code_of_16_lane_kernels():
    """The lowered module has 16-lane vectors; the library built from it
    computes on ymm registers and never touches a zmm one (so it runs
    without AVX-512, and on an AVX-512 machine the numerics sample really
    checks the AVX2-legalised code)."""
    src, _ = kernel_source("soft_assign_pool", [(2, 5, 37), (2, 37, 40)],
                           ["f32", "f32"], {}, True)
    lowered = WIDE_ON_AVX2.lower(src)
    assert "vector<16xf32>" in lowered
    assert "vector<8xf32>" not in lowered
    lib = WIDE_ON_AVX2.compile(src)
    asm = subprocess.run([str(toolchain.LLVM_BIN / "llvm-objdump"), "-d",
                          "--no-show-raw-insn", str(lib)],
                         capture_output=True, text=True, check=True).stdout
    assert "%zmm" not in asm
    assert re.search(r"\tvfmadd\d+ps\t%ymm\d+, %ymm\d+, %ymm\d+", asm)


def collect(*args):
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q",
         "-p", "no:cacheprovider", str(TESTS / "test_numerics.py"), *args],
        capture_output=True, text=True, cwd=TESTS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [line for line in proc.stdout.splitlines() if "::" in line]


def test_numerics_sample_runs_on_the_wide_backend_by_default():
    ids = collect()
    wide = [i for i in ids if WIDE_ON_AVX2.name in i]
    ops = {i.split("::")[1].split("[")[0] for i in wide}
    assert {"test_soft_assign", "test_pool", "test_soft_assign_pool",
            "test_kmeans", "test_dpc_knn", "test_aggregate", "test_broadcast",
            "test_attention", "test_topk_members",
            "test_cluster_attention"} <= ops
    # The sample: f32 with dynamic shapes, plus a static f32 and a bf16
    # case per op; nothing large, no f16.
    assert any("-f32-static]" in i for i in wide)
    assert any("-bf16-dyn]" in i for i in wide)
    assert not any("-f16-" in i for i in wide)
    assert not any("::test_pool[" in i and "N3136" in i for i in wide)
    assert len(wide) < len([i for i in ids if "[clus-to-llvm@x86-64" in i])
    # Named with --backend, it runs every case.
    named = collect("--backend", WIDE_ON_AVX2.name)
    assert any("N3136" in i for i in named)
    assert any("-f16-" in i for i in named)
    # A GPU-only run (scripts/gpu-check.sh) does not add it.
    gpu = collect("--backend", "clus-gpu-to-nvvm@sm_80")
    assert not any(WIDE_ON_AVX2.name in i for i in gpu)
