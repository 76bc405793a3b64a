"""Reads and writes safetensors files with NumPy only (no torch).

A file is an 8-byte little-endian header length, a JSON header
``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__":
{str: str}}`` and the data. NumPy has no bfloat16, so BF16 tensors travel
as their uint16 bit patterns (as in ``clusopt.dtypes``) and are named in
``bf16=`` when written. The reader checks what the C++ reader checks
(runtime/Safetensors.cpp) and raises ValueError naming the tensor.
"""

import json
import struct

import numpy as np

MAX_HEADER_BYTES = 100_000_000

# safetensors dtype -> NumPy storage dtype (BF16 as uint16 bits).
DTYPES = {
    "BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "I16": np.int16,
    "U16": np.uint16, "F16": np.float16, "BF16": np.uint16,
    "I32": np.int32, "U32": np.uint32, "F32": np.float32,
    "I64": np.int64, "U64": np.uint64, "F64": np.float64,
}
_NAMES = {np.dtype(v): k for k, v in DTYPES.items() if k != "BF16"}


def dtype_name(array, bf16=False):
    """The safetensors dtype of a NumPy array (uint16 as BF16 if `bf16`)."""
    if bf16:
        if array.dtype != np.uint16:
            raise ValueError(f"a BF16 tensor must be uint16 bits, got "
                             f"{array.dtype}")
        return "BF16"
    try:
        return _NAMES[array.dtype]
    except KeyError:
        raise ValueError(f"dtype {array.dtype} has no safetensors "
                         f"equivalent") from None


def save(path, tensors, metadata=None, bf16=()):
    """Writes `tensors` (name -> array) to `path`, in the dict's order.

    Names in `bf16` hold uint16 bf16 bit patterns and are stored as BF16.
    """
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs, offset = [], 0
    for name, array in tensors.items():
        if name == "__metadata__":
            raise ValueError("'__metadata__' cannot name a tensor")
        # Not ascontiguousarray: it turns a 0-d array into shape [1].
        array = np.asarray(array)
        if not array.flags.c_contiguous:
            array = array.copy(order="C")
        dtype = dtype_name(array, name in bf16)
        data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in blobs:
            f.write(data)


def _no_duplicates(pairs):
    result = dict(pairs)
    if len(result) != len(pairs):
        seen = set()
        for k, _ in pairs:
            if k in seen:
                raise ValueError(f"key '{k}' appears twice")
            seen.add(k)
    return result


def _count(value, what):
    if type(value) is not int or value < 0:
        raise ValueError(f"{what} is not a non-negative integer")
    return value


def load(path):
    """Reads and validates `path`.

    Returns ``(tensors, dtypes, metadata)``: name -> array (BF16 as uint16
    bits), name -> safetensors dtype, and the ``__metadata__`` dict.
    """
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: file is {len(blob)} bytes, too short for "
                         f"the 8-byte header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > MAX_HEADER_BYTES or n > len(blob) - 8:
        raise ValueError(f"{path}: header length {n} exceeds the limit or "
                         f"the file size {len(blob)} minus 8")
    try:
        header = json.loads(blob[8:8 + n].decode("utf-8"),
                            object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise ValueError(f"{path}: header is not valid JSON: {e}") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: header is not a JSON object")
    data = memoryview(blob)[8 + n:]
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
            isinstance(v, str) for v in metadata.values()):
        raise ValueError(f"{path}: '__metadata__' must map strings to "
                         f"strings")
    tensors, dtypes, ranges = {}, {}, []
    for name in sorted(header):
        entry = header[name]

        def fail(problem, name=name):
            return ValueError(f"{path}: tensor '{name}': {problem}")
        if not isinstance(entry, dict) or set(entry) != {
                "dtype", "shape", "data_offsets"}:
            raise fail("entry must have exactly dtype, shape, data_offsets")
        dtype = entry["dtype"]
        if dtype not in DTYPES:
            raise fail(f"unknown dtype '{dtype}'")
        shape = entry["shape"]
        if not isinstance(shape, list):
            raise fail("'shape' is not an array")
        shape = [_count(d, f"tensor '{name}': shape dim") for d in shape]
        offsets = entry["data_offsets"]
        if not isinstance(offsets, list) or len(offsets) != 2:
            raise fail("'data_offsets' must be an array [begin, end]")
        begin, end = (_count(o, f"tensor '{name}': data offset")
                      for o in offsets)
        itemsize = np.dtype(DTYPES[dtype]).itemsize
        size = int(np.prod(shape, dtype=object)) * itemsize
        if begin > end or end > len(data):
            raise fail(f"data_offsets [{begin}, {end}] out of range for "
                       f"the {len(data)}-byte data section")
        if end - begin != size:
            raise fail(f"data_offsets [{begin}, {end}] hold {end - begin} "
                       f"bytes, but {dtype} {shape} needs {size}")
        if begin != end:
            ranges.append((begin, end, name))
        tensors[name] = np.frombuffer(
            data[begin:end], dtype=np.dtype(DTYPES[dtype]).newbyteorder("<")
        ).reshape(shape)
        dtypes[name] = dtype
    ranges.sort()
    for (_, end_a, a), (begin_b, _, b) in zip(ranges, ranges[1:]):
        if begin_b < end_a:
            raise ValueError(f"{path}: tensors '{a}' and '{b}' overlap")
    return tensors, dtypes, metadata
