"""safetensors from Python: round trips through clusopt.safetensors_io and
clusopt.export, the reader's checks, and the C++ runtime's reader
(build/bin/clusopt-safetensors) accepting files that Python wrote."""

import json
import pathlib
import struct
import subprocess
import sys

import numpy as np
import pytest

from clusopt import dtypes, export, safetensors_io
from clusopt.toolchain import build_dir


def sample(rng):
    return {
        "stage1.0.attn.q.weight": rng.standard_normal((6, 4)).astype(np.float32),
        "stage1.0.norm.bias": rng.standard_normal(4).astype(np.float16),
        "pos": dtypes.to_storage(rng.standard_normal((2, 3)), "bf16"),
        "steps": np.array(12, dtype=np.int64),
        "ids": np.arange(-3, 4, dtype=np.int32),
        "empty": np.zeros((0, 5), dtype=np.float32),
    }


def test_round_trip(tmp_path):
    tensors = sample(np.random.default_rng(0))
    path = tmp_path / "w.safetensors"
    safetensors_io.save(path, tensors, metadata={"format": "pt"}, bf16={"pos"})
    (n,) = struct.unpack("<Q", path.read_bytes()[:8])
    assert n % 8 == 0
    back, kinds, meta = safetensors_io.load(path)
    assert meta == {"format": "pt"}
    assert kinds == {"stage1.0.attn.q.weight": "F32", "stage1.0.norm.bias": "F16",
                     "pos": "BF16", "steps": "I64", "ids": "I32", "empty": "F32"}
    for name, array in tensors.items():
        assert back[name].dtype == array.dtype and back[name].shape == array.shape
        np.testing.assert_array_equal(back[name], array)


def write_raw(path, header, data=b""):
    text = json.dumps(header).encode() if isinstance(header, dict) else header
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)
    return path


@pytest.mark.parametrize("header, data, message", [
    ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
      "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}},
     bytes(12), "tensors 'a' and 'b' overlap"),
    ({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}},
     bytes(8), "tensor 'a': data_offsets [0, 16] out of range"),
    ({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}},
     bytes(8), "F32 [3] needs 12"),
    ({"a": {"dtype": "Q4", "shape": [1], "data_offsets": [0, 1]}},
     bytes(1), "unknown dtype 'Q4'"),
    ({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}},
     b"", "shape dim is not a non-negative integer"),
    (b'{"a": 1, "a": 2}', b"", "key 'a' appears twice"),
    (b'{"a": ', b"", "header is not valid JSON"),
    (b"[" * 100000, b"", "header is not valid JSON"),
])
def test_reader_rejects(tmp_path, header, data, message):
    path = write_raw(tmp_path / "bad.safetensors", header, data)
    with pytest.raises(ValueError, match=message.replace("[", r"\[")):
        safetensors_io.load(path)


def test_reader_rejects_truncated_file(tmp_path):
    path = tmp_path / "w.safetensors"
    safetensors_io.save(path, {"a": np.ones(4, np.float32)})
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(ValueError, match="header length .* exceeds"):
        safetensors_io.load(path)


def test_export_numpy_state_dict(tmp_path):
    rng = np.random.default_rng(1)
    state = {"proj.weight": rng.standard_normal((3, 5)),
             "bn.num_batches_tracked": np.array(7, dtype=np.int64)}
    path = tmp_path / "model.safetensors"
    names = export.export_state_dict(state, path, dtype="bf16",
                                     metadata={"model": "test"})
    assert names == ["proj.weight", "bn.num_batches_tracked"]
    back, kinds, meta = safetensors_io.load(path)
    assert kinds == {"proj.weight": "BF16", "bn.num_batches_tracked": "I64"}
    assert meta == {"model": "test"}
    np.testing.assert_allclose(dtypes.from_storage(back["proj.weight"], "bf16"),
                               state["proj.weight"], rtol=2 ** -8)
    assert int(back["bn.num_batches_tracked"]) == 7
    # A NumPy state_dict never pulls in torch.
    if "torch" not in sys.modules:
        export.export_state_dict(state, path)
        assert "torch" not in sys.modules


def test_cpp_reader_accepts_python_files(tmp_path):
    tool = pathlib.Path(build_dir()) / "bin" / "clusopt-safetensors"
    if not tool.exists():
        pytest.fail(f"{tool} is missing; build clusopt first")
    tensors = sample(np.random.default_rng(2))
    path = tmp_path / "w.safetensors"
    safetensors_io.save(path, tensors, metadata={"format": "pt"}, bf16={"pos"})
    out = subprocess.run(
        [str(tool), str(path), "--expect", "stage1.0.attn.q.weight:f32:6,4",
         "--expect", "pos:bf16:2,3", "--expect", "ids:i32:7"],
        check=True, capture_output=True, text=True).stdout.splitlines()
    assert out[0] == "metadata format = pt"
    rows = {line.split()[1]: line.split() for line in out[1:]}
    assert set(rows) == set(tensors)
    _, kinds, _ = safetensors_io.load(path)
    for name, array in tensors.items():
        assert rows[name][2] == kinds[name]
        shape = "[" + ", ".join(map(str, array.shape)) + "]"
        assert " ".join(rows[name]).split(" bytes")[0].endswith(shape)
        if kinds[name] == "I64":
            continue  # the runtime does not load I64
        values = dtypes.from_storage(array, "bf16" if name == "pos" else "f32")
        assert float(rows[name][-1]) == pytest.approx(values.sum(), rel=1e-5,
                                                      abs=1e-5)
    # And it refuses a wrong config.
    bad = subprocess.run([str(tool), str(path), "--expect", "ids:i32:8"],
                         capture_output=True, text=True)
    assert bad.returncode == 1
    assert "tensor 'ids': expected shape [8], got [7]" in bad.stderr
