"""The IDX decoder fuzz target: one input -> every decoding route, checked.

``check(data)`` feeds one byte string to the public IDX readers through
every kind of source (path, seekable file object, non-seekable stream; mmap
for paths; libdeflate and zlib inflaters for gzip) and asserts:

* the only exception is :class:`fastdigits.IDXError` (a ``ValueError``):
  anything else, a crash, a hang or a sanitizer report is a bug;
* all routes agree: same array (bit for bit) or all raise;
* ``read_idx_header`` agrees with ``read_idx``;
* a successful decode equals an independent pure-Python decode of the bytes
  (struct + NumPy here, zlib for gzip); for uncompressed input the two must
  also agree on *whether* the bytes are a valid IDX file;
* ``read_idx_normalized`` (when present) equals normalising ``read_idx``.

Used by the atheris harness (fuzz_idx.py) and replayed by
tests/test_fuzz_regressions.py over the seed corpus and every saved crash.
"""

from __future__ import annotations

import atexit
import io
import os
import shutil
import struct
import tempfile
import zlib

import numpy as np

import fastdigits
import fastdigits.idx as _idxmod

# The public fastdigits.read_idx & co. are these same functions.
from fastdigits.idx import IDXError, read_idx, read_idx_header

CODES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
GZ_MAX_RATIO = 1032
MAX_NDIM = 64 if int(np.__version__.split(".")[0]) >= 2 else 32
_TMPDIR = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


class Invalid(Exception):
    """The independent decoder's verdict: not a valid IDX stream."""


def decode_reference(data: bytes) -> np.ndarray:
    """Independent IDX decoder (no fastdigits code): raises Invalid."""
    if data[:2] == b"\x1f\x8b":
        out = []
        rest = data
        while rest:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                out.append(d.decompress(rest))
            except zlib.error as exc:
                raise Invalid("gzip: %s" % exc) from None
            if not d.eof:
                raise Invalid("gzip: truncated")
            # Zero padding after a member is skipped, as gzip(1) and Python's
            # gzip.decompress do (before another member or at the end).
            rest = d.unused_data.lstrip(b"\x00")
        data = b"".join(out)
    if len(data) < 4:
        raise Invalid("short header")
    if data[0] or data[1]:
        raise Invalid("magic")
    code, rank = data[2], data[3]
    if code not in CODES:
        raise Invalid("type code")
    if rank == 0:
        raise Invalid("rank 0")
    if rank > MAX_NDIM:
        raise Invalid("more dimensions than NumPy supports")
    hlen = 4 + 4 * rank
    if len(data) < hlen:
        raise Invalid("short dims")
    dims = struct.unpack(">%dI" % rank, data[4:hlen])
    nonzero = 1
    for d in dims:
        nonzero *= d or 1
    # fastdigits' documented bound (NumPy's is 2**63 - 1 bytes): the header
    # plus the data, counting non-zero dims only, stay below 2**59 bytes.
    if nonzero * CODES[code].itemsize > (2**63 - 1) // 16 - hlen:
        raise Invalid("dimension product overflows")
    count = 0 if 0 in dims else nonzero
    nbytes = count * CODES[code].itemsize
    if len(data) - hlen != nbytes:
        raise Invalid("data length %d != %d" % (len(data) - hlen, nbytes))
    arr = np.frombuffer(data, CODES[code], count=count, offset=hlen).reshape(dims)
    return arr.astype(CODES[code].newbyteorder("="))


class _Stream(io.RawIOBase):
    """A non-seekable binary stream (a pipe or socket, say) over bytes."""

    def __init__(self, data: bytes) -> None:
        self._b = io.BytesIO(data)

    def readable(self):
        return True

    def seekable(self):
        return False

    def readinto(self, b):
        # Short reads, as from a pipe.
        n = min(len(b), 4096)
        chunk = self._b.read(n)
        b[: len(chunk)] = chunk
        return len(chunk)


def _outcome(fn, *args, **kw):
    """('ok', result) or ('err', IDXError); any other exception propagates."""
    try:
        return ("ok", fn(*args, **kw))
    except IDXError as exc:
        msg = str(exc)
        assert msg, "IDXError without a message"
        return ("err", exc)


def _bits(a) -> np.ndarray:
    a = np.asarray(a)
    return np.ascontiguousarray(a.astype(a.dtype.newbyteorder("="))).view(np.uint8)


def _same(a, b) -> bool:
    """Same shape, element type and bits (byte order aside; NaN payloads too)."""
    a, b = np.asarray(a), np.asarray(b)
    return (
        a.shape == b.shape
        and a.dtype.newbyteorder("=") == b.dtype.newbyteorder("=")
        and np.array_equal(_bits(a), _bits(b))
    )


def check(data: bytes, use_path: bool = True, sample: bool = False) -> str:
    """Run every decoding route on `data`; returns 'valid' or 'invalid'.

    sample=True (the fuzzer's mode, for throughput): besides the in-memory
    file object, only one other route per input, picked by a hash of the
    bytes (so a saved input replays the same way)."""
    data = bytes(data)
    is_gz = data[:2] == b"\x1f\x8b"
    pick = zlib.crc32(data) % 3 if sample else -1
    routes = [("bytesio", lambda: io.BytesIO(data))]
    if pick in (-1, 0):
        routes.append(("stream", lambda: _Stream(data)))
    use_path = use_path and pick in (-1, 1)
    path = None
    if use_path:
        path = _scratch_path()
        with open(path, "wb") as f:
            f.write(data)
        routes.append(("path", lambda: path))
    try:
        results = {}
        for name, src in routes:
            results[name] = _outcome(read_idx, src())
            hdr = _outcome(read_idx_header, src())
            if results[name][0] == "ok":
                arr = results[name][1]
                assert hdr[0] == "ok", "read_idx worked but read_idx_header raised %r" % hdr[1]
                h = hdr[1]
                assert tuple(h.shape) == arr.shape and h.dtype == arr.dtype, (h, arr.shape)
                assert h.compressed == is_gz
                assert arr.flags.writeable and arr.flags.c_contiguous
            if is_gz and (pick in (-1, 2) or name == "path"):
                with _idxmod._force_zlib():
                    results[name + "+zlib"] = _outcome(read_idx, src())
        if path is not None:
            results["mmap"] = _outcome(read_idx, path, mmap=True)
            if is_gz:
                assert results["mmap"][0] == "err", "mmap=True accepted a gzip file"
                del results["mmap"]
        kinds = {k: v[0] for k, v in results.items()}
        assert len(set(kinds.values())) == 1, "routes disagree: %s (%s)" % (
            kinds,
            {k: repr(v[1])[:200] for k, v in results.items() if v[0] == "err"},
        )
        first = next(iter(results.values()))
        try:
            ref = decode_reference(data)
            ref_ok = True
        except Invalid:
            ref_ok = False
        if first[0] == "ok":
            assert ref_ok, "fastdigits decoded bytes the reference decoder rejects"
            for k, v in results.items():
                assert _same(v[1], ref), "route %s decoded different values" % k
            _check_normalized(data, ref)
            return "valid"
        if not is_gz:
            # Raw IDX validity is unambiguous: both decoders must reject.
            assert not ref_ok, "fastdigits rejected a valid IDX file: %s" % first[1]
        return "invalid"
    finally:
        results = None  # drop memory maps before the scratch file is reused


_scratch = {}


def _scratch_path() -> str:
    """A per-process scratch file name (reused: creating names is slow)."""
    pid = os.getpid()
    if pid not in _scratch:
        d = tempfile.mkdtemp(prefix="fdfuzz-", dir=_TMPDIR)
        atexit.register(shutil.rmtree, d, True)
        _scratch[pid] = os.path.join(d, "input.idx")
    return _scratch[pid]


def _check_normalized(data: bytes, ref: np.ndarray) -> None:
    fn = getattr(fastdigits, "read_idx_normalized", None)
    if fn is None or ref.dtype != np.uint8 or ref.size > (1 << 20):
        return
    for dtype in (np.float32, np.float64):
        got = fn(io.BytesIO(data), mean=0.25, std=0.5, dtype=dtype)
        want = (ref.astype(np.float64) * (1 / 255) - 0.25) / 0.5
        assert got.dtype == dtype and got.shape == ref.shape
        np.testing.assert_allclose(
            got, want.astype(dtype), rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-6
        )
