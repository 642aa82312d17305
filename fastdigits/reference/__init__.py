"""Plain NumPy implementations of every public fastdigits kernel.

Each function has the same signature and semantics as its fast twin in
:mod:`fastdigits`.  The tests compare against these; the benchmarks time them
as the NumPy baseline.
"""
from .dense import dense_backward, dense_forward, matmul

__all__: list = ["dense_backward", "dense_forward", "matmul"]
