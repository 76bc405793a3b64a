"""No kernel writes its inputs: every op, on every CPU pipeline, leaves each
input byte-identical.

In destination-passing style a result is written into its destination
(`outs`), never into an operand. One-shot bufferization may write a tensor
in place when the IR lets it, and the harness's tensor arguments are
writable buffers, so a lowering that updates an operand (the reference
`kmeans` once updated its centroids in the caller's `init`) corrupts the
caller's data without changing any result. This test fills every input with
known bytes, calls the kernel and compares each input with a copy made
before the call.
"""

import numpy as np
import pytest

from clusopt import kernels
from clusopt.toolchain import Backend, target_runs_here

# The reference pipeline, and the optimised one for this CPU and for the
# AVX2 target (its 8-lane kernels run on any x86-64-v3 machine).
BACKENDS = [Backend(pipeline="clus-to-llvm", target="x86-64"),
            Backend(pipeline="clus-cpu-to-llvm", target="host"),
            Backend(pipeline="clus-cpu-to-llvm", target="x86-64-v3")]


def _floats(rng, shape):
    return rng.standard_normal(shape).astype(np.float32)


def _indices(rng, shape, limit):
    # -1 and `limit` are out of range on purpose: the ops ignore them.
    return rng.integers(-1, limit + 1, shape).astype(np.int32)


def _cases():
    rng = np.random.default_rng(20261207)
    f, i = _floats, _indices
    x = f(rng, (2, 9, 5))
    return {
        "soft_assign": ("soft_assign", [f(rng, (2, 3, 9))], {}),
        "soft_assign_clusters": ("soft_assign", [f(rng, (2, 3, 9))],
                                 {"axis": "clusters"}),
        "pool": ("pool", [f(rng, (2, 3, 9)), x], {}),
        "soft_assign_pool": ("soft_assign_pool", [f(rng, (2, 3, 9)), x], {}),
        "kmeans": ("kmeans", [x], {"clusters": 3, "iterations": 2}),
        "kmeans_init": ("kmeans", [x, f(rng, (2, 3, 5))],
                        {"clusters": 3, "iterations": 2}),
        "kmeans_init_cosine": ("kmeans", [x, f(rng, (2, 3, 5))],
                               {"clusters": 3, "iterations": 2,
                                "metric": "cosine"}),
        "dpc_knn": ("dpc_knn", [x], {"clusters": [3, 2], "k": 3}),
        "aggregate_mean": ("aggregate", [x, i(rng, (2, 9), 3)],
                           {"clusters": 3, "reduction": "mean"}),
        "aggregate_weighted": ("aggregate", [x, i(rng, (2, 9), 3),
                                             np.abs(f(rng, (2, 9)))],
                               {"clusters": 3, "reduction": "weighted_mean"}),
        "broadcast": ("broadcast", [f(rng, (2, 3, 5)), i(rng, (2, 9), 3)], {}),
        "attention": ("attention", [f(rng, (1, 2, 9, 4)), f(rng, (1, 2, 3, 4)),
                                    f(rng, (1, 2, 3, 6))], {}),
        "attention_two_scales": ("attention", [
            f(rng, (1, 2, 9, 4)), f(rng, (1, 2, 3, 4)), f(rng, (1, 2, 3, 6)),
            f(rng, (1, 2, 5, 4)), f(rng, (1, 2, 5, 6))], {"scale": 0.5}),
        "topk_members": ("topk_members", [f(rng, (2, 9, 3))],
                         {"capacity": 4}),
        "topk_members_exclusive": ("topk_members", [f(rng, (2, 9, 3))],
                                   {"capacity": 4, "exclusive": True}),
        "cluster_attention": ("cluster_attention", [
            f(rng, (1, 2, 9, 4)), f(rng, (1, 2, 9, 4)), f(rng, (1, 2, 9, 6)),
            i(rng, (1, 3, 4), 9), f(rng, (1, 2, 9, 3)), f(rng, (1, 2, 9, 3))],
            {}),
    }


CASES = _cases()


@pytest.mark.parametrize("pipeline", BACKENDS, ids=lambda b: b.name)
@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
def test_inputs_unchanged(pipeline, name, dynamic):
    if not target_runs_here(pipeline.target):
        pytest.skip(f"{pipeline.target} does not run on this CPU")
    op, args, attrs = CASES[name]
    before = [a.copy() for a in args]
    elems = ["i32" if a.dtype == np.int32 else "f32" for a in args]
    results = kernels.run(op, args, elems, attrs, backend=pipeline,
                          dynamic=dynamic)
    assert results, "the kernel returned no results"
    for index, (arg, copy) in enumerate(zip(args, before)):
        assert arg.tobytes() == copy.tobytes(), (
            f"{op} on {pipeline.name} wrote its input #{index}")
