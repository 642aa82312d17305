# The IDX declarations _idx.pyx and _idxnorm.pyx share: the error record, the
# libdeflate table and exact inflate, raise_error (defined in _idx.pyx), and
# the fd_idx_poll callback.
#
# fd_idx_poll: long GIL-free loops call it between chunks; it takes the GIL briefly and
# runs Python's signal handlers, so Ctrl-C stops a multi-second decode.
#
# After a call that returned FD_IDX_STOPPED the handler's exception (usually
# KeyboardInterrupt) is set; raise_stopped() hands it on to the caller.

cdef extern from "Python.h":
    int PyErr_CheckSignals()  # -1 with the exception set when a handler raised

from libc.stdint cimport int64_t, uint8_t

cdef extern from "idx/idx.h" nogil:
    ctypedef struct fd_idx_poll:
        int (*fn)(void *arg)
        void *arg
        double last
    enum:
        FD_IDX_STOPPED
    ctypedef struct fd_idx_error:
        int64_t offset
        char msg[320]
    ctypedef struct fd_libdeflate:
        void *(*alloc_decompressor)()
        int (*gzip_decompress_ex)(void *d, const void *inp, size_t in_nbytes,
                                  void *out, size_t out_nbytes_avail,
                                  size_t *actual_in_nbytes_ret,
                                  size_t *actual_out_nbytes_ret)
        void (*free_decompressor)(void *d)
    int fd_gz_inflate_exact(const fd_libdeflate *lib, const uint8_t *inp,
                            size_t n, uint8_t *out, size_t expect,
                            int64_t header_len, int *used_libdeflate,
                            fd_idx_poll *poll, fd_idx_error *err)


# IDXError (or MemoryError, or the pending KeyboardInterrupt) for a failed call.
cdef int raise_error(int rc, fd_idx_error *err) except -1


cdef inline int _check_signals(void *arg) noexcept nogil:
    cdef int rc
    with gil:
        rc = PyErr_CheckSignals()
    return rc != 0


cdef inline void init_poll(fd_idx_poll *poll) noexcept:
    poll.fn = _check_signals
    poll.arg = NULL
    poll.last = 0.0


cdef inline int raise_stopped() except -1:
    # The exception the signal handler raised is already set: report it.
    return -1
