"""Plain NumPy implementations of every public fastdigits kernel.

Each function has the same signature and semantics as its fast twin in
:mod:`fastdigits`.  The tests compare against these; the benchmarks time them
as the NumPy baseline.
"""
from .normalize import normalize

__all__: list = ["normalize"]
