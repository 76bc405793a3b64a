# -*- Python -*-
# lit configuration for the clusopt regression suite.
#
# Parameters (lit --param NAME=VALUE, or LIT_OPTS="--param ..."):
#   roundtrip=1  every clusopt-opt invocation also checks the generic-form
#                round trip (--verify-roundtrip).

import os
import shutil
import subprocess

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "CLUSOPT"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "README.md", "lit.cfg.py", "lit.site.cfg.py", "Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.clusopt_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%mlir_lib_dir", config.mlir_lib_dir))
config.substitutions.append(("%clusopt_src_root", config.clusopt_src_root))
config.substitutions.append(("%clusopt_obj_root", config.clusopt_obj_root))
config.substitutions.append(("%python", config.python_executable))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
# No tuning records leak in from the user's cache: the default database is
# a path that does not exist (which means "no records").
config.environment["CLUSOPT_TUNING_DB"] = os.path.join(
    config.clusopt_obj_root, "test", "no-tuning-db.sqlite")
llvm_config.use_default_substitutions()

roundtrip = lit_config.params.get("roundtrip", "0") not in ("0", "", "false")
opt_args = ["--verify-roundtrip"] if roundtrip else []
if roundtrip:
    config.available_features.add("roundtrip")

llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
tools = [
    ToolSubst("clusopt-opt", extra_args=opt_args, unresolved="fatal"),
    ToolSubst("clusopt-compile", unresolved="fatal"),
    ToolSubst("clusopt-tune", unresolved="fatal"),
    ToolSubst("clusopt-safetensors", unresolved="fatal"),
    ToolSubst("clusopt-run", unresolved="fatal"),
    # The runtime's test drivers (runtime/tests), built with ASan/UBSan.
    ToolSubst("clusopt-runtime-cuda-test", unresolved="fatal"),
    ToolSubst("clusopt-runtime-gpu-kernel-test", unresolved="fatal"),
    ToolSubst("clusopt-runtime-kernel-test", unresolved="fatal"),
    ToolSubst("clusopt-runtime-layers-test", unresolved="fatal"),
    ToolSubst("clusopt-runtime-safetensors-test", unresolved="fatal"),
    ToolSubst("clusopt-runtime-tensor-test", unresolved="fatal"),
    ToolSubst("mlir-runner", unresolved="ignore"),
    ToolSubst("mlir-translate", unresolved="ignore"),
    ToolSubst("llc", unresolved="ignore"),
]
llvm_config.add_tool_substitutions(tools, [config.clusopt_tools_dir, config.llvm_tools_dir])

# The CUDA layer's tests (test/Runtime/cuda*.test). `cuda-stub`: the CUDA
# toolkit's stub driver is installed (%cuda_stub). `cuda-gpu`: a GPU is
# usable, as the test driver itself finds (the CUDA driver needs ASan's
# shadow gap unprotected); without one, the GPU tests are unsupported.
cuda_home = os.environ.get("CUDA_HOME", "/usr/local/cuda")
cuda_stub = os.path.join(cuda_home, "lib64", "stubs", "libcuda.so")
config.substitutions.append(("%cuda_stub", cuda_stub))
# The driver doubles of runtime/tests/fake-libcuda.cpp.
config.substitutions.append(("%fake_cuda_old", os.path.join(
    config.clusopt_obj_root, "lib", "libclusopt_fake_cuda_old.so")))
config.substitutions.append(("%fake_cuda", os.path.join(
    config.clusopt_obj_root, "lib", "libclusopt_fake_cuda.so")))
if os.path.exists(cuda_stub):
    config.available_features.add("cuda-stub")
cuda_probe = os.path.join(config.clusopt_tools_dir, "clusopt-runtime-cuda-test")
if os.path.exists(cuda_probe):
    probe_env = dict(os.environ,
                     ASAN_OPTIONS="protect_shadow_gap=0:detect_leaks=0")
    probe_env.pop("CLUSOPT_LIBCUDA", None)  # the real driver, not a double
    try:
        probe = subprocess.run([cuda_probe, "probe"], capture_output=True,
                               text=True, timeout=120, env=probe_env)
        if probe.returncode == 0 and probe.stdout.startswith("available:"):
            config.available_features.add("cuda-gpu")
    except (OSError, subprocess.SubprocessError):
        pass

# `ptxas`: the CUDA toolkit's assembler, which gpu-module-to-binary runs for
# cubin and fatbin output. CI sets CLUSOPT_REQUIRE_PTXAS so that a machine
# without it fails instead of skipping the cubin tests.
ptxas = shutil.which("ptxas") or os.path.join(cuda_home, "bin", "ptxas")
if os.path.exists(ptxas):
    config.available_features.add("ptxas")
elif os.environ.get("CLUSOPT_REQUIRE_PTXAS"):
    lit_config.fatal(f"ptxas not found (looked on PATH and in {cuda_home}/bin); "
                     "the cubin tests need the CUDA toolkit")
