# -*- Python -*-
# lit configuration for the clusopt regression suite.
#
# Parameters (lit --param NAME=VALUE, or LIT_OPTS="--param ..."):
#   roundtrip=1  every clusopt-opt invocation also checks the generic-form
#                round trip (--verify-roundtrip).

import os

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
    ToolSubst("clusopt-runtime-kernel-test", unresolved="fatal"),
    ToolSubst("clusopt-runtime-layers-test", unresolved="fatal"),
    ToolSubst("clusopt-runtime-safetensors-test", unresolved="fatal"),
    ToolSubst("clusopt-runtime-tensor-test", unresolved="fatal"),
    ToolSubst("mlir-runner", unresolved="ignore"),
    ToolSubst("mlir-translate", unresolved="ignore"),
    ToolSubst("llc", unresolved="ignore"),
]
llvm_config.add_tool_substitutions(tools, [config.clusopt_tools_dir, config.llvm_tools_dir])
