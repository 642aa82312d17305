"""Binding for the dropout kernel: validate, convert, call C without the
GIL.  The public, documented function is fastdigits.dropout."""

import numpy as np

cimport numpy as cnp
from libc.stdint cimport int64_t, uint64_t

from fastdigits._common cimport fd_ctx, FD_OK
from fastdigits._binding cimport check_out, current_ctx, dtype_code
from fastdigits._args import as_array, behaved, native_dtype
from fastdigits._hyper import check_rate, check_seed

cnp.import_array()

cdef extern from "dropout/dropout.h" nogil:
    # one entry for both dtypes: dtype (FD_F32 / FD_F64) picks the instance
    int fd_dropout(fd_ctx ctx, int dtype, int64_t n, const void *x, void *out, double p,
                   uint64_t seed)

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def dropout(x, p, seed, out=None):
    cdef double rate = check_rate(p)
    cdef uint64_t key = check_seed(seed)
    a = x if isinstance(x, np.ndarray) else as_array(x, "x")
    if native_dtype(a.dtype) not in _FLOATS:
        raise TypeError("x must be float32 or float64, got dtype %s" % a.dtype)
    a = behaved(a)
    # out=x itself (in place) is allowed; any other overlap with x is not
    same = (out is not None and isinstance(out, np.ndarray) and a.flags.c_contiguous
            and out.__array_interface__["data"][0] == a.__array_interface__["data"][0])
    res = check_out(out, "out", a.shape, a.dtype, False, () if same else ((a, "x"),))
    src = np.ascontiguousarray(a)
    cdef int64_t n = src.size
    cdef void *xp = cnp.PyArray_DATA(<cnp.ndarray>src)
    cdef void *op = cnp.PyArray_DATA(<cnp.ndarray>res)
    cdef int dt = dtype_code(src)
    cdef fd_ctx ctx = current_ctx()
    cdef int rc
    with nogil:
        rc = fd_dropout(ctx, dt, n, xp, op, rate, key)
    if rc != FD_OK:  # unreachable: arguments were checked above
        raise ValueError("dropout: invalid arguments")
    return res
