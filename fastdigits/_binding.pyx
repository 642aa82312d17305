"""Shared helpers of the Cython bindings (declared in _binding.pxd).

One wording for every out= check, so an error names the argument the same way
whichever kernel raised it:

* ``<name> must be a numpy.ndarray, got <type>`` (TypeError)
* ``<name> must have dtype <dtype>, got <dtype>`` (TypeError)
* ``<name> must be in the machine's byte order (dtype <dtype>), got <'>f4'>`` (TypeError)
* ``<name> must have shape <shape>, got <shape>``
* ``<name> is read-only``
* ``<name> must be aligned to its dtype``
* ``<name> must be C-contiguous`` (``or F-contiguous`` where the kernel takes both)
* ``<name> overlaps <input>; pass a separate buffer``
"""

import numpy as np

cimport numpy as cnp

from fastdigits._common cimport (
    FD_ACT_GELU,
    FD_ACT_IDENTITY,
    FD_ACT_RELU,
    FD_ACT_SIGMOID,
    FD_ACT_TANH,
    FD_ENOMEM,
    FD_F32,
    FD_F64,
    FD_OK,
    FD_PREC_F32,
    fd_ctx,
)
from fastdigits import _config
from fastdigits._config import kernel_context

cnp.import_array()


cdef fd_ctx current_ctx() except *:
    """The SIMD path and thread count for a call made now from this thread."""
    cdef fd_ctx ctx
    isa, n = kernel_context()
    ctx.isa = isa
    ctx.nthreads = n
    ctx.precision = FD_PREC_F32  # a kernel taking precision= sets its own
    ctx.tile = _config._gemm_tile  # 0 (the CPU's rule) unless a test forces one
    ctx.flush_denormals = 0  # the MLP's entry points set their own
    return ctx


cdef void _extent(cnp.ndarray a, char **lo, char **hi):
    """Byte range [lo, hi) spanned by a (lo == hi when a is empty)."""
    cdef int i
    cdef Py_ssize_t ext
    lo[0] = <char *>cnp.PyArray_DATA(a)
    hi[0] = lo[0] + cnp.PyArray_ITEMSIZE(a)
    for i in range(cnp.PyArray_NDIM(a)):
        if cnp.PyArray_DIM(a, i) == 0:
            hi[0] = lo[0]
            return
        ext = (cnp.PyArray_DIM(a, i) - 1) * cnp.PyArray_STRIDE(a, i)
        if ext < 0:
            lo[0] += ext
        else:
            hi[0] += ext


cdef bint _extents_overlap(cnp.ndarray a, cnp.ndarray b):
    """Cheap first test: do the byte ranges a and b span intersect?"""
    cdef char *alo
    cdef char *ahi
    cdef char *blo
    cdef char *bhi
    _extent(a, &alo, &ahi)
    _extent(b, &blo, &bhi)
    return alo < ahi and blo < bhi and alo < bhi and blo < ahi


cdef int check_no_overlap(object arr, str name, tuple inputs) except -1:
    """ValueError if arr shares memory with one of inputs ((array, name) pairs;
    None arrays are skipped)."""
    for other, oname in inputs:
        if other is None:
            continue
        if not (cnp.PyArray_Check(arr) and cnp.PyArray_Check(other)):
            raise TypeError("check_no_overlap takes arrays, got %s and %s (%s)"
                            % (type(arr).__name__, type(other).__name__, oname))
        if _extents_overlap(<cnp.ndarray>arr, <cnp.ndarray>other) and np.shares_memory(arr, other):
            raise ValueError("%s overlaps %s; pass a separate buffer" % (name, oname))
    return 0


cdef cnp.ndarray _check_buffer(object obj, str name, tuple shape, object dtype, bint allow_f,
                               tuple inputs):
    if not cnp.PyArray_Check(obj):
        raise TypeError("%s must be a numpy.ndarray, got %s" % (name, type(obj).__name__))
    cdef cnp.ndarray arr = <cnp.ndarray>obj
    if arr.dtype != dtype:
        if not arr.dtype.isnative and arr.dtype.newbyteorder("=") == dtype:
            # the kernel writes it in place: a converted copy would lose the result
            raise TypeError("%s must be in the machine's byte order (dtype %s), got %s"
                            % (name, np.dtype(dtype), arr.dtype.str))
        raise TypeError("%s must have dtype %s, got %s" % (name, np.dtype(dtype), arr.dtype))
    if (<object>arr).shape != shape:
        raise ValueError("%s must have shape %s, got %s" % (name, shape, (<object>arr).shape))
    if not cnp.PyArray_ISWRITEABLE(arr):
        raise ValueError("%s is read-only" % name)
    if not cnp.PyArray_ISALIGNED(arr):
        raise ValueError("%s must be aligned to its dtype" % name)
    if not (cnp.PyArray_IS_C_CONTIGUOUS(arr) or (allow_f and cnp.PyArray_IS_F_CONTIGUOUS(arr))):
        raise ValueError("%s must be C-contiguous%s" % (name, " or F-contiguous" if allow_f else ""))
    check_no_overlap(arr, name, inputs)
    return arr


cdef cnp.ndarray check_out(object obj, str name, tuple shape, object dtype,
                           bint allow_f=False, tuple inputs=()):
    """The out= buffer obj, checked (shape, dtype, writeable, aligned,
    contiguous, no overlap with inputs), or a new array when obj is None."""
    if obj is None:
        return np.empty(shape, dtype=dtype)
    return _check_buffer(obj, name, shape, dtype, allow_f, inputs)


cdef cnp.ndarray check_inplace(object obj, str name, tuple shape, object dtype,
                               tuple inputs=()):
    """A buffer a kernel updates in place (parameters, optimiser state): the
    same checks as an out= buffer, but it must be given."""
    return _check_buffer(obj, name, shape, dtype, False, inputs)


cdef int check_status(int rc, str nomem, object error, str failed) except -1:
    """Raise for a kernel status other than FD_OK: MemoryError(nomem) for
    FD_ENOMEM, else error(failed), the status in place of a %d there."""
    if rc == FD_OK:
        return 0
    if rc == FD_ENOMEM:
        raise MemoryError(nomem)
    raise error(failed % rc if "%d" in failed else failed)


cdef int act_code(str name) except -1:
    """The C enum value of an activation name (fastdigits._activation.ACTIVATIONS);
    the one place the names meet the C codes."""
    if name == "identity":
        return FD_ACT_IDENTITY
    if name == "relu":
        return FD_ACT_RELU
    if name == "sigmoid":
        return FD_ACT_SIGMOID
    if name == "tanh":
        return FD_ACT_TANH
    if name == "gelu":
        return FD_ACT_GELU
    raise ValueError("unknown activation %r" % (name,))


cdef int dtype_code(cnp.ndarray arr) except -1:
    """FD_F32 / FD_F64, the dtype argument of a dtype-dispatching C entry
    (fd_dense_forward, ...), for a float32 / float64 array.  The array must
    be behaved (native byte order, aligned): bindings convert what they read
    (_args.behaved) and reject what they write (check_out), and this last
    check turns a missed one into an error instead of wrong numbers."""
    cdef int t = cnp.PyArray_TYPE(arr)
    if not cnp.PyArray_ISBEHAVED_RO(arr):
        raise TypeError("internal error: a byte-swapped or unaligned %s array reached a "
                        "kernel; please report it" % (arr.dtype.str,))
    if t == cnp.NPY_FLOAT32:
        return FD_F32
    if t == cnp.NPY_FLOAT64:
        return FD_F64
    raise TypeError("expected float32 or float64, got %s" % (arr.dtype,))


def out_buffer(obj, str name, tuple shape, dtype, bint allow_f=False, tuple inputs=()):
    """check_out for Python callers (the IDX readers): the same checks and
    wording as the bindings'."""
    return check_out(obj, name, shape, np.dtype(dtype), allow_f, inputs)
