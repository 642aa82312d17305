"""Ctrl-C during long IDX reads (issue 11, item 14): the GIL-free decoders
poll for signals between chunks, so KeyboardInterrupt arrives within 0.5 s
of SIGINT even in the middle of a gigabyte gzip inflate, byte swap or
normalisation.  Each case runs in a child process that sends SIGINT to
itself while reading a file generated here (gigabytes of zeros gzip to a
few MB)."""

import os
import subprocess
import sys
import textwrap
import zlib

import numpy as np
import pytest

import fastdigits
from fastdigits import read_idx, read_idx_normalized, normalize

from _sigint import default_sigint

pytestmark = [pytest.mark.subprocess]

PKG_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(fastdigits.__file__)))
SEG = 64 << 20


def zeros_idx_gz(path, header, nzeros):
    """gzip of header + nzeros zero bytes, built from one compressed 64 MiB
    segment repeated (full flushes make segments independent)."""
    assert nzeros % SEG == 0
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = co.compress(header) + co.flush(zlib.Z_FULL_FLUSH)
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(SEG)
    seg = co.compress(zeros) + co.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(header)
    for _ in range(nzeros // SEG):
        crc = zlib.crc32(zeros, crc)
    with open(path, "wb") as f:
        f.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + head)
        for _ in range(nzeros // SEG):
            f.write(seg)
        f.write(zlib.compressobj(9, zlib.DEFLATED, -15).flush())  # final block
        f.write(crc.to_bytes(4, "little") + ((len(header) + nzeros) % 2**32).to_bytes(4, "little"))


CHILD = """
    import os, signal, sys, threading, time
    import numpy as np
    import fastdigits
    from fastdigits import read_idx, read_idx_normalized
    {setup}
    sent = []

    def fire():
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)

    threading.Timer({delay}, fire).start()
    try:
        while True:  # SIGINT lands in one of these reads, however fast they are
            x = {call}
            del x
    except KeyboardInterrupt:
        print("interrupted %.3f" % (time.monotonic() - sent[0]))
"""


def _run_child(call, delay=0.4, setup=""):
    code = textwrap.dedent(CHILD.format(call=call, delay=delay, setup=setup))
    env = dict(os.environ, PYTHONPATH=PKG_PARENT)
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        preexec_fn=default_sigint,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    what, secs = proc.stdout.split()
    return what, float(secs)


def _header(dims):
    return b"\0\0\x08" + bytes([len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)


@pytest.fixture(scope="module")
def big_gz(tmp_path_factory):
    path = tmp_path_factory.mktemp("intr") / "zeros.idx.gz"
    zeros_idx_gz(path, _header([1 << 30]), 1 << 30)  # 1 GiB of pixels, 1 MB file
    return path


@pytest.fixture(scope="module")
def mid_gz(tmp_path_factory):
    # 128 Mi pixels: over the sizes inflated inline (64 MiB) and normalised
    # in one call (64 Mi elements); results of 0.5 and 1 GiB.
    path = tmp_path_factory.mktemp("intr") / "zeros128.idx.gz"
    zeros_idx_gz(path, _header([1 << 13, 1 << 14]), 1 << 27)
    return path


@pytest.mark.parametrize("force_zlib", [False, True], ids=["default", "zlib"])
def test_ctrl_c_during_large_gzip_read_idx(big_gz, force_zlib):
    setup = "fastdigits.idx._force_zlib().__enter__()" if force_zlib else ""
    what, secs = _run_child("read_idx(%r)" % str(big_gz), setup=setup)
    assert what == "interrupted"
    assert secs < 0.5, "KeyboardInterrupt came %.2f s after SIGINT" % secs


@pytest.mark.parametrize(
    "dtype,out", [("np.float32", False), ("np.float64", False), ("np.float32", True)]
)
def test_ctrl_c_during_large_gzip_read_idx_normalized(mid_gz, dtype, out):
    # out=: inflated by zlib in chunks (nothing may write the caller's buffer
    # after the call has returned); otherwise by libdeflate on a helper thread.
    setup = "buf = np.empty((1 << 13, 1 << 14), %s)" % dtype if out else ""
    what, secs = _run_child(
        "read_idx_normalized(%r, dtype=%s%s)" % (str(mid_gz), dtype, ", out=buf" if out else ""),
        delay=0.3,
        setup=setup,
    )
    assert what == "interrupted"
    assert secs < 0.5, "KeyboardInterrupt came %.2f s after SIGINT" % secs


def test_decoding_still_correct(mid_gz, tmp_path):
    """The chunked paths give the exact results of the one-call kernels:
    a 128 MiB gzip (helper thread) and a raw file over one normalise slice
    (over 64 Mi elements: the slice-by-slice in-place normalise)."""
    x = read_idx(mid_gz)
    assert x.shape == (1 << 13, 1 << 14) and not x.any()
    del x
    n = (1 << 26) + 12345
    pixels = np.random.default_rng(0).integers(0, 256, n, dtype=np.uint8)
    raw = tmp_path / "big.idx"
    with open(raw, "wb") as f:
        f.write(_header([n]))
        f.write(pixels.tobytes())
    # float32 only: float64 is the same C macro, and this is slow enough.
    got = read_idx_normalized(raw, mean=0.1307, std=0.3081)
    np.testing.assert_array_equal(got, normalize(pixels, mean=0.1307, std=0.3081))
