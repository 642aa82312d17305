"""Plain NumPy implementations of every public fastdigits kernel.

Each function has the same signature and semantics as its fast twin in
:mod:`fastdigits`.  The tests compare against these; the benchmarks time them
as the NumPy baseline.
"""
from .dense import dense_backward, dense_forward, matmul

__all__: list = ["dense_backward", "dense_forward", "matmul"]

from .idx import read_idx, read_idx_header, read_idx_normalized, write_idx  # noqa: E402

__all__ += ["read_idx", "read_idx_header", "read_idx_normalized", "write_idx"]

from . import nn  # noqa: E402  (the NumPy MLP backend: fastdigits.reference.nn)

__all__ += ["nn"]
