"""Exports model weights to safetensors for the C++ runtime.

Takes a PyTorch ``state_dict`` or a dict of NumPy arrays. torch is imported
only when a value is a torch tensor, so NumPy-only users (and CI) never need
it.
"""

import numpy as np

from . import dtypes as _dtypes
from . import safetensors_io

_FLOAT_KINDS = {"f32": np.float32, "f16": np.float16}


def _is_torch_tensor(value):
    return type(value).__module__.split(".")[0] == "torch"


def _to_numpy(value):
    """(array, is_bf16) for a torch tensor or an array-like."""
    if _is_torch_tensor(value):
        import torch  # only reached with torch values
        value = value.detach().to("cpu").contiguous()
        if value.dtype == torch.bfloat16:
            return value.view(torch.int16).numpy().view(np.uint16), True
        return value.numpy(), False
    return np.asarray(value), False


def export_state_dict(state_dict, path, dtype=None, metadata=None):
    """Writes every tensor of `state_dict` to `path`.

    `dtype` ("f32", "f16" or "bf16") converts the floating-point tensors;
    integer tensors (e.g. BatchNorm's num_batches_tracked) keep their type.
    bf16 tensors of a torch state_dict stay bf16. Returns the names written.
    """
    if dtype not in (None, "f32", "f16", "bf16"):
        raise ValueError(f"dtype must be f32, f16 or bf16, got {dtype!r}")
    arrays, bf16 = {}, set()
    for name, value in state_dict.items():
        array, is_bf16 = _to_numpy(value)
        if dtype is not None and (is_bf16 or array.dtype.kind == "f"):
            wide = (_dtypes.from_storage(array, "bf16") if is_bf16
                    else array.astype(np.float64))
            is_bf16 = dtype == "bf16"
            array = _dtypes.to_storage(wide, dtype).reshape(wide.shape)
        arrays[name] = array
        if is_bf16:
            bf16.add(name)
    safetensors_io.save(path, arrays, metadata=metadata, bf16=bf16)
    return list(arrays)
