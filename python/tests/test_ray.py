"""clusopt.ray.map_images on a local two-worker Ray cluster (loopback
only): the Parquet results equal clusopt-run's for the same images and
weights, bitwise for the logits (the same code at the same thread count)."""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from clusopt.errors import ArgumentError, ArtifactError
from clusopt.toolchain import REPO_ROOT, build_dir
from test_clusopt_run import run, tiny  # noqa: F401

pytestmark = pytest.mark.ray
ray = pytest.importorskip("ray")
pytest.importorskip("ray.data", reason="ray.data needs ray[data] (pandas)")
pq = pytest.importorskip("pyarrow.parquet")


@pytest.fixture(scope="module")
def cluster():
    """Two CPUs, no dashboard, bound to 127.0.0.1; workers import this
    checkout's clusopt and find its build through the runtime_env."""
    ray.init(num_cpus=2, include_dashboard=False,
             _node_ip_address="127.0.0.1", log_to_driver=False,
             runtime_env={"env_vars": {
                 "PYTHONPATH": str(REPO_ROOT / "python"),
                 "CLUSOPT_BUILD_DIR": str(build_dir())}})
    yield
    ray.shutdown()


def make_images(folder, count):
    folder.mkdir()
    rng = np.random.default_rng(11)
    for i in range(count):
        h, w = rng.integers(40, 140, size=2)
        fmt = "PNG" if i % 2 else "JPEG"
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) \
            .save(folder / f"im{i}.{fmt.lower()}", format=fmt)
    return sorted(folder.iterdir())


def test_map_images_equals_clusopt_run(cluster, tiny, tmp_path):  # noqa: F811
    from clusopt import ray as clusopt_ray
    _, _, weights = tiny
    images = make_images(tmp_path / "photos", 8)
    out = clusopt_ray.map_images(
        tmp_path / "photos", model="paca_tiny", weights=weights,
        output=tmp_path / "results.parquet", resolution=64, topk=3,
        batch_size=3, num_workers=2, threads_per_worker=1)
    assert pathlib.Path(out).is_dir()
    table = pq.read_table(out).sort_by("path")
    assert table.num_rows == 8
    assert str(table.schema.field("logits").type) == "list<element: float>"
    assert table.column("path").to_pylist() == [str(p) for p in images]

    cli = run("--weights", weights, "--image", tmp_path / "photos",
              "--resolution", 64, "--threads", 1, "--batch", 3, "--topk", 3,
              "--json", "--dump-logits", tmp_path / "cli.npy")
    want = np.load(tmp_path / "cli.npy")
    got = np.array(table.column("logits").to_pylist(), np.float32)
    np.testing.assert_array_equal(got, want)
    objects = [json.loads(line) for line in cli.stdout.splitlines()]
    for row, o in zip(table.to_pylist(), objects):
        assert row["path"] == o["source"]
        assert row["top_classes"] == [t["class"] for t in o["top"]]
        assert row["top_labels"] == [t["label"] for t in o["top"]]
        np.testing.assert_allclose(row["top_probabilities"],
                                   [t["probability"] for t in o["top"]],
                                   rtol=1e-12)


def test_map_images_errors(cluster, tiny, tmp_path):  # noqa: F811
    from clusopt import ray as clusopt_ray
    _, _, weights = tiny
    images = make_images(tmp_path / "photos", 2)
    with pytest.raises(ArgumentError, match="unknown model 'paca_huge'"):
        clusopt_ray.map_images(images, model="paca_huge", weights=weights)
    with pytest.raises(ArtifactError, match="missing.safetensors"):
        clusopt_ray.map_images(images, model="paca_tiny",
                               weights=tmp_path / "missing.safetensors")
    with pytest.raises(ArgumentError, match="num_workers must be an int >= "
                       "1, got 0"):
        clusopt_ray.map_images(images, model="paca_tiny", weights=weights,
                               num_workers=0)
    with pytest.raises(ArgumentError, match="the dataset needs a 'path' "
                       r"column, has \['file'\]"):
        clusopt_ray.map_images(
            ray.data.from_items([{"file": str(images[0])}]),
            model="paca_tiny", weights=weights, resolution=64)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArgumentError, match="no images in the folder"):
        clusopt_ray.map_images(tmp_path / "empty", model="paca_tiny",
                               weights=weights, resolution=64)
    # A broken image fails the job with the worker's clusopt error.
    images[1].write_bytes(images[1].read_bytes()[:50])
    with pytest.raises(ArtifactError, match=f"^{images[1]}: bad "):
        clusopt_ray.map_images(images, model="paca_tiny", weights=weights,
                               resolution=64,
                               output=tmp_path / "bad.parquet")


def test_import_clusopt_does_not_import_ray():
    code = "import clusopt, clusopt.runtime, sys; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, cwd=REPO_ROOT / "python", check=True)
    assert out.stdout.strip() == "False"
