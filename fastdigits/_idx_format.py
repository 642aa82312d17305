"""The IDX format: element type codes, the header a reader learns, and
the argument types of the IDX functions (:mod:`fastdigits.idx`)."""

from __future__ import annotations

import io
import os
from typing import Any, NamedTuple, Tuple, Union

import numpy as np

from ._idx import IDXError


PathLike = Union[str, bytes, "os.PathLike[str]"]
Source = Union[str, "os.PathLike[str]", io.RawIOBase, io.BufferedIOBase, Any]

#: IDX type code -> NumPy dtype (native order) and back.
TYPE_CODES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(np.int16),
    0x0C: np.dtype(np.int32),
    0x0D: np.dtype(np.float32),
    0x0E: np.dtype(np.float64),
}
_CODE_OF = {dt: code for code, dt in TYPE_CODES.items()}

# IDXError is defined in the compiled module (_idx.pyx); its Examples
# section is added here so that the doctest runs with the package's others
# (as IDXError.__module__ is "fastdigits", pytest collects it from
# fastdigits/__init__.py) and the API reference shows it.
_IDXERROR_EXAMPLES = """
    Examples
    --------
    A file whose header promises 3 bytes of data but holds 2:

    >>> import io, fastdigits
    >>> data = io.BytesIO(bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 2]))
    >>> try:
    ...     fastdigits.read_idx(data)
    ... except fastdigits.IDXError as exc:
    ...     print(exc.offset, isinstance(exc, ValueError))
    ...     print(exc)
    10 True
    BytesIO: IDX data shorter than the header says: it ends at byte offset 10, ...
"""
if IDXError.__doc__ and "Examples" not in IDXError.__doc__:
    IDXError.__doc__ = IDXError.__doc__.rstrip() + "\n" + _IDXERROR_EXAMPLES
_GZIP_MAGIC = b"\x1f\x8b"
_ALIGN = 64


class IDXHeader(NamedTuple):
    """What :func:`read_idx_header` learns without reading the data.

    Examples
    --------
    >>> import fastdigits
    >>> hdr = fastdigits.read_idx_header(fastdigits.mnist_path("test-labels"))
    >>> hdr
    IDXHeader(dtype=dtype('uint8'), shape=(10000,), data_offset=8, compressed=True, file_size=4542)
    >>> hdr.nbytes  # of decoded data
    10000
    """

    dtype: np.dtype  #: element type, native byte order
    shape: Tuple[int, ...]
    data_offset: int  #: bytes of header before the data (decompressed stream)
    compressed: bool  #: gzip file
    file_size: int  #: size of the file (compressed size for gzip); -1 if unknown

    @property
    def nbytes(self) -> int:
        """Bytes of decoded data."""
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize
