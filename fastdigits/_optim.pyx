"""Binding for the in-place SGD and AdamW kernels: validate, convert, call C
without the GIL.  The public, documented functions are in fastdigits.optim."""
import numpy as np

cimport numpy as cnp
from libc.stdint cimport int64_t


from fastdigits._common cimport fd_ctx
from fastdigits._binding cimport (
    check_inplace,
    check_no_overlap,
    current_ctx,
    dtype_code,
)
from fastdigits import _hyper
from fastdigits._args import as_array, c_contiguous, native_dtype

cnp.import_array()

cdef extern from "optim/optim.h" nogil:
    # one entry for both dtypes: dtype (FD_F32 / FD_F64) picks the instance
    void fd_sgd_step(fd_ctx ctx, int dtype, int64_t n, void *param, const void *grad,
                     double lr, double momentum, void *velocity, double weight_decay,
                     int nesterov)
    void fd_adam_step(fd_ctx ctx, int dtype, int64_t n, void *param, const void *grad,
                      void *m, void *v, double lr, double beta1, double beta2, double eps,
                      int64_t step, double weight_decay)

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _state(object arr, str name, object like):
    """An array the step writes in place: float, C-contiguous, writeable, and
    of like's dtype and shape when like is given."""
    if not isinstance(arr, np.ndarray):
        raise TypeError("%s must be a numpy.ndarray updated in place (for a torch "
                        "tensor pass tensor.numpy()), got %s" % (name, type(arr).__name__))
    if like is None:
        if native_dtype(arr.dtype) not in _FLOATS:
            raise TypeError("%s must be float32 or float64, got dtype %s" % (name, arr.dtype))
        like = arr
    # (a byte-swapped one is rejected there, naming the byte order)
    return check_inplace(arr, name, like.shape, native_dtype(like.dtype))


def _grad(object grad, object param):
    # read only: array-likes converted (Python numbers to the param dtype),
    # non-contiguous copied below
    g = grad if isinstance(grad, np.ndarray) else as_array(grad, "grad", param.dtype)
    if native_dtype(g.dtype) != param.dtype:
        raise TypeError("grad must have the param dtype %s, got %s" % (param.dtype, g.dtype))
    if g.shape != param.shape:
        raise ValueError("grad must have the param shape %s, got %s"
                         % (param.shape, g.shape))
    return c_contiguous(g)


def _no_overlap(named):
    """ValueError naming the first pair of buffers that share memory."""
    for i in range(1, len(named)):
        check_no_overlap(named[i][1], named[i][0], tuple((a, n) for n, a in named[:i]))


def sgd_step(param, grad, lr, momentum=0.0, velocity=None, weight_decay=0.0,
             nesterov=False):
    cdef fd_ctx ctx
    cdef cnp.ndarray p, g
    cdef double clr, cmom, cwd
    cdef int cnest, dt
    cdef int64_t n
    cdef void *vptr = NULL

    p = _state(param, "param", None)
    g = _grad(grad, p)
    clr, cmom, cwd, cnest = _hyper.sgd(lr, momentum, weight_decay, nesterov)
    if velocity is None:
        if cmom != 0.0:
            raise ValueError("velocity buffer is required when momentum != 0 "
                             "(start from np.zeros_like(param))")
        _no_overlap([("param", p), ("grad", g)])
    else:
        vel = _state(velocity, "velocity", p)
        _no_overlap([("param", p), ("grad", g), ("velocity", vel)])
        if cmom != 0.0:
            vptr = cnp.PyArray_DATA(<cnp.ndarray>vel)

    n = p.size
    dt = dtype_code(p)
    ctx = current_ctx()
    with nogil:
        fd_sgd_step(ctx, dt, n, cnp.PyArray_DATA(p), cnp.PyArray_DATA(g), clr, cmom, vptr,
                    cwd, cnest)


def adam_step(param, grad, m, v, lr, beta1=0.9, beta2=0.999, eps=1e-8, step=None,
              weight_decay=0.0):
    cdef fd_ctx ctx
    cdef cnp.ndarray p, g, pm, pv
    cdef double clr, cb1, cb2, ceps, cwd
    cdef int64_t n, cstep
    cdef int dt

    p = _state(param, "param", None)
    g = _grad(grad, p)
    pm = _state(m, "m", p)
    pv = _state(v, "v", p)
    clr, cb1, cb2, ceps, cstep, cwd = _hyper.adam(lr, beta1, beta2, eps, step, weight_decay)
    _no_overlap([("param", p), ("grad", g), ("m", pm), ("v", pv)])

    n = p.size
    dt = dtype_code(p)
    ctx = current_ctx()
    with nogil:
        fd_adam_step(ctx, dt, n, cnp.PyArray_DATA(p), cnp.PyArray_DATA(g), cnp.PyArray_DATA(pm),
                     cnp.PyArray_DATA(pv), clr, cb1, cb2, ceps, cstep, cwd)
