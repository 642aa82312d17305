"""Machine-limit probes for `fastdigits bench`: FMA throughput and memory copy.

The SIMD path and thread count come from the usual context
(``fastdigits.simd(...)``, ``fastdigits.threads(n)``).
"""
import numpy as np

from libc.stdint cimport int64_t, uint8_t
from fastdigits._common cimport fd_ctx
from fastdigits._binding cimport current_ctx

cdef extern from "peak/peak.h" nogil:
    double fd_peak_fma_f32(fd_ctx ctx, int64_t iters, int *threads_used, double *sink)
    double fd_peak_fma_f64(fd_ctx ctx, int64_t iters, int *threads_used, double *sink)
    void fd_peak_copy(fd_ctx ctx, int64_t n, const uint8_t *src, uint8_t *dst)


def fma_loop(dtype, iters):
    """Run the FMA-throughput loop `iters` times on each thread.

    Returns ``(flops, threads_used, sink)``: the floating-point operations
    done in total (an FMA counts 2), the OpenMP threads really started, and a
    value derived from the accumulators (finite, kept so the loop is not
    optimised away).
    """
    cdef fd_ctx ctx = current_ctx()
    cdef int64_t n
    cdef int used = 1
    cdef double sink = 0.0, flops = 0.0
    dt = np.dtype(dtype)
    if dt != np.float32 and dt != np.float64:
        raise TypeError("dtype must be float32 or float64, got %s" % dt)
    if isinstance(iters, bool) or not isinstance(iters, (int, np.integer)):
        raise TypeError("iters must be an int, got %s" % type(iters).__name__)
    if iters < 0:
        raise ValueError("iters must be >= 0, got %d" % iters)
    n = iters
    if dt == np.float32:
        with nogil:
            flops = fd_peak_fma_f32(ctx, n, &used, &sink)
    else:
        with nogil:
            flops = fd_peak_fma_f64(ctx, n, &used, &sink)
    return flops, used, sink


def copy_bytes(dst, src):
    """dst[...] = src byte for byte (both C-contiguous uint8, same size), in parallel."""
    cdef const uint8_t[::1] s
    cdef uint8_t[::1] d
    if not isinstance(src, np.ndarray) or src.dtype != np.uint8 or src.ndim != 1 \
            or not src.flags.c_contiguous:
        raise TypeError("src must be a 1-D C-contiguous uint8 array")
    if not isinstance(dst, np.ndarray) or dst.dtype != np.uint8 or dst.ndim != 1 \
            or not dst.flags.c_contiguous:
        raise TypeError("dst must be a 1-D C-contiguous uint8 array")
    if not dst.flags.writeable:
        raise ValueError("dst must be writeable")
    if dst.shape[0] != src.shape[0]:
        raise ValueError("dst must have src's size %d, got %d" % (src.shape[0], dst.shape[0]))
    if np.shares_memory(dst, src):
        raise ValueError("dst must not overlap src")
    if src.shape[0] == 0:
        return
    cdef fd_ctx ctx = current_ctx()
    s = src
    d = dst
    with nogil:
        fd_peak_copy(ctx, s.shape[0], &s[0], &d[0])
