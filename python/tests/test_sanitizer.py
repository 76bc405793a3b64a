"""Positive control for the sanitizer run: an unguarded gather compiled with
the +asan backend must be caught. Without it, a clean ASan run of the
numerics suite would prove nothing."""

import os
import subprocess
import sys
import textwrap

import pytest

UNGUARDED = """
func.func @kernel(%t: tensor<?xf32>, %i: tensor<1xi32>, %out: memref<1xf32>) {
  %c0 = arith.constant 0 : index
  %raw = tensor.extract %i[%c0] : tensor<1xi32>
  %idx = arith.index_cast %raw : i32 to index
  %v = tensor.extract %t[%idx] : tensor<?xf32>
  memref.store %v, %out[%c0] : memref<1xf32>
  return
}
"""


def test_asan_catches_out_of_bounds_read(backend):
    if not backend.sanitize:
        pytest.skip("only meaningful for a +asan backend")
    lib = backend.compile(UNGUARDED)
    script = textwrap.dedent(f"""
        import ctypes, sys
        sys.path.insert(0, {os.path.dirname(os.path.dirname(__file__))!r})
        import numpy as np
        from clusopt.kernels import _descriptor
        fn = ctypes.CDLL({str(lib)!r})._mlir_ciface_kernel
        t = np.zeros(4, np.float32); i = np.array([{{}}], np.int32)
        out = np.zeros(1, np.float32)
        fn(*[ctypes.byref(_descriptor(a)) for a in (t, i, out)])
        print("read", out[0])
    """)
    in_bounds = subprocess.run([sys.executable, "-c", script.format(3)],
                               capture_output=True, text=True)
    assert in_bounds.returncode == 0, in_bounds.stderr
    oob = subprocess.run([sys.executable, "-c", script.format(6)],
                         capture_output=True, text=True)
    assert oob.returncode != 0
    assert "AddressSanitizer" in oob.stderr
