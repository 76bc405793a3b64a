"""clusopt-run on ClusTR b1: the C++ runtime and the generated kernels
(build/runtime/models/clustr_kernels.so) against the NumPy float64
reference forward (clusopt.models.clustr) with seeded random weights; then
its errors for broken weights and unsupported inputs.

dpc_knn makes discrete choices: centres are the tokens of largest density
score, and every token goes to its nearest centre. The runtime computes
them in f32 and the reference in f64, so a near-tie could in principle
flip a choice, and one flip changes the logits by far more than 1e-3. The
comparison therefore takes the runtime's choices (--dump-assignments) and
checks each against reference.dpc_knn on the reference's own activations
at that block: equal, or, where not, a near-tie (NEAR_TIE below) that f32
rounding can decide either way. The reference forward then runs with the
runtime's choices, and the logits must agree to 1e-3 as for PaCa. With the
seeds below most choices match exactly; the near-tie path is there so
that rounding fails only on a real disagreement. A near-tie in density
counts too: it decides which of two tokens measures its distance to the
other, so it moves a score by far more than itself (score_bounds).
"""

import contextlib
import pathlib

import numpy as np
import pytest

from clusopt import export, reference
from clusopt.models import clustr
from clusopt.toolchain import build_dir

from test_clusopt_run import REL_TOL, expect_error, run

# A runtime choice that differs from the reference's is accepted only if the
# two are this close, relative to the largest score or distance: f32
# activations differ from f64 ones by ~1e-6 relative, so 1e-4 is a near-tie
# with a wide margin and far below the gaps between ordinary choices.
NEAR_TIE = 1e-4


@pytest.fixture(scope="module")
def b1(tmp_path_factory):
    """clustr_b1's config, seeded weights (biases and norms perturbed so
    every parameter matters) and their safetensors file."""
    cfg = clustr.config("b1")
    weights = clustr.random_weights(cfg, seed=5, bias_std=0.02)
    path = tmp_path_factory.mktemp("clustr") / "b1.safetensors"
    export.export_state_dict(weights, path, dtype="f32")
    return cfg, weights, path


def clustered_blocks(cfg):
    return [f"block{i + 1}.{j}" for i, (sr, depth) in
            enumerate(zip(cfg["sr_ratios"], cfg["depths"])) if sr > 1
            for j in range(depth)]


@contextlib.contextmanager
def injected_dpc_knn(choices, seen):
    """Makes clustr.forward use the runtime's (assign, centers) per block,
    in order, recording (X, the reference's own assign and centers) as
    `seen`."""
    real = reference.dpc_knn

    def fake(x, clusters, k=5):
        assign, centers = real(x, clusters, k)
        seen.append((x, assign, centers, clusters))
        return choices[len(seen) - 1]

    clustr.reference.dpc_knn = fake
    try:
        yield
    finally:
        clustr.reference.dpc_knn = real


def score_bounds(d, rho, tol_rho):
    """The lowest and highest density score each token can have when
    densities within tol_rho of each other may rank either way.

    delta_i is the distance to the nearest denser token, so a near-tie in
    density between i and j decides whether j counts for i, and the score
    jumps by far more than the tie: f32 rounding can flip it. Low: every
    near-tied token counts as denser; high: none does (and a token with no
    clearly denser one may be the densest, delta = max D)."""
    n = len(rho)
    off = ~np.eye(n, dtype=bool)
    maybe_denser = off & (rho[None, :] >= rho[:, None] - tol_rho)
    surely_denser = off & (rho[None, :] > rho[:, None] + tol_rho)
    delta_lo = np.min(np.where(maybe_denser, d, np.inf), axis=1)
    delta_hi = np.min(np.where(surely_denser, d, np.inf), axis=1)
    delta_lo[~np.isfinite(delta_lo)] = np.max(d)
    delta_hi[~np.isfinite(delta_hi)] = np.max(d)
    return (rho - tol_rho) * delta_lo, (rho + tol_rho) * delta_hi


def check_near_tie(name, x, assign, centers, clusters):
    """The runtime's choices at one block are valid up to NEAR_TIE for the
    reference's activations x: its centres are the top scores and in
    descending score order, with scores taken within their near-tie bounds
    (score_bounds), and each token's centre is within NEAR_TIE of its
    nearest."""
    for b in range(x.shape[0]):
        d, rho, _, score = reference._dpc_scores(x[b], clustr.K_NEAREST)
        tol_s, tol_d = NEAR_TIE * np.abs(score).max(), NEAR_TIE * d.max()
        lo, hi = score_bounds(d, rho, NEAR_TIE * rho.max())
        for s, m in enumerate(clusters):
            ctr = centers[b, s, :m]
            where = f"{name} batch {b} scale {s}"
            assert len(set(ctr)) == m and ctr.min() >= 0, where
            others = np.setdiff1d(np.arange(len(score)), ctr)
            assert not len(others) or \
                hi[ctr].min() >= lo[others].max() - tol_s, \
                f"{where}: centre set differs beyond a near-tie"
            assert (hi[ctr[:-1]] >= lo[ctr[1:]] - tol_s).all(), \
                f"{where}: centre order differs beyond a near-tie"
            a = assign[b, s]
            np.testing.assert_array_equal(a[ctr], np.arange(m), err_msg=where)
            dc = d[:, ctr]
            got = dc[np.arange(len(a)), a]
            free = np.setdiff1d(np.arange(len(a)), ctr)
            assert (got[free] <= dc[free].min(axis=1) + tol_d).all(), \
                f"{where}: a token's centre is not its nearest"


@pytest.mark.parametrize("shape", [(1, 3, 64, 64), (2, 3, 64, 64),
                                   (8, 3, 64, 64), (1, 3, 224, 224)],
                         ids=lambda s: "x".join(map(str, s)))
def test_logits_match_reference(b1, tmp_path, shape):
    check_against_reference("clustr_b1", *b1, tmp_path, shape)


@pytest.mark.parametrize("size", ["b2", "b3"])
def test_larger_models_sampled(tmp_path, size):
    """b2 and b3 share b1's code paths; one small case each."""
    cfg = clustr.config(size)
    weights = clustr.random_weights(cfg, seed=7, bias_std=0.02)
    path = tmp_path / f"{size}.safetensors"
    export.export_state_dict(weights, path, dtype="f32")
    check_against_reference(f"clustr_{size}", cfg, weights, path, tmp_path,
                            (1, 3, 64, 64))


def check_against_reference(model, cfg, weights, path, tmp_path, shape):
    images = np.random.default_rng(sum(shape)).standard_normal(shape)
    images = images.astype(np.float32)
    np.save(tmp_path / "images.npy", images)
    out = run("--model", model, "--weights", path, "--image",
              tmp_path / "images.npy", "--threads", 2, "--runs", 1,
              "--dump-logits", tmp_path / "logits.npy",
              "--dump-assignments", tmp_path / "dpc")
    got = np.load(tmp_path / "logits.npy")
    names = clustered_blocks(cfg)
    choices = [(np.load(tmp_path / "dpc" / f"{n}.assign.npy"),
                np.load(tmp_path / "dpc" / f"{n}.centers.npy"))
               for n in names]
    m1 = shape[2] * shape[3] // 1024
    for assign, centers in choices:
        assert assign.dtype == np.int32 and assign.shape[:2] == (shape[0], 2)
        assert centers.shape == (shape[0], 2, 4 * m1)

    seen = []
    with injected_dpc_knn(choices, seen):
        want = clustr.forward(images.astype(np.float64), weights, cfg)
    assert len(seen) == len(names)
    exact = 0
    for name, (x, ref_assign, ref_centers, clusters), (assign, centers) in \
            zip(names, seen, choices):
        assert clusters == [m1, 4 * m1]
        if (np.array_equal(assign, ref_assign)
                and np.array_equal(centers, ref_centers)):
            exact += 1
        else:
            check_near_tie(name, x, assign, centers, clusters)
    print(f"dpc_knn choices equal to the reference's in {exact} of "
          f"{len(names)} blocks")

    assert got.shape == (shape[0], 1000) and got.dtype == np.float32
    err = np.abs(got - want).max() / np.abs(want).max()
    assert err <= REL_TOL, f"max error {err:.3e} relative to max |logit|"
    assert "latency: median" in out.stdout


def test_profile_labels(b1):
    _, _, path = b1
    out = run("--model", "clustr_b1", "--weights", path, "--random",
              "--batch", 2, "--resolution", 64, "--threads", 2, "--runs", 1,
              "--profile")
    assert "model clustr_b1, images [2, 3, 64, 64], threads 2" in out.stdout
    for label in ("stage1 patch_embed", "stage1 dpc_knn (kernel)",
                  "stage3 aggregate (kernel)", "stage2 weight_layer",
                  "stage4 attention (kernel)", "stage3 mlp dwconv", "head",
                  "total (profiled runs)", "medians over 1 profiled run)"):
        assert label in out.stdout
    assert "stage4 dpc_knn" not in out.stdout  # sr = 1: no clusters


def broken_weights(b1, tmp_path, edit):
    _, weights, _ = b1
    weights = dict(weights)
    edit(weights)
    path = tmp_path / "broken.safetensors"
    export.export_state_dict(weights, path, dtype="f32")
    return path


def test_missing_tensor(b1, tmp_path):
    path = broken_weights(b1, tmp_path,
                          lambda w: w.pop("block3.4.attn.kv2.weight"))
    expect_error(["--model", "clustr_b1", "--weights", path, "--random",
                  "--resolution", 64],
                 "tensor 'block3.4.attn.kv2.weight': not found in the "
                 "weights file")


def test_wrong_shape(b1, tmp_path):
    def edit(w):
        # Stage 4 has no clusters: one kv Linear C -> 2C.
        w["block4.0.attn.kv.weight"] = np.zeros((512, 512))
    path = broken_weights(b1, tmp_path, edit)
    expect_error(["--model", "clustr_b1", "--weights", path, "--random",
                  "--resolution", 64],
                 "tensor 'block4.0.attn.kv.weight': expected shape "
                 "[1024, 512], got [512, 512]")


def test_unsupported_resolution(b1, tmp_path):
    _, _, path = b1
    np.save(tmp_path / "wide.npy", np.zeros((1, 3, 64, 96), np.float32))
    expect_error(["--model", "clustr_b1", "--weights", path, "--image",
                  tmp_path / "wide.npy"],
                 "clustr_b1: resolution 64x96 needs 6 and 24 clusters, but "
                 "kernel library")
    expect_error(["--model", "clustr_b1", "--weights", path, "--image",
                  tmp_path / "wide.npy"], "no entry point 'dpc_knn_m6'")


@pytest.mark.parametrize("args,message", [
    (["--model", "clustr_b9"],
     "unknown model 'clustr_b9' (known: clustr_b1, clustr_b2, clustr_b3)"),
    (["--model", "paca_tiny", "--dump-assignments", "/tmp/x"],
     "--dump-assignments needs a ClusTR model"),
    (["--model", "clustr_b1", "--kernels",
      str(pathlib.Path(build_dir()) / "runtime/models/paca_kernels.so")],
     "has no entry point 'attention2'"),
])
def test_bad_arguments(b1, args, message):
    _, _, path = b1
    expect_error(["--weights", path, "--random", "--resolution", 64, *args],
                 message)


def test_near_tie_check_rejects_real_disagreements():
    """check_near_tie, the test's escape hatch for f32/f64 near-ties,
    accepts the reference's own choices and nothing clearly different."""
    x = np.random.default_rng(1).standard_normal((1, 64, 8))
    assign, centers = reference.dpc_knn(x, [4, 16], clustr.K_NEAREST)
    check_near_tie("own", x, assign, centers, [4, 16])
    score = reference._dpc_scores(x[0], clustr.K_NEAREST)[3]
    bad = centers.copy()
    bad[0, 0, 3] = np.argmin(score)  # the least dense-peak-like token
    with pytest.raises(AssertionError, match="centre set differs"):
        check_near_tie("bad centre", x, assign, bad, [4, 16])
    swapped = centers.copy()
    swapped[0, 1, [0, 1]] = swapped[0, 1, [1, 0]]
    a = assign.copy()
    a[0, 1][assign[0, 1] == 0], a[0, 1][assign[0, 1] == 1] = 1, 0
    with pytest.raises(AssertionError, match="centre order differs"):
        check_near_tie("swapped order", x, a, swapped, [4, 16])
    far = assign.copy()
    token = np.setdiff1d(np.arange(64), centers[0, 0, :4])[0]
    d = reference._dpc_scores(x[0], clustr.K_NEAREST)[0]
    far[0, 0, token] = np.argmax(d[token, centers[0, 0, :4]])
    with pytest.raises(AssertionError, match="not its nearest"):
        check_near_tie("far token", x, far, centers, [4, 16])
