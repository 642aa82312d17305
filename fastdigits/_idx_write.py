"""Writing IDX files: :func:`fastdigits.write_idx` (atomic, raw or gzip)."""

from __future__ import annotations

import os
import zlib
from typing import Any, Optional

import numpy as np

from ._atomic import atomic_write, write_chunked
from ._docstrings import fill_doc
from ._idx_format import _CODE_OF, PathLike


def _idx_bytes_header(arr: np.ndarray) -> bytes:
    code = _CODE_OF[arr.dtype.newbyteorder("=")]
    dims = b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return bytes([0, 0, code, arr.ndim]) + dims


def _check_writable_array(array: Any) -> np.ndarray:
    arr = np.asarray(array)
    if arr.dtype.newbyteorder("=") not in _CODE_OF:
        raise TypeError(
            "array dtype must be one of uint8, int8, int16, int32, "
            "float32, float64 for IDX, got %s" % arr.dtype
        )
    if arr.ndim == 0:
        raise ValueError("array must have at least one dimension (IDX rank >= 1)")
    if arr.ndim > 255:
        raise ValueError("array has %d dimensions, IDX allows at most 255" % arr.ndim)
    for i, d in enumerate(arr.shape):
        if d > 0xFFFFFFFF:
            raise ValueError(
                "array dimension %d is %d, IDX dimensions must fit in 32 bits" % (i, d)
            )
    # The reader's bound (csrc/idx/idx.c, read_header): the product of the
    # non-zero dimensions, times the item size, plus the header, within
    # INT64_MAX / 16, even for an empty array; a file past it could be
    # written but not read back.
    limit, count, hlen = (2**63 - 1) // 16, 1, 4 + 4 * arr.ndim
    for i, d in enumerate(arr.shape):
        if d and count > (limit - hlen) // arr.itemsize // d:
            raise ValueError(
                "array shape %s: the product of its non-zero dimensions is too large "
                "for an IDX file (read_idx refuses past 2**59 bytes; dimension %d = %d)"
                % (arr.shape, i, d)
            )
        count *= d or 1
    return arr


def _gzip_compress(data: memoryview, level: int = 6) -> bytes:
    try:
        import deflate

        return deflate.gzip_compress(data, level)
    except ImportError:
        co = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        return co.compress(data) + co.flush()


@fill_doc
def write_idx(path: PathLike, array: Any, *, compress: Optional[bool] = None) -> PathLike:
    """Write an array to an IDX file, atomically, gzipped or raw.

    The data go to a temporary file in the target's directory, which is
    flushed, fsync'ed and then renamed over the target, so readers never see
    a partial file and a failed or interrupted write leaves any existing file
    untouched.  A symlink is followed and its target replaced; an existing
    file keeps its permission bits (a new one gets 0666 minus the umask).

    Parameters
    ----------
    path : str, bytes or PathLike
        The file to write.  A directory, FIFO or device there is refused
        with an OSError.
    array : array_like
        At least one dimension, each below 2**32; dtype uint8, int8, int16,
        int32, float32 or float64 (any byte order; written big-endian).
    compress : bool, optional
        gzip the file; by default (None) when the name ends in ``.gz``.

    %(returns_path)s

    Raises
    ------
    TypeError
        A ``path`` of another type, or an unsupported dtype.
    ValueError
        A 0-d array, more than 255 dimensions, or a dimension of 2**32 or
        more.

    Examples
    --------
    >>> import os, shutil, tempfile
    >>> import numpy as np, fastdigits
    >>> d = tempfile.mkdtemp()
    >>> path = os.path.join(d, "labels-idx1-ubyte.gz")
    >>> fastdigits.write_idx(path, np.array([7, 2, 1, 0], np.uint8)) == path
    True
    >>> fastdigits.read_idx_header(path).compressed  # from the .gz name
    True
    >>> fastdigits.read_idx(path)
    array([7, 2, 1, 0], dtype=uint8)
    >>> shutil.rmtree(d)
    """
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError("path must be a str, bytes or os.PathLike, got %s" % type(path).__name__)
    arr = _check_writable_array(array)
    if compress is None:
        compress = os.fsdecode(os.fspath(path)).endswith(".gz")
    big = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder(">"))
    header = _idx_bytes_header(arr)

    def write(f: Any) -> None:
        if compress:
            write_chunked(f, _gzip_compress(_concat(header, big)))
        else:
            f.write(header)
            write_chunked(f, big.reshape(-1).view(np.uint8))

    atomic_write(path, write)
    return path


def _concat(header: bytes, big: np.ndarray) -> memoryview:
    buf = np.empty(len(header) + big.nbytes, np.uint8)
    buf[: len(header)] = np.frombuffer(header, np.uint8)
    buf[len(header) :] = big.reshape(-1).view(np.uint8)
    return memoryview(buf)
