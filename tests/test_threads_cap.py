"""Thread counts: capped at fastdigits.MAX_THREADS, a thread limit of the OS
degrades to fewer threads instead of ending the process, and packing scratch
is sized by the threads a call actually uses."""

import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import fastdigits
from fastdigits import _dense

pytestmark = [pytest.mark.subprocess]


def test_cap_value_and_errors():
    assert fastdigits.MAX_THREADS == max(64, 4 * (os.cpu_count() or 1))
    big = fastdigits.MAX_THREADS + 1
    with pytest.raises(ValueError, match=r"n_threads must be <= %d" % fastdigits.MAX_THREADS):
        fastdigits.set_num_threads(big)
    with pytest.raises(ValueError, match="MAX_THREADS"):
        with fastdigits.threads(100000):
            pass
    with fastdigits.threads(fastdigits.MAX_THREADS):
        assert fastdigits.get_num_threads() == fastdigits.MAX_THREADS


def test_cli_threads_above_cap_one_line_exit_2(capsys):
    from fastdigits.cli import main

    for argv in (["train", "--threads", "100000"], ["bench", "--tiny", "--threads", "100000"]):
        try:
            rc = main(argv)
        except SystemExit as exc:
            rc = exc.code
        err = capsys.readouterr().err
        assert rc == 2, argv
        assert err.strip().count("\n") == 0 and "Traceback" not in err, err
        assert str(fastdigits.MAX_THREADS) in err, err


def _run(code, **kw):
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        **kw,
    )


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="needs root to run a child as 'nobody' under RLIMIT_NPROC "
    "(root itself ignores that limit)",
)
def test_os_thread_limit_degrades_instead_of_exiting():
    # Before: libgomp printed "Thread creation failed" and the process exited
    # with status 1: no exception, no finally.
    code = """
        import os, resource, warnings
        import numpy as np, fastdigits as fd
        os.setgid(65534); os.setuid(65534)
        resource.setrlimit(resource.RLIMIT_NPROC, (6, 6))
        x = np.ones((1024, 512), np.float32); W = np.ones((512, 1024), np.float32)
        try:
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                with fd.threads(32):
                    y = fd.dense_forward(x, W, None, "relu")
                    n = fd.get_num_threads()
            print("result", float(y[0, 0]), n, [str(m.message) for m in w])
        finally:
            print("finally ran")
    """
    r = _run(code, env=dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1"))
    assert r.returncode == 0, r.stderr
    assert "Thread creation failed" not in r.stderr
    assert "result 512.0" in r.stdout and "finally ran" in r.stdout
    assert "could start only" in r.stdout
    n = int(r.stdout.split("result 512.0 ")[1].split()[0])
    assert 1 <= n < 32


def test_scratch_sized_by_threads_used():
    """A small product on threads(64) reserves scratch for the few threads
    it uses (was 64 threads' worth: 64 MiB here, 16 MiB now at most)."""
    a = np.ones((64, 784), np.float32)
    b = np.ones((784, 256), np.float32)
    sizes = {}

    def run(nt):
        with fastdigits.threads(nt):
            fastdigits.matmul(a, b)
        sizes[nt] = _dense._scratch.buf.nbytes  # this Python thread's block

    for nt in (2, 64):
        t = threading.Thread(target=run, args=(nt,))  # a fresh per-thread block
        t.start()
        t.join()
    assert sizes[64] < 16 << 20, sizes
    assert sizes[64] <= 8 * sizes[2], sizes


def test_large_scratch_not_kept_resident():
    # Before: threads(64) on a 2048^3 matmul left ~156 MB of packing scratch
    # resident after the call.
    code = """
        import numpy as np, fastdigits as fd
        import ctypes
        try:  # under AddressSanitizer freed blocks stay resident (its quarantine):
            live = ctypes.CDLL(None).__sanitizer_get_current_allocated_bytes
            live.restype = ctypes.c_size_t  # count live heap bytes there instead
        except AttributeError:
            live = None
        def rss():
            if live is not None:
                return int(live())
            for l in open("/proc/self/status"):
                if l.startswith("VmRSS"):
                    return int(l.split()[1]) * 1024
        a = np.ones((2048, 2048), np.float32); b = np.ones((2048, 2048), np.float32)
        c = np.empty((2048, 2048), np.float32)
        fd.matmul(a[:8], b[:, :8])
        before = rss()
        with fd.threads(64):
            fd.matmul(a, b, out=c)
        print("grew", rss() - before, c[0, 0])
    """
    if not os.path.exists("/proc/self/status"):
        pytest.skip("needs /proc to read the resident size")
    r = _run(code)
    assert r.returncode == 0, r.stderr
    grew = int(r.stdout.split()[1])
    assert grew < 32 << 20, r.stdout
    assert "2048.0" in r.stdout
