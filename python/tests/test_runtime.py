"""clusopt.runtime: models and images through libclusopt_runtime.so (the C
API), against clusopt-run on the same weights and images, and its errors."""

import numpy as np
import pytest
from PIL import Image

from clusopt import export, runtime
from clusopt.errors import ArgumentError, ArtifactError, ClusoptError
from clusopt.models import paca
from test_clusopt_run import run, tiny  # noqa: F401


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(4)
    paths = []
    for i, (h, w, fmt) in enumerate([(90, 70, "JPEG"), (50, 120, "PNG"),
                                     (64, 64, "PNG")]):
        path = folder / f"p{i}.{fmt.lower()}"
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) \
            .save(path, format=fmt)
        paths.append(path)
    return paths


def test_logits_equal_clusopt_run(tiny, photos, tmp_path):  # noqa: F811
    """The same code as clusopt-run's, at the same thread count: bitwise
    the same logits, for one image and for a batch."""
    _, _, weights = tiny
    model = runtime.Model("paca_tiny", weights, resolution=64, threads=2)
    assert model.num_classes == 1000 and model.resolution == (64, 64)
    images = np.stack([runtime.load_image(p, 64) for p in photos])
    assert images.shape == (3, 3, 64, 64) and images.dtype == np.float32
    batch_logits = model.run(images)
    for i, photo in enumerate(photos):
        run("--weights", weights, "--image", photo, "--resolution", 64,
            "--threads", 2, "--runs", 1, "--dump-logits", tmp_path / "l.npy")
        want = np.load(tmp_path / "l.npy")
        np.testing.assert_array_equal(model.run(images[i:i + 1]), want)
        np.testing.assert_array_equal(batch_logits[i:i + 1], want)
    # Preprocessing options reach the C side: another crop, other pixels.
    other = runtime.load_image(photos[0], 64, crop_pct=1.0,
                               interpolation="bilinear")
    assert not np.array_equal(other, images[0])
    run("--weights", weights, "--image", photos[0], "--resolution", 64,
        "--crop-pct", 1, "--interpolation", "bilinear", "--threads", 2,
        "--runs", 1, "--dump-logits", tmp_path / "l.npy")
    np.testing.assert_array_equal(model.run(other[None]),
                                  np.load(tmp_path / "l.npy"))
    model.close()
    with pytest.raises(ArgumentError, match="model paca_tiny is closed"):
        model.run(images)


def test_non_square_resolution(tiny, photos):  # noqa: F811
    _, _, weights = tiny
    with runtime.Model("paca_tiny", weights, resolution=(64, 96)) as model:
        x = runtime.load_image(photos[1], (64, 96))
        assert x.shape == (3, 64, 96)
        assert model.run(x[None]).shape == (1, 1000)


def test_errors(tiny, photos, tmp_path):  # noqa: F811
    cfg, weights_dict, weights = tiny
    missing = tmp_path / "missing.safetensors"
    with pytest.raises(ArtifactError, match=f"{missing}"):
        runtime.Model("paca_tiny", missing)
    with pytest.raises(ArgumentError, match="unknown model 'paca_huge' "
                       r"\(known: paca_tiny"):
        runtime.Model("paca_huge", weights)
    with pytest.raises(ArtifactError,
                       match="tensors are not used by paca_tiny_dense"):
        runtime.Model("paca_tiny_dense", weights)
    broken = dict(weights_dict)
    broken.pop("head.weight")
    export.export_state_dict(broken, tmp_path / "b.safetensors", dtype="f32")
    with pytest.raises(ArtifactError, match="tensor 'head.weight': not found"):
        runtime.Model("paca_tiny", tmp_path / "b.safetensors")
    with pytest.raises(ArtifactError, match="/nonexistent/k"):
        runtime.Model("paca_tiny", weights, kernels="/nonexistent/k.so")
    with pytest.raises(ArgumentError, match="resolution 64x80 is not a "
                       "multiple of 32"):
        runtime.Model("paca_tiny", weights, resolution=(64, 80))
    with pytest.raises(ArgumentError, match="threads must be None or an int"):
        runtime.Model("paca_tiny", weights, threads=0)

    model = runtime.Model("paca_tiny", weights, resolution=64, threads=1)
    with pytest.raises(ArgumentError, match=r"images must be \[B, 3, 64, 64\]"
                       r" \(B >= 1\), got \[1, 3, 32, 32\]"):
        model.run(np.zeros((1, 3, 32, 32), np.float32))
    with pytest.raises(ArgumentError, match=r"got \[3, 64, 64\]"):
        model.run(np.zeros((3, 64, 64), np.float32))
    with pytest.raises(ArgumentError, match="float32 numpy array, got "
                       "float64"):
        model.run(np.zeros((1, 3, 64, 64)))
    bad = np.zeros((1, 3, 64, 64), np.float32)
    bad[0, 1, 2, 3] = np.nan
    with pytest.raises(ArgumentError, match="images: 1 of 12288 values are "
                       "not finite"):
        model.run(bad)
    # Strided input is copied, not misread.
    x = np.zeros((1, 3, 64, 128), np.float32)[..., ::2]
    assert model.run(x).shape == (1, 1000)

    (tmp_path / "cut.jpg").write_bytes(photos[0].read_bytes()[:100])
    with pytest.raises(ArtifactError, match="cut.jpg: bad JPEG"):
        runtime.load_image(tmp_path / "cut.jpg", 64)
    with pytest.raises(ArtifactError, match="nope.png"):
        runtime.load_image(tmp_path / "nope.png", 64)
    with pytest.raises(ArgumentError, match="interpolation must be one of"):
        runtime.load_image(photos[0], 64, interpolation="lanczos")
    with pytest.raises(ArgumentError, match="crop_pct must be a number from "
                       "0.01 to 1, got 2"):
        runtime.load_image(photos[0], 64, crop_pct=2)
    with pytest.raises(ArgumentError, match="resolution must be an int or"):
        runtime.load_image(photos[0], "64")
    assert issubclass(ArtifactError, ClusoptError)


def test_missing_library(monkeypatch, tmp_path):
    monkeypatch.setattr(runtime, "_lib", None)
    monkeypatch.setenv("CLUSOPT_BUILD_DIR", str(tmp_path))
    with pytest.raises(ArtifactError, match="libclusopt_runtime.so is "
                       "missing; build clusopt first"):
        runtime.load_image("x.png")


C_PROGRAM = r"""
#include "runtime/capi/clusopt_runtime.h"
#include <stdio.h>
int main(int argc, char **argv) {
  clusopt_model *model = 0;
  int code = clusopt_model_open("paca_huge", argv[1], NULL, &model);
  printf("open %d %s\n", code, clusopt_last_error());
  code = clusopt_model_open("paca_tiny", argv[1], NULL, &model);
  printf("open %d\n", code);
  float image[3 * 64 * 64], logits[1000];
  code = clusopt_image_load(argv[2], 64, 64, 0.875, CLUSOPT_BICUBIC, image);
  printf("image %d\n", code);
  code = clusopt_model_run(model, image, 1, 64, 48, logits);
  printf("run %d %s\n", code, clusopt_last_error());
  code = clusopt_model_run(model, image, 1, 64, 64, logits);
  printf("run %d %lld\n", code, (long long)clusopt_model_num_classes(model));
  clusopt_model_close(model);
  return 0;
}
"""


def test_c_program(tiny, photos, tmp_path):  # noqa: F811
    """The header is plain C, and the library reports errors by return
    code and message (no abort) to a C caller."""
    import shutil
    import subprocess
    from clusopt.toolchain import LLVM_BIN, REPO_ROOT
    clang = LLVM_BIN / "clang"
    if not clang.exists() and not shutil.which("clang-22"):
        pytest.skip("no clang to build the C program")
    _, _, weights = tiny
    (tmp_path / "main.c").write_text(C_PROGRAM)
    lib = runtime.library_path()
    subprocess.run([str(clang), "-std=c99", "-Wall", "-Werror",
                    f"-I{REPO_ROOT}", str(tmp_path / "main.c"), str(lib),
                    f"-Wl,-rpath,{lib.parent}", "-o", str(tmp_path / "main")],
                   check=True)
    out = subprocess.run([str(tmp_path / "main"), str(weights),
                          str(photos[0])], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("open 1 unknown model 'paca_huge'")
    assert lines[1:3] == ["open 0", "image 0"]
    assert lines[3] == ("run 1 images must be positive multiples of 32 up "
                        "to 8192 on each side for paca_tiny, got 64x48")
    assert lines[4] == "run 0 1000"
