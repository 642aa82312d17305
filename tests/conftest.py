"""Session-wide test setup and the shared fixtures.

``isa``, ``dtype`` and ``threads`` parametrise a test over every SIMD path
this CPU has, both float types and 1/2/3 threads, so a failure names the
combination (``test_x[avx2-float64-3]``).  The fixtures only give the value:
the test enters ``fastdigits.simd(isa)`` / ``fastdigits.threads(threads)``
where it wants them (a baseline may be computed on another path first).
"""

import os

# scikit-learn's check_estimator runs its array-API input check only when
# SciPy's array-API support is on, which SciPy reads once, at import: set it
# before any test module imports SciPy (tests only; the package never sets it).
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import fastdigits  # noqa: E402

ALL_ISAS = fastdigits.available_simd()
# avx512_bf16 and amx differ from avx512 only in bfloat16 products
# (precision="bfloat16"): the float32/float64 kernels run the avx512 code
# there (test_bf16.py checks it bit for bit), so `isa` leaves them out and
# `bf16_isa` covers them.
ISAS = tuple(p for p in ALL_ISAS if p in ("generic", "avx2", "avx512"))
DTYPES = (np.float32, np.float64)
THREADS = (1, 2, 3)


@pytest.fixture(params=ISAS)
def isa(request):
    """Each SIMD path the CPU (and this build) has: generic, avx2, avx512."""
    return request.param


@pytest.fixture(params=ALL_ISAS)
def bf16_isa(request):
    """Every SIMD path, the bfloat16 ones too (avx512_bf16, amx): where the
    CPU lacks a bf16 instruction set the path emulates it."""
    return request.param


@pytest.fixture(params=DTYPES, ids=lambda d: np.dtype(d).name)
def dtype(request):
    """float32 and float64."""
    return request.param


@pytest.fixture(params=THREADS)
def threads(request):
    """1, 2 and 3 threads (3: an uneven split on any machine)."""
    return request.param


@pytest.fixture(params=["libdeflate", "zlib"])
def inflater(request):
    """Run an IDX test with each gzip inflater: libdeflate (where the deflate
    wheel or the system has it, else zlib again) and zlib's streaming path."""
    from fastdigits import idx

    if request.param == "zlib":
        with idx._force_zlib():
            yield "zlib"
    else:
        yield idx.inflate_backend()
