"""Bindings for the GEMM core and the fused dense layers (csrc/dense/dense.h: the
product and the layers, one dtype-dispatching C entry each).

Validation and conversion only: the work runs in C without the GIL.
"""
import threading

import numpy as np
cimport numpy as cnp
from libc.stdint cimport int64_t, uint32_t, uint64_t

from fastdigits._common cimport fd_ctx
from fastdigits._binding cimport act_code, check_out, check_status, current_ctx, dtype_code
from fastdigits._common cimport FD_OK, FD_PREC_F32, FD_PREC_BF16

cnp.import_array()

cdef extern from "dense/dense.h" nogil:
    ctypedef struct fd_dense_drop:
        double p
        uint64_t seed
        uint32_t c2
        uint32_t tag
    enum:
        FD_DENSE_MATMUL
        FD_DENSE_FORWARD
        FD_DENSE_BACKWARD
    # one entry for both dtypes: dtype (FD_F32 / FD_F64) picks the instance
    size_t fd_dense_work_bytes(fd_ctx ctx, int dtype, int dense_pass,
                               int64_t m, int64_t k, int64_t n)
    int fd_dense_matmul(fd_ctx ctx, int dtype, int64_t m, int64_t k, int64_t n,
                        const void *A, int64_t a_rs, int64_t a_cs,
                        const void *B, int64_t b_rs, int64_t b_cs,
                        void *C, int64_t c_rs, int64_t c_cs, void *work)
    int fd_dense_forward(fd_ctx ctx, int dtype, int64_t m, int64_t k, int64_t n,
                         const void *x, int64_t ldx,
                         const void *W, int64_t w_rs, int64_t w_cs,
                         const void *b, int act,
                         void *y, int64_t ldy, void *z, int64_t ldz,
                         const fd_dense_drop *drop, void *yk, int64_t ldyk,
                         const uint32_t *w_packed, void *work)
    int64_t fd_dense_packed_words(fd_ctx ctx, int64_t k, int64_t n)
    int fd_dense_pack_weights(fd_ctx ctx, int64_t k, int64_t n, const float *W,
                              int64_t w_rs, uint32_t *dst)
    int fd_dense_backward(fd_ctx ctx, int dtype, int64_t m, int64_t k, int64_t n,
                          const void *dy, int64_t lddy,
                          const void *x, int64_t ldx,
                          const void *W, int64_t w_rs, int64_t w_cs,
                          const void *yz, int64_t ldyz, int yz_is_preact,
                          int act,
                          void *dx, int64_t lddx,
                          void *dW, int64_t dw_rs, int64_t dw_cs,
                          void *db, int accumulate, const fd_dense_drop *drop,
                          void *work)

from fastdigits._activation import activation_name
from fastdigits._args import anchor_dtype, as_array, behaved
from fastdigits._runtime import ISA_NAMES
from fastdigits._hyper import check_rate, check_seed


cdef fd_dense_drop _drop_args(dropout, seed):
    """dropout= and seed= checked (errors name them) as fd_dense_drop."""
    cdef fd_dense_drop d
    if type(dropout) is float and dropout == 0.0 and type(seed) is int and seed == 0:
        # the defaults, without the two Python-level checks (called per
        # layer per step by fastdigits.torch)
        d.p = 0.0
        d.seed = 0
    else:
        d.p = check_rate(dropout, "dropout")
        d.seed = check_seed(seed, "seed")
    d.c2 = 0
    d.tag = 0
    return d


cdef int _act_code(activation) except -1:
    # None is linear (as torch.nn.Linear); the rules live in _activation.py,
    # shared with the NumPy twin
    return act_code(activation_name(activation))


cdef inline cnp.ndarray _array(obj, str name, int ndim, tuple peers=()):
    """obj as an ndarray of float32/float64 with `ndim` dims: an ndarray as
    is (a byte-swapped or unaligned one copied, _args.behaved); an array-like converted (plain Python data to the dtype of the first
    ndarray among peers, the call's other inputs; see _args.as_array)."""
    cdef cnp.ndarray arr
    cdef int t
    if obj is None:
        raise TypeError("%s must be an array, got None" % name)
    arr = obj if cnp.PyArray_Check(obj) else as_array(obj, name, anchor_dtype(*peers))
    t = cnp.PyArray_TYPE(arr)
    if t != cnp.NPY_FLOAT32 and t != cnp.NPY_FLOAT64:
        raise TypeError("%s must be float32 or float64, got %s" % (name, arr.dtype))
    if cnp.PyArray_NDIM(arr) != ndim:
        raise ValueError("%s must be %d-D, got %d-D with shape %s"
                         % (name, ndim, cnp.PyArray_NDIM(arr), (<object>arr).shape))
    if not cnp.PyArray_ISBEHAVED_RO(arr):  # byte-swapped or unaligned: copied
        arr = behaved(arr)
    return arr


cdef int _check_strides(cnp.ndarray arr, str name) except -1:
    cdef int i
    for i in range(cnp.PyArray_NDIM(arr)):
        if cnp.PyArray_STRIDE(arr, i) % cnp.PyArray_ITEMSIZE(arr):
            raise ValueError("%s has strides %s that are not a multiple of its "
                             "item size" % (name, (<object>arr).strides))
    return 0


cdef int _same_dtype(cnp.ndarray ref, cnp.ndarray arr, str name, str refname) except -1:
    if cnp.PyArray_TYPE(arr) != cnp.PyArray_TYPE(ref):
        raise TypeError("%s has dtype %s but %s has dtype %s; they must match"
                        % (name, arr.dtype, refname, ref.dtype))
    return 0


cdef inline int64_t _st(cnp.ndarray a, int i):
    return cnp.PyArray_STRIDE(a, i) // cnp.PyArray_ITEMSIZE(a)


cdef inline void *_ptr(cnp.ndarray a):
    return cnp.PyArray_DATA(a)


# Packing scratch space, one buffer per Python thread, kept between calls and
# grown on demand: a fresh multi-megabyte malloc per call costs page faults
# (glibc hands large blocks back to the OS on free), which showed as
# 0.5-5 ms stalls on 1 ms layers.  Per thread, so concurrent calls never
# share it; a call holds it only while it runs (the GIL is released, but the
# same Python thread cannot enter a second call meanwhile).  Blocks over
# _KEEP_BYTES are not kept: one huge call (many threads, a huge batch) must
# not leave hundreds of MB resident, and its own work dwarfs the faults.
_scratch = threading.local()
cdef size_t _KEEP_BYTES = 64 << 20


cdef cnp.ndarray _workspace(size_t nbytes):
    """A scratch block of >= nbytes; the caller holds it for the call."""
    buf = getattr(_scratch, "buf", None)
    if buf is not None and (<cnp.ndarray>buf).nbytes >= nbytes:
        return buf
    buf = np.empty(max(nbytes, 1), dtype=np.uint8)
    if nbytes <= _KEEP_BYTES:
        _scratch.buf = buf
    return buf


cdef int _precision(precision, int typenum) except -1:
    """The C code of precision= ("float32" or "bfloat16"); bfloat16 products
    are for float32 arrays only (a float64 call would silently lose 45 bits)."""
    if precision is None or precision == "float32":
        return FD_PREC_F32
    if precision == "bfloat16":
        if typenum != cnp.NPY_FLOAT32:
            raise TypeError('precision="bfloat16" needs float32 arrays, got float64; '
                            'convert with .astype(np.float32) or use precision="float32"')
        return FD_PREC_BF16
    raise ValueError('precision must be "float32" or "bfloat16", got %r' % (precision,))


cdef int _check_rc(int rc) except -1:
    return check_status(rc, "fastdigits: out of memory for GEMM scratch space",
                        RuntimeError, "fastdigits: kernel failed with code %d")


def matmul(a, b, out=None, precision="float32"):
    if isinstance(a, PackedWeights) or isinstance(b, PackedWeights):
        raise TypeError("matmul takes arrays, not PackedWeights (dense_forward accepts "
                        "a PackedWeights W)")
    cdef cnp.ndarray A = _array(a, "a", 2, (b,))
    cdef cnp.ndarray B = _array(b, "b", 2, (A,))
    _same_dtype(A, B, "b", "a")
    _check_strides(A, "a")
    _check_strides(B, "b")
    if cnp.PyArray_DIM(A, 1) != cnp.PyArray_DIM(B, 0):
        raise ValueError("a and b shapes %s and %s do not align: a.shape[1] must "
                         "equal b.shape[0]" % ((<object>A).shape, (<object>B).shape))
    cdef int64_t m = cnp.PyArray_DIM(A, 0), k = cnp.PyArray_DIM(A, 1)
    cdef int64_t n = cnp.PyArray_DIM(B, 1)
    cdef int typenum = cnp.PyArray_TYPE(A)
    cdef int prec = _precision(precision, typenum)
    cdef cnp.ndarray C = check_out(out, "out", (m, n), A.dtype, True, ((A, "a"), (B, "b")))
    cdef int64_t c_rs = _st(C, 0), c_cs = _st(C, 1)
    cdef fd_ctx ctx = current_ctx()
    ctx.precision = prec
    cdef int rc
    cdef int64_t a_rs = _st(A, 0), a_cs = _st(A, 1), b_rs = _st(B, 0), b_cs = _st(B, 1)
    cdef void *pa = _ptr(A)
    cdef void *pb = _ptr(B)
    cdef void *pc = _ptr(C)
    cdef int dt = dtype_code(A)
    cdef cnp.ndarray wbuf = _workspace(fd_dense_work_bytes(ctx, dt, FD_DENSE_MATMUL, m, k, n))
    cdef void *work = _ptr(wbuf)
    with nogil:
        rc = fd_dense_matmul(ctx, dt, m, k, n, pa, a_rs, a_cs, pb, b_rs, b_cs, pc, c_rs, c_cs,
                             work)
    _check_rc(rc)
    return C


cdef cnp.ndarray _weight(W, cnp.ndarray x, int64_t k, int64_t* w_rs, int64_t* w_cs):
    cdef cnp.ndarray Wa = _array(W, "W", 2, (x,))
    _same_dtype(x, Wa, "W", "x")
    if cnp.PyArray_DIM(Wa, 0) != k:
        raise ValueError("W must have shape (in_features, out_features) = (%d, n); "
                         "got %s" % (k, (<object>Wa).shape))
    if cnp.PyArray_IS_C_CONTIGUOUS(Wa):
        w_rs[0] = cnp.PyArray_DIM(Wa, 1)
        w_cs[0] = 1
    elif cnp.PyArray_IS_F_CONTIGUOUS(Wa):
        w_rs[0] = 1
        w_cs[0] = k
    else:  # any other strided view: copied (C- and F-order are read in place)
        Wa = np.ascontiguousarray(Wa)
        w_rs[0] = cnp.PyArray_DIM(Wa, 1)
        w_cs[0] = 1
    return Wa


cdef cnp.ndarray _c_input(obj, str name, int ndim, tuple peers=()):
    """A read-only input as a C-contiguous array (non-contiguous: copied)."""
    cdef cnp.ndarray arr = _array(obj, name, ndim, peers)
    if not cnp.PyArray_IS_C_CONTIGUOUS(arr):
        arr = np.ascontiguousarray(arr)
    return arr


cdef int _check_shape2(cnp.ndarray a, str name, int64_t m, int64_t n) except -1:
    if cnp.PyArray_DIM(a, 0) != m or cnp.PyArray_DIM(a, 1) != n:
        raise ValueError("%s must have shape (batch, out_features) = (%d, %d), got %s"
                         % (name, m, n, (<object>a).shape))
    return 0


cdef class PackedWeights:
    """A float32 ``W`` packed for bfloat16 products (:func:`fastdigits.pack_weights`).

    Pass it to :func:`fastdigits.dense_forward` in place of ``W`` with
    ``precision="bfloat16"``, on the SIMD path it was packed on (``.path``).
    A snapshot of ``W``: after ``W`` changes, pack it again.  Immutable and
    thread-safe; not picklable (TypeError).  Attributes: ``shape`` (in, out),
    ``precision`` ("bfloat16"), ``path``, ``nbytes``, ``dtype`` (float32).
    """
    # The words fd_dense_pack_weights wrote: private (no Python attribute
    # reaches them, so nothing can make them writeable again), never changed
    # after pack_weights returns, read without the GIL by any thread.
    cdef cnp.ndarray _words
    cdef int64_t _k, _n
    cdef int _isa

    def __init__(self, *args, **kwargs):
        raise TypeError("PackedWeights are made by fastdigits.pack_weights(W)")

    @property
    def shape(self):
        """(in_features, out_features) of the W that was packed."""
        return (int(self._k), int(self._n))

    @property
    def precision(self):
        """The products it is packed for: always "bfloat16"."""
        return "bfloat16"

    @property
    def path(self):
        """The SIMD path it was packed on (``fastdigits.get_simd()`` then)."""
        return ISA_NAMES[self._isa]

    @property
    def nbytes(self):
        """Bytes of packed bfloat16 pairs (padding included)."""
        return int(self._words.nbytes)

    @property
    def dtype(self):
        """The dtype of the arrays it is used with: float32."""
        return np.dtype(np.float32)

    def __repr__(self):
        return "PackedWeights(shape=%r, precision='bfloat16', path=%r, nbytes=%d)" % (
            self.shape, self.path, self.nbytes)

    def __reduce__(self):
        raise TypeError("PackedWeights cannot be pickled: the packed layout belongs to "
                        "this process's SIMD path and CPU caches; pickle W and call "
                        "fastdigits.pack_weights(W) after loading it")

    def __copy__(self):
        return self  # immutable

    def __deepcopy__(self, memo):
        return self


def _packed_address(PackedWeights p):
    """Test hook: the address of p's first packed word."""
    return <size_t>cnp.PyArray_DATA(p._words)


_F32_ANCHOR = np.empty(0, np.float32)


def pack_weights(W, precision="bfloat16"):
    if precision != "bfloat16":
        raise ValueError('pack_weights packs W for precision="bfloat16" products only, '
                         'got precision=%r (float32 products read W in place: pass W '
                         'itself)' % (precision,))
    if isinstance(W, PackedWeights):
        raise TypeError("W is already PackedWeights; pack the float32 W")
    # plain Python data (lists) becomes float32: bfloat16 products take nothing else
    cdef cnp.ndarray Wa = _array(W, "W", 2, (_F32_ANCHOR,))
    if cnp.PyArray_TYPE(Wa) != cnp.NPY_FLOAT32:
        raise TypeError('pack_weights needs a float32 W (precision="bfloat16"), got %s; '
                        'convert with .astype(np.float32)' % Wa.dtype)
    _check_strides(Wa, "W")
    if not cnp.PyArray_IS_C_CONTIGUOUS(Wa):
        Wa = np.ascontiguousarray(Wa)  # the packer reads rows (one copy, once)
    cdef int64_t k = cnp.PyArray_DIM(Wa, 0), n = cnp.PyArray_DIM(Wa, 1)
    cdef fd_ctx ctx = current_ctx()
    ctx.precision = FD_PREC_BF16
    cdef int64_t words = fd_dense_packed_words(ctx, k, n)
    # on a cache line: AMX loads a tile row (64 bytes) at a time, and a
    # NumPy block starts 16 bytes into one (a row across two lines: the
    # pre-packed 1024 x 784 x 256 product took 0.24 ms instead of 0.21 on
    # the AMX Xeon, 2 threads)
    cdef cnp.ndarray raw = np.empty(words + 16, dtype=np.uint32)
    cdef size_t skip = (64 - <size_t>cnp.PyArray_DATA(raw) % 64) % 64 // 4
    cdef cnp.ndarray buf = raw[skip:skip + words]
    cdef const float *pw = <const float *>_ptr(Wa)
    cdef uint32_t *dst = <uint32_t *>_ptr(buf)
    cdef int rc = FD_OK
    if words:
        with nogil:
            rc = fd_dense_pack_weights(ctx, k, n, pw, n, dst)
    _check_rc(rc)
    buf.flags.writeable = False
    cdef PackedWeights pk = PackedWeights.__new__(PackedWeights)
    pk._words = buf
    pk._k = k
    pk._n = n
    pk._isa = ctx.isa
    return pk


def dense_forward(x, W, b=None, activation=None, out=None, preact_out=None,
                  precision="float32", dropout=0.0, seed=0, act_out=None):
    cdef fd_dense_drop drop = _drop_args(dropout, seed)
    cdef int act = _act_code(activation)
    cdef cnp.ndarray X, Wa = None
    cdef PackedWeights Wp = None
    cdef int64_t m, k, n, w_rs = 0, w_cs = 0
    cdef int prec
    cdef fd_ctx ctx = current_ctx()
    cdef const uint32_t *wpk = NULL
    cdef void *pw = NULL
    if isinstance(W, PackedWeights):
        # W packed beforehand (pack_weights): bfloat16 products on its path
        Wp = W
        if precision != "bfloat16":
            raise ValueError('W is PackedWeights (packed for precision="bfloat16"), but '
                             'precision=%r; pass precision="bfloat16", or the float32 W'
                             % (precision,))
        # plain Python data takes b's dtype, else float32 (the packed W's)
        X = _c_input(x, "x", 2, (b, _F32_ANCHOR))
        m, k, n = cnp.PyArray_DIM(X, 0), cnp.PyArray_DIM(X, 1), Wp._n
        prec = _precision(precision, cnp.PyArray_TYPE(X))
        if Wp._k != k:
            raise ValueError("W must have shape (in_features, out_features) = (%d, n); "
                             "got PackedWeights of shape %s" % (k, Wp.shape))
        if ctx.isa != Wp._isa:
            raise ValueError("W was packed on SIMD path %r but this call runs on %r; the "
                             "packed layout differs: pack W again (fastdigits.pack_weights) "
                             "under %r" % (Wp.path, ISA_NAMES[ctx.isa], ISA_NAMES[ctx.isa]))
        w_rs, w_cs = n, 1
        # no words when k or n is 0: then no product reads W (NULL for both)
        if cnp.PyArray_DIM(Wp._words, 0):
            wpk = <const uint32_t *>_ptr(Wp._words)
        ins = ((X, "x"),)
    else:
        X = _c_input(x, "x", 2, (W, b))
        m, k = cnp.PyArray_DIM(X, 0), cnp.PyArray_DIM(X, 1)
        Wa = _weight(W, X, k, &w_rs, &w_cs)
        n = cnp.PyArray_DIM(Wa, 1)
        prec = _precision(precision, cnp.PyArray_TYPE(X))
        pw = _ptr(Wa)
        ins = ((X, "x"), (Wa, "W"))
    cdef cnp.ndarray Ba = None
    if b is not None:
        Ba = _c_input(b, "b", 1, (X,))
        _same_dtype(X, Ba, "b", "x")
        if cnp.PyArray_DIM(Ba, 0) != n:
            raise ValueError("b must have shape (%d,), got %s" % (n, (<object>Ba).shape))
    ins = ins + ((Ba, "b"),)
    cdef cnp.ndarray Y = check_out(out, "out", (m, n), X.dtype, False, ins)
    cdef cnp.ndarray Z = None
    if preact_out is not None:
        Z = check_out(preact_out, "preact_out", (m, n), X.dtype, False, ins + ((Y, "out"),))
    cdef cnp.ndarray YK = None
    if act_out is not None:
        YK = check_out(act_out, "act_out", (m, n), X.dtype, False,
                       ins + ((Y, "out"), (Z, "preact_out")))
    ctx.precision = prec
    cdef void *px = _ptr(X)
    cdef void *pb = _ptr(Ba) if Ba is not None else NULL
    cdef void *py = _ptr(Y)
    cdef void *pz = _ptr(Z) if Z is not None else NULL
    cdef void *pyk = _ptr(YK) if YK is not None else NULL
    cdef int rc
    cdef int dt = dtype_code(X)
    cdef cnp.ndarray wbuf = _workspace(fd_dense_work_bytes(ctx, dt, FD_DENSE_FORWARD, m, k, n))
    cdef void *work = _ptr(wbuf)
    with nogil:
        rc = fd_dense_forward(ctx, dt, m, k, n, px, k, pw, w_rs, w_cs, pb, act, py, n,
                              pz, n, &drop, pyk, n, wpk, work)
    _check_rc(rc)
    return Y


def dense_backward(dy, x, W, y_or_z, activation=None, need_dx=True, dx_out=None,
                   dW_out=None, db_out=None, accumulate=False, str yz_name="y_or_z",
                   precision="float32", dropout=0.0, seed=0):
    # y_or_z: what act' is computed from (y, or z for gelu; None or unused
    # for the identity), checked by fastdigits.dense; yz_name: its argument name
    cdef fd_dense_drop drop = _drop_args(dropout, seed)
    cdef int act = _act_code(activation)
    if isinstance(W, PackedWeights):
        raise TypeError("W is PackedWeights: dense_backward needs the float32 W itself "
                        "(packed weights serve dense_forward only)")
    cdef cnp.ndarray DY = _c_input(dy, "dy", 2, (x, W, y_or_z))
    cdef cnp.ndarray X = _c_input(x, "x", 2, (DY,))
    _same_dtype(DY, X, "x", "dy")
    cdef int64_t m = cnp.PyArray_DIM(X, 0), k = cnp.PyArray_DIM(X, 1), w_rs = 0, w_cs = 0
    cdef cnp.ndarray Wa = _weight(W, X, k, &w_rs, &w_cs)
    cdef int64_t n = cnp.PyArray_DIM(Wa, 1)
    cdef int typenum = cnp.PyArray_TYPE(X)
    cdef int prec = _precision(precision, typenum)
    _check_shape2(DY, "dy", m, n)
    cdef cnp.ndarray YZ = None
    if y_or_z is not None or act != 0:
        YZ = _c_input(y_or_z, yz_name, 2, (X,))
        _same_dtype(X, YZ, yz_name, "x")
        _check_shape2(YZ, yz_name, m, n)
    cdef bint acc = bool(accumulate)
    cdef bint want_dx = bool(need_dx)
    if acc and dW_out is None and db_out is None and dx_out is None:
        raise ValueError("accumulate=True needs at least one of dx_out, dW_out, db_out "
                         "(the buffers to add into)")
    if not want_dx and dx_out is not None:
        raise ValueError("dx_out given but need_dx=False")
    ins = ((DY, "dy"), (X, "x"), (Wa, "W"), (YZ, yz_name))
    cdef cnp.ndarray DW
    if dW_out is None:
        # dW takes W's layout (F-contiguous like a PyTorch weight gradient)
        DW = np.empty((k, n), dtype=X.dtype,
                      order="F" if w_rs == 1 and not cnp.PyArray_IS_C_CONTIGUOUS(Wa) else "C")
    else:
        DW = check_out(dW_out, "dW_out", (k, n), X.dtype, True, ins)
    cdef cnp.ndarray DB = check_out(db_out, "db_out", (n,), X.dtype, False,
                                    ins + ((DW, "dW_out"),))
    cdef cnp.ndarray DX = None
    if want_dx:
        DX = check_out(dx_out, "dx_out", (m, k), X.dtype, False,
                       ins + ((DW, "dW_out"), (DB, "db_out")))
    if acc:
        # the kernel adds into every result: those without a caller's buffer
        # start from zero (returned as new arrays)
        for buf, given in ((DW, dW_out), (DB, db_out), (DX, dx_out)):
            if buf is not None and given is None:
                buf.fill(0)
    cdef int64_t dw_rs, dw_cs
    if cnp.PyArray_IS_C_CONTIGUOUS(DW):
        dw_rs, dw_cs = n, 1
    else:
        dw_rs, dw_cs = 1, k
    cdef fd_ctx ctx = current_ctx()
    ctx.precision = prec
    cdef void *pdy = _ptr(DY)
    cdef void *px = _ptr(X)
    cdef void *pw = _ptr(Wa)
    cdef void *pyz = _ptr(YZ) if YZ is not None else NULL
    cdef void *pdx = _ptr(DX) if DX is not None else NULL
    cdef void *pdw = _ptr(DW)
    cdef void *pdb = _ptr(DB)
    cdef int preact = 1 if act == 4 else 0
    cdef int rc
    cdef int dt = dtype_code(X)
    cdef cnp.ndarray wbuf = _workspace(fd_dense_work_bytes(ctx, dt, FD_DENSE_BACKWARD, m, k, n))
    cdef void *work = _ptr(wbuf)
    with nogil:
        rc = fd_dense_backward(ctx, dt, m, k, n, pdy, n, px, k, pw, w_rs, w_cs,
                               pyz, n, preact, act, pdx, k, pdw, dw_rs, dw_cs,
                               pdb, acc, &drop, work)
    _check_rc(rc)
    return DX, DW, DB
