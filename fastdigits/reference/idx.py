"""Plain Python/NumPy IDX reader and writer (gzip, struct, np.frombuffer).

Same signatures and semantics as :mod:`fastdigits.idx`; used by the tests as
the oracle and by the benchmarks as the baseline.
"""

from __future__ import annotations

import gzip
import io
import os
import struct
import zlib
from typing import Any, Optional

import numpy as np

from .._atomic import atomic_write
from ..idx import IDXError, IDXHeader

__all__ = ["read_idx", "read_idx_header", "read_idx_normalized", "write_idx"]

_DTYPES = {0x08: "u1", 0x09: "i1", 0x0B: "i2", 0x0C: "i4", 0x0D: "f4", 0x0E: "f8"}


def _read_all(source: Any) -> bytes:
    if isinstance(source, (str, bytes, os.PathLike)):
        with open(source, "rb") as f:
            return f.read()
    if hasattr(source, "read"):
        return source.read()
    raise TypeError(
        "source must be a path (str or os.PathLike) or a binary file "
        "object, got %s" % type(source).__name__
    )


def _decompress(raw: bytes) -> bytes:
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise IDXError("corrupt or truncated gzip data: %s" % exc) from None


def _parse(data: bytes, exact: bool):
    if len(data) < 4:
        raise IDXError("short IDX header at byte offset %d" % len(data), len(data))
    zero, code, rank = struct.unpack(">HBB", data[:4])
    if zero != 0:
        raise IDXError("bad IDX magic number at byte offset 0", 0)
    if code not in _DTYPES:
        raise IDXError("unknown IDX element type code 0x%02x at byte offset 2" % code, 2)
    if rank == 0:
        raise IDXError("IDX rank 0 at byte offset 3", 3)
    hlen = 4 + 4 * rank
    if len(data) < hlen:
        raise IDXError("short IDX header at byte offset %d" % len(data), len(data))
    dims = struct.unpack(">%dI" % rank, data[4:hlen])
    dtype = np.dtype(">" + _DTYPES[code])
    nbytes = int(np.prod(dims, dtype=object)) * dtype.itemsize
    if exact and len(data) - hlen < nbytes:
        raise IDXError(
            "IDX data shorter than the header says, ends at byte offset %d" % len(data), len(data)
        )
    if exact and len(data) - hlen > nbytes:
        raise IDXError(
            "IDX data longer than the header says, trailing bytes at "
            "byte offset %d" % (hlen + nbytes),
            hlen + nbytes,
        )
    return dtype, tuple(dims), hlen


def read_idx_header(source: Any) -> IDXHeader:
    """Header of an IDX file (reads and decompresses the whole file)."""
    raw = _read_all(source)
    compressed = raw[:2] == b"\x1f\x8b"
    data = _decompress(raw) if compressed else raw
    dtype, dims, hlen = _parse(data, exact=not compressed)
    return IDXHeader(dtype.newbyteorder("="), dims, hlen, compressed, len(raw))


def read_idx(source: Any, *, mmap: bool = False) -> np.ndarray:
    """IDX file -> writeable native-order array (np.memmap when mmap=True)."""
    if mmap:
        if not isinstance(source, (str, bytes, os.PathLike)):
            raise TypeError("the reference read_idx supports mmap=True for paths only")
        with open(source, "rb") as f:
            head = f.read(1024)
        if head[:2] == b"\x1f\x8b":
            raise IDXError("mmap=True needs an uncompressed IDX file")
        dtype, dims, hlen = _parse(head, exact=False)
        if 0 in dims:
            return np.empty(dims, dtype)
        return np.memmap(source, dtype=dtype, mode="c", offset=hlen, shape=dims)
    raw = _read_all(source)
    data = _decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    dtype, dims, hlen = _parse(data, exact=True)
    arr = np.frombuffer(data, dtype, offset=hlen, count=int(np.prod(dims)))
    return arr.astype(dtype.newbyteorder("=")).reshape(dims)


def read_idx_normalized(
    source: Any,
    *,
    scale: float = 1.0 / 255.0,
    mean: float = 0.0,
    std: float = 1.0,
    dtype: Any = np.float32,
    flatten: bool = False,
    out: Optional[np.ndarray] = None,
) -> np.ndarray:
    """uint8 IDX file -> (x * scale - mean) / std as float32/float64."""
    x = read_idx(source)
    if x.dtype != np.uint8:
        raise IDXError("read_idx_normalized needs a uint8 IDX file, got %s" % x.dtype)
    dtype = np.dtype(dtype)
    if flatten:
        x = x.reshape(x.shape[0], int(np.prod(x.shape[1:], dtype=np.int64)))
    res = ((x.astype(np.float64) * scale - mean) / std).astype(dtype)
    if out is not None:
        out[...] = res
        return out
    return res


def write_idx(path: Any, array: Any, *, compress: Optional[bool] = None) -> Any:
    """array -> IDX file at path (gzip if compress or name ends in .gz), atomically."""
    arr = np.asarray(array)
    codes = {np.dtype(v): k for k, v in _DTYPES.items()}
    code = codes.get(arr.dtype.newbyteorder("="))
    if code is None:
        raise TypeError("array dtype %s is not supported by IDX" % arr.dtype)
    if arr.ndim == 0:
        raise ValueError("array must have at least one dimension")
    header = struct.pack(">HBB%dI" % arr.ndim, 0, code, arr.ndim, *arr.shape)
    body = header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    if compress is None:
        compress = os.fsdecode(os.fspath(path)).endswith(".gz")
    if compress:
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as g:
            g.write(body)
        body = buf.getvalue()
    atomic_write(path, lambda f: f.write(body))
    return path
