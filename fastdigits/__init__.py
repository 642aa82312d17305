"""fastdigits: a fast CPU data path and fused dense-layer kernels for digit images.

C kernels (csrc/) bound with Cython, parallelised with OpenMP, with a run-time
chosen SIMD path.  Every kernel has a plain NumPy twin in
:mod:`fastdigits.reference` with the same signature.
"""
from ._config import (available_simd, get_num_threads, get_simd,
                      set_num_threads, set_simd, simd, threads)
from ._info import show_config
from ._version import __version__
from .png import to_png
from .viz import Digits, render, show, to_uint8

__all__ = [
    "__version__",
    "Digits",
    "available_simd",
    "get_num_threads",
    "get_simd",
    "render",
    "set_num_threads",
    "set_simd",
    "show",
    "show_config",
    "simd",
    "threads",
    "to_png",
    "to_uint8",
]
