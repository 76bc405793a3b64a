"""clusopt.load and clusopt.compile: calling clusopt-compile libraries on
NumPy arrays and torch tensors, the checks before a call, the target checks
before loading, and the on-disk compile cache."""

import json
import os
import pathlib
import resource
import shutil
import subprocess

import numpy as np
import pytest

import clusopt
from clusopt import compiler, library, reference, toolchain
from clusopt.dtypes import from_storage, to_storage

# A PaCa step (static shapes, one result).
PACA = """
func.func @paca_attention(%logits: tensor<1x2x6xf32>, %x: tensor<1x6x4xf32>,
                          %q: tensor<1x1x6x4xf32>) -> tensor<1x1x6x4xf32> {
  %z_init = tensor.empty() : tensor<1x2x6xf32>
  %z = clus.soft_assign %logits outs(%z_init) : tensor<1x2x6xf32>
  %c_init = tensor.empty() : tensor<1x2x4xf32>
  %c = clus.pool %z, %x outs(%c_init) : tensor<1x2x6xf32>, tensor<1x6x4xf32> -> tensor<1x2x4xf32>
  %kv = tensor.expand_shape %c [[0, 1], [2], [3]] output_shape [1, 1, 2, 4]
      : tensor<1x2x4xf32> into tensor<1x1x2x4xf32>
  %o_init = tensor.empty() : tensor<1x1x6x4xf32>
  %o = clus.attention %q, [%kv, %kv] outs(%o_init) : tensor<1x1x6x4xf32>, [tensor<1x1x2x4xf32>, tensor<1x1x2x4xf32>] -> tensor<1x1x6x4xf32>
  return %o : tensor<1x1x6x4xf32>
}
"""

# Several entry points: two results, dynamic dims, f16 and bf16, and one
# that returns its argument.
MIXED = """
func.func @kmeans(%x: tensor<?x?x4xf32>) -> (tensor<?x?xi32>, tensor<?x3x4xf32>) {
  %a_init_c0 = arith.constant 0 : index
  %a_init_d0 = tensor.dim %x, %a_init_c0 : tensor<?x?x4xf32>
  %a_init_c1 = arith.constant 1 : index
  %a_init_d1 = tensor.dim %x, %a_init_c1 : tensor<?x?x4xf32>
  %a_init = tensor.empty(%a_init_d0, %a_init_d1) : tensor<?x?xi32>
  %c_init_c0 = arith.constant 0 : index
  %c_init_d0 = tensor.dim %x, %c_init_c0 : tensor<?x?x4xf32>
  %c_init = tensor.empty(%c_init_d0) : tensor<?x3x4xf32>
  %a, %c = clus.kmeans %x clusters = 3 iterations = 4 outs(%a_init, %c_init) : tensor<?x?x4xf32> -> tensor<?x?xi32>, tensor<?x3x4xf32>
  return %a, %c : tensor<?x?xi32>, tensor<?x3x4xf32>
}
func.func @soft_assign_bf16(%l: tensor<?x2x?xbf16>) -> tensor<?x2x?xbf16> {
  %z_init_c0 = arith.constant 0 : index
  %z_init_d0 = tensor.dim %l, %z_init_c0 : tensor<?x2x?xbf16>
  %z_init_c2 = arith.constant 2 : index
  %z_init_d2 = tensor.dim %l, %z_init_c2 : tensor<?x2x?xbf16>
  %z_init = tensor.empty(%z_init_d0, %z_init_d2) : tensor<?x2x?xbf16>
  %z = clus.soft_assign %l outs(%z_init) : tensor<?x2x?xbf16>
  return %z : tensor<?x2x?xbf16>
}
func.func @pool_f16(%z: tensor<1x2x5xf16>, %x: tensor<1x5x3xf16>) -> tensor<1x2x3xf16> {
  %y_init = tensor.empty() : tensor<1x2x3xf16>
  %y = clus.pool %z, %x outs(%y_init) : tensor<1x2x5xf16>, tensor<1x5x3xf16> -> tensor<1x2x3xf16>
  return %y : tensor<1x2x3xf16>
}
func.func @same(%a: tensor<4xf32>) -> tensor<4xf32> {
  return %a : tensor<4xf32>
}
"""


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("clusopt-cache")


@pytest.fixture(scope="module")
def paca_so(tmp_path_factory):
    """A library built by the clusopt-compile command line."""
    out = tmp_path_factory.mktemp("paca")
    src = out / "paca.mlir"
    src.write_text(PACA)
    subprocess.run([compiler.compiler_path(), str(src), "--target=host",
                    "--no-tune", "-o", str(out / "paca.so")], check=True)
    return out / "paca.so"


@pytest.fixture(scope="module")
def mixed(cache):
    return clusopt.compile(MIXED, cache_dir=cache)


def _paca_inputs(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32)
            for s in ((1, 2, 6), (1, 6, 4), (1, 1, 6, 4))]


def _paca_want(logits, x, q):
    c = reference.pool(reference.soft_assign(logits), x)[:, None]
    return reference.attention(q, [(c, c)])


def test_load_numpy(paca_so):
    lib = clusopt.load(paca_so)
    assert list(lib.entry_points) == ["paca_attention"]
    assert lib["paca_attention"] is lib.paca_attention
    args = _paca_inputs()
    before = [a.copy() for a in args]
    out = lib.paca_attention(*args)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    assert np.abs(out - _paca_want(*args)).max() < 1e-4
    for a, b in zip(args, before):
        assert a.tobytes() == b.tobytes()  # the kernel wrote no input


def test_load_from_manifest_path(paca_so):
    lib = clusopt.load(paca_so.with_suffix(".json"))
    assert lib.path == paca_so


def test_load_torch_in_torch_out(paca_so):
    torch = pytest.importorskip("torch")
    lib = clusopt.load(paca_so)
    args = [torch.from_numpy(a) for a in _paca_inputs()]
    before = [a.clone() for a in args]
    out = lib.paca_attention(*args)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    assert np.abs(out.numpy() - _paca_want(*[a.numpy() for a in args])
                  ).max() < 1e-4
    for a, b in zip(args, before):
        assert torch.equal(a, b)


def test_noncontiguous_inputs_are_copied(paca_so):
    lib = clusopt.load(paca_so)
    logits, x, q = _paca_inputs()
    x_t = np.ascontiguousarray(np.swapaxes(x, 1, 2))  # [1, 4, 6]
    view = np.swapaxes(x_t, 1, 2)  # x's values, not C-contiguous
    assert not view.flags.c_contiguous
    out = lib.paca_attention(logits, view, q)
    assert np.abs(out - _paca_want(logits, x, q)).max() < 1e-4


def test_results_freed(paca_so):
    """Each result buffer is freed with its array: 4000 calls with large
    results would grow the process by far more than the bound if not."""
    lib = clusopt.compile("""
func.func @big(%z: tensor<1x2x8xf32>, %x: tensor<1x8x65536xf32>) -> tensor<1x2x65536xf32> {
  %y_init = tensor.empty() : tensor<1x2x65536xf32>
  %y = clus.pool %z, %x outs(%y_init) : tensor<1x2x8xf32>, tensor<1x8x65536xf32> -> tensor<1x2x65536xf32>
  return %y : tensor<1x2x65536xf32>
}""", cache_dir=paca_so.parent / "cache")
    z = np.full((1, 2, 8), 0.125, np.float32)
    x = np.ones((1, 8, 65536), np.float32)
    lib.big(z, x)
    start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(400):  # 512 KiB each: 200 MiB if leaked
        y = lib.big(z, x)
    del y
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - start
    assert grown_kib < 50 * 1024


def test_multi_result_dynamic(mixed):
    rng = np.random.default_rng(1)
    for n in (9, 17):  # one kernel, two token counts
        x = rng.standard_normal((2, n, 4)).astype(np.float32)
        before = x.copy()
        assign, centroids = mixed.kmeans(x)
        want_a, want_c = reference.kmeans(x, 3, 4)
        assert assign.dtype == np.int32 and assign.shape == (2, n)
        assert np.array_equal(assign, want_a)
        assert np.abs(centroids - want_c).max() < 1e-4
        assert x.tobytes() == before.tobytes()


def test_multi_result_torch(mixed):
    torch = pytest.importorskip("torch")
    x = torch.randn(1, 10, 4)
    assign, centroids = mixed.kmeans(x)
    assert assign.dtype == torch.int32 and centroids.shape == (1, 3, 4)
    want_a, _ = reference.kmeans(x.numpy(), 3, 4)
    assert np.array_equal(assign.numpy(), want_a)


def test_bf16_numpy_as_uint16_and_torch_bfloat16(mixed):
    torch = pytest.importorskip("torch")
    logits = np.random.default_rng(2).standard_normal((2, 2, 7)) * 2
    bits = to_storage(logits, "bf16")
    out = mixed.soft_assign_bf16(bits)
    assert out.dtype == np.uint16
    want = reference.soft_assign(from_storage(bits, "bf16"))
    assert np.abs(from_storage(out, "bf16") - want).max() < 2e-2
    t = torch.from_numpy(bits).view(torch.bfloat16)
    out_t = mixed.soft_assign_bf16(t)
    assert out_t.dtype == torch.bfloat16
    assert torch.equal(out_t.view(torch.uint16).cpu(),
                       torch.from_numpy(out).view(torch.uint16))
    with pytest.raises(clusopt.ArgumentError,
                       match=r"soft_assign_bf16: argument 0 \(arg0\) must be "
                             r"bf16 \(torch.bfloat16\), got torch.float16"):
        mixed.soft_assign_bf16(t.to(torch.float16))
    with pytest.raises(clusopt.ArgumentError, match="NumPy has no bf16"):
        mixed.soft_assign_bf16(logits.astype(np.float32))


def test_f16(mixed):
    rng = np.random.default_rng(3)
    z = to_storage(rng.random((1, 2, 5)), "f16")
    x = to_storage(rng.standard_normal((1, 5, 3)), "f16")
    out = mixed.pool_f16(z, x)
    assert out.dtype == np.float16
    want = reference.pool(z.astype(np.float64), x.astype(np.float64))
    assert np.abs(out.astype(np.float64) - want).max() < 2e-2


def test_result_aliasing_an_argument_is_a_copy(mixed):
    a = np.arange(4, dtype=np.float32)
    out = mixed.same(a)
    assert np.array_equal(out, a)
    out[0] = 42  # the caller's array stays as it was
    assert a[0] == 0


def test_argument_errors(paca_so):
    lib = clusopt.load(paca_so)
    logits, x, q = _paca_inputs()
    with pytest.raises(clusopt.ArgumentError,
                       match=r"paca_attention: argument 1 \(arg1\) must be "
                             r"f32, got float64"):
        lib.paca_attention(logits, x.astype(np.float64), q)
    with pytest.raises(clusopt.ArgumentError,
                       match=r"argument 2 \(arg2\) must have rank 4 "
                             r"\(1x1x6x4xf32\), got shape \[1, 6, 4\]"):
        lib.paca_attention(logits, x, q[0])
    with pytest.raises(clusopt.ArgumentError,
                       match=r"argument 0 \(arg0\) must have dim 2 = 6"):
        lib.paca_attention(logits[:, :, :5], x, q)
    with pytest.raises(clusopt.ArgumentError, match="takes 3 arguments, got 2"):
        lib.paca_attention(logits, x)
    with pytest.raises(clusopt.ArgumentError,
                       match="must be a NumPy array or a torch tensor, got "
                             "list"):
        lib.paca_attention(logits.tolist(), x, q)
    with pytest.raises(AttributeError, match="has no entry point 'nope'"):
        lib.nope


def _copy_artifact(paca_so, tmp_path, edit=None, name="k"):
    """A copy of the PaCa library whose manifest `edit` changes."""
    so = tmp_path / f"{name}.so"
    shutil.copy(paca_so, so)
    manifest = json.loads(paca_so.with_suffix(".json").read_text())
    manifest["library"] = so.name
    if edit:
        edit(manifest)
    so.with_suffix(".json").write_text(json.dumps(manifest))
    return so


def test_artifact_errors(paca_so, tmp_path):
    with pytest.raises(clusopt.ArtifactError,
                       match=r"nothing\.json: cannot read the manifest"):
        clusopt.load(tmp_path / "nothing.so")
    so = _copy_artifact(paca_so, tmp_path)
    so.with_suffix(".json").write_text("{not json")
    with pytest.raises(clusopt.ArtifactError, match=r"k\.json: malformed JSON"):
        clusopt.load(so)
    so = _copy_artifact(paca_so, tmp_path,
                        lambda m: m.update(format="other/2"))
    with pytest.raises(clusopt.ArtifactError,
                       match=r"k\.json: format is 'other/2'"):
        clusopt.load(so)
    so = _copy_artifact(
        paca_so, tmp_path,
        lambda m: m["entry_points"][0]["arguments"][0].update(dtype="f8"))
    with pytest.raises(clusopt.ArtifactError,
                       match="'paca_attention' argument 0 has unsupported "
                             "dtype 'f8'"):
        clusopt.load(so)
    so = _copy_artifact(
        paca_so, tmp_path,
        lambda m: m["entry_points"][0].update(symbol="_mlir_ciface_gone"),
        name="sym")
    with pytest.raises(clusopt.ArtifactError,
                       match=r"sym\.so: entry point 'paca_attention' has no "
                             r"symbol _mlir_ciface_gone"):
        clusopt.load(so)
    # (Each library a fresh name: one replaced in place while loaded
    # would crash the process.)
    so = _copy_artifact(paca_so, tmp_path, name="gone")
    so.unlink()
    with pytest.raises(clusopt.ArtifactError,
                       match=r"gone\.so: no such library"):
        clusopt.load(so)
    so = _copy_artifact(paca_so, tmp_path, name="junk")
    so.write_text("not an ELF file")
    with pytest.raises(clusopt.ArtifactError,
                       match=r"junk\.so: cannot load the library"):
        clusopt.load(so)


def test_unsupported_cpu_target(paca_so, tmp_path, monkeypatch):
    """An AVX-512 library on a CPU without AVX-512: an error naming the
    missing features, raised before the library is loaded."""
    so = _copy_artifact(paca_so, tmp_path, lambda m: m["target"].update(
        name="x86-64-v4", cpu="x86-64-v4", vector_width=16))
    avx2_only = toolchain._TARGET_FEATURES["x86-64-v3"] | {"sse4_2"}
    monkeypatch.setattr(toolchain, "host_cpu_features", lambda: avx2_only)
    with pytest.raises(clusopt.UnsupportedTargetError,
                       match=r"built for x86-64-v4 .* needs CPU features this "
                             r"machine lacks: avx512bw, avx512dq, avx512f, "
                             r"avx512vl"):
        clusopt.load(so)
    # A `host` build records the CPU's name and its vector width.
    so = _copy_artifact(paca_so, tmp_path, lambda m: m["target"].update(
        name="host", cpu="sapphirerapids", vector_width=16), name="h")
    with pytest.raises(clusopt.UnsupportedTargetError,
                       match="sapphirerapids.*avx512f"):
        clusopt.load(so)
    monkeypatch.setattr(toolchain, "host_cpu_features", lambda: {"sse2"})
    with pytest.raises(clusopt.UnsupportedTargetError,
                       match="lacks: avx2, bmi2, f16c, fma"):
        clusopt.load(_copy_artifact(paca_so, tmp_path, lambda m: m[
            "target"].update(name="x86-64-v3", vector_width=8), name="v3"))


def test_other_architecture(paca_so, tmp_path):
    so = _copy_artifact(paca_so, tmp_path, lambda m: m["target"].update(
        name="aarch64", cpu="generic", triple="aarch64-unknown-linux-gnu"))
    with pytest.raises(clusopt.UnsupportedTargetError,
                       match=r"built for aarch64 .* this machine is x86_64"):
        clusopt.load(so)


def test_gpu_library_without_gpu(paca_so, tmp_path):
    from clusopt import gpu

    if gpu.available()[0]:
        pytest.skip("this machine has a GPU")
    so = _copy_artifact(paca_so, tmp_path, lambda m: m.update(target={
        "name": "sm_90", "kind": "cuda", "ptx_isa": "8.0",
        "binary": "fatbin"}))
    with pytest.raises(clusopt.UnsupportedTargetError,
                       match=r"built for an NVIDIA GPU \(sm_90\), but no "
                             r"usable GPU: .+"):
        clusopt.load(so)


# ----------------------------------------------------------------------
# clusopt.compile
# ----------------------------------------------------------------------

SMALL = """
func.func @soft(%l: tensor<?x2x?xf32>) -> tensor<?x2x?xf32> {
  %z_init_c0 = arith.constant 0 : index
  %z_init_d0 = tensor.dim %l, %z_init_c0 : tensor<?x2x?xf32>
  %z_init_c2 = arith.constant 2 : index
  %z_init_d2 = tensor.dim %l, %z_init_c2 : tensor<?x2x?xf32>
  %z_init = tensor.empty(%z_init_d0, %z_init_d2) : tensor<?x2x?xf32>
  %z = clus.soft_assign %l outs(%z_init) : tensor<?x2x?xf32>
  return %z : tensor<?x2x?xf32>
}
"""


def test_compile_cache(tmp_path, monkeypatch):
    calls = []
    real = compiler._run_compiler
    monkeypatch.setattr(compiler, "_run_compiler",
                        lambda cmd: calls.append(cmd) or real(cmd))
    lib = clusopt.compile(SMALL, cache_dir=tmp_path)
    assert len(calls) == 1
    logits = np.random.default_rng(4).standard_normal((1, 2, 5)).astype(
        np.float32)
    assert np.abs(lib.soft(logits) - reference.soft_assign(logits)).max() \
        < 1e-5
    again = clusopt.compile(SMALL, cache_dir=tmp_path)
    assert len(calls) == 1  # a cache hit runs no compiler
    assert again.path == lib.path
    # Another option is another entry.
    tiled = clusopt.compile(SMALL, cache_dir=tmp_path, tile=(2, 32))
    assert len(calls) == 2 and tiled.path != lib.path
    assert "--tile=rows=2,cols=32" in calls[1]
    entries = [p for p in (tmp_path / "kernels").iterdir()]
    assert len(entries) == 2  # no scratch directory left behind


def test_compile_default_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CLUSOPT_CACHE_DIR", str(tmp_path / "a"))
    assert compiler.cache_root() == tmp_path / "a"
    monkeypatch.delenv("CLUSOPT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert compiler.cache_root() == tmp_path / "x" / "clusopt"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert compiler.cache_root() == pathlib.Path.home() / ".cache/clusopt"
    monkeypatch.setenv("CLUSOPT_CACHE_DIR", str(tmp_path / "a"))
    clusopt.compile(SMALL)
    assert len(list((tmp_path / "a" / "kernels").iterdir())) == 1


def test_cache_key_covers_options_and_compiler(monkeypatch):
    base = compiler.cache_key(SMALL, ["--target=host", "--no-tune"])
    assert base != compiler.cache_key(SMALL, ["--target=x86-64", "--no-tune"])
    assert base != compiler.cache_key(SMALL + " ", ["--target=host",
                                                    "--no-tune"])
    assert base != compiler.cache_key(SMALL, ["--target=host", "--no-tune"],
                                      extra="db 1 2")
    monkeypatch.setattr(compiler, "compiler_identity",
                        lambda: "clusopt 9.9 (another build)")
    assert base != compiler.cache_key(SMALL, ["--target=host", "--no-tune"])


def test_compile_from_path(tmp_path):
    src = tmp_path / "soft.mlir"
    src.write_text(SMALL)
    lib = clusopt.compile(src, cache_dir=tmp_path / "c")
    assert "soft" in lib.entry_points
    assert clusopt.compile(str(src), cache_dir=tmp_path / "c").path == \
        lib.path


def test_compile_errors(tmp_path):
    with pytest.raises(clusopt.CompileError,
                       match=r"clusopt-compile failed \(1\):\n.*error: "
                             r"'clus.pool' op dimension 'N' mismatch"):
        clusopt.compile("""
func.func @bad(%z: tensor<1x2x5xf32>, %x: tensor<1x6x3xf32>) -> tensor<1x2x3xf32> {
  %y_init = tensor.empty() : tensor<1x2x3xf32>
  %y = clus.pool %z, %x outs(%y_init) : tensor<1x2x5xf32>, tensor<1x6x3xf32> -> tensor<1x2x3xf32>
  return %y : tensor<1x2x3xf32>
}""", cache_dir=tmp_path)
    assert not [p for p in (tmp_path / "kernels").iterdir()]
    with pytest.raises(clusopt.ArgumentError, match="pipeline must be one of"):
        clusopt.compile(SMALL, pipeline="reference", cache_dir=tmp_path)
    with pytest.raises(clusopt.ArgumentError,
                       match="cannot read source file .*missing.mlir"):
        clusopt.compile(str(tmp_path / "missing.mlir"), cache_dir=tmp_path)
    with pytest.raises(clusopt.ArgumentError, match="tile must be"):
        clusopt.compile(SMALL, tile=3, cache_dir=tmp_path)
    with pytest.raises(clusopt.CompileError, match="unknown.*target|target"):
        clusopt.compile(SMALL, target="pentium9", cache_dir=tmp_path)


def test_compile_missing_compiler(tmp_path, monkeypatch):
    monkeypatch.setenv("CLUSOPT_BUILD_DIR", str(tmp_path))
    with pytest.raises(clusopt.CompileError,
                       match="clusopt-compile not found"):
        clusopt.compile(SMALL, cache_dir=tmp_path)


def test_import_does_not_import_torch():
    code = ("import sys, clusopt; clusopt.load; clusopt.compile; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    env = dict(os.environ, PYTHONPATH=str(pathlib.Path(clusopt.__file__)
                                          .parents[1]))
    subprocess.run(["python3", "-c", code], check=True, env=env)


def test_native_call_path_in_use(paca_so):
    """Calls go through clusopt._native: rebinding an entry point to getpid
    (returns at once, writes no result) gives the empty result the native
    wrapper makes of zeroed result descriptors."""
    import ctypes

    lib = clusopt.load(paca_so)
    kernel = lib.paca_attention
    native = toolchain.native_module()
    assert library.native() is native
    assert isinstance(kernel._entry, native.EntryPoint)
    real = kernel._entry.function
    noop = ctypes.cast(ctypes.CDLL(None).getpid, ctypes.c_void_p).value
    kernel._bind_address(noop)
    try:
        out = kernel(*_paca_inputs())
        assert out.shape == (0, 0, 0, 0) and out.dtype == np.float32
    finally:
        kernel._bind_address(real)
    assert kernel(*_paca_inputs()).shape == (1, 1, 6, 4)


def test_missing_native_extension(paca_so, tmp_path):
    code = ("import clusopt, sys\n"
            "try:\n"
            f"    clusopt.load({str(paca_so)!r})\n"
            "except clusopt.ClusoptError as e:\n"
            "    print(e)\n"
            "    sys.exit(3)\n")
    env = dict(os.environ, CLUSOPT_BUILD_DIR=str(tmp_path),
               PYTHONPATH=str(pathlib.Path(clusopt.__file__).parents[1]))
    run = subprocess.run(["python3", "-c", code], env=env,
                         capture_output=True, text=True)
    assert run.returncode == 3, run.stderr
    assert "native extension" in run.stdout
    assert "build clusopt (scripts/build.sh)" in run.stdout
    assert str(tmp_path) in run.stdout
