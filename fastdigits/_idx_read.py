"""Reading IDX files: header parsing and validation (C), raw and gzip
decoding into native-order arrays, ``mmap=True`` views."""

from __future__ import annotations

from typing import Any, Tuple

import numpy as np

from . import _idx
from ._idx import IDXError
from ._idx_format import _GZIP_MAGIC, IDXHeader, Source, TYPE_CODES
from ._inflate import _inflate_into
from ._sources import _Input, _aligned_empty


# NumPy arrays have at most 32 (NumPy 1.x) or 64 (NumPy 2) dimensions; IDX
# allows 255, so deeper files are rejected cleanly instead of failing later.
_MAX_NDIM = 64 if int(np.__version__.split(".")[0]) >= 2 else 32


def _parse(head: bytes, stream_len: int, max_total: int):
    hdr = _idx.parse_header(head, stream_len, max_total)
    if hdr is not None and len(hdr[2]) > _MAX_NDIM:
        raise IDXError(
            "IDX rank %d at byte offset 3: NumPy arrays support at most "
            "%d dimensions" % (len(hdr[2]), _MAX_NDIM),
            3,
        )
    return hdr


def _gz_parse(comp: Any, complete: bool, total_size: int):
    """Parse the header at the start of gzip data `comp`; None: need more.
    total_size: compressed size of the whole file, -1 if not known yet."""
    head, need_more = _idx.gz_peek(comp, complete, _idx.MAX_HEADER)
    if need_more:
        return None
    # If the whole stream fit in the peek, its exact length is known.
    stream_len = len(head) if len(head) < _idx.MAX_HEADER else -1
    max_total = total_size * _idx.GZ_MAX_RATIO if total_size >= 0 else -1
    return _parse(head, stream_len, max_total)


def _gz_header(inp: _Input, first: bytes):
    """Parse the header of a gzip source, reading only as much as it needs."""
    comp = bytearray(first)
    step = 1 << 14
    while True:
        more = inp.read(step)
        comp += more
        complete = not more or (inp.size is not None and inp.pos >= inp.size)
        step = min(step * 4, 1 << 22)
        if inp.size is not None:
            total = inp.size
        else:  # a stream: its length is known only once it has ended
            total = len(comp) if complete else -1
        hdr = _gz_parse(bytes(comp), complete, total)
        if hdr is not None:
            return hdr


def _gz_read_all(inp: _Input, first: bytes) -> np.ndarray:
    """The whole compressed file as one uint8 array."""
    if inp.size is not None:  # straight into place, no copy
        comp = np.empty(len(first) + inp.size - inp.pos, np.uint8)
        comp = comp[: len(first) + inp.readinto(comp[len(first) :])]
    else:
        rest = inp.rest()
        comp = np.empty(len(first) + len(rest), np.uint8)
        comp[len(first) :] = rest
    comp[: len(first)] = np.frombuffer(first, np.uint8)
    return comp


def _raw_header(inp: _Input, first: bytes):
    head = first + inp.read(2)
    if len(head) == 4:
        head += inp.read(4 * head[3])
    hdr = _parse(head, inp.size if inp.size is not None else -1, -1)
    if hdr is None:  # size unknown: whatever we got is all there is
        hdr = _parse(head, len(head), -1)
    return hdr


def _read_body(inp: _Input, hlen: int, nbytes: int) -> np.ndarray:
    """The nbytes of raw IDX data after the header, checked to end exactly
    there (for files of known size _parse checked that already)."""
    data = inp.read_array(nbytes)
    if len(data) != nbytes:  # a stream, or the file changed size under us
        raise IDXError(
            "IDX data shorter than the header says: it ends at byte "
            "offset %d, the header implies %d bytes of data" % (hlen + len(data), nbytes),
            hlen + len(data),
        )
    _check_end(inp, hlen + nbytes)
    return data


def _check_end(inp: _Input, end: int) -> None:
    if inp.size is None or inp.pos < inp.size:
        if inp.read(1):
            raise IDXError(
                "IDX data longer than the header says: trailing bytes "
                "start at byte offset %d" % end,
                end,
            )


def read_idx_header(source: Source) -> IDXHeader:
    """Read and validate only the header of an IDX file (gzipped or raw).

    For gzip files just enough is inflated to see the header.  A seekable
    file object is put back at the position it had (a pipe or other stream
    cannot be; ``file_size`` is then -1).

    Parameters
    ----------
    source : path (str, bytes, PathLike) or binary file object

    Returns
    -------
    IDXHeader

    Raises
    ------
    IDXError
        A malformed header; the message names the problem and the byte
        offset.

    Examples
    --------
    >>> import fastdigits
    >>> hdr = fastdigits.read_idx_header(fastdigits.mnist_path("train-images"))
    >>> hdr.shape, hdr.dtype, hdr.compressed
    ((60000, 28, 28), dtype('uint8'), True)
    >>> hdr.nbytes
    47040000

    A file object is left where it was:

    >>> with open(fastdigits.mnist_path("test-images"), "rb") as f:
    ...     print(fastdigits.read_idx_header(f).shape, f.tell())
    (10000, 28, 28) 0
    """
    with _Input(source) as inp:
        try:
            first = inp.read(2)
            compressed = first == _GZIP_MAGIC
            if compressed:
                code, _, dims, hlen, _ = _gz_header(inp, first)
            else:
                code, _, dims, hlen, _ = _raw_header(inp, first)
        except IDXError as exc:
            raise inp.error(exc) from None
        finally:
            inp.rewind()
        return IDXHeader(
            TYPE_CODES[code], dims, hlen, compressed, -1 if inp.size is None else inp.size
        )


def _native(arr_u8: np.ndarray, code: int, dims: Tuple[int, ...]) -> np.ndarray:
    return arr_u8.view(TYPE_CODES[code]).reshape(dims)


def read_idx(source: Source, *, mmap: bool = False) -> np.ndarray:
    """Read an IDX file into a writeable NumPy array in native byte order.

    Parameters
    ----------
    source : path (str, bytes, PathLike) or binary file object
        gzip compression is detected from the magic bytes, not the name.
        File objects are read from their current position.  Pipes, FIFOs,
        ``/dev/stdin`` and devices are read to their end, with the same
        checks as regular files.  Ctrl-C interrupts a long read within a
        fraction of a second.
    mmap : bool
        For an uncompressed file on disk, return a copy-on-write memory map
        over the file instead of reading it (zero-copy, constant time; the
        dtype is big-endian, e.g. ``>i4``, for multi-byte types; writes stay
        private to the process).  Raises :class:`IDXError` for gzip files.

    Raises
    ------
    IDXError
        Bad magic, unknown type code, rank 0, overflowing dimensions, data
        shorter or longer than the header says, corrupt or truncated gzip;
        the message names the problem and the byte offset.

    Examples
    --------
    >>> import os, shutil, tempfile
    >>> import numpy as np, fastdigits
    >>> images = fastdigits.read_idx(fastdigits.mnist_path("test-images"))
    >>> images.shape, images.dtype
    ((10000, 28, 28), dtype('uint8'))

    Multi-byte types come back in native byte order, or stay big-endian in
    a memory map of a raw file:

    >>> d = tempfile.mkdtemp()
    >>> path = os.path.join(d, "numbers.idx")
    >>> _ = fastdigits.write_idx(path, np.arange(6, dtype=np.int32).reshape(2, 3))
    >>> fastdigits.read_idx(path)
    array([[0, 1, 2],
           [3, 4, 5]], dtype=int32)
    >>> mapped = fastdigits.read_idx(path, mmap=True)
    >>> mapped.dtype, mapped.tolist()
    (dtype('>i4'), [[0, 1, 2], [3, 4, 5]])
    >>> del mapped
    >>> shutil.rmtree(d)
    """
    with _Input(source) as inp:
        try:
            return _read(inp, bool(mmap))
        except IDXError as exc:
            raise inp.error(exc) from None


def _read(inp: _Input, mmap: bool) -> np.ndarray:
    first = inp.read(2)
    if first == _GZIP_MAGIC:
        if mmap:
            raise IDXError(
                "mmap=True needs an uncompressed IDX file but this one "
                "is gzip-compressed (decompress it once, e.g. write_idx("
                "path, read_idx(gz_path)), or use load_mnist(cache=True))"
            )
        comp = _gz_read_all(inp, first)
        code, elsize, dims, hlen, count = _gz_parse(comp, True, len(comp))
        region, _ = _aligned_empty(count * elsize, hlen)
        _inflate_into(comp, region, hlen)
        data = region[hlen:]
    else:
        code, elsize, dims, hlen, count = _raw_header(inp, first)
        nbytes = count * elsize
        if mmap:
            return _mmap(inp, code, dims, hlen, nbytes)
        data = _read_body(inp, hlen, nbytes)
    _idx.bswap_inplace(data, elsize)
    return _native(data, code, dims)


def _mmap(inp: _Input, code: int, dims: Tuple[int, ...], hlen: int, nbytes: int) -> np.ndarray:
    dtype = (
        TYPE_CODES[code].newbyteorder(">") if TYPE_CODES[code].itemsize > 1 else TYPE_CODES[code]
    )
    if nbytes == 0:
        return np.empty(dims, dtype)
    if not inp.regular:
        raise IDXError(
            "mmap=True needs a regular file on disk (a path or a real "
            "file object), not a pipe, device or in-memory object"
        )
    return np.memmap(inp.f, dtype=dtype, mode="c", offset=inp.start + hlen, shape=dims)
