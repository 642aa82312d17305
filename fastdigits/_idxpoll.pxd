# The fd_idx_poll callback (csrc/idx/idx.h) shared by _idx.pyx and _idxnorm.pyx:
# long GIL-free loops call it between chunks; it takes the GIL briefly and
# runs Python's signal handlers, so Ctrl-C stops a multi-second decode.
#
# After a call that returned FD_IDX_STOPPED the handler's exception (usually
# KeyboardInterrupt) is set; raise_stopped() hands it on to the caller.

cdef extern from "Python.h":
    int PyErr_CheckSignals()  # -1 with the exception set when a handler raised

cdef extern from "idx/idx.h" nogil:
    ctypedef struct fd_idx_poll:
        int (*fn)(void *arg)
        void *arg
        double last
    enum:
        FD_IDX_STOPPED


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
