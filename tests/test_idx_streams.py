"""IDX from streams (issue 11, items 9 and 13): FIFOs, pipes, /dev/stdin,
character devices and non-seekable objects are read to end of file with the
same validation and messages as regular files; a header's promise alone never
allocates memory; read_idx_header leaves a seekable file where it was; zero
padding between gzip members is accepted as Python's gzip accepts it."""

import gzip
import io
import os
import re
import struct
import subprocess
import sys
import threading

import numpy as np
import pytest

import fastdigits
from fastdigits import IDXError, read_idx, read_idx_header, read_idx_normalized

PKG_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(fastdigits.__file__)))


def idx_bytes(arr):
    code = {np.uint8: 0x08, np.int16: 0x0B, np.float64: 0x0E}[arr.dtype.type]
    head = struct.pack(">HBB%dI" % arr.ndim, 0, code, arr.ndim, *arr.shape)
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


class Fifo:
    """A named pipe fed by a writer thread (in pieces, as a real pipe would)."""

    count = 0

    def __init__(self, folder, data, piece=4096):
        Fifo.count += 1
        self.path = os.path.join(str(folder), "fifo-%d" % Fifo.count)
        os.mkfifo(self.path)
        self.data, self.piece = data, piece
        self.thread = threading.Thread(target=self._feed, daemon=True)
        self.thread.start()

    def _feed(self):
        try:
            with open(self.path, "wb", buffering=0) as f:
                for i in range(0, len(self.data), self.piece):
                    f.write(self.data[i : i + self.piece])
        except BrokenPipeError:  # the reader stopped early (an error case)
            pass

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        self.thread.join(10)
        assert not self.thread.is_alive()


U8 = np.random.default_rng(0).integers(0, 256, (50, 28, 28), dtype=np.uint8)
I16 = np.random.default_rng(1).integers(-30000, 30000, (300, 7), dtype=np.int16)


@pytest.mark.parametrize("arr", [U8, I16], ids=["uint8", "int16"])
@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_fifo_read_idx(tmp_path, inflater, arr, compress):
    data = idx_bytes(arr)
    if compress:
        data = gzip.compress(data)
    with Fifo(tmp_path, data) as path:
        got = read_idx(path)
    np.testing.assert_array_equal(got, arr)
    assert got.flags.writeable
    with Fifo(tmp_path, data) as path, open(path, "rb") as f:
        np.testing.assert_array_equal(read_idx(f), arr)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fifo_read_idx_normalized(tmp_path, inflater, compress, dtype):
    data = idx_bytes(U8)
    if compress:
        data = gzip.compress(data)
    with Fifo(tmp_path, data) as path:
        got = read_idx_normalized(path, mean=0.5, std=0.25, dtype=dtype, flatten=True)
    want = read_idx_normalized(
        io.BytesIO(data), mean=0.5, std=0.25, dtype=dtype, flatten=True
    )  # a source of known size
    np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(got, (U8.reshape(50, -1) / 255.0 - 0.5) / 0.25, atol=1e-6)
    assert got.dtype == dtype and got.shape == (50, 784)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_fifo_read_idx_header(tmp_path, compress):
    arr = np.zeros((60000, 28, 28), np.uint8)  # 47 MB, gzip 60 kB
    data = idx_bytes(arr)
    if compress:
        data = gzip.compress(data, 1)
    with Fifo(tmp_path, data, piece=1 << 16) as path:
        hdr = read_idx_header(path)
        # The reader closed the pipe early: the writer sees BrokenPipeError.
    assert hdr.shape == arr.shape and hdr.dtype == np.uint8
    assert hdr.compressed == compress and hdr.file_size == -1 and hdr.data_offset == 16


def test_dev_stdin_pipe_gzip_and_raw(tmp_path):
    """`fastdigits ... /dev/stdin` and `<(zcat ...)`: a pipe opened by path."""
    code = (
        "import sys; from fastdigits import read_idx, read_idx_header\n"
        "a = read_idx(sys.argv[1]); print(a.shape, a.dtype, int(a.sum()))\n"
    )
    env = dict(os.environ, PYTHONPATH=PKG_PARENT)
    want = "%s int16 %d" % (I16.shape, int(I16.sum()))
    for data in (idx_bytes(I16), gzip.compress(idx_bytes(I16))):
        proc = subprocess.run(
            [sys.executable, "-c", code, "/dev/stdin"],
            input=data,
            capture_output=True,
            env=env,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr.decode()
        assert proc.stdout.decode().strip() == want
    # Process substitution hands the reader a /dev/fd/N pipe.
    path = tmp_path / "x.idx.gz"
    path.write_bytes(gzip.compress(idx_bytes(I16)))
    proc = subprocess.run(
        ["bash", "-c", '"$0" -c "$1" <(zcat "$2")', sys.executable, code, str(path)],
        capture_output=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().strip() == want


def _errors(tmp_path, data, func=read_idx):
    """The IDXError message for data from a regular file and from a FIFO."""
    path = tmp_path / "bad.idx"
    path.write_bytes(data)
    out = []
    with pytest.raises(IDXError) as info:
        func(path)
    out.append(str(info.value))
    with Fifo(tmp_path, data) as fifo:
        with pytest.raises(IDXError) as info:
            func(fifo)
    out.append(str(info.value))
    return out


@pytest.mark.parametrize("func", [read_idx, read_idx_normalized])
def test_fifo_errors_match_regular_files(tmp_path, func):
    data = idx_bytes(U8[:3])
    for bad, pattern in (
        (b"", "empty IDX file"),
        (data[:2], "short IDX header: data ends at byte offset 2"),
        (data[:10], "short IDX header: data ends at byte offset 10"),
        (b"\x01" + data[1:], "bad IDX magic number at byte offset 0"),
        (
            data[:-5],
            "IDX data shorter than the header says: it ends at byte offset %d" % (len(data) - 5),
        ),
        (
            data + b"xyz",
            "IDX data longer than the header says: .*trailing bytes "
            "start at byte offset %d" % len(data),
        ),
    ):
        for msg in _errors(tmp_path, bad, func):
            assert re.search(pattern, msg), (pattern, msg)
    gz = gzip.compress(data)
    for bad, pattern in (
        (gz[:-12], "truncated gzip file"),
        (gzip.compress(data[:-4]), "IDX data shorter than the header says"),
        (gzip.compress(data + b"!"), "IDX data longer than the header says"),
    ):
        for msg in _errors(tmp_path, bad, func):
            assert re.search(pattern, msg), (pattern, msg)


@pytest.mark.parametrize("func", [read_idx, read_idx_normalized, read_idx_header])
def test_huge_header_from_a_pipe_allocates_nothing(tmp_path, func):
    """A header promising 10**12 bytes followed by a few bytes: a clean
    IDXError (the data is not there), not a terabyte allocation."""
    head = struct.pack(">HBB2I", 0, 0x08, 2, 1000000, 1000000)
    with Fifo(tmp_path, head + b"\1" * 1000) as fifo:
        if func is read_idx_header:
            assert func(fifo).shape == (1000000, 1000000)
        else:
            with pytest.raises(
                IDXError, match="ends at byte offset 1012, the header implies 1000000000000 bytes"
            ):
                func(fifo)
    with Fifo(tmp_path, gzip.compress(head + b"\1" * 1000)) as fifo:
        with pytest.raises(
            IDXError,
            match="claims 1000000000000 bytes of data, more than a gzip file of this size can hold",
        ):
            func(fifo) if func is not read_idx_header else read_idx(fifo)


def test_character_devices():
    with pytest.raises(
        IDXError, match="/dev/zero: unknown IDX element type code 0x00 at byte offset 2"
    ):
        read_idx("/dev/zero")
    with open("/dev/zero", "rb") as f:  # seekable, but not a regular file
        with pytest.raises(IDXError, match="type code 0x00"):
            read_idx(f)
    with pytest.raises(IDXError, match="empty IDX file"):
        read_idx("/dev/null")
    with pytest.raises(IDXError, match="empty IDX file"):
        read_idx_header("/dev/null")


def test_mmap_of_a_stream_is_a_clean_error(tmp_path):
    with Fifo(tmp_path, idx_bytes(U8)) as fifo:
        with pytest.raises(IDXError, match="mmap=True needs a regular file"):
            read_idx(fifo, mmap=True)


# ------------------------------------------------------------------ item 13


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_read_idx_header_restores_the_position(tmp_path, compress):
    data = idx_bytes(I16)
    if compress:
        data = gzip.compress(data)
    path = tmp_path / "h.idx"
    path.write_bytes(b"junk" + data)
    for f in (io.BytesIO(b"junk" + data), open(path, "rb"), open(path, "rb", buffering=0)):
        with f:
            f.read(4)
            assert read_idx_header(f).shape == I16.shape
            assert f.tell() == 4
            np.testing.assert_array_equal(read_idx(f), I16)


def test_zero_padding_between_gzip_members(inflater):
    whole = idx_bytes(np.concatenate([I16.ravel(), I16.ravel()[:500]]))
    # Header + data split over members, zero padding between and after.
    split = len(idx_bytes(I16))
    for pad_mid, pad_end in ((1, 0), (7, 0), (3, 5), (0, 9), (4096, 1)):
        data = (
            gzip.compress(whole[:split])
            + b"\0" * pad_mid
            + gzip.compress(whole[split:])
            + b"\0" * pad_end
        )
        assert gzip.decompress(data) == whole  # Python's gzip accepts it
        got = read_idx(io.BytesIO(data))
        assert got.shape == (I16.size + 500,)
        np.testing.assert_array_equal(got, np.frombuffer(whole[8:], ">i2"))
        assert read_idx_header(io.BytesIO(data)).shape == (I16.size + 500,)
    # A member that is not gzip after the padding is still an error.
    bad = gzip.compress(whole[:split]) + b"\0\0xy" + gzip.compress(whole[split:])
    with pytest.raises(
        IDXError,
        match="unexpected trailing data after a gzip member "
        "at byte offset %d" % (len(gzip.compress(whole[:split])) + 2),
    ):
        read_idx(io.BytesIO(bad))


def test_zero_padding_between_gzip_members_normalized(inflater):
    whole = idx_bytes(U8)
    data = gzip.compress(whole[:5000]) + b"\0" * 3 + gzip.compress(whole[5000:]) + b"\0"
    got = read_idx_normalized(io.BytesIO(data), dtype=np.float64)
    np.testing.assert_allclose(got, U8 / 255.0)
