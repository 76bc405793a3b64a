"""Batch inference on Ray Data: `map_images` runs a clusopt model over a
dataset of images on a Ray cluster and writes the results as Parquet.

Ray is imported only when `map_images` is called (`import clusopt` never
imports it). Each worker is one Ray Data actor that opens the model once
(`clusopt.runtime.Model`), then decodes, preprocesses and runs its batches
with the same code as `clusopt-run`, so the logits are bitwise
`clusopt-run`'s at the same thread count.

Workers must be able to import this `clusopt` and find its build: on a
cluster, install it on every node, or pass a runtime_env to `ray.init`
(e.g. env_vars PYTHONPATH=<checkout>/python and CLUSOPT_BUILD_DIR).
"""

from __future__ import annotations

import os
import pathlib
import re
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from .errors import ArgumentError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")


def _imagenet_labels() -> Optional[List[str]]:
    """The 1000 ImageNet class names shipped with clusopt, if present."""
    from .toolchain import PACKAGE_DIR, REPO_ROOT
    # Installed: clusopt/data (cmake/Install.cmake); a checkout: runtime/data.
    for path in (PACKAGE_DIR / "data" / "imagenet-classes.txt",
                 REPO_ROOT / "runtime" / "data" / "imagenet-classes.txt"):
        if path.exists():
            return path.read_text().splitlines()
    return None


def _image_paths(source: Union[str, os.PathLike, Sequence]) -> List[str]:
    """Absolute image paths: a folder's .png/.jpg/.jpeg files sorted by
    name (not recursive), or a sequence of paths in its order."""
    if isinstance(source, (str, os.PathLike)):
        folder = pathlib.Path(source)
        if not folder.is_dir():
            raise ArgumentError(f"{folder}: not a folder (give a folder, a "
                                f"list of image paths or a ray.data "
                                f"Dataset with a 'path' column)")
        paths = sorted(p for p in folder.iterdir()
                       if p.is_file() and not p.name.startswith(".")
                       and p.suffix.lower() in IMAGE_EXTENSIONS)
        if not paths:
            raise ArgumentError(f"{folder}: no images in the folder (.png, "
                                f".jpg or .jpeg files)")
    else:
        paths = [pathlib.Path(p) for p in source]
        if not paths:
            raise ArgumentError("no images given (the list is empty)")
    # Workers run in other directories.
    return [str(p.resolve()) for p in paths]


class _Predictor:
    """One Ray Data actor: loads the model once, then maps batches of
    image paths to results."""

    def __init__(self, model: str, weights: str, resolution, threads: int,
                 kernels: Optional[str], allow_unused_weights: bool,
                 topk: int, crop_pct: float, interpolation: str,
                 labels: Optional[List[str]]):
        from . import runtime
        self._runtime = runtime
        self._model = runtime.Model(
            model, weights, resolution=resolution, threads=threads,
            kernels=kernels, allow_unused_weights=allow_unused_weights)
        self._topk = min(topk, self._model.num_classes)
        self._crop_pct, self._interpolation = crop_pct, interpolation
        self._labels = labels

    def __call__(self, batch: Dict[str, np.ndarray]):
        import pyarrow as pa
        paths = [str(p) for p in batch["path"]]
        images = np.stack([
            self._runtime.load_image(p, self._model.resolution,
                                     self._crop_pct, self._interpolation)
            for p in paths])
        logits = self._model.run(images)
        # Softmax in float64 after subtracting the row's largest logit, as
        # clusopt-run computes it; equal logits rank by the lower class.
        wide = logits.astype(np.float64)
        probabilities = np.exp(wide - wide.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        top = np.argsort(-logits, axis=1, kind="stable")[:, :self._topk]
        top_probabilities = np.take_along_axis(probabilities, top, axis=1)

        def lists(values, dtype):
            values = np.ascontiguousarray(values)
            offsets = np.arange(0, values.size + 1, values.shape[1],
                                dtype=np.int32)
            return pa.ListArray.from_arrays(
                pa.array(offsets), pa.array(values.reshape(-1), type=dtype))

        columns = {
            "path": pa.array(paths, type=pa.string()),
            "top_classes": lists(top.astype(np.int64), pa.int64()),
            "top_probabilities": lists(top_probabilities, pa.float64()),
            "logits": lists(logits, pa.float32()),
        }
        if self._labels is not None:
            columns["top_labels"] = pa.array(
                [[self._labels[c] for c in row] for row in top],
                type=pa.list_(pa.string()))
        return pa.table(columns)


def map_images(images: Any, model: str, weights: Union[str, os.PathLike],
               output: Union[str, os.PathLike] = "results.parquet", *,
               resolution: Union[int, Sequence[int]] = 224, topk: int = 5,
               batch_size: int = 8, num_workers: int = 2,
               threads_per_worker: int = 1, crop_pct: float = 0.875,
               interpolation: str = "bicubic",
               kernels: Optional[Union[str, os.PathLike]] = None,
               allow_unused_weights: bool = False) -> str:
    """Runs `model` with `weights` over `images` on Ray Data and writes
    the results to the Parquet directory `output`; returns its path.

    images: a folder (its .png/.jpg/.jpeg files, sorted by name), a
    sequence of image paths, or a ray.data.Dataset with a string column
    `path`. Each of `num_workers` actors (concurrency) reserves
    `threads_per_worker` CPUs, opens the model once and runs batches of
    `batch_size` images (the last may be smaller), preprocessed as
    clusopt-run does (`resolution`, `crop_pct`, `interpolation`).

    `output` is a directory of Parquet files (Ray's write_parquet), one
    row per image with columns path (string), top_classes (list<int64>),
    top_probabilities (list<double>, softmax), logits (list<float>) and,
    for 1000-class models, top_labels (list<string>, ImageNet names).
    Rows are not in input order: join on path. Read it back with
    pyarrow.parquet.read_table(output).

    The model is opened once here first, so a wrong name, weights file or
    resolution fails at once with its clusopt error.
    """
    from . import runtime

    for name, value, low in [("topk", topk, 1), ("batch_size", batch_size, 1),
                             ("num_workers", num_workers, 1),
                             ("threads_per_worker", threads_per_worker, 1)]:
        if not isinstance(value, int) or isinstance(value, bool) or \
                value < low:
            raise ArgumentError(f"{name} must be an int >= {low}, got "
                                f"{value!r}")
    if interpolation not in ("bicubic", "bilinear"):
        raise ArgumentError(f"interpolation must be 'bicubic' or "
                            f"'bilinear', got {interpolation!r}")
    if not (isinstance(crop_pct, (int, float)) and 0.01 <= crop_pct <= 1):
        raise ArgumentError(f"crop_pct must be a number from 0.01 to 1, got "
                            f"{crop_pct!r}")
    weights = str(pathlib.Path(weights).resolve())
    kernels = str(pathlib.Path(kernels).resolve()) if kernels else None
    with runtime.Model(model, weights, resolution=resolution,
                       threads=threads_per_worker, kernels=kernels,
                       allow_unused_weights=allow_unused_weights) as probe:
        resolution = probe.resolution
        labels = _imagenet_labels() if probe.num_classes == 1000 else None

    import ray
    import ray.data

    if isinstance(images, ray.data.Dataset):
        if "path" not in images.schema().names:
            raise ArgumentError(f"the dataset needs a 'path' column, has "
                                f"{images.schema().names}")
        dataset = images
    else:
        dataset = ray.data.from_items(
            [{"path": p} for p in _image_paths(images)])
    results = dataset.map_batches(
        _Predictor, batch_size=batch_size, batch_format="numpy",
        concurrency=num_workers, num_cpus=threads_per_worker,
        fn_constructor_kwargs=dict(
            model=model, weights=weights, resolution=resolution,
            threads=threads_per_worker, kernels=kernels,
            allow_unused_weights=allow_unused_weights, topk=topk,
            crop_pct=crop_pct, interpolation=interpolation, labels=labels))
    output = str(pathlib.Path(output).resolve())
    try:
        results.write_parquet(output)
    except ray.exceptions.RayError as e:
        raise _clusopt_error(e) or e
    return output


def _clusopt_error(error: Exception) -> Optional[Exception]:
    """The clusopt error a worker raised, rebuilt from the Ray error's text
    (Ray Data passes the worker's traceback, not the exception), or None."""
    from . import errors
    found = re.findall(r"^clusopt\.errors\.(\w+): (.*)$", str(error),
                       re.MULTILINE)
    if not found:
        return None
    name, message = found[-1]
    cls = getattr(errors, name, None)
    if not (isinstance(cls, type) and issubclass(cls, errors.ClusoptError)):
        return None
    rebuilt = cls(message)
    rebuilt.__cause__ = error
    return rebuilt
