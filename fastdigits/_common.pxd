# Declarations shared by every Cython binding: the kernel context.
#
# current_ctx() is inlined into each module that cimports it and looks
# `kernel_context` up in THAT module's globals.  The import below only
# declares the name for the compiler; it is not executed in the including
# module, so every binding also starts with
#     from fastdigits._config import kernel_context
from fastdigits._config import kernel_context

cdef extern from "common/fd_common.h" nogil:
    ctypedef struct fd_ctx:
        int isa
        int nthreads
        int precision
    enum:
        FD_PREC_F32
        FD_PREC_BF16
        FD_OK
        FD_ENOMEM
        FD_EINVAL


cdef inline fd_ctx current_ctx():
    """The SIMD path and thread count for a call made now from this thread."""
    cdef fd_ctx ctx
    isa, n = kernel_context()
    ctx.isa = isa
    ctx.nthreads = n
    ctx.precision = FD_PREC_F32
    return ctx


cdef extern from "dense/dense.h" nogil:
    enum:
        FD_ACT_IDENTITY
        FD_ACT_RELU
        FD_ACT_SIGMOID
        FD_ACT_TANH
        FD_ACT_GELU


cdef inline int act_code(str name) except -1:
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
