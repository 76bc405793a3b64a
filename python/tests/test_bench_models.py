"""bench/models.py, the end-to-end peer benchmark: its options, which peers
it runs (and the message when one's module is missing), the peers' build
on a toy model, and one short run of the smallest model."""

import csv
import importlib.util
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from clusopt.toolchain import build_dir

BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def models():
    spec = importlib.util.spec_from_file_location("bench_models",
                                                  BENCH / "models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def has(*names):
    return all(importlib.util.find_spec(n) is not None for n in names)


def test_defaults_run_every_peer_and_case(models):
    args = models.parse_args([])
    assert args.peers == list(models.PEERS)
    assert (args.threads, args.runs, args.rounds) == (2, 5, 5)
    assert models.select_cases() == models.CASES


def test_issue_targets_by_model_resolution_and_batch(models):
    args = models.parse_args(["--models", "paca_tiny,clustr_b1",
                              "--resolutions", "224", "--batch", "1,8"])
    cases = [(m, r, b) for m, _, r, b in models.select_cases(
        args.models, args.resolutions, args.batch)]
    assert cases == [("paca_tiny", 224, 1), ("paca_tiny", 224, 8),
                     ("clustr_b1", 224, 1), ("clustr_b1", 224, 8)]
    # Without --batch each case keeps its own batch: the issue's three.
    cases = [(m, r, b) for m, _, r, b in models.select_cases(
        ["paca_tiny", "clustr_b1"], [224])]
    assert cases == [("paca_tiny", 224, 1), ("paca_tiny", 224, 8),
                     ("clustr_b1", 224, 1)]


@pytest.mark.parametrize("argv, message", [
    (["--peers", "clusopt,tvm"], "unknown peer tvm"),
    (["--models", "paca_huge"], "unknown model paca_huge"),
    (["--batch", "0"], "--batch sizes must be at least 1"),
    (["--batch", "x"], "invalid literal"),
    (["--runs", "0"], "must be at least 1"),
])
def test_bad_options_are_refused_by_name(models, capsys, argv, message):
    with pytest.raises(SystemExit):
        models.parse_args(argv)
    assert message in capsys.readouterr().err


def test_missing_module_skips_its_peer_with_its_name(models, tmp_path):
    exe = tmp_path / "clusopt-run"
    exe.touch()

    def find_spec(name):
        return None if name == "openvino" else object()
    peers, skipped = models.select_peers(
        models.PEERS, find_spec=find_spec, clusopt_run=exe,
        compile_model=lambda: None)
    assert peers == ["clusopt", "torch-eager", "torch-compile",
                     "onnxruntime"]
    assert skipped["openvino"] == ("module 'openvino' is not installed "
                                   "(pip install openvino)")
    assert "clusopt.compile_model" in skipped["clusopt-compiled"]


def test_missing_torch_and_tool_skip_their_peers(models, tmp_path):
    def find_spec(name):
        return None if name in ("torch", "onnx") else object()
    peers, skipped = models.select_peers(
        ["clusopt", "torch-compile", "onnxruntime"], find_spec=find_spec,
        clusopt_run=tmp_path / "absent", compile_model=lambda: None)
    assert peers == []
    assert "absent is missing" in skipped["clusopt"]
    assert skipped["torch-compile"] == ("module 'torch' is not installed "
                                        "(pip install torch)")
    assert skipped["onnxruntime"] == ("module 'torch', 'onnx' is not "
                                      "installed (pip install torch onnx)")


def test_compiled_clusopt_hook_runs_when_the_importer_exists(models,
                                                            tmp_path):
    exe = tmp_path / "clusopt-run"
    exe.touch()
    peers, skipped = models.select_peers(
        ["clusopt-compiled"], find_spec=lambda name: object(),
        clusopt_run=exe, compile_model=lambda: (lambda m, inputs: m))
    assert peers == ["clusopt-compiled"] and not skipped


def test_rounds_interleave_peers_and_rotate_the_first(models):
    calls = []
    fns = {p: (lambda p=p: calls.append(p) or np.full(2, len(calls)))
           for p in ("a", "b", "c")}
    results = models.interleaved(["a", "b", "c"], fns, None, None, None,
                                 1, 1, 3)
    # Each timing is a warm-up call and `runs` timed calls.
    assert "".join(calls) == "aabbcc" "bbccaa" "ccaabb"
    assert all(len(times) == 3 and note == ""
               for times, _, note in results.values())
    assert results["b"][1].tolist() == [18, 18]  # the last round's output


def test_per_round_ratio_and_agreement(models):
    assert models.per_round_ratio([10, 20, 40], [20, 20, 20]) == 1.0
    assert models.per_round_ratio([], [1.0]) is None
    ref = np.array([[1.0, -4.0]])
    errors = models.agreement({"a": ref + [[0, 4e-4]], "b": None,
                               "c": np.zeros((2, 2))}, ref)
    assert errors == {"a": pytest.approx(1e-4), "c": float("inf")}


@pytest.mark.skipif(not has("torch"), reason="needs torch")
def test_peers_agree_on_a_toy_model(models, tmp_path):
    """Every Python peer's build and run on a one-layer model; a peer whose
    export fails is reported, not raised."""
    import torch
    rng = np.random.default_rng(0)
    weights = {"fc.weight": rng.standard_normal((5, 12)),
               "fc.bias": rng.standard_normal(5)}

    def forward(torch, images, w, cfg):
        return torch.nn.functional.linear(images.flatten(1) * cfg["scale"],
                                          w["fc.weight"], w["fc.bias"])

    images = rng.standard_normal((2, 3, 2, 2)).astype(np.float32)
    peers = [p for p in ("torch-eager", "torch-compile", "onnxruntime",
                         "openvino") if not models.missing_modules(p)]
    prepared = models.prepare_peers(torch, peers, forward, weights,
                                    {"scale": 0.5}, images, 1, tmp_path)
    assert sorted(prepared) == sorted(peers)
    expected = (images.reshape(2, 12).astype(np.float64) * 0.5
                @ weights["fc.weight"].T + weights["fc.bias"])
    for peer, (fn, build_s, note) in prepared.items():
        assert fn is not None, f"{peer}: {note}"
        assert build_s >= 0
        np.testing.assert_allclose(fn(), expected, rtol=1e-5, atol=1e-5,
                                   err_msg=peer)

    def broken(torch, images, w, cfg):
        raise ValueError("no such layer")
    prepared = models.prepare_peers(torch, ["torch-eager"], broken, weights,
                                    {}, images, 1, tmp_path)
    assert prepared["torch-eager"] == (
        None, None, "failed: ValueError: no such layer")


@pytest.mark.skipif(not has("torch", "onnx", "onnxruntime", "openvino"),
                    reason="needs torch, onnx, onnxruntime and openvino")
def test_smallest_model_end_to_end(tmp_path):
    """vit_dense at 224, one round of one run, every peer but
    torch.compile (whose compilation alone takes minutes on a loaded
    2-vCPU machine; the toy model above covers it)."""
    if not (build_dir() / "bin" / "clusopt-run").exists():
        pytest.skip("clusopt-run is not built")
    out = subprocess.run(
        [sys.executable, str(BENCH / "models.py"), "--models", "vit_dense",
         "--runs", "1", "--rounds", "1", "--threads", "1", "--no-peak",
         "--peers", "clusopt,torch-eager,onnxruntime,openvino",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ, CLUSOPT_BUILD_DIR=str(build_dir())))
    assert out.returncode == 0, out.stdout + out.stderr
    log = out.stdout
    assert "ISA x86-64" in log
    assert "vit_dense 224x224 B=1: max|peer-torch-eager|/max = clusopt" in log
    assert "MISMATCH" not in log
    for peer in ("clusopt", "torch-eager", "onnxruntime", "openvino"):
        assert f"\n  {peer} " in log
    assert "[from ONNX; f32, threads=1]" in log
    with open(tmp_path / "models.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["impl"] for r in rows] == ["clusopt", "torch-eager",
                                         "onnxruntime", "openvino"]
    assert all(r["check"] == "ok" and float(r["median_ms"]) > 0
               for r in rows)
    assert (tmp_path / "models.txt").read_text().startswith("# models: ISA")
