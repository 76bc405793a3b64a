"""The optimised CPU kernels give bit-identical results whatever the number
of OpenMP threads (docs/numerics.md, "Determinism"): every reduction is
done by one thread in a fixed order, and scatters split the work by output
columns, never by tokens.

Each thread count runs in its own process (libomp reads OMP_NUM_THREADS
once); the kernels come from the on-disk kernel cache after the first."""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from clusopt.toolchain import target_runs_here

REPO = pathlib.Path(__file__).resolve().parents[2]

# Runs every case with the optimised pipeline and saves the results.
_CHILD = r"""
import ctypes
import sys
import numpy as np
from clusopt import kernels, reference
from clusopt.toolchain import Backend, openmp_lib_dir

target, out = sys.argv[1], sys.argv[2]
backend = Backend("clus-cpu-to-llvm", target)
rng = np.random.default_rng(21)
f = lambda *shape: rng.standard_normal(shape).astype(np.float32)
q = f(2, 3, 203, 40)
members = reference.topk_members(f(2, 203, 14), 29)
cases = {
    "attention": ([q, f(2, 3, 49, 40), f(2, 3, 49, 24), f(2, 3, 150, 40),
                   f(2, 3, 150, 24)], ["f32"] * 5, {}),
    "soft_assign_pool": ([10 * f(2, 100, 997), f(2, 997, 72)], ["f32"] * 2,
                         {}),
    "kmeans": ([f(2, 784, 32)], ["f32"], {"clusters": 49, "iterations": 4}),
    "dpc_knn": ([f(2, 300, 24)], ["f32"], {"clusters": [20, 80], "k": 5}),
    "aggregate": ([f(2, 3000, 64), rng.integers(-1, 50, (2, 3000)).astype(
        np.int32), np.exp(f(2, 3000))], ["f32", "i32", "f32"],
        {"clusters": 49, "reduction": "weighted_mean", "eps": 1e-6}),
    "topk_members": ([f(2, 600, 20)], ["f32"], {"capacity": 40}),
    "cluster_attention": ([q, f(2, 3, 203, 40), f(2, 3, 203, 40),
                           members.astype(np.int32), f(2, 3, 203, 14),
                           f(2, 3, 203, 14)], ["f32"] * 3 + ["i32"]
                          + ["f32"] * 2, {"summaries": True, "scale": None}),
}
results = {}
for op, (args, elems, attrs) in cases.items():
    for i, r in enumerate(kernels.run(op, args, elems, attrs, backend=backend,
                                      dynamic=True)):
        results[f"{op}.{i}"] = r
# The libomp the kernels run on, to show the thread count took effect.
omp = ctypes.CDLL(str(openmp_lib_dir() / "libomp.so"))
np.savez(out, threads=np.int64(omp.omp_get_max_threads()), **results)
"""


def _run(tmp_path, target, threads):
    out = tmp_path / f"threads{threads}.npz"
    env = dict(os.environ, OMP_NUM_THREADS=str(threads),
               PYTHONPATH=str(REPO / "python"))
    subprocess.run([sys.executable, "-c", _CHILD, target, str(out)],
                   env=env, check=True, timeout=900)
    with np.load(out) as data:
        results = {name: data[name] for name in data.files}
    assert int(results.pop("threads")) == threads, "OMP_NUM_THREADS ignored"
    return results


def test_results_do_not_depend_on_the_thread_count(tmp_path):
    target = "x86-64-v3"
    if not target_runs_here(target):
        pytest.skip(f"this CPU cannot run {target} code")
    one = _run(tmp_path, target, 1)
    for threads in (2, 3):
        other = _run(tmp_path, target, threads)
        assert one.keys() == other.keys()
        differ = [name for name in one
                  if one[name].tobytes() != other[name].tobytes()]
        assert not differ, (f"results with 1 and {threads} threads differ "
                            f"in: {', '.join(differ)}")
