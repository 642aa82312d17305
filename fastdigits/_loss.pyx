"""Binding for the softmax cross-entropy kernel: validate, convert, call C
without the GIL.  The public, documented function is fastdigits.loss."""
import numpy as np

cimport numpy as cnp
from libc.stdint cimport int64_t


from fastdigits._common cimport fd_ctx, FD_OK
from fastdigits._binding cimport check_out, current_ctx, dtype_code
from fastdigits._args import as_array, c_contiguous, native_dtype

cnp.import_array()

cdef extern from "loss/loss.h" nogil:
    enum:
        FD_REDUCE_NONE
        FD_REDUCE_MEAN
        FD_REDUCE_SUM
    # one entry for both dtypes: dtype (FD_F32 / FD_F64) picks the instance
    int fd_softmax_xent(fd_ctx ctx, int dtype, int64_t m, int64_t c, const void *logits,
                        const int64_t *labels, int reduction, void *loss, void *grad)

_REDUCTIONS = {"none": FD_REDUCE_NONE, "mean": FD_REDUCE_MEAN, "sum": FD_REDUCE_SUM}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _check_labels(object lab, Py_ssize_t m):
    """Labels as a C-contiguous int64 array of shape (m,).  The range is
    checked by the kernel itself (before it writes anything); see
    _label_error for the message."""
    if lab.dtype.kind not in "iu":
        raise TypeError("labels must hold integers (class ids), got dtype %s" % lab.dtype)
    if lab.ndim != 1 or lab.shape[0] != m:
        raise ValueError("labels must have shape (%d,) to match logits, got %s"
                         % (m, lab.shape))
    # uint64 ids >= 2**63 wrap to negative int64: still out of range
    return c_contiguous(lab, np.int64)


def _label_error(object lab, Py_ssize_t c):
    """The ValueError for the first out-of-range id, found in the caller's
    dtype (so a huge uint64 is reported as itself)."""
    bad = int(np.flatnonzero((lab < 0) | (lab >= c))[0])
    return ValueError("labels[%d] = %d is out of range: class ids must be in [0, %d)"
                      % (bad, int(lab[bad]), c))


def softmax_cross_entropy(logits, labels, str reduction="mean", grad_out=None,
                          bint need_grad=True):
    cdef fd_ctx ctx
    cdef cnp.ndarray lab, loss
    cdef int64_t m, c
    cdef int red, rc, dt
    cdef void *gptr = NULL

    x = logits if isinstance(logits, np.ndarray) else as_array(logits, "logits")
    if native_dtype(x.dtype) not in _FLOATS:
        raise TypeError("logits must be float32 or float64, got dtype %s" % x.dtype)
    if x.ndim != 2:
        raise ValueError("logits must be 2-D (batch, classes), got shape %s" % (x.shape,))
    x = c_contiguous(x)
    m = x.shape[0]
    c = x.shape[1]
    if reduction not in _REDUCTIONS:
        raise ValueError("reduction must be 'mean', 'sum' or 'none', got %r" % (reduction,))
    red = _REDUCTIONS[reduction]
    if not isinstance(labels, np.ndarray):
        labels = as_array(labels, "labels", natural=True)
    lab = _check_labels(labels, m)

    if grad_out is not None:
        if not need_grad:
            raise ValueError("grad_out was given but need_grad is False")
        check_out(grad_out, "grad_out", (m, c), x.dtype, False,
                  ((x, "logits"), (lab, "labels")))
        grad = grad_out
    elif need_grad:
        grad = np.empty((m, c), dtype=x.dtype)
    else:
        grad = None
    if grad is not None:
        gptr = cnp.PyArray_DATA(<cnp.ndarray>grad)

    loss = np.empty(m if red == FD_REDUCE_NONE else 1, dtype=x.dtype)
    cdef cnp.ndarray xa = x
    dt = dtype_code(xa)
    ctx = current_ctx()
    with nogil:
        rc = fd_softmax_xent(ctx, dt, m, c, cnp.PyArray_DATA(xa),
                             <const int64_t *>cnp.PyArray_DATA(lab), red,
                             cnp.PyArray_DATA(loss), gptr)
    if rc != FD_OK:  # the only failure left: a label out of range
        raise _label_error(labels, c)
    return (loss if red == FD_REDUCE_NONE else loss[0]), grad
