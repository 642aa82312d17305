"""Plain NumPy implementations of every public fastdigits kernel.

Each function has the same signature and semantics as its fast twin in
:mod:`fastdigits`.  The tests compare against these; the benchmarks time them
as the NumPy baseline.
"""
__all__: list = []

from .idx import read_idx, read_idx_header, read_idx_normalized, write_idx  # noqa: E402

__all__ += ["read_idx", "read_idx_header", "read_idx_normalized", "write_idx"]
