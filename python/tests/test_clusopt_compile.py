"""clusopt-compile end to end: the shared library it writes computes the
op functions (checked against the float64 oracle through the C
interface its header declares), the header compiles as C, and the manifest
describes the entry points, tiles and target."""

import ctypes
import json
import os
import pathlib
import signal
import subprocess
import time

import numpy as np
import pytest

from clusopt import kernels, reference
from clusopt.toolchain import LLVM_BIN, build_dir, target_runs_here

SOURCE = """
func.func @paca(%l: tensor<?x100x?xf32>, %x: tensor<?x?x48xf32>,
                %q: tensor<?x2x?x24xf32>, %k: tensor<?x2x100x24xf32>)
    -> (tensor<?x100x48xf32>, tensor<?x2x?x24xf32>) {
  %z_init_c0 = arith.constant 0 : index
  %z_init_d0 = tensor.dim %l, %z_init_c0 : tensor<?x100x?xf32>
  %z_init_c2 = arith.constant 2 : index
  %z_init_d2 = tensor.dim %l, %z_init_c2 : tensor<?x100x?xf32>
  %z_init = tensor.empty(%z_init_d0, %z_init_d2) : tensor<?x100x?xf32>
  %z = clus.soft_assign %l outs(%z_init) : tensor<?x100x?xf32>
  %y_init_c0 = arith.constant 0 : index
  %y_init_d0 = tensor.dim %l, %y_init_c0 : tensor<?x100x?xf32>
  %y_init = tensor.empty(%y_init_d0) : tensor<?x100x48xf32>
  %y = clus.pool %z, %x outs(%y_init) : tensor<?x100x?xf32>, tensor<?x?x48xf32> -> tensor<?x100x48xf32>
  %o_init_c0 = arith.constant 0 : index
  %o_init_d0 = tensor.dim %q, %o_init_c0 : tensor<?x2x?x24xf32>
  %o_init_c2 = arith.constant 2 : index
  %o_init_d2 = tensor.dim %q, %o_init_c2 : tensor<?x2x?x24xf32>
  %o_init = tensor.empty(%o_init_d0, %o_init_d2) : tensor<?x2x?x24xf32>
  %o = clus.attention %q, [%k, %k] outs(%o_init) {clus.lowering_config = #clus.lowering_config<rows = 3, cols = 32>}
      : tensor<?x2x?x24xf32>, [tensor<?x2x100x24xf32>, tensor<?x2x100x24xf32>] -> tensor<?x2x?x24xf32>
  return %y, %o : tensor<?x100x48xf32>, tensor<?x2x?x24xf32>
}

func.func @kmeans(%x: tensor<1x40x3xf32>) -> tensor<1x40xi32> {
  %a_init = tensor.empty() : tensor<1x40xi32>
  %c_init = tensor.empty() : tensor<1x4x3xf32>
  %a, %c = clus.kmeans %x clusters = 4 iterations = 5 outs(%a_init, %c_init) : tensor<1x40x3xf32> -> tensor<1x40xi32>, tensor<1x4x3xf32>
  return %a : tensor<1x40xi32>
}
"""


def compile_so(tmp_path, *flags, target="x86-64-v3"):
    if not target_runs_here(target):
        pytest.skip(f"{target} does not run on this CPU")
    src = tmp_path / "paca.mlir"
    src.write_text(SOURCE)
    out = tmp_path / "paca.so"
    subprocess.run([str(build_dir() / "bin" / "clusopt-compile"), str(src),
                    f"--target={target}", "--emit=so", "-o", str(out),
                    *flags], check=True, capture_output=True, text=True)
    return out


class Results(ctypes.Structure):
    _fields_ = [("y", kernels._descriptor_type(3)),
                ("o", kernels._descriptor_type(4))]


def free_result(desc):
    ctypes.CDLL(None).free(ctypes.c_void_p(desc.allocated))


def as_array(desc, rank, dtype):
    shape = tuple(desc.sizes[i] for i in range(rank))
    count = int(np.prod(shape))
    buf = (ctypes.c_char * (count * np.dtype(dtype).itemsize)).from_address(
        desc.aligned)
    return np.frombuffer(buf, dtype=dtype).reshape(shape).copy()


def test_library_matches_oracle(tmp_path):
    lib = ctypes.CDLL(str(compile_so(tmp_path)))
    rng = np.random.default_rng(9)
    b, n = 2, 203
    logits = (4 * rng.standard_normal((b, 100, n))).astype(np.float32)
    x = rng.standard_normal((b, n, 48)).astype(np.float32)
    q = rng.standard_normal((b, 2, n, 24)).astype(np.float32)
    k = rng.standard_normal((b, 2, 100, 24)).astype(np.float32)
    args = [kernels._descriptor(a) for a in (logits, x, q, k)]
    results = Results()
    lib._mlir_ciface_paca(ctypes.byref(results),
                          *[ctypes.byref(a) for a in args])
    y = as_array(results.y, 3, np.float32)
    o = as_array(results.o, 4, np.float32)
    free_result(results.y)
    free_result(results.o)
    want_y = reference.pool(reference.soft_assign(logits, "tokens"), x)
    want_o = reference.attention(q, [(k, k)])
    for got, want in ((y, want_y), (o, want_o)):
        bound = 1e-4 * max(1.0, float(np.abs(want).max()))
        assert float(np.abs(got - want).max()) <= bound


def test_header_compiles_and_manifest_describes_entries(tmp_path):
    so = compile_so(tmp_path, "--tile=rows=2,cols=64")
    header, manifest_path = tmp_path / "paca.h", tmp_path / "paca.json"
    user = tmp_path / "user.c"
    user.write_text('#include "paca.h"\n'
                    "int main(void) {\n"
                    "  paca_results r; clusopt_memref_3d_f32 l, x;\n"
                    "  clusopt_memref_4d_f32 q, k;\n"
                    "  _mlir_ciface_paca(&r, &l, &x, &q, &k);\n"
                    "  return 0;\n}\n")
    subprocess.run([str(LLVM_BIN / "clang"), "-fsyntax-only", "-Wall",
                    "-Werror", "-std=c11", "-I", str(tmp_path), str(user)],
                   check=True)
    assert "_mlir_ciface_kmeans(clusopt_memref_2d_i32 *result" in \
        header.read_text()
    m = json.loads(manifest_path.read_text())
    assert m["library"] == so.name and m["header"] == "paca.h"
    assert m["target"]["name"] == "x86-64-v3"
    assert m["target"]["vector_width"] == 8
    assert m["default_tile"] == {"rows": 2, "cols": 64}
    paca, kmeans = m["entry_points"]
    assert paca["symbol"] == "_mlir_ciface_paca"
    assert paca["arguments"][0] == {"shape": [None, 100, None],
                                    "dtype": "f32"}
    assert [r["shape"] for r in paca["results"]] == [[None, 100, 48],
                                                     [None, 2, None, 24]]
    ops = {o["op"]: o for o in paca["ops"]}
    assert ops["clus.soft_assign"]["kernel"] == "fused into clus.pool"
    assert ops["clus.pool"]["tile"] == {"rows": 2, "cols": 64}
    assert ops["clus.pool"]["tile_source"] == "--tile"
    assert ops["clus.attention"]["tile"] == {"rows": 3, "cols": 32}
    assert ops["clus.attention"]["tile_source"] == "attribute"
    assert kmeans["ops"] == [{"op": "clus.kmeans", "kernel": "vector",
                              "tile": {"rows": 2, "cols": 64},
                              "tile_source": "--tile"}]
    assert kmeans["results"] == [{"shape": [1, 40], "dtype": "i32"}]


def test_kmeans_entry_through_library(tmp_path):
    lib = ctypes.CDLL(str(compile_so(tmp_path)))
    rng = np.random.default_rng(2)
    centers = rng.standard_normal((4, 3)) * 6
    x = (centers[rng.integers(0, 4, 40)] +
         0.1 * rng.standard_normal((40, 3)))[None].astype(np.float32)
    out = kernels._descriptor_type(2)()
    lib._mlir_ciface_kmeans(ctypes.byref(out),
                            ctypes.byref(kernels._descriptor(x)))
    got = as_array(out, 2, np.int32)
    free_result(out)
    want, _ = reference.kmeans(x, 4, 5)
    np.testing.assert_array_equal(got, want)


def test_entry_points_never_write_their_inputs(tmp_path):
    """An op whose destination is an argument (here linalg.fill into %x)
    must write a copy: the caller's buffer is left as it was."""
    src = tmp_path / "fill.mlir"
    src.write_text("""
func.func @fill(%x: tensor<8xf32>) -> tensor<8xf32> {
  %c = arith.constant 7.0 : f32
  %y = linalg.fill ins(%c : f32) outs(%x : tensor<8xf32>) -> tensor<8xf32>
  return %y : tensor<8xf32>
}
""")
    so = tmp_path / "fill.so"
    subprocess.run([str(build_dir() / "bin" / "clusopt-compile"), str(src),
                    "--target=x86-64", "-o", str(so)], check=True,
                   capture_output=True, text=True)
    lib = ctypes.CDLL(str(so))
    x = np.arange(8, dtype=np.float32)
    out = kernels._descriptor_type(1)()
    lib._mlir_ciface_fill(ctypes.byref(out),
                          ctypes.byref(kernels._descriptor(x)))
    got = as_array(out, 1, np.float32)
    free_result(out)
    np.testing.assert_array_equal(got, np.full(8, 7.0, np.float32))
    np.testing.assert_array_equal(x, np.arange(8, dtype=np.float32))


def test_interrupted_compile_keeps_previous_outputs(tmp_path):
    """SIGTERM while the library is being built: the previous library,
    header and manifest stay as they were (or, if the signal came late, the
    new set is complete), and no temporary is left beside them or in
    TMPDIR."""
    if not target_runs_here("x86-64-v3"):
        pytest.skip("x86-64-v3 does not run on this CPU")
    src = tmp_path / "paca.mlir"
    src.write_text(SOURCE)
    out = tmp_path / "out"
    out.mkdir()
    names = ["paca.so", "paca.h", "paca.json"]
    for name in names:
        (out / name).write_text("previous " + name)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen(
        [str(build_dir() / "bin" / "clusopt-compile"), str(src),
         "--target=x86-64-v3", "--no-tune", "-o", str(out / "paca.so")],
        env=dict(os.environ, TMPDIR=str(tmp)), stderr=subprocess.DEVNULL)
    # The scratch directory appears just before code generation and linking.
    deadline = time.monotonic() + 120
    while (not list(tmp.iterdir()) and proc.poll() is None
           and time.monotonic() < deadline):
        time.sleep(0.002)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    contents = [(out / name).read_bytes() for name in names]
    if proc.returncode == -signal.SIGTERM:
        assert contents == [b"previous " + n.encode() for n in names]
    else:
        assert proc.returncode == 0
        assert all(not c.startswith(b"previous") for c in contents)
    assert sorted(os.listdir(out)) == sorted(names)
    assert os.listdir(tmp) == []


def test_user_strings_escaped_in_outputs(tmp_path):
    """Strings from the user reach generated text only escaped or mangled:
    a source path and an output name with a quote, a backslash and a
    newline give valid JSON that names them, and a header guard that is an
    identifier."""
    if not target_runs_here("x86-64-v3"):
        pytest.skip("x86-64-v3 does not run on this CPU")
    src = tmp_path / 'we"ird\\\nname.mlir'
    src.write_text(SOURCE)
    compile_tool = str(build_dir() / "bin" / "clusopt-compile")
    res = subprocess.run([compile_tool, str(src), "--target=x86-64",
                          "--print-tile-space"],
                         check=True, capture_output=True, text=True)
    ops = json.loads(res.stdout)["ops"]
    assert ops and all("we\\22ird" in op["location"] for op in ops)
    out = tmp_path / 'o"u\\t\nx.so'
    subprocess.run([compile_tool, str(src), "--target=x86-64-v3",
                    "--no-tune", "-o", str(out)], check=True)
    manifest = json.loads((tmp_path / 'o"u\\t\nx.json').read_text())
    assert manifest["library"] == out.name
    assert manifest["header"] == 'o"u\\t\nx.h'
    header = (tmp_path / 'o"u\\t\nx.h').read_text()
    assert "#ifndef CLUSOPT_KERNELS_O_U_T_X_H\n" in header


def test_default_rows_are_each_ops_own(tmp_path):
    # --tile without rows leaves each op its own rows: 8 for pool with
    # AVX-512's 16 lanes, 4 for the others; the manifest says so with a
    # null default.
    compile_so(tmp_path, "--tile=cols=64", target="x86-64-v4")
    m = json.loads((tmp_path / "paca.json").read_text())
    assert m["default_tile"] == {"rows": None, "cols": 64}
    paca, kmeans = m["entry_points"]
    ops = {o["op"]: o for o in paca["ops"]}
    assert ops["clus.pool"]["tile"] == {"rows": 8, "cols": 64}
    assert ops["clus.attention"]["tile"] == {"rows": 3, "cols": 32}
    assert kmeans["ops"][0]["tile"]["rows"] == 4
