"""Read and write IDX files (the MNIST container format), gzipped or raw.

The decoder is C (``csrc/idx/idx.c``): it parses and validates the header,
inflates gzip straight into the result array (libdeflate from the ``deflate``
wheel or the system library when available, zlib streaming otherwise) and
converts big-endian elements to native order in place, with SIMD and OpenMP.

IDX layout: two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16,
0x0C int32, 0x0D float32, 0x0E float64), the rank, then one big-endian
uint32 per dimension, then the elements in C order, big-endian.
"""

from __future__ import annotations

# One module per concern; this one is the public face (and keeps the names
# other modules and the tests import from fastdigits.idx).
from ._idx import IDXError
from ._idx_format import TYPE_CODES, IDXHeader, PathLike, Source  # noqa: F401
from ._idx_normalized import read_idx_normalized
from ._idx_read import read_idx, read_idx_header
from ._idx_write import write_idx
from ._inflate import _force_zlib, inflate_backend  # noqa: F401 (_force_zlib: tests)

__all__ = [
    "IDXError",
    "IDXHeader",
    "inflate_backend",
    "read_idx",
    "read_idx_header",
    "read_idx_normalized",
    "write_idx",
]
