"""Storage dtypes: f32, f16 and bf16 (NumPy has no bf16, so bf16 travels
as its uint16 bit pattern)."""

import numpy as np

FLOAT_DTYPES = ("f32", "f16", "bf16")


def to_storage(a, dtype):
    """Rounds a float array to `dtype`; returns the array to pass to a
    kernel (bf16 as uint16 bits)."""
    a = np.asarray(a, dtype=np.float32)
    if dtype == "f32":
        return np.ascontiguousarray(a)
    if dtype == "f16":
        return a.astype(np.float16)
    if dtype == "bf16":
        bits = a.view(np.uint32).astype(np.uint64)
        # Round to nearest even on the 16 dropped bits.
        rounded = bits + 0x7FFF + ((bits >> 16) & 1)
        return (rounded >> 16).astype(np.uint16)
    raise ValueError(f"unknown float dtype '{dtype}'")


def from_storage(a, dtype):
    """The float64 values of an array in `dtype` storage."""
    if dtype == "bf16":
        bits = np.asarray(a, dtype=np.uint16).astype(np.uint32) << 16
        return bits.view(np.float32).astype(np.float64)
    return np.asarray(a).astype(np.float64)


def numpy_dtype(dtype):
    return {"f32": np.float32, "f16": np.float16, "bf16": np.uint16,
            "i32": np.int32}[dtype]
