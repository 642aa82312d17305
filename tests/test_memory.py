"""Repeated calls leave resident memory flat.

Every kernel runs 10,000 times on small inputs (a few KB, so a leaked output
or scratch buffer per call would add tens of MB); after a warm-up, RSS may
not grow by more than a few MB, and the second half of the run may not grow
at all beyond allocator noise.
"""

import ctypes
import gc
import os
import tempfile
import tracemalloc

import numpy as np
import pytest

import fastdigits
import _specs

CALLS = 10_000
WARMUP = 300
SCALE = 4
PAGE = os.sysconf("SC_PAGE_SIZE")
MB = 1 << 20


def _asan_allocated():
    """Under AddressSanitizer (.ci/sanitize), RSS keeps growing by design
    (freed blocks sit in ASan's quarantine); its allocator's count of bytes in
    live allocations is the exact measure there."""
    try:
        fn = ctypes.CDLL(None).__sanitizer_get_current_allocated_bytes
    except AttributeError:
        return None
    fn.restype = ctypes.c_size_t
    return fn


_ASAN = _asan_allocated()


def rss() -> int:
    """Resident memory (live heap bytes under ASan)."""
    if _ASAN is not None:
        return int(_ASAN())
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


@pytest.fixture(scope="module")
def fast_tmp():
    # write_idx fsyncs every file: use tmpfs when there is one.
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="fd-mem-", dir=base) as d:
        yield d


@pytest.mark.parametrize("case", _specs.cases(), ids=_specs.case_id)
def test_rss_flat_over_10000_calls(case, fast_tmp):
    spec, dtype = case
    shared = _specs.freeze(spec.make(dtype, np.random.default_rng(0), SCALE, fast_tmp))
    fn = spec.fast()
    expected = spec.call(fn, shared, fast_tmp)
    for _ in range(WARMUP):
        spec.call(fn, shared, fast_tmp)
    gc.collect()
    r0 = rss()
    half = CALLS // 2
    for _ in range(half):
        spec.call(fn, shared, fast_tmp)
    gc.collect()
    r1 = rss()
    for _ in range(CALLS - half - 1):
        spec.call(fn, shared, fast_tmp)
    last = spec.call(fn, shared, fast_tmp)
    gc.collect()
    r2 = rss()
    assert _specs.same(last, expected)  # still computing the same thing
    assert r2 - r0 < 4 * MB, "RSS grew %.1f MB over %d calls" % ((r2 - r0) / MB, CALLS)
    assert r2 - r1 < 1 * MB, "RSS still growing: %.1f MB in the last %d calls" % (
        (r2 - r1) / MB,
        CALLS - half,
    )
    assert len(os.listdir(fast_tmp)) <= len(_specs.SPECS) * 4, "files leaked"
    # RSS can hide a leak in memory freed earlier; tracemalloc sees every
    # Python object and NumPy buffer still alive.
    assert _traced_growth(lambda: spec.call(fn, shared, fast_tmp), 1000) < 64 * 1024


def _traced_growth(call, n):
    tracemalloc.start()
    try:
        for _ in range(50):
            call()
        gc.collect()
        t0 = tracemalloc.get_traced_memory()[0]
        for _ in range(n):
            call()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - t0
    finally:
        tracemalloc.stop()


def test_errors_do_not_leak():
    """Failing calls (validation errors, IDX errors) release what they took."""
    import io

    from fastdigits.idx import IDXError, read_idx

    bad_inputs = [
        b"\x00\x00\x08\x01\x00\x00\x00\x10" + b"x" * 3,  # truncated
        b"\x1f\x8b" + b"\x00" * 30,
    ]  # corrupt gzip
    x = np.ones((4, 7), np.float32)

    def one_round():
        for data in bad_inputs:
            with pytest.raises(IDXError):
                read_idx(io.BytesIO(data))
        with pytest.raises((TypeError, ValueError)):
            fastdigits.normalize(x)  # float input: uint8 expected
        with pytest.raises(ValueError):
            fastdigits.softmax_cross_entropy(x, np.array([0, 1, 2, 99]))

    for _ in range(WARMUP):
        one_round()
    gc.collect()
    r0 = rss()
    for _ in range(3000):
        one_round()
    gc.collect()
    assert rss() - r0 < 2 * MB
    assert _traced_growth(one_round, 300) < 64 * 1024


def test_detectors_see_a_real_leak():
    """The measurements work: a leak of 4 KB per call over 10,000 calls shows
    in RSS, and one of 128 bytes per call over 1,000 calls in tracemalloc."""
    import mmap

    keep = []
    gc.collect()
    r0 = rss()
    for _ in range(CALLS):
        if _ASAN is not None:  # rss() counts live heap bytes: a malloc leak
            keep.append(np.ones(512))  # 4 KB each
        else:
            # Fresh pages, 4 KB each: heap blocks freed by earlier tests could
            # absorb a malloc-sized leak without RSS moving at all.
            page = mmap.mmap(-1, 4096)
            page.write(b"x" * 4096)
            keep.append(page)
    assert rss() - r0 > 8 * MB
    for page in keep:
        if isinstance(page, mmap.mmap):
            page.close()
    keep.clear()
    assert _traced_growth(lambda: keep.append(np.ones(16)), 1000) > 64 * 1024
