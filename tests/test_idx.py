"""IDX reading and writing: round trips, parity with the reference, sources,
mmap, every inflate backend, SIMD path and thread count, and bad files."""

import contextlib
import gzip
import io
import os
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastdigits
from fastdigits import IDXError, _idx_write, idx, read_idx, read_idx_header, write_idx
from fastdigits import reference as ref

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
CODES = {
    np.uint8: 0x08,
    np.int8: 0x09,
    np.int16: 0x0B,
    np.int32: 0x0C,
    np.float32: 0x0D,
    np.float64: 0x0E,
}
BUNDLED = os.path.join(os.path.dirname(fastdigits.__file__), "data", "mnist")


def sample(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == "f":
        return (rng.standard_normal(shape) * 1e3).astype(dt)
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dt)


def idx_bytes(arr):
    arr = np.asarray(arr)
    head = struct.pack(">HBB%dI" % arr.ndim, 0, CODES[arr.dtype.type], arr.ndim, *arr.shape)
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


# ------------------------------------------------------------------ round trips


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4), (1, 2, 1, 3, 2), (0, 4)])
@pytest.mark.parametrize("compress", [False, True])
def test_round_trip_every_dtype_and_rank(tmp_path, inflater, dtype, shape, compress):
    x = sample(dtype, shape)
    path = tmp_path / ("a.idx.gz" if compress else "a.idx")
    assert write_idx(path, x) == path
    with open(path, "rb") as f:
        assert (f.read(2) == b"\x1f\x8b") == compress
    y = read_idx(path)
    assert y.dtype == np.dtype(dtype) and y.dtype.isnative
    assert y.shape == shape
    assert y.flags.writeable and y.flags.c_contiguous
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(ref.read_idx(path), x)


def test_compress_flag_overrides_name(tmp_path):
    x = sample(np.int16, (4, 4))
    write_idx(tmp_path / "a.gz", x, compress=False)
    write_idx(tmp_path / "b.idx", x, compress=True)
    assert not read_idx_header(tmp_path / "a.gz").compressed
    assert read_idx_header(tmp_path / "b.idx").compressed
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), x)
    np.testing.assert_array_equal(read_idx(tmp_path / "b.idx"), x)


def test_written_bytes_are_standard_idx(tmp_path):
    x = sample(np.float32, (3, 2))
    write_idx(tmp_path / "a.idx", x)
    assert (tmp_path / "a.idx").read_bytes() == idx_bytes(x)
    write_idx(tmp_path / "a.idx.gz", x)
    assert gzip.decompress((tmp_path / "a.idx.gz").read_bytes()) == idx_bytes(x)


def test_write_accepts_any_byte_order_and_layout(tmp_path):
    x = sample(np.int32, (5, 6))
    write_idx(tmp_path / "be.idx", x.astype(">i4"))
    write_idx(tmp_path / "f.idx", np.asfortranarray(x))
    ro = x.copy()
    ro.flags.writeable = False
    write_idx(tmp_path / "ro.idx", ro)
    for name in ("be.idx", "f.idx", "ro.idx"):
        np.testing.assert_array_equal(read_idx(tmp_path / name), x)


@settings(max_examples=30, deadline=None)
@given(
    dtype=st.sampled_from(DTYPES),
    shape=st.lists(st.integers(0, 6), min_size=1, max_size=4).map(tuple),
    compress=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_property_parity_with_reference(tmp_path_factory, dtype, shape, compress, seed):
    d = tmp_path_factory.mktemp("prop")
    x = sample(dtype, shape, seed)
    ref.write_idx(d / "r.idx", x, compress=compress)
    write_idx(d / "f.idx", x, compress=compress)
    for p in (d / "r.idx", d / "f.idx"):
        y = read_idx(p)
        np.testing.assert_array_equal(y, ref.read_idx(p))
        assert y.dtype == ref.read_idx(p).dtype
        h, rh = read_idx_header(p), ref.read_idx_header(p)
        assert h == rh


# --------------------------------------------------------------------- sources


def test_file_objects_and_paths_agree(tmp_path, inflater):
    x = sample(np.float64, (9, 3))
    for name in ("a.idx", "a.idx.gz"):
        p = tmp_path / name
        write_idx(p, x)
        np.testing.assert_array_equal(read_idx(str(p)), x)
        with open(p, "rb") as f:
            np.testing.assert_array_equal(read_idx(f), x)
        with open(p, "rb", buffering=0) as f:
            np.testing.assert_array_equal(read_idx(f), x)
        np.testing.assert_array_equal(read_idx(io.BytesIO(p.read_bytes())), x)


class Unseekable(io.RawIOBase):
    """A pipe-like stream: no seek, no tell, short reads."""

    def __init__(self, data):
        self._b = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, buf):
        chunk = self._b.read(min(len(buf), 7))
        buf[: len(chunk)] = chunk
        return len(chunk)


def test_unseekable_stream(inflater):
    x = sample(np.int16, (4, 5))
    raw = idx_bytes(x)
    for data in (raw, gzip.compress(raw)):
        np.testing.assert_array_equal(read_idx(Unseekable(data)), x)
        h = read_idx_header(Unseekable(data))
        assert h.shape == (4, 5) and h.dtype == np.int16
    with pytest.raises(IDXError, match="shorter"):
        read_idx(Unseekable(raw[:-1]))
    with pytest.raises(IDXError, match="longer"):
        read_idx(Unseekable(raw + b"\0"))


class ReadOnlyMethod:
    """Seekable, but with read() only (no readinto)."""

    def __init__(self, data):
        self._b = io.BytesIO(data)
        self.read, self.seek, self.tell = self._b.read, self._b.seek, self._b.tell

    def seekable(self):
        return True


def test_minimal_file_like_object(inflater):
    x = sample(np.float32, (3, 7))
    for data in (idx_bytes(x), gzip.compress(idx_bytes(x))):
        np.testing.assert_array_equal(read_idx(ReadOnlyMethod(data)), x)


def test_file_object_read_from_its_position():
    x = sample(np.uint8, (6,))
    blob = b"JUNKJUNK" + idx_bytes(x)
    f = io.BytesIO(blob)
    f.seek(8)
    np.testing.assert_array_equal(read_idx(f), x)


def test_bad_source_types():
    with pytest.raises(TypeError, match="source"):
        read_idx(12)
    with pytest.raises(TypeError, match="source"):
        read_idx_header(None)
    with pytest.raises(TypeError, match="binary"):
        read_idx(io.StringIO("abc"))


# ------------------------------------------------------------------------ mmap


@pytest.mark.parametrize("dtype", DTYPES)
def test_mmap_is_zero_copy_over_the_file(tmp_path, dtype):
    x = sample(dtype, (50, 3, 2))
    p = tmp_path / "a.idx"
    write_idx(p, x)
    m = read_idx(p, mmap=True)
    assert isinstance(m, np.memmap)
    import mmap as _mmap

    assert isinstance(m.base, _mmap.mmap)
    assert m.dtype.itemsize == 1 or m.dtype.byteorder == ">"
    np.testing.assert_array_equal(m, x)
    assert m.flags.writeable  # copy-on-write: writes stay private
    m[0] = 0
    np.testing.assert_array_equal(read_idx(p), x)
    with open(p, "rb") as f:
        f.seek(0)
        np.testing.assert_array_equal(read_idx(f, mmap=True), x)


def test_mmap_of_gzip_or_memory_is_refused(tmp_path):
    x = sample(np.uint8, (5,))
    write_idx(tmp_path / "a.idx.gz", x)
    with pytest.raises(IDXError, match="gzip"):
        read_idx(tmp_path / "a.idx.gz", mmap=True)
    with pytest.raises(IDXError, match="file on disk"):
        read_idx(io.BytesIO(idx_bytes(x)), mmap=True)


def test_mmap_empty_and_bad_header(tmp_path):
    write_idx(tmp_path / "e.idx", np.zeros((0, 3), np.int32))
    e = read_idx(tmp_path / "e.idx", mmap=True)
    assert e.shape == (0, 3)
    (tmp_path / "s.idx").write_bytes(idx_bytes(np.arange(10, dtype=np.uint8))[:-1])
    with pytest.raises(IDXError, match="shorter"):
        read_idx(tmp_path / "s.idx", mmap=True)


# ------------------------------------------------------------------ header


def test_read_idx_header_fields(tmp_path):
    x = sample(np.int32, (4, 5, 6))
    p = tmp_path / "a.idx"
    write_idx(p, x)
    h = read_idx_header(p)
    assert h.dtype == np.int32 and h.shape == (4, 5, 6)
    assert h.data_offset == 16 and not h.compressed
    assert h.file_size == os.path.getsize(p) and h.nbytes == x.nbytes
    write_idx(tmp_path / "a.gz", x)
    g = read_idx_header(tmp_path / "a.gz")
    assert g.compressed and g.shape == (4, 5, 6) and g.data_offset == 16
    assert g.file_size == os.path.getsize(tmp_path / "a.gz")


def test_header_does_not_read_the_data(tmp_path):
    # Corrupt the deflate stream far from the start: the header still reads,
    # the full decode fails.
    x = sample(np.float64, (4000,))
    comp = bytearray(zlib_gzip(idx_bytes(x), level=0))
    comp[len(comp) // 2] ^= 0xFF
    p = tmp_path / "c.gz"
    p.write_bytes(bytes(comp))
    assert read_idx_header(p).shape == (4000,)
    with pytest.raises(IDXError):
        read_idx(p)


def test_bundled_header():
    h = read_idx_header(os.path.join(BUNDLED, "train-images-idx3-ubyte.gz"))
    assert h == (np.dtype(np.uint8), (60000, 28, 28), 16, True, 9912422)


# --------------------------------------------------------- SIMD and threads


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 3, 31, 33, 257, 400_003])
def test_byteswap_every_simd_path_and_thread_count(tmp_path, dtype, n, isa, threads):
    x = sample(dtype, (n,), seed=n)
    p = tmp_path / "a.idx"
    write_idx(p, x)
    with fastdigits.simd(isa), fastdigits.threads(threads):
        r = read_idx(p)
    assert r.tobytes() == x.tobytes()  # exact, NaN payloads and -0.0 included


def test_data_is_64_byte_aligned(inflater):
    a = read_idx(os.path.join(BUNDLED, "t10k-images-idx3-ubyte.gz"))
    assert a.ctypes.data % 64 == 0


# -------------------------------------------------------------- gzip specials


def zlib_gzip(data, level=6):
    co = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return co.compress(data) + co.flush()


@pytest.mark.parametrize("cuts", [(1,), (3,), (10,), (20, 50), (5, 6, 7, 100)])
def test_multi_member_gzip(tmp_path, inflater, cuts):
    x = sample(np.int32, (40,))
    raw = idx_bytes(x)
    bounds = [0, *cuts, len(raw)]
    data = b"".join(gzip.compress(raw[a:b]) for a, b in zip(bounds, bounds[1:]))
    p = tmp_path / "m.gz"
    p.write_bytes(data)
    np.testing.assert_array_equal(read_idx(p), x)
    np.testing.assert_array_equal(read_idx(io.BytesIO(data)), x)
    assert read_idx_header(p).shape == (40,)


def test_gzip_zero_padding_accepted_garbage_rejected(tmp_path, inflater):
    x = sample(np.uint8, (100,))
    comp = gzip.compress(idx_bytes(x))
    np.testing.assert_array_equal(read_idx(io.BytesIO(comp + b"\0" * 9)), x)
    with pytest.raises(IDXError, match="trailing data .* byte offset %d" % len(comp)):
        read_idx(io.BytesIO(comp + b"garbage"))
    with pytest.raises(IDXError, match="byte offset %d" % len(comp)):
        read_idx(io.BytesIO(comp + b"\x01"))


def test_gzip_detected_by_magic_not_name(tmp_path, inflater):
    x = sample(np.float32, (8,))
    (tmp_path / "plain.gz").write_bytes(idx_bytes(x))
    (tmp_path / "packed.idx").write_bytes(gzip.compress(idx_bytes(x)))
    np.testing.assert_array_equal(read_idx(tmp_path / "plain.gz"), x)
    np.testing.assert_array_equal(read_idx(tmp_path / "packed.idx"), x)


def test_backend_name():
    assert idx.inflate_backend() in ("libdeflate (deflate wheel)", "libdeflate (system)", "zlib")
    with idx._force_zlib():
        assert idx.inflate_backend() == "zlib"


# ------------------------------------------------------------------- bad files


def bad(data, match, header_sees_it=True):
    with pytest.raises(IDXError, match=match) as ei:
        read_idx(io.BytesIO(data))
    if header_sees_it:
        with pytest.raises(IDXError):
            read_idx_header(io.BytesIO(data))
    with pytest.raises(IDXError):
        ref.read_idx(io.BytesIO(data))
    return ei.value


@pytest.mark.parametrize("wrap", [lambda b: b, gzip.compress], ids=["raw", "gzip"])
def test_bad_headers(inflater, wrap):
    bad(wrap(b""), "empty" if wrap(b"") == b"" else "shorter|short|empty")
    bad(wrap(b"\0\0"), "short IDX header.*byte offset 2")
    bad(wrap(b"\x01\0\x08\x01" + b"\0\0\0\1" + b"\0"), "bad IDX magic.*byte offset 0")
    e = bad(
        wrap(b"\0\0\x0a\x01" + b"\0\0\0\1" + b"\0"), "unknown IDX element type code 0x0a.*offset 2"
    )
    assert e.offset == 2
    bad(wrap(b"\0\0\x08\x00"), "rank 0 at byte offset 3")
    bad(wrap(b"\0\0\x08\x03\0\0\0\1\0\0"), "short IDX header.*byte offset 10.*16 bytes")
    big = b"\0\0\x0e\x04" + b"\xff\xff\xff\xff" * 4
    e = bad(wrap(big), "dimension product overflows at byte offset 8")
    assert e.offset == 8


def test_raw_data_length_errors():
    x = idx_bytes(np.arange(10, dtype=np.int16))
    e = bad(x[:-2], r"shorter.*byte offset %d" % (len(x) - 2))
    assert e.offset == len(x) - 2
    e = bad(x + b"\0\0", r"longer.*byte offset %d" % len(x))
    assert e.offset == len(x)


def test_gzip_data_length_errors(inflater):
    x = idx_bytes(np.arange(1000, dtype=np.int16))
    e = bad(gzip.compress(x[:-2]), r"shorter.*byte offset %d" % (len(x) - 2), False)
    assert e.offset == len(x) - 2
    e = bad(gzip.compress(x + b"\0\0"), r"longer.*byte offset %d" % len(x), False)
    assert e.offset == len(x)


def test_tiny_gzip_claiming_huge_data_fails_before_allocating(inflater):
    # 4 GiB claimed by a ~30-byte file: rejected on the deflate-ratio bound.
    data = gzip.compress(b"\0\0\x08\x02" + struct.pack(">II", 65536, 65536))
    e = bad(data, "more than a gzip file of this size can hold")
    assert e.offset == 4


def test_tiny_raw_file_claiming_huge_data_fails_before_allocating():
    data = b"\0\0\x0e\x03" + struct.pack(">III", 65536, 65536, 65536)
    e = bad(data, "shorter than the header says.*byte offset 16")
    assert e.offset == 16


def test_corrupt_gzip_names_offset(inflater):
    x = idx_bytes(sample(np.float32, (5000,)))
    comp = bytearray(zlib_gzip(x))
    comp[-6] ^= 0x55  # inside the CRC32 trailer
    e = bad(bytes(comp), r"corrupt gzip data at or before compressed byte offset \d+", False)
    assert len(comp) - 8 <= e.offset <= len(comp)
    comp = bytearray(zlib_gzip(x))
    comp[len(comp) // 2] ^= 0xFF
    bad(bytes(comp), r"corrupt gzip|longer|shorter", False)


def small_files():
    x = sample(np.int32, (3, 4), seed=5)
    raw = idx_bytes(x)
    return x, raw, gzip.compress(raw)


@pytest.mark.parametrize("kind", ["raw", "gzip"])
def test_truncation_at_every_byte_offset(tmp_path, inflater, kind):
    x, raw, comp = small_files()
    data = raw if kind == "raw" else comp
    np.testing.assert_array_equal(read_idx(io.BytesIO(data)), x)
    p = tmp_path / "t"
    for k in range(len(data)):
        with pytest.raises(IDXError) as ei:
            read_idx(io.BytesIO(data[:k]))
        assert "byte offset" in str(ei.value)
        p.write_bytes(data[:k])
        with pytest.raises(IDXError):
            read_idx(p)
        with pytest.raises(IDXError):
            read_idx(Unseekable(data[:k]))


def test_short_raw_file_message_gives_its_end_and_the_complete_size(tmp_path):
    """A 9-byte file whose header implies 10 was reported as "(file size 10)"."""
    p = tmp_path / "short.idx"
    p.write_bytes(b"\0\0\x08\x01\0\0\0\x02\x01")  # 1 of 2 data bytes
    with pytest.raises(
        IDXError,
        match=r"ends at byte offset 9, the header implies 2 bytes "
        r"of data \(a complete file has 10 bytes\)",
    ):
        read_idx(p)


def test_truncated_bundled_labels(tmp_path, inflater):
    data = open(os.path.join(BUNDLED, "t10k-labels-idx1-ubyte.gz"), "rb").read()
    for k in (10, 100, len(data) // 2, len(data) - 8, len(data) - 1):
        with pytest.raises(IDXError, match="truncated|corrupt"):
            read_idx(io.BytesIO(data[:k]))


def test_error_message_names_the_file(tmp_path):
    p = tmp_path / "broken.idx"
    p.write_bytes(b"\0\0\x07\x01")
    with pytest.raises(IDXError, match="broken.idx.*type code 0x07"):
        read_idx(p)
    assert issubclass(IDXError, ValueError)


# ------------------------------------------------------------------- writing


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    p = tmp_path / "a.idx"
    old = sample(np.uint8, (10,))
    write_idx(p, old)

    def boom(fd):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk on fire"):
        write_idx(p, sample(np.uint8, (20,), seed=3))
    monkeypatch.undo()
    np.testing.assert_array_equal(read_idx(p), old)
    assert sorted(os.listdir(tmp_path)) == ["a.idx"]


def test_atomic_write_leaves_no_file_on_failure(tmp_path, monkeypatch):
    def boom(data, level=6):
        raise RuntimeError("compressor failed")

    monkeypatch.setattr(_idx_write, "_gzip_compress", boom)
    with pytest.raises(RuntimeError, match="compressor failed"):
        write_idx(tmp_path / "new.idx.gz", sample(np.int16, (10,)))
    assert os.listdir(tmp_path) == []


def test_write_file_mode_follows_umask(tmp_path):
    p = write_idx(tmp_path / "a.idx", np.zeros(3, np.uint8))
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(p).st_mode & 0o777 == 0o666 & ~umask


def test_write_refuses_a_shape_the_reader_refuses(tmp_path):
    # an empty (0, 2**31, 2**31) array was written, then read_idx raised
    # "dimension product overflows": the writer checks the reader's bound
    with pytest.raises(ValueError, match="too large for an IDX file"):
        write_idx(tmp_path / "e.idx", np.empty((0, 2**31, 2**31), np.uint8))
    assert os.listdir(tmp_path) == []
    ok = np.empty((0, 2**29, 2**29), np.uint8)  # within the bound: round trips
    write_idx(tmp_path / "f.idx", ok)
    assert read_idx(tmp_path / "f.idx").shape == ok.shape


def test_write_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="array dtype"):
        write_idx(tmp_path / "a.idx", np.zeros(3, np.int64))
    with pytest.raises(TypeError, match="array dtype"):
        write_idx(tmp_path / "a.idx", np.zeros(3, bool))
    with pytest.raises(ValueError, match="array must have at least one dimension"):
        write_idx(tmp_path / "a.idx", np.float32(1))
    with pytest.raises(TypeError, match="path"):
        write_idx(io.BytesIO(), np.zeros(3, np.uint8))
    with pytest.raises(FileNotFoundError):
        write_idx(tmp_path / "missing" / "a.idx", np.zeros(3, np.uint8))
    assert os.listdir(tmp_path) == []


@settings(max_examples=150, deadline=None)
@given(data=st.data(), compress=st.booleans(), zlib_only=st.booleans())
def test_fuzzed_files_decode_or_raise_idxerror(data, compress, zlib_only):
    """Random byte edits, cuts and insertions: a clean result or IDXError."""
    x = sample(np.int16, (6, 5), seed=1)
    blob = bytearray(gzip.compress(idx_bytes(x)) if compress else idx_bytes(x))
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        pos = data.draw(st.integers(0, max(0, len(blob) - 1)))
        if op == "flip" and blob:
            blob[pos] ^= data.draw(st.integers(1, 255))
        elif op == "cut":
            del blob[pos : pos + data.draw(st.integers(1, 8))]
        else:
            blob[pos:pos] = bytes(data.draw(st.binary(min_size=1, max_size=8)))
    ctx = idx._force_zlib() if zlib_only else contextlib.nullcontext()
    with ctx:
        try:
            y = read_idx(io.BytesIO(bytes(blob)))
        except IDXError:
            return
    # Decoded: must be exactly what the reference decoder makes of it.
    np.testing.assert_array_equal(y, ref.read_idx(io.BytesIO(bytes(blob))))


def test_concurrent_reads_from_python_threads(tmp_path):
    """The decoder keeps no shared state: parallel callers get their own data."""
    from concurrent.futures import ThreadPoolExecutor

    files = []
    for i, dt in enumerate([np.int16, np.float64, np.uint8, np.int32]):
        x = sample(dt, (300, 17), seed=i)
        p = tmp_path / ("f%d.idx.gz" % i)
        write_idx(p, x)
        files.append((p, x))

    def job(k):
        p, x = files[k % len(files)]
        if k % 3 == 0:
            with idx._force_zlib():
                y = read_idx(p)
        else:
            y = read_idx(p)
        return np.array_equal(y, x) and y.dtype == x.dtype

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(job, range(48)))


def test_show_config_reports_the_inflate_backend(capsys):
    fastdigits.show_config()
    assert "inflate    : " + idx.inflate_backend() in capsys.readouterr().out
