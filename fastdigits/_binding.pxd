# The helpers every Cython binding shares (cimported from fastdigits._binding,
# compiled once there): the kernel context of the calling thread, out= and
# in-place buffer checks with one wording, real-number arguments, kernel
# status codes as exceptions, the activation codes of the C enum and the
# dtype codes of the dtype-dispatching C entries.
cimport numpy as cnp

from fastdigits._common cimport fd_ctx

cdef fd_ctx current_ctx() except *
cdef cnp.ndarray check_out(object obj, str name, tuple shape, object dtype,
                           bint allow_f=*, tuple inputs=*)
cdef cnp.ndarray check_inplace(object obj, str name, tuple shape, object dtype,
                               tuple inputs=*)
cdef int check_no_overlap(object arr, str name, tuple inputs) except -1
cdef int check_status(int rc, str nomem, object error, str failed) except -1
cdef int act_code(str name) except -1
cdef int dtype_code(cnp.ndarray arr) except -1
