"""Binding for the fused normalisation kernels: validates, converts, releases the GIL."""
import math

import numpy as np

cimport numpy as cnp
from libc.stdint cimport int64_t, uint8_t
from fastdigits._common cimport fd_ctx
from fastdigits._binding cimport check_out, current_ctx, dtype_code
from fastdigits._args import as_array, finite_real

cnp.import_array()

cdef extern from "normalize/normalize.h" nogil:
    enum:
        FD_NORM_STORE_AUTO
        FD_NORM_STORE_CACHED
        FD_NORM_STORE_STREAM
    # one entry each for both dtypes: dtype (FD_F32 / FD_F64) picks the instance
    int fd_normalize_u8_ex(fd_ctx ctx, int dtype, int64_t n, const uint8_t *src, void *out,
                           double scale, double mean, double std, int store)
    int fd_normalize_u8_tail_inplace(fd_ctx ctx, int dtype, int64_t n, void *buf,
                                     double scale, double mean, double std)

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_U8 = np.dtype(np.uint8)
cdef double _F32_MAX = float(np.finfo(np.float32).max)
cdef double _F64_MAX = float(np.finfo(np.float64).max)


cdef tuple _coefficients(scale, mean, std, object dt):
    """Validated (scale, mean, std) as floats; checks a and c fit dtype dt."""
    cdef double s = finite_real(scale, "scale")
    cdef double m = finite_real(mean, "mean")
    cdef double d = finite_real(std, "std")
    if d == 0.0:
        raise ValueError("std must be nonzero, got %r" % (std,))
    # The kernel multiplies by a = scale/std and adds c = -mean/std in the
    # output precision: both must be finite there.
    cdef double big = _F32_MAX if dt == _F32 else _F64_MAX
    if not (abs(s / d) <= big and abs(m / d) <= big):
        raise ValueError("scale/std and mean/std must be finite in %s, got "
                         "scale=%r, mean=%r, std=%r" % (dt.name, scale, mean, std))
    return s, m, d


def check_coefficients(scale, mean, std, dtype=np.float32):
    """The (scale, mean, std) check of normalize for output dtype (its
    ValueError / TypeError, before any work), for other callers with the
    same arithmetic (fastdigits.batches); returns them as floats."""
    return _coefficients(scale, mean, std, _out_dtype(dtype))


cdef object _out_dtype(dtype):
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError("dtype must be float32 or float64, got %r" % (dtype,))
    if dt != _F32 and dt != _F64:
        raise TypeError("dtype must be float32 or float64, got %s" % dt.name)
    return dt


STORE_POLICIES = {"auto": FD_NORM_STORE_AUTO, "cached": FD_NORM_STORE_CACHED,
                  "stream": FD_NORM_STORE_STREAM}


def normalize(images, scale, mean, std, dtype, flatten, out, _store=None):
    """See fastdigits.normalize.normalize (the public, documented entry point).

    _store (tests and benchmarks only) forces a store policy: 'auto',
    'cached' or 'stream'.  By default a freshly allocated result uses regular
    stores (its pages are zeroed by the OS on first touch and still cached)
    and a caller's `out` uses 'auto' (streaming when large).
    """
    cdef fd_ctx ctx
    cdef int store
    cdef int64_t n
    cdef const uint8_t[::1] src
    cdef void *op
    cdef int dtc
    cdef double s, m, d

    if not isinstance(images, np.ndarray):
        # as NumPy converts it: a list of ints is int64, not pixels
        images = as_array(images, "images", natural=True)
    if images.dtype != _U8:
        raise TypeError(
            "images must have dtype uint8 (pixel values 0..255), got %s; "
            "convert float data with NumPy instead" % images.dtype)
    dt = _out_dtype(dtype)
    s, m, d = _coefficients(scale, mean, std, dt)
    if not isinstance(flatten, (bool, np.bool_)):
        raise TypeError("flatten must be a bool, got %s" % type(flatten).__name__)
    if flatten:
        if images.ndim == 0:
            raise ValueError("flatten=True needs images with at least one axis "
                             "(N, ...), got a 0-d array")
        shape = (images.shape[0], math.prod(images.shape[1:]))
    else:
        shape = images.shape
    if _store is not None and _store not in STORE_POLICIES:
        raise ValueError("_store must be one of %s, got %r" % (sorted(STORE_POLICIES), _store))
    if out is None:
        out = np.empty(shape, dtype=dt)
        store = FD_NORM_STORE_CACHED
    else:
        store = FD_NORM_STORE_AUTO
        check_out(out, "out", shape, dt, False, ((images, "images"),))
    n = images.size
    if n == 0:
        return out
    # Non-contiguous input is copied once (a plain byte copy, cheap next to
    # the float output); contiguous input, read-only or not, is used as is.
    src = (images if images.flags.c_contiguous else np.ascontiguousarray(images)).reshape(-1)
    if _store is not None:
        store = STORE_POLICIES[_store]
    # out is C-contiguous and writeable (allocated here or checked above)
    op = cnp.PyArray_DATA(<cnp.ndarray>out)
    dtc = dtype_code(<cnp.ndarray>out)
    ctx = current_ctx()
    with nogil:
        fd_normalize_u8_ex(ctx, dtc, n, &src[0], op, s, m, d, store)
    return out


def _normalize_tail_inplace_test(buf, scale=1.0 / 255, mean=0.0, std=1.0):
    """Test hook for the in-place C entry point used by the IDX decoder.

    buf is a 1-D C-contiguous float32/float64 array of n elements whose last n
    bytes hold the uint8 input; it is normalised in place and returned.
    """
    cdef fd_ctx ctx
    cdef int64_t n
    cdef void *bp
    cdef int dtc
    cdef double s, m, d
    if not isinstance(buf, np.ndarray):
        raise TypeError("buf must be a numpy.ndarray, got %s" % type(buf).__name__)
    dt = _out_dtype(buf.dtype)
    if buf.ndim != 1 or not buf.flags.c_contiguous or not buf.flags.writeable \
            or not buf.flags.aligned:
        raise ValueError("buf must be a 1-D, C-contiguous, aligned, writeable array")
    s, m, d = _coefficients(scale, mean, std, dt)
    n = buf.size
    if n == 0:
        return buf
    bp = cnp.PyArray_DATA(<cnp.ndarray>buf)
    dtc = dtype_code(<cnp.ndarray>buf)
    ctx = current_ctx()
    with nogil:
        fd_normalize_u8_tail_inplace(ctx, dtc, n, bp, s, m, d)
    return buf
