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
    enum:
        FD_OK
        FD_ENOMEM
        FD_EINVAL


cdef inline fd_ctx current_ctx():
    """The SIMD path and thread count for a call made now from this thread."""
    cdef fd_ctx ctx
    isa, n = kernel_context()
    ctx.isa = isa
    ctx.nthreads = n
    return ctx
