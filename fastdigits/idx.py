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

import contextlib
import ctypes
import math
import ctypes.util
import io
import os
import stat
import threading
import zlib
from typing import Any, Iterator, NamedTuple, Optional, Tuple, Union

import numpy as np

from . import _idx
from ._atomic import atomic_write, write_chunked
from ._idx import IDXError

__all__ = [
    "IDXError",
    "IDXHeader",
    "inflate_backend",
    "read_idx",
    "read_idx_header",
    "read_idx_normalized",
    "write_idx",
]

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
_GZIP_MAGIC = b"\x1f\x8b"
_ALIGN = 64


class IDXHeader(NamedTuple):
    """What :func:`read_idx_header` learns without reading the data."""

    dtype: np.dtype      #: element type, native byte order
    shape: Tuple[int, ...]
    data_offset: int     #: bytes of header before the data (decompressed stream)
    compressed: bool     #: gzip file
    file_size: int       #: size of the file (compressed size for gzip); -1 if unknown

    @property
    def nbytes(self) -> int:
        """Bytes of decoded data."""
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


# ------------------------------------------------------------ inflate backend

class _Backend:
    def __init__(self) -> None:
        self.name = "zlib"
        self.addrs: Optional[Tuple[int, int, int]] = None
        self._lib = None  # keep the CDLL alive
        for name, path in self._candidates():
            try:
                lib = ctypes.CDLL(path)
                addrs = tuple(
                    ctypes.cast(getattr(lib, sym), ctypes.c_void_p).value
                    for sym in ("libdeflate_alloc_decompressor",
                                "libdeflate_gzip_decompress_ex",
                                "libdeflate_free_decompressor"))
            except (OSError, AttributeError):
                continue
            if all(addrs):
                self.name, self.addrs, self._lib = name, addrs, lib
                return

    @staticmethod
    def _candidates():
        try:
            import deflate._deflate as _d  # the wheel's extension exports libdeflate

            yield "libdeflate (deflate wheel)", _d.__file__
        except ImportError:
            pass
        sysname = ctypes.util.find_library("deflate")
        if sysname:
            yield "libdeflate (system)", sysname


_BACKEND = _Backend()
_local = threading.local()


def inflate_backend() -> str:
    """Which gzip inflater read_idx uses: 'libdeflate (deflate wheel)',
    'libdeflate (system)' or 'zlib'."""
    if getattr(_local, "force_zlib", False):
        return "zlib"
    return _BACKEND.name


@contextlib.contextmanager
def _force_zlib() -> Iterator[None]:
    """Testing aid: use the zlib streaming path in this Python thread."""
    old = getattr(_local, "force_zlib", False)
    _local.force_zlib = True
    try:
        yield
    finally:
        _local.force_zlib = old


def _libdeflate_addrs() -> Optional[Tuple[int, int, int]]:
    if getattr(_local, "force_zlib", False):
        return None
    return _BACKEND.addrs


# ------------------------------------------------------------------- sources

# Reads and writes go in pieces of at most this many bytes: one read(2) of
# gigabytes cannot be interrupted, and Python checks for Ctrl-C between
# pieces.  It is also the most a stream (pipe, FIFO, device) is trusted with
# before its data arrives: a header's promise alone never allocates more.
_PIECE = 1 << 26


class _Input:
    """A path or binary file object, read from its current position.

    Regular files (and seekable objects without a file descriptor, such as
    BytesIO) have a known size; anything else (pipes, FIFOs, /dev/stdin,
    character devices, sockets, non-seekable objects) is read as a stream of
    unknown length (``size`` None) until end of file.
    """

    def __init__(self, source: Source) -> None:
        self.close_after = False
        if isinstance(source, (str, bytes, os.PathLike)):
            self.name = os.fsdecode(source)
            self.f = open(source, "rb", buffering=0)
            self.close_after = True
        elif hasattr(source, "read"):
            self.f = source
            self.name = str(getattr(source, "name", None) or type(source).__name__)
        else:
            raise TypeError("source must be a path (str or os.PathLike) or a binary "
                            "file object, got %s" % type(source).__name__)
        self.start = 0
        self.size: Optional[int] = None  # bytes from start to end of file
        self.regular = False  # a regular file on disk (mmap-able)
        self.seekable = False
        try:
            st = os.fstat(self.f.fileno())
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            st = None  # no file descriptor (BytesIO, custom objects)
        try:
            if st is not None and not stat.S_ISREG(st.st_mode):
                pass  # a stream: fstat's size (0 for pipes) means nothing
            elif self.close_after:
                self.size = st.st_size
                self.regular = self.seekable = True
            elif self.f.seekable():
                self.start = self.f.tell()
                end = self.f.seek(0, io.SEEK_END)
                self.f.seek(self.start)
                self.size = end - self.start
                self.regular = st is not None
                self.seekable = True
        except (OSError, AttributeError, ValueError):
            self.size = None
        self.pos = 0  # bytes consumed so far

    def __enter__(self) -> "_Input":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.close_after:
            self.f.close()

    def rewind(self) -> None:
        """Put a caller's seekable file object back where it was."""
        if not self.close_after and self.seekable:
            self.f.seek(self.start)

    def error(self, exc: IDXError) -> IDXError:
        return IDXError("%s: %s" % (self.name, exc), getattr(exc, "offset", -1))

    def read(self, n: int) -> bytes:
        """Up to n more bytes (fewer only at end of file)."""
        parts = []
        while n > 0:
            chunk = self.f.read(min(n, _PIECE))
            if not chunk:
                break
            if not isinstance(chunk, (bytes, bytearray)):
                raise TypeError("source must be a binary file object (read() returned "
                                "%s)" % type(chunk).__name__)
            parts.append(chunk)
            n -= len(chunk)
            self.pos += len(chunk)
        return b"".join(parts)

    def readinto(self, buf: np.ndarray) -> int:
        """Fill the uint8 array buf from the current position; bytes read."""
        mv = memoryview(buf).cast("B")
        got = 0
        readinto = getattr(self.f, "readinto", None)
        while got < len(mv):
            want = min(len(mv) - got, _PIECE)
            if readinto is not None:
                n = readinto(mv[got:got + want])
            else:  # a minimal file-like object with read() only
                chunk = self.f.read(want)
                if chunk and not isinstance(chunk, (bytes, bytearray)):
                    raise TypeError("source must be a binary file object (read() "
                                    "returned %s)" % type(chunk).__name__)
                n = len(chunk) if chunk else 0
                mv[got:got + n] = chunk
            if not n:
                break
            got += n
        self.pos += got
        return got

    def read_array(self, nbytes: int) -> np.ndarray:
        """The next nbytes bytes (fewer at end of file) as a 64-byte aligned
        uint8 array.  From a stream, memory grows with the data that actually
        arrives, not with what a header promised."""
        if self.size is not None or nbytes <= _PIECE:
            buf, _ = _aligned_empty(nbytes, 0)
            return buf[:self.readinto(buf)]
        parts, got = [], 0
        while got < nbytes:
            part = np.empty(min(nbytes - got, _PIECE), np.uint8)
            n = self.readinto(part)
            parts.append(part[:n])
            got += n
            if n < len(part):
                break
        buf, _ = _aligned_empty(got, 0)
        if parts:
            np.concatenate(parts, out=buf)
        return buf

    def rest(self) -> np.ndarray:
        """Everything from the current position to the end of a stream."""
        return self.read_array(1 << 62)


def _aligned_empty(nbytes: int, lead: int) -> Tuple[np.ndarray, int]:
    """A uint8 buffer of lead + nbytes bytes where byte `lead` is 64-aligned."""
    raw = np.empty(lead + nbytes + _ALIGN, np.uint8)
    off = (-(raw.ctypes.data + lead)) % _ALIGN
    return raw[off:off + lead + nbytes], off


# NumPy arrays have at most 32 (NumPy 1.x) or 64 (NumPy 2) dimensions; IDX
# allows 255, so deeper files are rejected cleanly instead of failing later.
_MAX_NDIM = 64 if int(np.__version__.split(".")[0]) >= 2 else 32


def _parse(head: bytes, stream_len: int, max_total: int):
    hdr = _idx.parse_header(head, stream_len, max_total)
    if hdr is not None and len(hdr[2]) > _MAX_NDIM:
        raise IDXError("IDX rank %d at byte offset 3: NumPy arrays support at most "
                       "%d dimensions" % (len(hdr[2]), _MAX_NDIM), 3)
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
        comp = comp[:len(first) + inp.readinto(comp[len(first):])]
    else:
        rest = inp.rest()
        comp = np.empty(len(first) + len(rest), np.uint8)
        comp[len(first):] = rest
    comp[:len(first)] = np.frombuffer(first, np.uint8)
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
        raise IDXError("IDX data shorter than the header says: it ends at byte "
                       "offset %d, the header implies %d bytes of data"
                       % (hlen + len(data), nbytes), hlen + len(data))
    _check_end(inp, hlen + nbytes)
    return data


def _check_end(inp: _Input, end: int) -> None:
    if inp.size is None or inp.pos < inp.size:
        if inp.read(1):
            raise IDXError("IDX data longer than the header says: trailing bytes "
                           "start at byte offset %d" % end, end)


def read_idx_header(source: Source) -> IDXHeader:
    """Read and validate only the header of an IDX file (gzipped or raw).

    For gzip files just enough is inflated to see the header.  A seekable
    file object is put back at the position it had (a pipe or other stream
    cannot be; ``file_size`` is then -1).  Raises :class:`IDXError` for
    malformed headers, naming the problem and offset.
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
        return IDXHeader(TYPE_CODES[code], dims, hlen, compressed,
                         -1 if inp.size is None else inp.size)


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
    """
    with _Input(source) as inp:
        try:
            return _read(inp, bool(mmap))
        except IDXError as exc:
            raise inp.error(exc) from None


# libdeflate inflates a whole file in one call, which cannot stop for Ctrl-C.
# Outputs up to this size (tens of ms of work) are inflated inline, larger
# ones on a helper thread while the caller waits where Ctrl-C reaches it.
_INLINE_INFLATE = 1 << 26


def _inflate_into(comp: np.ndarray, region: np.ndarray, hlen: int) -> None:
    """_idx.gz_inflate_into, interruptible by Ctrl-C whichever inflater runs
    (zlib checks for signals between its chunks by itself)."""
    addrs = _libdeflate_addrs()
    if addrs is None or len(region) <= _INLINE_INFLATE:
        _idx.gz_inflate_into(comp, region, hlen, addrs)
    else:
        _run_interruptibly(_idx.gz_inflate_into, comp, region, hlen, addrs, False)


def _run_interruptibly(fn: Any, *args: Any) -> None:
    """fn(*args) (a GIL-free call that cannot poll) on a helper thread; the
    caller waits in Thread.join, which Ctrl-C interrupts.  After an interrupt
    the helper runs to its end in the background, holding the only
    references to its buffers, which nobody sees again."""
    failed: list = []

    def work() -> None:
        try:
            fn(*args)
        except BaseException as exc:  # handed to the caller below
            failed.append(exc)

    helper = threading.Thread(target=work, name="fastdigits-inflate", daemon=True)
    helper.start()
    helper.join()
    if failed:
        raise failed[0]


def _read(inp: _Input, mmap: bool) -> np.ndarray:
    first = inp.read(2)
    if first == _GZIP_MAGIC:
        if mmap:
            raise IDXError("mmap=True needs an uncompressed IDX file but this one "
                           "is gzip-compressed (decompress it once, e.g. write_idx("
                           "path, read_idx(gz_path)), or use load_mnist(cache=True))")
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


def _mmap(inp: _Input, code: int, dims: Tuple[int, ...], hlen: int,
          nbytes: int) -> np.ndarray:
    dtype = TYPE_CODES[code].newbyteorder(">") if TYPE_CODES[code].itemsize > 1 \
        else TYPE_CODES[code]
    if nbytes == 0:
        return np.empty(dims, dtype)
    if not inp.regular:
        raise IDXError("mmap=True needs a regular file on disk (a path or a real "
                       "file object), not a pipe, device or in-memory object")
    return np.memmap(inp.f, dtype=dtype, mode="c", offset=inp.start + hlen,
                     shape=dims)


# ---------------------------------------------------------- decode+normalise

def _check_norm_args(scale: Any, mean: Any, std: Any, dtype: Any) -> Tuple[float, float, float, np.dtype]:
    vals = []
    for name, v in (("scale", scale), ("mean", mean), ("std", std)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise TypeError("%s must be a real number, got %s" % (name, type(v).__name__))
        v = float(v)
        if not math.isfinite(v):
            raise ValueError("%s must be finite, got %r" % (name, v))
        vals.append(v)
    scale, mean, std = vals
    if std == 0.0:
        raise ValueError("std must be nonzero")
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError("dtype must be float32 or float64, got %r" % (dtype,)) from None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError("dtype must be float32 or float64, got %s" % dt)
    with np.errstate(over="ignore"):
        for what, v in (("scale/std", scale / std), ("mean/std", mean / std)):
            if not (math.isfinite(v) and np.isfinite(dt.type(v))):
                raise ValueError("%s = %r is not finite in %s" % (what, v, dt))
    return scale, mean, std, dt


def _check_out(out: Any, shape: Tuple[int, ...], dt: np.dtype) -> np.ndarray:
    if not isinstance(out, np.ndarray):
        raise TypeError("out must be a numpy.ndarray, got %s" % type(out).__name__)
    if out.dtype != dt:
        raise TypeError("out has dtype %s, expected %s (the dtype argument)" % (out.dtype, dt))
    if out.shape != shape:
        raise ValueError("out has shape %s, expected %s" % (out.shape, shape))
    if not out.flags.c_contiguous or not out.flags.aligned:
        raise ValueError("out must be C-contiguous and aligned")
    if not out.flags.writeable:
        raise ValueError("out must be writeable")
    return out


def read_idx_normalized(source: Source, *, scale: float = 1.0 / 255.0, mean: float = 0.0,
                        std: float = 1.0, dtype: Any = np.float32, flatten: bool = False,
                        out: Optional[np.ndarray] = None) -> np.ndarray:
    """Decode a uint8 IDX file straight into ``(pixels * scale - mean) / std``.

    Never holds the whole uint8 array: with libdeflate the gzip stream is
    inflated into the tail of the float result and normalised in place
    (``fd_normalize_u8_*_tail_inplace``); with zlib it is decoded chunk by
    chunk (with 2+ threads, inflating the next chunk overlaps normalising the
    last).  Raw files are read into the tail of the result, then normalised.
    Numerics are those of :func:`fastdigits.normalize` (one multiply by
    ``scale/std`` and one add of ``-mean/std`` in the output precision).

    Parameters
    ----------
    source : path or binary file object (gzip detected by magic bytes)
    scale, mean, std : float, finite, std nonzero
    dtype : float32 or float64
    flatten : bool
        Result of shape ``(N, prod(rest))`` instead of the file's shape (as
        :func:`fastdigits.normalize`; ``(N, 1)`` for a rank-1 file).
    out : ndarray, optional
        Result buffer of that shape and dtype, C-contiguous and writeable
        (it doubles as the decode buffer, so after an error its contents are
        unspecified).

    Raises
    ------
    IDXError
        For every malformed file (as :func:`read_idx`) and for files whose
        element type is not uint8.
    """
    from . import _idxnorm

    scale, mean, std, dt = _check_norm_args(scale, mean, std, dtype)
    with _Input(source) as inp:
        try:
            return _read_normalized(inp, _idxnorm, scale, mean, std, dt, bool(flatten), out)
        except IDXError as exc:
            raise inp.error(exc) from None


def _read_normalized(inp: _Input, _idxnorm: Any, scale: float, mean: float, std: float,
                     dt: np.dtype, flatten: bool, out: Optional[np.ndarray]) -> np.ndarray:
    first = inp.read(2)
    compressed = first == _GZIP_MAGIC
    if compressed:
        comp = _gz_read_all(inp, first)
        code, _, dims, hlen, count = _gz_parse(comp, True, len(comp))
    else:
        code, _, dims, hlen, count = _raw_header(inp, first)
    if code != 0x08:
        raise IDXError("read_idx_normalized needs a uint8 IDX file (type code 0x08), "
                       "got type code 0x%02x (%s) at byte offset 2"
                       % (code, TYPE_CODES[code]), 2)
    # As fastdigits.normalize(flatten=True): (N, prod(rest)), (N, 1) for rank 1.
    shape = (dims[0], math.prod(dims[1:])) if flatten else dims
    res = None if out is None else _check_out(out, shape, dt)
    # From a stream the pixels are read first: the result (4 or 8 times
    # larger) is allocated only once they have all arrived.
    pixels = _read_body(inp, hlen, count) if not compressed and inp.size is None else None
    if res is None:
        res = np.empty(shape, dt)
    flat = res.reshape(-1).view(np.uint8)
    if compressed:
        addrs = _libdeflate_addrs()
        lead = count * (dt.itemsize - 1) - hlen
        if addrs is not None and hlen + count > _INLINE_INFLATE and lead >= 0:
            if out is None:  # as gz_normalize_into, with an interruptible inflate
                _run_interruptibly(_idx.gz_inflate_into, comp, flat[lead:], hlen, addrs,
                                   False)
                _idxnorm.normalize_tail(flat, count, dt.itemsize, scale, mean, std)
                return res
            # The caller's `out` must not be written after Ctrl-C returns:
            # zlib, in chunks that check for signals.
            addrs = None
        _idxnorm.gz_normalize_into(comp, flat, hlen, count, dt.itemsize, scale, mean, std,
                                   addrs)
        return res
    tail = flat[count * (dt.itemsize - 1):]
    if pixels is not None:
        tail[:] = pixels
    else:
        got = inp.readinto(tail)
        if got != count:
            raise IDXError("IDX data shorter than the header says: it ends at byte "
                           "offset %d, the header implies %d bytes of data"
                           % (hlen + got, count), hlen + got)
        _check_end(inp, hlen + count)
    _idxnorm.normalize_tail(flat, count, dt.itemsize, scale, mean, std)
    return res


# ------------------------------------------------------------------- writing

def _idx_bytes_header(arr: np.ndarray) -> bytes:
    code = _CODE_OF[arr.dtype.newbyteorder("=")]
    dims = b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return bytes([0, 0, code, arr.ndim]) + dims


def _check_writable_array(array: Any) -> np.ndarray:
    arr = np.asarray(array)
    if arr.dtype.newbyteorder("=") not in _CODE_OF:
        raise TypeError("array dtype must be one of uint8, int8, int16, int32, "
                        "float32, float64 for IDX, got %s" % arr.dtype)
    if arr.ndim == 0:
        raise ValueError("array must have at least one dimension (IDX rank >= 1)")
    if arr.ndim > 255:
        raise ValueError("array has %d dimensions, IDX allows at most 255" % arr.ndim)
    for i, d in enumerate(arr.shape):
        if d > 0xFFFFFFFF:
            raise ValueError("array dimension %d is %d, IDX dimensions must fit "
                             "in 32 bits" % (i, d))
    return arr


def _gzip_compress(data: memoryview, level: int = 6) -> bytes:
    try:
        import deflate

        return deflate.gzip_compress(data, level)
    except ImportError:
        co = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        return co.compress(data) + co.flush()


def write_idx(path: PathLike, array: Any, *, compress: Optional[bool] = None) -> PathLike:
    """Write `array` to `path` (str, bytes or PathLike) as an IDX file,
    atomically; return `path`.

    The data go to a temporary file in the target's directory, which is
    flushed, fsync'ed and then renamed over the target, so readers never see
    a partial file and a failed or interrupted write leaves any existing file
    untouched.  A symlink is followed and its target replaced; an existing
    file keeps its permission bits (a new one gets 0666 minus the umask); a
    directory, FIFO or device at `path` is refused with an OSError.  gzip is
    used when ``compress`` is true or, when it is left as None, when the name
    ends in ``.gz``.  Supported dtypes: uint8, int8, int16, int32, float32,
    float64 (any byte order; written big-endian).
    """
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError("path must be a str, bytes or os.PathLike, got %s"
                        % type(path).__name__)
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
    buf[:len(header)] = np.frombuffer(header, np.uint8)
    buf[len(header):] = big.reshape(-1).view(np.uint8)
    return memoryview(buf)
