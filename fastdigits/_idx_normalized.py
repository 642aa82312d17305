"""Decode and normalise in one pass: :func:`fastdigits.read_idx_normalized`."""

from __future__ import annotations

import math
from typing import Any, Optional, Tuple

import numpy as np

from . import _idx
from ._args import float_dtype
from ._binding import out_buffer
from ._idx import IDXError
from ._idx_format import _GZIP_MAGIC, Source, TYPE_CODES
from ._idx_read import _check_end, _gz_parse, _gz_read_all, _raw_header, _read_body
from ._inflate import _INLINE_INFLATE, _libdeflate_addrs, _run_interruptibly
from ._sources import _Input


def _check_norm_args(
    scale: Any, mean: Any, std: Any, dtype: Any
) -> Tuple[float, float, float, np.dtype]:
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
    dt = float_dtype(dtype)
    with np.errstate(over="ignore"):
        for what, v in (("scale/std", scale / std), ("mean/std", mean / std)):
            if not (math.isfinite(v) and np.isfinite(dt.type(v))):
                raise ValueError("%s = %r is not finite in %s" % (what, v, dt))
    return scale, mean, std, dt


def _check_out(out: Any, shape: Tuple[int, ...], dt: np.dtype) -> np.ndarray:
    # the bindings' out= check: one wording for every kernel
    return out_buffer(out, "out", shape, dt)


def read_idx_normalized(
    source: Source,
    *,
    scale: float = 1.0 / 255.0,
    mean: float = 0.0,
    std: float = 1.0,
    dtype: Any = np.float32,
    flatten: bool = False,
    out: Optional[np.ndarray] = None,
) -> np.ndarray:
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

    Examples
    --------
    The same floats as reading the pixels and normalising them, without
    holding the uint8 array:

    >>> import numpy as np, fastdigits
    >>> path = fastdigits.mnist_path("test-images")
    >>> x = fastdigits.read_idx_normalized(path, mean=fastdigits.MNIST_MEAN,
    ...                                    std=fastdigits.MNIST_STD, flatten=True)
    >>> x.shape, x.dtype
    ((10000, 784), dtype('float32'))
    >>> pixels = fastdigits.read_idx(path)
    >>> np.array_equal(x, fastdigits.normalize(pixels, mean=fastdigits.MNIST_MEAN,
    ...                                        std=fastdigits.MNIST_STD, flatten=True))
    True
    """
    from . import _idxnorm

    scale, mean, std, dt = _check_norm_args(scale, mean, std, dtype)
    if not isinstance(flatten, (bool, np.bool_)):  # as normalize(): "no" is not True
        raise TypeError("flatten must be a bool, got %s" % type(flatten).__name__)
    with _Input(source) as inp:
        try:
            return _read_normalized(inp, _idxnorm, scale, mean, std, dt, bool(flatten), out)
        except IDXError as exc:
            raise inp.error(exc) from None


def _read_normalized(
    inp: _Input,
    _idxnorm: Any,
    scale: float,
    mean: float,
    std: float,
    dt: np.dtype,
    flatten: bool,
    out: Optional[np.ndarray],
) -> np.ndarray:
    first = inp.read(2)
    compressed = first == _GZIP_MAGIC
    if compressed:
        comp = _gz_read_all(inp, first)
        code, _, dims, hlen, count = _gz_parse(comp, True, len(comp))
    else:
        code, _, dims, hlen, count = _raw_header(inp, first)
    if code != 0x08:
        raise IDXError(
            "read_idx_normalized needs a uint8 IDX file (type code 0x08), "
            "got type code 0x%02x (%s) at byte offset 2" % (code, TYPE_CODES[code]),
            2,
        )
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
                _run_interruptibly(_idx.gz_inflate_into, comp, flat[lead:], hlen, addrs, False)
                _idxnorm.normalize_tail(flat, count, dt.itemsize, scale, mean, std)
                return res
            # The caller's `out` must not be written after Ctrl-C returns:
            # zlib, in chunks that check for signals.
            addrs = None
        _idxnorm.gz_normalize_into(comp, flat, hlen, count, dt.itemsize, scale, mean, std, addrs)
        return res
    tail = flat[count * (dt.itemsize - 1) :]
    if pixels is not None:
        tail[:] = pixels
    else:
        got = inp.readinto(tail)
        if got != count:
            raise IDXError(
                "IDX data shorter than the header says: it ends at byte "
                "offset %d, the header implies %d bytes of data" % (hlen + got, count),
                hlen + got,
            )
        _check_end(inp, hlen + count)
    _idxnorm.normalize_tail(flat, count, dt.itemsize, scale, mean, std)
    return res
