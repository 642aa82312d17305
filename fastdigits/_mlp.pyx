"""Bindings for the one-call MLP epoch and batched inference (csrc/mlp/mlp.h).

Validates everything, converts lists of parameter arrays to pointer tables,
then runs the whole epoch in C with the GIL released.  C calls back after
every step; the GIL is taken back only to run the Python callback (every
``callback_every`` steps) or, at most every 50 ms, to run pending signal
handlers (Ctrl-C), so an epoch is interruptible whether or not a callback
is set.  Inference runs in bounded chunks with a signal check between them.
"""
from cpython.exc cimport PyErr_CheckSignals
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec

import numpy as np

cimport numpy as cnp

from fastdigits._common cimport FD_F32, FD_F64, FD_OK, fd_ctx
from fastdigits._augment cimport fd_aug_spec, fill_spec
from fastdigits._binding cimport act_code, check_status, current_ctx, dtype_code
from fastdigits._common cimport FD_PREC_BF16, FD_PREC_F32

cnp.import_array()

cdef extern from "mlp/mlp.h" nogil:
    enum:
        FD_MLP_SGD
        FD_MLP_ADAM
        FD_MLP_LR_CONSTANT
        FD_MLP_LR_LINEAR
        FD_MLP_LR_ONECYCLE
    ctypedef struct fd_mlp_shape:
        int nlayers
        const int64_t *sizes
        int act
        int64_t batch
        int64_t tail
    ctypedef struct fd_mlp_optim:
        int kind
        double lr
        double momentum
        double weight_decay
        double beta1
        double beta2
        double eps
        int64_t step
        double l2
        int nesterov
        int adam_eps_hat
        double dropout
        double input_dropout
        uint64_t seed
        double label_smoothing
        int schedule
        int64_t sched_start
        int64_t sched_total
        int64_t sched_warmup
        const uint8_t *aug_images
        const fd_aug_spec *aug_spec
        int64_t aug_h
        int64_t aug_w
        uint64_t aug_seed
        uint32_t aug_epoch
        double aug_scale
        double aug_mean
        double aug_std
    ctypedef int (*fd_mlp_progress)(void *user, int64_t steps_done) noexcept
    size_t fd_mlp_work_bytes(fd_ctx ctx, int dtype, const fd_mlp_shape *shape)
    int fd_mlp_epoch(fd_ctx ctx, int dtype, const fd_mlp_shape *shape, void **params,
                     void **grads, void **state, const void *X, int64_t n,
                     const int64_t *labels, const int64_t *order, int64_t n_order,
                     fd_mlp_optim *opt, void *work, double *loss_sum, int64_t *correct,
                     int64_t *steps_done, fd_mlp_progress cb, void *cb_user, int64_t every)
    int fd_mlp_forward(fd_ctx ctx, int dtype, const fd_mlp_shape *shape, void **params,
                       const void *X, int64_t n, void *logits, void *work)

from fastdigits._activation import ACTIVATIONS

OPTIMIZERS = ("sgd", "adam")
#: per-step learning-rate schedules run in C (csrc/mlp/mlp.h, FD_MLP_LR_*)
STEP_SCHEDULES = {"constant": FD_MLP_LR_CONSTANT, "linear": FD_MLP_LR_LINEAR,
                  "onecycle": FD_MLP_LR_ONECYCLE}
_PREDICT_ROWS = 256  # rows per inference batch in C: activations stay in cache
_PREDICT_FLOPS_PER_CALL = 1 << 31  # most multiply-adds per nogil inference call
_MAX_BATCH = 2147483647  # fastdigits.nn.MAX_BATCH_SIZE
cdef double _SIGNAL_CHECK_S = 0.05  # longest time between two signal checks in an epoch


cdef struct _Progress:
    void *holder       # [python callback or None, exception or None]
    int64_t every      # call the Python callback every `every` steps (0: none)
    double next_check  # monotonic time of the next signal check


cdef inline double _now() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec + 1e-9 * ts.tv_nsec


cdef int _progress(void *user, int64_t steps_done) noexcept nogil:
    # Called from C after every step.  A pending signal or an exception from
    # the Python callback stops the epoch (1, FD_MLP_STOP); it is re-raised
    # once C returns.  2 (FD_MLP_TOUCHED): the callback ran and may have
    # changed the weights (a bfloat16 epoch packs them again).
    cdef _Progress *p = <_Progress *>user
    cdef bint due = p.every > 0 and steps_done % p.every == 0
    cdef double now = _now()
    if not due and now < p.next_check:
        return 0
    p.next_check = now + _SIGNAL_CHECK_S
    with gil:
        holder = <list>p.holder
        try:
            PyErr_CheckSignals()  # runs the SIGINT handler: KeyboardInterrupt
            if due:
                holder[0](steps_done)
        except BaseException as exc:
            holder[1] = exc
            return 1
    return 2 if due else 0


cdef int _check_array(object a, str name, int typenum, tuple shape, bint writeable,
                      bint or_fortran=False) except -1:
    """TypeError / ValueError naming `name` unless `a` is a C-contiguous
    (or_fortran: or F-contiguous) NumPy array of type `typenum` (or an
    equivalent one) and shape `shape`, writeable where asked.  Through
    NumPy's C API: the sparse pair below checks every array of every
    training step with it."""
    cdef Py_ssize_t i, nd = len(shape)
    if not cnp.PyArray_Check(a):
        raise TypeError("%s must be a NumPy array, got %s" % (name, type(a).__name__))
    cdef cnp.ndarray arr = <cnp.ndarray>a
    if not cnp.PyArray_EquivTypenums(cnp.PyArray_TYPE(arr), typenum):
        raise TypeError("%s must have dtype %s, got %s"
                        % (name, cnp.PyArray_DescrFromType(typenum), arr.dtype))
    cdef bint same = cnp.PyArray_NDIM(arr) == nd
    for i in range(nd):
        same = same and cnp.PyArray_DIM(arr, i) == <cnp.npy_intp>shape[i]
    if not same:
        raise ValueError("%s must have shape %s, got %s" % (name, shape, (<object>arr).shape))
    if or_fortran and not (cnp.PyArray_IS_C_CONTIGUOUS(arr) or cnp.PyArray_IS_F_CONTIGUOUS(arr)):
        raise ValueError("%s must be C- or F-contiguous" % name)
    if not or_fortran and not cnp.PyArray_IS_C_CONTIGUOUS(arr):
        raise ValueError("%s must be C-contiguous" % name)
    if writeable and not cnp.PyArray_ISWRITEABLE(arr):
        raise ValueError("%s must be writeable" % name)
    return 0


cdef int _check_matrix(object a, str name, int typenum, tuple shape, bint writeable,
                       int64_t *rs, int64_t *cs) except -1:
    """_check_array for a matrix that may be C- or F-contiguous (a transposed
    PyTorch weight): sets its row and column strides in elements."""
    _check_array(a, name, typenum, shape, writeable, True)
    if cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>a):
        rs[0], cs[0] = shape[1], 1
    else:
        rs[0], cs[0] = 1, shape[0]
    return 0


def _sizes_from_params(list params):
    if len(params) < 2 or len(params) % 2:
        raise ValueError("params must be [W0, b0, W1, b1, ...], got %d arrays" % len(params))
    W0 = params[0]
    if not isinstance(W0, np.ndarray) or W0.ndim != 2:
        raise ValueError("params[0] must be a 2-D weight array")
    dtype = W0.dtype
    if dtype != np.float32 and dtype != np.float64:
        raise TypeError("params must be float32 or float64, got %s" % dtype)
    sizes = [W0.shape[0]]
    for i in range(len(params) // 2):
        W = params[2 * i]
        if not isinstance(W, np.ndarray) or W.ndim != 2 or W.shape[0] != sizes[len(sizes) - 1]:
            raise ValueError("params[%d] must be a weight of shape (%d, n)" % (2 * i, sizes[len(sizes) - 1]))
        sizes.append(W.shape[1])
    for i in range(len(params) // 2):
        _check_array(params[2 * i], "params[%d]" % (2 * i), dtype.num, (sizes[i], sizes[i + 1]), True)
        _check_array(params[2 * i + 1], "params[%d]" % (2 * i + 1), dtype.num, (sizes[i + 1],), True)
    return dtype, sizes


cdef void **_pointer_table(list arrays, str name) except NULL:
    cdef Py_ssize_t i, n = len(arrays)
    cdef void **tab = <void **>malloc((n if n else 1) * sizeof(void *))
    if tab == NULL:
        raise MemoryError()
    for i in range(n):
        tab[i] = cnp.PyArray_DATA(<cnp.ndarray>arrays[i])
    return tab


cdef int _precision_code(str precision, bint f32) except -1:
    """fd_ctx.precision for precision= (bfloat16: float32 models only); the
    GEMMs of every layer then round their operands to bf16 (gemm_bf16.h)."""
    if precision == "float32":
        return FD_PREC_F32
    if precision == "bfloat16":
        if not f32:
            raise TypeError('precision="bfloat16" needs a float32 model')
        return FD_PREC_BF16
    raise ValueError('precision must be "float32" or "bfloat16", got %r' % (precision,))


cdef fd_ctx _model_ctx(str precision, int dt) except *:
    """The context of a model call (an epoch or inference): this thread's
    SIMD path and threads, the products' precision, and denormals flushed to
    zero for the call (mlp.h)."""
    cdef fd_ctx ctx = current_ctx()
    ctx.precision = _precision_code(precision, dt == FD_F32)
    ctx.flush_denormals = 1
    return ctx


def train_epoch(list params, list grads, list state, X, y, order, *, str activation,
                long long batch_size, str optimizer, double lr, double momentum,
                double weight_decay, double beta1=0.9, double beta2=0.999,
                double eps=1e-8, long long step=0, callback=None,
                long long callback_every=0, double l2=0.0, bint nesterov=False,
                bint adam_eps_hat=False, double dropout=0.0, double input_dropout=0.0,
                dropout_seed=0, double label_smoothing=0.0, str schedule="constant",
                long long schedule_start=0, long long schedule_total=0,
                long long warmup=0, str precision="float32", augment=None, augment_seed=0,
                long long augment_epoch=0, normalization=None):
    """One training epoch over ``X[order]`` in a single nogil C call.

    Same signature and maths as :func:`fastdigits.reference.nn.train_epoch`;
    returns (sum of per-sample losses, correct predictions, optimiser steps).
    ``augment``: the operation rows of fastdigits._augspec.ops (None: off);
    X is then the uint8 images (n, h, w) with h * w = sizes[0], and every
    batch is augmented (key augment_seed, epoch augment_epoch) and
    normalised with ``normalization`` = (scale, mean, std) in C.
    """
    dtype, sizes = _sizes_from_params(params)
    cdef int L = len(sizes) - 1
    cdef Py_ssize_t i
    if activation not in ACTIVATIONS:
        raise ValueError("activation must be one of %s, got %r" % (", ".join(ACTIVATIONS), activation))
    if optimizer not in OPTIMIZERS:
        raise ValueError("optimizer must be one of %s, got %r" % (", ".join(OPTIMIZERS), optimizer))
    if batch_size < 1 or batch_size > _MAX_BATCH:
        raise ValueError("batch_size must be from 1 to %d, got %d" % (_MAX_BATCH, batch_size))
    if step < 0:
        raise ValueError("step must be >= 0, got %d" % step)
    if not l2 >= 0.0 or l2 == float("inf"):
        raise ValueError("l2 must be a finite number >= 0, got %r" % l2)
    if not 0.0 <= dropout < 1.0:
        raise ValueError("dropout must be in [0, 1), got %r" % dropout)
    if not 0.0 <= input_dropout < 1.0:
        raise ValueError("input_dropout must be in [0, 1), got %r" % input_dropout)
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError("label_smoothing must be in [0, 1), got %r" % label_smoothing)
    if not 0 <= dropout_seed < 2 ** 64:
        raise ValueError("dropout_seed must be in [0, 2**64), got %r" % (dropout_seed,))
    if schedule not in STEP_SCHEDULES:
        raise ValueError("schedule must be one of %s, got %r" % (", ".join(STEP_SCHEDULES), schedule))
    if not (0 <= warmup and 0 <= schedule_total and 0 <= schedule_start <= step):
        raise ValueError("need 0 <= warmup, 0 <= schedule_total and 0 <= schedule_start <= step")
    if len(grads) != len(params):
        raise ValueError("grads must hold %d arrays like params, got %d" % (len(params), len(grads)))
    for i in range(len(params)):
        _check_array(grads[i], "grads[%d]" % i, dtype.num, params[i].shape, True)
    n_state = 0
    if optimizer == "adam":
        n_state = 2 * len(params)
    elif momentum != 0.0:
        n_state = len(params)
    if len(state) != n_state:
        raise ValueError("state must hold %d arrays for %s%s, got %d" % (
            n_state, optimizer, " with momentum" if momentum else "", len(state)))
    for i in range(n_state):
        _check_array(state[i], "state[%d]" % i, dtype.num, params[i % len(params)].shape, True)
    cdef fd_aug_spec aspec
    cdef double ascale = 1.0, amean = 0.0, astd = 1.0
    if augment is not None:
        if dtype != np.float32:
            raise TypeError("augment needs float32 params, got %s" % dtype)
        if not isinstance(X, np.ndarray) or X.ndim != 3:
            raise ValueError("X must be uint8 images (n, h, w) with augment")
        _check_array(X, "X", cnp.NPY_UINT8, X.shape, False)
        if X.shape[1] * X.shape[2] != sizes[0]:
            raise ValueError("X images are %d x %d but the model takes %d inputs"
                             % (X.shape[1], X.shape[2], sizes[0]))
        fill_spec(&aspec, augment, X.shape[1], X.shape[2])
        if normalization is None or len(normalization) != 3:
            raise ValueError("normalization must be (scale, mean, std) with augment")
        ascale, amean, astd = [float(v) for v in normalization]
        if not (np.isfinite([ascale, amean, astd]).all() and astd > 0):
            raise ValueError("normalization must be finite with std > 0")
        if not 0 <= augment_seed < 2 ** 64:
            raise ValueError("augment_seed must be in [0, 2**64), got %r" % (augment_seed,))
        if not 0 <= augment_epoch < 2 ** 32:
            raise ValueError("augment_epoch must be in [0, 2**32), got %r" % augment_epoch)
    else:
        if not isinstance(X, np.ndarray) or X.ndim != 2:
            raise ValueError("X must be a 2-D array")
        _check_array(X, "X", dtype.num, (X.shape[0], sizes[0]), False)
    n = X.shape[0]
    _check_array(y, "y", cnp.NPY_INT64, (n,), False)
    if not isinstance(order, np.ndarray) or order.ndim != 1:
        raise ValueError("order must be a 1-D int64 array")
    _check_array(order, "order", cnp.NPY_INT64, (order.shape[0],), False)
    if n and (y.min() < 0 or y.max() >= sizes[len(sizes) - 1]):
        raise ValueError("y holds labels outside [0, %d)" % sizes[len(sizes) - 1])
    if order.shape[0] and (order.min() < 0 or order.max() >= n):
        raise ValueError("order holds indices outside [0, %d)" % n)
    everything = list(params) + list(grads) + list(state)
    for i in range(len(everything)):
        for j in range(i + 1, len(everything)):
            if np.shares_memory(everything[i], everything[j]):
                raise ValueError("params, grads and state must not share memory")
    if callback is not None and not callable(callback):
        raise TypeError("callback must be callable")

    cdef int64_t[::1] size_buf = np.asarray(sizes, dtype=np.int64)
    cdef fd_mlp_shape shape
    shape.nlayers = L
    shape.sizes = &size_buf[0]
    shape.act = act_code(activation)
    # A batch larger than the epoch is the whole epoch: size the work block for that.
    shape.batch = min(batch_size, max(order.shape[0], 1))
    shape.tail = order.shape[0] % shape.batch  # the last step's rows (0: a full one)
    cdef fd_mlp_optim opt
    memset(&opt, 0, sizeof(opt))
    opt.kind = FD_MLP_ADAM if optimizer == "adam" else FD_MLP_SGD
    opt.lr = lr
    opt.momentum = momentum
    opt.weight_decay = weight_decay
    opt.beta1 = beta1
    opt.beta2 = beta2
    opt.eps = eps
    opt.step = step
    opt.l2 = l2
    opt.nesterov = nesterov
    opt.adam_eps_hat = adam_eps_hat
    opt.dropout = dropout
    opt.input_dropout = input_dropout
    opt.seed = <uint64_t>int(dropout_seed)
    opt.label_smoothing = label_smoothing
    opt.schedule = STEP_SCHEDULES[schedule]
    opt.sched_start = schedule_start
    opt.sched_total = schedule_total
    opt.sched_warmup = min(warmup, schedule_total) if schedule != "constant" else warmup
    if augment is not None:
        opt.aug_images = <const uint8_t *>cnp.PyArray_DATA(X)
        opt.aug_spec = &aspec
        opt.aug_h = X.shape[1]
        opt.aug_w = X.shape[2]
        opt.aug_seed = <uint64_t>int(augment_seed)
        opt.aug_epoch = <uint32_t>augment_epoch
        opt.aug_scale = ascale
        opt.aug_mean = amean
        opt.aug_std = astd
    cdef int dt = dtype_code(params[0])
    cdef fd_ctx ctx = _model_ctx(precision, dt)
    cdef size_t wbytes = fd_mlp_work_bytes(ctx, dt, &shape)
    if wbytes == 0:
        raise ValueError("invalid layer sizes %r" % (sizes,))
    work_arr = np.empty(wbytes, dtype=np.uint8)  # once per epoch, never per batch
    cdef void *work = cnp.PyArray_DATA(work_arr)
    cdef const void *Xp = cnp.PyArray_DATA(X)
    cdef const int64_t *yp = <const int64_t *>cnp.PyArray_DATA(y)
    cdef const int64_t *op = <const int64_t *>cnp.PyArray_DATA(order)
    cdef int64_t n_order = order.shape[0]
    cdef int64_t nn = n
    cdef double loss_sum = 0.0
    cdef int64_t correct = 0, steps_done = 0
    cdef int rc
    cdef list holder = [callback, None]
    cdef _Progress prog
    prog.holder = <void *>holder
    prog.every = callback_every if callback is not None and callback_every > 0 else 0
    prog.next_check = _now() + _SIGNAL_CHECK_S
    cdef void **pp = NULL
    cdef void **gp = NULL
    cdef void **sp = NULL
    try:
        pp = _pointer_table(params, "params")
        gp = _pointer_table(grads, "grads")
        sp = _pointer_table(state, "state")
        with nogil:
            rc = fd_mlp_epoch(ctx, dt, &shape, pp, gp, sp, Xp, nn, yp, op, n_order, &opt,
                              work, &loss_sum, &correct, &steps_done, _progress, &prog, 1)
    finally:
        free(pp)
        free(gp)
        free(sp)
    if holder[1] is not None:
        raise holder[1]
    check_status(rc, "fastdigits: out of memory in the MLP epoch",
                 ValueError, "invalid labels or sample order for the MLP epoch")
    return float(loss_sum), int(correct), int(opt.step)


def predict_logits(list params, X, str activation, str precision="float32"):
    """Logits (n, n_classes) for the rows of X, computed in C without the GIL."""
    dtype, sizes = _sizes_from_params(params)
    if activation not in ACTIVATIONS:
        raise ValueError("activation must be one of %s, got %r" % (", ".join(ACTIVATIONS), activation))
    if not isinstance(X, np.ndarray) or X.ndim != 2:
        raise ValueError("X must be a 2-D array")
    _check_array(X, "X", dtype.num, (X.shape[0], sizes[0]), False)
    cdef int64_t[::1] size_buf = np.asarray(sizes, dtype=np.int64)
    cdef fd_mlp_shape shape
    shape.nlayers = len(sizes) - 1
    shape.sizes = &size_buf[0]
    shape.act = act_code(activation)
    shape.batch = _PREDICT_ROWS
    shape.tail = X.shape[0] % _PREDICT_ROWS  # calls below take whole batches but the last
    cdef int dt = dtype_code(params[0])
    cdef fd_ctx ctx = _model_ctx(precision, dt)
    cdef size_t wbytes = fd_mlp_work_bytes(ctx, dt, &shape)
    work_arr = np.empty(wbytes, dtype=np.uint8)
    out = np.empty((X.shape[0], sizes[len(sizes) - 1]), dtype=dtype)
    cdef char *work = <char *>cnp.PyArray_DATA(work_arr)
    cdef const char *Xp = <const char *>cnp.PyArray_DATA(X)
    cdef char *outp = <char *>cnp.PyArray_DATA(out)
    cdef int64_t n = X.shape[0]
    cdef int64_t flops_per_row = 0
    for i in range(len(sizes) - 1):
        flops_per_row += sizes[i] * sizes[i + 1]
    # Bounded nogil calls with a signal check between them: Ctrl-C is honoured
    # promptly even for millions of rows.  A call takes whole batches of
    # _PREDICT_ROWS, so the rows fall into the batches of one call over all of
    # X and the bits do not depend on the call sizes (a product's blocking
    # depends on its row count).  A call takes at most 2^31 multiply-adds,
    # the first a quarter of that; a call under 6 ms takes 4x more batches
    # next time, one over 50 ms half as many, so a slow path (the portable
    # build: ~0.3 s a batch for 784-4096-10) is not stuck in 2^31
    # multiply-adds, and a fast one makes few calls (each packs bfloat16 W).
    cdef int64_t cap = max(1, _PREDICT_FLOPS_PER_CALL // max(flops_per_row, 1) // _PREDICT_ROWS)
    cdef int64_t nbat = max(1, cap // 4), start = 0, rows
    cdef double t0, el
    cdef size_t in_row = sizes[0] * X.itemsize
    cdef size_t out_row = sizes[len(sizes) - 1] * X.itemsize
    cdef int rc = FD_OK
    cdef void **pp = _pointer_table(params, "params")
    try:
        while start < n and rc == FD_OK:
            rows = min(nbat * _PREDICT_ROWS, n - start)
            t0 = _now()
            with nogil:
                rc = fd_mlp_forward(ctx, dt, &shape, pp, Xp + start * in_row, rows,
                                    outp + start * out_row, work)
            el = _now() - t0
            start += rows
            PyErr_CheckSignals()
            if el < _SIGNAL_CHECK_S / 8 and nbat < cap:
                nbat = min(cap, 4 * nbat)
            elif el > _SIGNAL_CHECK_S and nbat > 1:
                nbat //= 2
    finally:
        free(pp)
    check_status(rc, "fastdigits: out of memory in MLP inference", ValueError, "invalid MLP shape")
    return out


# --------------------------------------------------------------------------
# The sparse first layer as a forward / backward pair (csrc/mlp/mlp_sparse.h),
# for callers that own the step (fastdigits.torch.MLP): the forward keeps the
# batch's groups of kept pixels in a scratch array that the backward reads.

cdef extern from "mlp/mlp_sparse.h" nogil:
    enum:
        FD_SP_NEXT_MAX
    size_t fd_mlp_sparse_bytes_f32(int64_t m, int64_t k, int64_t n)
    size_t fd_mlp_sparse_bytes_f64(int64_t m, int64_t k, int64_t n)
    int fd_mlp_sparse_may_f32(int64_t k, const float *x0)
    int fd_mlp_sparse_may_f64(int64_t k, const double *x0)
    ctypedef struct fd_sp_head:  # (the epoch's fused output layer; not used here)
        pass
    int fd_mlp_sparse_forward_f32(fd_ctx ctx, int64_t m, int64_t k, int64_t n, const float *x,
                                  const int64_t *idx, const float *W, int64_t w_rs, int64_t w_cs,
                                  const float *b, int act, float *y, int64_t ldy, void *scratch,
                                  const fd_sp_head *hd)
    int fd_mlp_sparse_forward_f64(fd_ctx ctx, int64_t m, int64_t k, int64_t n, const double *x,
                                  const int64_t *idx, const double *W, int64_t w_rs, int64_t w_cs,
                                  const double *b, int act, double *y, int64_t ldy,
                                  void *scratch, const fd_sp_head *hd)
    int fd_mlp_sparse_backward_f32(fd_ctx ctx, int64_t m, int64_t k, int64_t n, const float *dy,
                                   int64_t lddy, const float *dn, int64_t cn, const float *Wn,
                                   int64_t wn_rs, int64_t wn_cs, float *dWn, int64_t dwn_rs,
                                   int64_t dwn_cs, float *dbn, const float *y, int act,
                                   float *dW, int64_t dw_rs, int64_t dw_cs, float *db,
                                   void *scratch, int *done)
    int fd_mlp_sparse_backward_f64(fd_ctx ctx, int64_t m, int64_t k, int64_t n, const double *dy,
                                   int64_t lddy, const double *dn, int64_t cn, const double *Wn,
                                   int64_t wn_rs, int64_t wn_cs, double *dWn, int64_t dwn_rs,
                                   int64_t dwn_cs, double *dbn, const double *y, int act,
                                   double *dW, int64_t dw_rs, int64_t dw_cs, double *db,
                                   void *scratch, int *done)

cdef extern from "dense/dense.h" nogil:
    enum:
        FD_DENSE_FORWARD
        FD_DENSE_BACKWARD
    int fd_dense_backward(fd_ctx ctx, int dtype, int64_t m, int64_t k, int64_t n,
                          const void *dy, int64_t lddy, const void *x, int64_t ldx,
                          const void *W, int64_t w_rs, int64_t w_cs, const void *yz,
                          int64_t ldyz, int yz_is_preact, int act, void *dx, int64_t lddx,
                          void *dW, int64_t dw_rs, int64_t dw_cs, void *db, int accumulate,
                          const void *drop, void *work)
    size_t fd_dense_work_bytes(fd_ctx ctx, int dtype, int dense_pass,
                               int64_t m, int64_t k, int64_t n)
    int fd_dense_forward(fd_ctx ctx, int dtype, int64_t m, int64_t k, int64_t n,
                         const void *x, int64_t ldx, const void *W, int64_t w_rs, int64_t w_cs,
                         const void *b, int act, void *y, int64_t ldy, void *z, int64_t ldz,
                         const void *drop, void *yk, int64_t ldyk, const uint32_t *w_packed,
                         void *work)

# the scratch array's header, in int64 words before the C scratch: what the
# backward call checks its arguments against
cdef enum:
    _SP_HEAD = 8  # words (64 bytes: the C scratch stays 64-byte aligned)
    _SP_M = 0
    _SP_K = 1
    _SP_N = 2
    _SP_DT = 3
    _SP_ACT = 4
    _SP_BYTES = 5

SPARSE_HEAD_MAX = FD_SP_NEXT_MAX  # the widest output layer whose backward sparse_backward fuses


cdef inline void *_data(cnp.ndarray a):
    return cnp.PyArray_DATA(a)


def sparse_forward(x, W, b, str activation, y, W2=None, b2=None, out=None):
    """y = act(x @ W + b) for the first layer of a step whose backward pass
    sparse_backward makes, from the pixels of x that differ from its first
    element (mlp_sparse.h).  x (m, k), W (k, n; C- or F-contiguous: a
    PyTorch weight's transpose), y (m, n, written) and b (n, or None)
    C-contiguous float32 or float64 arrays of one dtype; activation "relu"
    or "identity".  With W2 (n, n2, C- or F-contiguous),
    b2 (n2, or None) and out (m, n2, C-contiguous, written): also the next,
    linear, layer out = y @ W2 + b2 in the same call.  Returns the scratch
    array that sparse_backward reads (keep it with y until then), or None
    when the batch is too dense for the sparse product (or empty): then
    nothing is written (run the dense products)."""
    if not cnp.PyArray_Check(x) or cnp.PyArray_NDIM(<cnp.ndarray>x) != 2:
        raise ValueError("x must be a 2-D array")
    if not cnp.PyArray_Check(W) or cnp.PyArray_NDIM(<cnp.ndarray>W) != 2:
        raise ValueError("W must be a 2-D array")
    cdef int typenum = cnp.PyArray_TYPE(<cnp.ndarray>x)
    if typenum != cnp.NPY_FLOAT32 and typenum != cnp.NPY_FLOAT64:
        raise TypeError("x must be float32 or float64, got %s" % x.dtype)
    cdef int64_t m = x.shape[0], k = x.shape[1], n = W.shape[1], n2 = 0
    cdef int64_t w_rs = 0, w_cs = 0, w2_rs = 0, w2_cs = 0
    _check_array(x, "x", typenum, (m, k), False)
    _check_matrix(W, "W", typenum, (k, n), False, &w_rs, &w_cs)
    if b is not None:
        _check_array(b, "b", typenum, (n,), False)
    _check_array(y, "y", typenum, (m, n), True)
    if activation != "relu" and activation != "identity":
        raise ValueError('activation must be "relu" or "identity", got %r' % (activation,))
    if W2 is not None:
        if not cnp.PyArray_Check(W2) or cnp.PyArray_NDIM(<cnp.ndarray>W2) != 2:
            raise ValueError("W2 must be a 2-D array")
        n2 = W2.shape[1]
        _check_matrix(W2, "W2", typenum, (n, n2), False, &w2_rs, &w2_cs)
        if b2 is not None:
            _check_array(b2, "b2", typenum, (n2,), False)
        _check_array(out, "out", typenum, (m, n2), True)
    elif b2 is not None or out is not None:
        raise ValueError("b2 and out need W2")
    if m < 1 or k < 1 or n < 1 or (W2 is not None and n2 < 1):
        return None  # nothing to compress (the dense product handles empty shapes)
    cdef int act = act_code(activation), ident = act_code("identity")
    cdef int dt = dtype_code(x)
    cdef void *px = _data(x)
    # (before the scratch is made: a batch whose first row rules it out)
    if not (fd_mlp_sparse_may_f32(k, <const float *>px) if dt == FD_F32
            else fd_mlp_sparse_may_f64(k, <const double *>px)):
        return None
    cdef fd_ctx ctx = current_ctx()
    cdef size_t nbytes = (fd_mlp_sparse_bytes_f32(m, k, n) if dt == FD_F32
                          else fd_mlp_sparse_bytes_f64(m, k, n))
    cdef size_t hbytes = fd_dense_work_bytes(ctx, dt, FD_DENSE_FORWARD, m, n, n2) if n2 else 0
    # the head's product scratch after the sparse one, 64-byte aligned
    cdef size_t hoff = (_SP_HEAD * 8 + nbytes + 63) // 64 * 64
    cdef cnp.ndarray scratch = np.empty(hoff + hbytes + 64, dtype=np.uint8)
    cdef int64_t *head = <int64_t *>_data(scratch)
    cdef void *work = <char *>head + _SP_HEAD * 8
    cdef void *hwork = <void *>((<size_t>(<char *>head + hoff) + 63) // 64 * 64)
    cdef void *pw = _data(W)
    cdef void *pb = _data(b) if b is not None else NULL
    cdef void *py = _data(y)
    cdef void *pw2 = _data(W2) if n2 else NULL
    cdef void *pb2 = _data(b2) if b2 is not None else NULL
    cdef void *pout = _data(out) if n2 else NULL
    cdef int done, rc = FD_OK
    with nogil:
        if dt == FD_F32:
            done = fd_mlp_sparse_forward_f32(ctx, m, k, n, <const float *>px, NULL,
                                             <const float *>pw, w_rs, w_cs, <const float *>pb,
                                             act, <float *>py, n, work, NULL)
        else:
            done = fd_mlp_sparse_forward_f64(ctx, m, k, n, <const double *>px, NULL,
                                             <const double *>pw, w_rs, w_cs,
                                             <const double *>pb, act, <double *>py, n, work,
                                             NULL)
        if done and n2:
            rc = fd_dense_forward(ctx, dt, m, n, n2, py, n, pw2, w2_rs, w2_cs, pb2,
                                  ident, pout, n2, NULL, 0, NULL, NULL, 0, NULL,
                                  hwork)
    if not done:
        return None
    check_status(rc, "fastdigits: out of memory in the MLP's output layer", ValueError,
                 "invalid output layer")
    head[_SP_M], head[_SP_K], head[_SP_N], head[_SP_DT], head[_SP_ACT] = m, k, n, dt, act
    head[_SP_BYTES] = nbytes
    return scratch


def sparse_backward(scratch, y, dy, dW, db, dn=None, Wn=None, dWn=None, dbn=None):
    """The backward pass of the sparse_forward call that returned scratch
    (its y): dW (k, n) = x^T dz and db (n,) = dz's column sums for dz =
    dy * act'(y), with no dx (y may be None after an identity forward: it
    is not read).  dy None: the next layer is a linear one of
    cn <= SPARSE_HEAD_MAX outputs (a relu forward only) whose gradient dn
    (m, cn) and weights Wn (n, cn) are given; its backward pass runs in this
    one's: dy = dn @ Wn^T, and dWn (n, cn) = y^T dn, dbn (cn,) = dn's column
    sums are written too.  Every array of the forward's dtype and
    C-contiguous, but W, Wn, dW and dWn may be F-contiguous (PyTorch
    weights' transposes); dW, db, dWn, dbn written."""
    if not cnp.PyArray_Check(scratch) or cnp.PyArray_TYPE(<cnp.ndarray>scratch) != cnp.NPY_UINT8 \
            or cnp.PyArray_NDIM(<cnp.ndarray>scratch) != 1 \
            or not cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>scratch) \
            or not cnp.PyArray_ISWRITEABLE(<cnp.ndarray>scratch) \
            or cnp.PyArray_DIM(<cnp.ndarray>scratch, 0) < _SP_HEAD * 8:
        raise ValueError("scratch must be the array sparse_forward returned")
    cdef int64_t *head = <int64_t *>_data(scratch)
    cdef int64_t size = cnp.PyArray_DIM(<cnp.ndarray>scratch, 0)
    cdef int64_t m = head[_SP_M], k = head[_SP_K], n = head[_SP_N], cn = 0
    cdef int64_t dw_rs = 0, dw_cs = 0, wn_rs = 0, wn_cs = 0, dwn_rs = 0, dwn_cs = 0
    if not (0 < m <= size and 0 < k <= size and 0 < n <= size) \
            or head[_SP_DT] not in (FD_F32, FD_F64) \
            or head[_SP_ACT] not in (act_code("relu"), act_code("identity")):
        raise ValueError("scratch must be the array sparse_forward returned")
    cdef int dt = <int>head[_SP_DT], act = <int>head[_SP_ACT]
    cdef size_t nbytes = (fd_mlp_sparse_bytes_f32(m, k, n) if dt == FD_F32
                          else fd_mlp_sparse_bytes_f64(m, k, n))
    if <size_t>head[_SP_BYTES] != nbytes or <size_t>size < _SP_HEAD * 8 + nbytes:
        raise ValueError("scratch must be the array sparse_forward returned")
    cdef int typenum = cnp.NPY_FLOAT32 if dt == FD_F32 else cnp.NPY_FLOAT64
    if y is not None:
        _check_array(y, "y", typenum, (m, n), False)
    elif act != act_code("identity"):
        raise ValueError("y is needed after a relu forward (act' reads it)")
    _check_matrix(dW, "dW", typenum, (k, n), True, &dw_rs, &dw_cs)
    _check_array(db, "db", typenum, (n,), True)
    if dy is None:
        if dn is None or Wn is None or dWn is None or dbn is None:
            raise ValueError("dy None needs dn, Wn, dWn and dbn")
        if not cnp.PyArray_Check(dn) or cnp.PyArray_NDIM(<cnp.ndarray>dn) != 2:
            raise ValueError("dn must be a 2-D array")
        cn = dn.shape[1]
        if cn < 1 or cn > FD_SP_NEXT_MAX or act != act_code("relu"):
            raise ValueError("dy None needs a relu forward and 1 <= dn.shape[1] <= %d, got %d"
                             % (FD_SP_NEXT_MAX, cn))
        _check_array(dn, "dn", typenum, (m, cn), False)
        _check_matrix(Wn, "Wn", typenum, (n, cn), False, &wn_rs, &wn_cs)
        _check_matrix(dWn, "dWn", typenum, (n, cn), True, &dwn_rs, &dwn_cs)
        _check_array(dbn, "dbn", typenum, (cn,), True)
    else:
        _check_array(dy, "dy", typenum, (m, n), False)
    cdef fd_ctx ctx = current_ctx()
    cdef void *work = <char *>head + _SP_HEAD * 8
    cdef void *py = _data(y) if y is not None else NULL
    cdef void *pdy = _data(dy) if dy is not None else NULL
    cdef void *pdn = _data(dn) if dy is None else NULL
    cdef void *pwn = _data(Wn) if dy is None else NULL
    cdef void *pdwn = _data(dWn) if dy is None else NULL
    cdef void *pdbn = _data(dbn) if dy is None else NULL
    cdef void *pdw = _data(dW)
    cdef void *pdb = _data(db)
    cdef int done = 0, rc
    with nogil:
        if dt == FD_F32:
            rc = fd_mlp_sparse_backward_f32(ctx, m, k, n, <const float *>pdy, n,
                                            <const float *>pdn, cn, <const float *>pwn, wn_rs,
                                            wn_cs, <float *>pdwn, dwn_rs, dwn_cs, <float *>pdbn,
                                            <const float *>py, act, <float *>pdw, dw_rs, dw_cs,
                                            <float *>pdb, work, &done)
        else:
            rc = fd_mlp_sparse_backward_f64(ctx, m, k, n, <const double *>pdy, n,
                                            <const double *>pdn, cn, <const double *>pwn, wn_rs,
                                            wn_cs, <double *>pdwn, dwn_rs, dwn_cs,
                                            <double *>pdbn, <const double *>py, act,
                                            <double *>pdw, dw_rs, dw_cs, <double *>pdb, work,
                                            &done)
    if rc != FD_OK or not done:
        raise ValueError("scratch holds no sparse forward pass")


# --------------------------------------------------------------------------
# The kernels of the sparse pair and the dense layer for a native (C++)
# PyTorch operator (fastdigits/torch/_native.py builds it): a table of
# function pointers (fastdigits/torch/_native/fd_native_api.h) in a
# PyCapsule.  The operator validates its tensors; these wrappers only turn
# the header's plain context into the kernels' own.

cdef extern from "Python.h":
    object PyCapsule_New(void *pointer, const char *name, void *destructor)

cdef extern from "fd_native_api.h" nogil:
    enum:
        FDN_API_VERSION
    ctypedef struct fdn_ctx:
        int isa
        int nthreads
        int tile
    ctypedef struct fdn_api:
        int version
        int sparse_head_max
        int (*sparse_may)(int, int64_t, const void *)
        size_t (*sparse_bytes)(int, int64_t, int64_t, int64_t)
        int (*sparse_forward)(fdn_ctx, int, int64_t, int64_t, int64_t, const void *,
                              const void *, int64_t, int64_t, const void *, int, void *, void *)
        int (*sparse_backward)(fdn_ctx, int, int64_t, int64_t, int64_t, const void *, int64_t,
                               const void *, int64_t, int64_t, void *, int64_t, int64_t, void *,
                               const void *, void *, int64_t, int64_t, void *, void *)
        int (*sparse_backward_dy)(fdn_ctx, int, int64_t, int64_t, int64_t, const void *,
                                  const void *, int, void *, int64_t, int64_t, void *, void *)
        size_t (*dense_work_bytes)(fdn_ctx, int, int, int64_t, int64_t, int64_t)
        int (*dense_forward)(fdn_ctx, int, int64_t, int64_t, int64_t, const void *,
                             const void *, int64_t, int64_t, const void *, int, void *, void *)
        int (*dense_backward)(fdn_ctx, int, int64_t, int64_t, int64_t, const void *,
                              const void *, const void *, int64_t, int64_t, const void *, int,
                              void *, void *, int64_t, int64_t, void *, void *)


cdef inline fd_ctx _native_ctx(fdn_ctx c) noexcept nogil:
    cdef fd_ctx ctx
    ctx.isa = c.isa
    ctx.nthreads = c.nthreads
    ctx.precision = FD_PREC_F32
    ctx.tile = c.tile
    ctx.flush_denormals = 0
    return ctx


cdef int _n_sparse_may(int dt, int64_t k, const void *x0) noexcept nogil:
    if dt == FD_F32:
        return fd_mlp_sparse_may_f32(k, <const float *>x0)
    return fd_mlp_sparse_may_f64(k, <const double *>x0)


cdef size_t _n_sparse_bytes(int dt, int64_t m, int64_t k, int64_t n) noexcept nogil:
    return fd_mlp_sparse_bytes_f32(m, k, n) if dt == FD_F32 else fd_mlp_sparse_bytes_f64(m, k, n)


cdef int _n_sparse_forward(fdn_ctx c, int dt, int64_t m, int64_t k, int64_t n, const void *x,
                           const void *W, int64_t w_rs, int64_t w_cs, const void *b, int act,
                           void *y, void *scratch) noexcept nogil:
    if dt == FD_F32:
        return fd_mlp_sparse_forward_f32(_native_ctx(c), m, k, n, <const float *>x, NULL,
                                         <const float *>W, w_rs, w_cs, <const float *>b, act,
                                         <float *>y, n, scratch, NULL)
    return fd_mlp_sparse_forward_f64(_native_ctx(c), m, k, n, <const double *>x, NULL,
                                     <const double *>W, w_rs, w_cs, <const double *>b, act,
                                     <double *>y, n, scratch, NULL)


cdef int _sp_backward(fdn_ctx c, int dt, int64_t m, int64_t k, int64_t n, const void *dy,
                      const void *dn, int64_t cn, const void *Wn, int64_t wn_rs, int64_t wn_cs,
                      void *dWn, int64_t dwn_rs, int64_t dwn_cs, void *dbn, const void *y,
                      int act, void *dW, int64_t dw_rs, int64_t dw_cs, void *db,
                      void *scratch) noexcept nogil:
    """fd_mlp_sparse_backward_<dtype>: 0 when done, else its status (-1: no
    sparse forward in scratch)."""
    cdef int done = 0, rc
    if dt == FD_F32:
        rc = fd_mlp_sparse_backward_f32(_native_ctx(c), m, k, n, <const float *>dy, n,
                                        <const float *>dn, cn, <const float *>Wn, wn_rs, wn_cs,
                                        <float *>dWn, dwn_rs, dwn_cs, <float *>dbn,
                                        <const float *>y, act, <float *>dW, dw_rs, dw_cs,
                                        <float *>db, scratch, &done)
    else:
        rc = fd_mlp_sparse_backward_f64(_native_ctx(c), m, k, n, <const double *>dy, n,
                                        <const double *>dn, cn, <const double *>Wn, wn_rs, wn_cs,
                                        <double *>dWn, dwn_rs, dwn_cs, <double *>dbn,
                                        <const double *>y, act, <double *>dW, dw_rs, dw_cs,
                                        <double *>db, scratch, &done)
    return rc if rc != FD_OK else (0 if done else -1)


cdef int _n_sparse_backward(fdn_ctx c, int dt, int64_t m, int64_t k, int64_t n, const void *dn,
                            int64_t cn, const void *Wn, int64_t wn_rs, int64_t wn_cs, void *dWn,
                            int64_t dwn_rs, int64_t dwn_cs, void *dbn, const void *y, void *dW,
                            int64_t dw_rs, int64_t dw_cs, void *db, void *scratch) noexcept nogil:
    # (relu: the fused output layer follows a relu layer)
    return _sp_backward(c, dt, m, k, n, NULL, dn, cn, Wn, wn_rs, wn_cs, dWn, dwn_rs, dwn_cs, dbn,
                        y, 1, dW, dw_rs, dw_cs, db, scratch)


cdef int _n_sparse_backward_dy(fdn_ctx c, int dt, int64_t m, int64_t k, int64_t n,
                               const void *dy, const void *y, int act, void *dW, int64_t dw_rs,
                               int64_t dw_cs, void *db, void *scratch) noexcept nogil:
    return _sp_backward(c, dt, m, k, n, dy, NULL, 0, NULL, 0, 1, NULL, 0, 1, NULL, y, act, dW,
                        dw_rs, dw_cs, db, scratch)


cdef size_t _n_dense_work_bytes(fdn_ctx c, int dt, int backward, int64_t m, int64_t k,
                                int64_t n) noexcept nogil:
    return fd_dense_work_bytes(_native_ctx(c), dt, FD_DENSE_BACKWARD if backward
                               else FD_DENSE_FORWARD, m, k, n)


cdef int _n_dense_forward(fdn_ctx c, int dt, int64_t m, int64_t k, int64_t n, const void *x,
                          const void *W, int64_t w_rs, int64_t w_cs, const void *b, int act,
                          void *y, void *work) noexcept nogil:
    return fd_dense_forward(_native_ctx(c), dt, m, k, n, x, k, W, w_rs, w_cs, b, act, y, n,
                            NULL, 0, NULL, NULL, 0, NULL, work)


cdef int _n_dense_backward(fdn_ctx c, int dt, int64_t m, int64_t k, int64_t n, const void *dy,
                           const void *x, const void *W, int64_t w_rs, int64_t w_cs,
                           const void *y, int act, void *dx, void *dW, int64_t dw_rs,
                           int64_t dw_cs, void *db, void *work) noexcept nogil:
    return fd_dense_backward(_native_ctx(c), dt, m, k, n, dy, n, x, k, W, w_rs, w_cs, y, n, 0,
                             act, dx, k, dW, dw_rs, dw_cs, db, 0, NULL, work)


cdef fdn_api _native_table
_native_table.version = FDN_API_VERSION
_native_table.sparse_head_max = FD_SP_NEXT_MAX
_native_table.sparse_may = _n_sparse_may
_native_table.sparse_bytes = _n_sparse_bytes
_native_table.sparse_forward = _n_sparse_forward
_native_table.sparse_backward = _n_sparse_backward
_native_table.sparse_backward_dy = _n_sparse_backward_dy
_native_table.dense_work_bytes = _n_dense_work_bytes
_native_table.dense_forward = _n_dense_forward
_native_table.dense_backward = _n_dense_backward


def native_api():
    """The kernels' table for the native PyTorch operator, a PyCapsule named
    "fastdigits.native_api" (fastdigits/torch/_native/fd_native_api.h)."""
    return PyCapsule_New(<void *>&_native_table, "fastdigits.native_api", NULL)
