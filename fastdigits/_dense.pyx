# distutils: sources = csrc/gemm.c csrc/gemm_kernel_avx2.c csrc/gemm_kernel_avx512.c csrc/dense.c
"""Bindings for the GEMM core and the fused dense layers (csrc/gemm.h, dense.h).

Validation and conversion only: the work runs in C without the GIL.
"""
import numpy as np
cimport numpy as cnp
from libc.stdint cimport int64_t

from fastdigits._common cimport fd_ctx, current_ctx, FD_OK, FD_ENOMEM
# current_ctx() (inlined from _common.pxd) looks this name up in our globals
from fastdigits._config import kernel_context  # noqa: F401

cnp.import_array()

cdef extern from "gemm.h" nogil:
    ctypedef struct fd_gemm_epi_f32:
        const float *bias
        float *z
        int64_t ldz
        int act
        int beta
    ctypedef struct fd_gemm_epi_f64:
        const double *bias
        double *z
        int64_t ldz
        int act
        int beta
    int fd_gemm_f32(fd_ctx ctx, int64_t m, int64_t k, int64_t n,
                    const float *A, int64_t a_rs, int64_t a_cs,
                    const float *B, int64_t b_rs, int64_t b_cs,
                    float *C, int64_t c_rs, int64_t c_cs,
                    const fd_gemm_epi_f32 *epi, void *work)
    int fd_gemm_f64(fd_ctx ctx, int64_t m, int64_t k, int64_t n,
                    const double *A, int64_t a_rs, int64_t a_cs,
                    const double *B, int64_t b_rs, int64_t b_cs,
                    double *C, int64_t c_rs, int64_t c_cs,
                    const fd_gemm_epi_f64 *epi, void *work)

cdef extern from "dense.h" nogil:
    int fd_dense_forward_f32(fd_ctx ctx, int64_t m, int64_t k, int64_t n,
                             const float *x, int64_t ldx,
                             const float *W, int64_t w_rs, int64_t w_cs,
                             const float *b, int act,
                             float *y, int64_t ldy, float *z, int64_t ldz,
                             void *work)
    int fd_dense_forward_f64(fd_ctx ctx, int64_t m, int64_t k, int64_t n,
                             const double *x, int64_t ldx,
                             const double *W, int64_t w_rs, int64_t w_cs,
                             const double *b, int act,
                             double *y, int64_t ldy, double *z, int64_t ldz,
                             void *work)
    int fd_dense_backward_f32(fd_ctx ctx, int64_t m, int64_t k, int64_t n,
                              const float *dy, int64_t lddy,
                              const float *x, int64_t ldx,
                              const float *W, int64_t w_rs, int64_t w_cs,
                              const float *yz, int64_t ldyz, int yz_is_preact,
                              int act,
                              float *dx, int64_t lddx,
                              float *dW, int64_t dw_rs, int64_t dw_cs,
                              float *db, int accumulate, void *work)
    int fd_dense_backward_f64(fd_ctx ctx, int64_t m, int64_t k, int64_t n,
                              const double *dy, int64_t lddy,
                              const double *x, int64_t ldx,
                              const double *W, int64_t w_rs, int64_t w_cs,
                              const double *yz, int64_t ldyz, int yz_is_preact,
                              int act,
                              double *dx, int64_t lddx,
                              double *dW, int64_t dw_rs, int64_t dw_cs,
                              double *db, int accumulate, void *work)

ACTIVATIONS = ("identity", "relu", "sigmoid", "tanh", "gelu")
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


cdef int _act_code(activation) except -1:
    if not isinstance(activation, str):
        raise TypeError("activation must be a str, one of %s; got %s"
                        % (", ".join(ACTIVATIONS), type(activation).__name__))
    try:
        return ACTIVATIONS.index(activation)
    except ValueError:
        raise ValueError("activation must be one of %s, got %r"
                         % (", ".join(ACTIVATIONS), activation)) from None


cdef object _array(obj, str name, int ndim):
    """obj as an ndarray of float32/float64 with `ndim` dims (no copy)."""
    if obj is None:
        raise TypeError("%s must be an array, got None" % name)
    arr = obj if isinstance(obj, np.ndarray) else np.asarray(obj)
    if arr.dtype != _F32 and arr.dtype != _F64:
        raise TypeError("%s must be float32 or float64, got %s" % (name, arr.dtype))
    if arr.ndim != ndim:
        raise ValueError("%s must be %d-D, got %d-D with shape %s"
                         % (name, ndim, arr.ndim, arr.shape))
    return arr


cdef int _check_strides(arr, str name) except -1:
    isz = arr.itemsize
    for s in arr.strides:
        if s % isz:
            raise ValueError("%s has strides %s that are not a multiple of its "
                             "item size" % (name, arr.strides))
    return 0


cdef int _same_dtype(ref, arr, str name, str refname) except -1:
    if arr.dtype != ref.dtype:
        raise TypeError("%s has dtype %s but %s has dtype %s; they must match"
                        % (name, arr.dtype, refname, ref.dtype))
    return 0


cdef int _no_overlap(out, str name, inputs) except -1:
    for other, oname in inputs:
        if other is not None and np.may_share_memory(out, other) and \
                np.shares_memory(out, other):
            raise ValueError("%s overlaps %s; pass a separate buffer" % (name, oname))
    return 0


cdef object _out(obj, str name, shape, dtype, bint allow_f, inputs):
    """Validate an out= buffer (or allocate one when obj is None)."""
    if obj is None:
        return np.empty(shape, dtype=dtype)
    if not isinstance(obj, np.ndarray):
        raise TypeError("%s must be a numpy.ndarray, got %s" % (name, type(obj).__name__))
    arr = obj
    if arr.dtype != dtype:
        raise TypeError("%s must have dtype %s, got %s" % (name, dtype, arr.dtype))
    if arr.shape != shape:
        raise ValueError("%s must have shape %s, got %s" % (name, shape, arr.shape))
    if not arr.flags.writeable:
        raise ValueError("%s is read-only" % name)
    if not (arr.flags.c_contiguous or (allow_f and arr.flags.f_contiguous)):
        raise ValueError("%s must be C-contiguous%s" % (name, " or F-contiguous" if allow_f else ""))
    _no_overlap(arr, name, inputs)
    return arr


cdef inline int64_t _st(a, int i):
    return a.strides[i] // a.itemsize


cdef inline void *_ptr(a):
    return cnp.PyArray_DATA(<cnp.ndarray>a)


cdef int _check_rc(int rc) except -1:
    if rc == FD_ENOMEM:
        raise MemoryError("fastdigits: out of memory for GEMM scratch space")
    if rc != FD_OK:
        raise RuntimeError("fastdigits: kernel failed with code %d" % rc)
    return 0


def matmul(a, b, out=None):
    cdef object A = _array(a, "a", 2)
    cdef object B = _array(b, "b", 2)
    _same_dtype(A, B, "b", "a")
    _check_strides(A, "a")
    _check_strides(B, "b")
    if A.shape[1] != B.shape[0]:
        raise ValueError("a and b shapes %s and %s do not align: a.shape[1] must "
                         "equal b.shape[0]" % (A.shape, B.shape))
    cdef int64_t m = A.shape[0], k = A.shape[1], n = B.shape[1]
    cdef object C = _out(out, "out", (m, n), A.dtype, True, ((A, "a"), (B, "b")))
    cdef int64_t c_rs = _st(C, 0), c_cs = _st(C, 1)
    cdef fd_ctx ctx = current_ctx()
    cdef int rc
    cdef int64_t a_rs = _st(A, 0), a_cs = _st(A, 1), b_rs = _st(B, 0), b_cs = _st(B, 1)
    cdef void *pa = _ptr(A)
    cdef void *pb = _ptr(B)
    cdef void *pc = _ptr(C)
    if A.dtype == _F32:
        with nogil:
            rc = fd_gemm_f32(ctx, m, k, n, <const float *>pa, a_rs, a_cs,
                             <const float *>pb, b_rs, b_cs, <float *>pc, c_rs, c_cs,
                             NULL, NULL)
    else:
        with nogil:
            rc = fd_gemm_f64(ctx, m, k, n, <const double *>pa, a_rs, a_cs,
                             <const double *>pb, b_rs, b_cs, <double *>pc, c_rs, c_cs,
                             NULL, NULL)
    _check_rc(rc)
    return C


cdef object _weight(W, x, int64_t k, int64_t* w_rs, int64_t* w_cs):
    cdef object Wa = _array(W, "W", 2)
    _same_dtype(x, Wa, "W", "x")
    if Wa.shape[0] != k:
        raise ValueError("W must have shape (in_features, out_features) = (%d, n); "
                         "got %s" % (k, Wa.shape))
    if Wa.flags.c_contiguous:
        w_rs[0] = Wa.shape[1]
        w_cs[0] = 1
    elif Wa.flags.f_contiguous:
        w_rs[0] = 1
        w_cs[0] = Wa.shape[0]
    else:
        raise ValueError("W must be C-contiguous or F-contiguous")
    return Wa


cdef object _c_input(obj, str name, int ndim):
    arr = _array(obj, name, ndim)
    if not arr.flags.c_contiguous:
        raise ValueError("%s must be C-contiguous (use np.ascontiguousarray)" % name)
    return arr


def dense_forward(x, W, b=None, activation="relu", out=None, preact_out=None):
    cdef int act = _act_code(activation)
    cdef object X = _c_input(x, "x", 2)
    cdef int64_t m = X.shape[0], k = X.shape[1], w_rs = 0, w_cs = 0
    cdef object Wa = _weight(W, X, k, &w_rs, &w_cs)
    cdef int64_t n = Wa.shape[1]
    cdef object Ba = None
    if b is not None:
        Ba = _c_input(b, "b", 1)
        _same_dtype(X, Ba, "b", "x")
        if Ba.shape[0] != n:
            raise ValueError("b must have shape (%d,), got %s" % (n, Ba.shape))
    ins = ((X, "x"), (Wa, "W"), (Ba, "b"))
    cdef object Y = _out(out, "out", (m, n), X.dtype, False, ins)
    cdef object Z = None
    if preact_out is not None:
        Z = _out(preact_out, "preact_out", (m, n), X.dtype, False, ins + ((Y, "out"),))
    cdef fd_ctx ctx = current_ctx()
    cdef void *px = _ptr(X)
    cdef void *pw = _ptr(Wa)
    cdef void *pb = _ptr(Ba) if Ba is not None else NULL
    cdef void *py = _ptr(Y)
    cdef void *pz = _ptr(Z) if Z is not None else NULL
    cdef int rc
    if X.dtype == _F32:
        with nogil:
            rc = fd_dense_forward_f32(ctx, m, k, n, <const float *>px, k,
                                      <const float *>pw, w_rs, w_cs,
                                      <const float *>pb, act, <float *>py, n,
                                      <float *>pz, n, NULL)
    else:
        with nogil:
            rc = fd_dense_forward_f64(ctx, m, k, n, <const double *>px, k,
                                      <const double *>pw, w_rs, w_cs,
                                      <const double *>pb, act, <double *>py, n,
                                      <double *>pz, n, NULL)
    _check_rc(rc)
    return Y


def dense_backward(dy, x, W, y_or_z, activation, need_dx=True, dx_out=None,
                   dW_out=None, db_out=None, accumulate=False):
    cdef int act = _act_code(activation)
    cdef object DY = _c_input(dy, "dy", 2)
    cdef object X = _c_input(x, "x", 2)
    _same_dtype(DY, X, "x", "dy")
    cdef int64_t m = X.shape[0], k = X.shape[1], w_rs = 0, w_cs = 0
    cdef object Wa = _weight(W, X, k, &w_rs, &w_cs)
    cdef int64_t n = Wa.shape[1]
    if DY.shape[0] != m or DY.shape[1] != n:
        raise ValueError("dy must have shape (batch, out_features) = (%d, %d), got %s"
                         % (m, n, DY.shape))
    cdef object YZ = _c_input(y_or_z, "y_or_z", 2)
    _same_dtype(X, YZ, "y_or_z", "x")
    if YZ.shape[0] != m or YZ.shape[1] != n:
        raise ValueError("y_or_z must have shape (%d, %d), got %s" % (m, n, YZ.shape))
    cdef bint acc = bool(accumulate)
    cdef bint want_dx = bool(need_dx)
    if acc:
        if dW_out is None:
            raise ValueError("accumulate=True needs dW_out (the buffer to add into)")
        if db_out is None:
            raise ValueError("accumulate=True needs db_out (the buffer to add into)")
        if want_dx and dx_out is None:
            raise ValueError("accumulate=True needs dx_out when need_dx=True")
    if not want_dx and dx_out is not None:
        raise ValueError("dx_out given but need_dx=False")
    ins = ((DY, "dy"), (X, "x"), (Wa, "W"), (YZ, "y_or_z"))
    cdef object DW
    if dW_out is None:
        DW = np.empty((k, n), dtype=X.dtype, order="F" if w_rs == 1 and w_cs != 1 else "C")
    else:
        DW = _out(dW_out, "dW_out", (k, n), X.dtype, True, ins)
    cdef object DB = _out(db_out, "db_out", (n,), X.dtype, False, ins + ((DW, "dW_out"),))
    cdef object DX = None
    if want_dx:
        DX = _out(dx_out, "dx_out", (m, k), X.dtype, False,
                  ins + ((DW, "dW_out"), (DB, "db_out")))
    cdef int64_t dw_rs, dw_cs
    if DW.flags.c_contiguous:
        dw_rs, dw_cs = n, 1
    else:
        dw_rs, dw_cs = 1, k
    cdef fd_ctx ctx = current_ctx()
    cdef void *pdy = _ptr(DY)
    cdef void *px = _ptr(X)
    cdef void *pw = _ptr(Wa)
    cdef void *pyz = _ptr(YZ)
    cdef void *pdx = _ptr(DX) if DX is not None else NULL
    cdef void *pdw = _ptr(DW)
    cdef void *pdb = _ptr(DB)
    cdef int preact = 1 if act == 4 else 0
    cdef int rc
    if X.dtype == _F32:
        with nogil:
            rc = fd_dense_backward_f32(ctx, m, k, n, <const float *>pdy, n,
                                       <const float *>px, k, <const float *>pw, w_rs, w_cs,
                                       <const float *>pyz, n, preact, act,
                                       <float *>pdx, k, <float *>pdw, dw_rs, dw_cs,
                                       <float *>pdb, acc, NULL)
    else:
        with nogil:
            rc = fd_dense_backward_f64(ctx, m, k, n, <const double *>pdy, n,
                                       <const double *>px, k, <const double *>pw, w_rs, w_cs,
                                       <const double *>pyz, n, preact, act,
                                       <double *>pdx, k, <double *>pdw, dw_rs, dw_cs,
                                       <double *>pdb, acc, NULL)
    _check_rc(rc)
    return DX, DW, DB
