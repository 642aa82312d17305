"""Binding for the augmentation / batch kernels: checks, converts, releases the GIL.

The public entry points (fastdigits.augment.apply, fastdigits.batches)
validate the user's arguments; this module checks what the C relies on
(dtypes, shapes, contiguity, ranges) once more, so no call can crash.
"""
import numpy as np

cimport numpy as cnp
from libc.stdint cimport int64_t, uint32_t, uint64_t
from libc.string cimport memset
from fastdigits._common cimport fd_ctx, FD_OK, FD_F32, FD_U8
from fastdigits._binding cimport check_status, current_ctx
from fastdigits._augspec import check_size

cnp.import_array()

cdef extern from "augment/augment.h" nogil:
    # one entry for both image dtypes: dtype (FD_U8 / FD_F32) picks the instance
    int fd_augment(fd_ctx ctx, int dtype, const void *images, int64_t h, int64_t w,
                   const int64_t *rows, const int64_t *ids, int64_t count,
                   const fd_aug_spec *spec, uint64_t seed, uint32_t epoch,
                   double scale, double mean, double std, float *out)
    int fd_shuffle_order(fd_ctx ctx, int64_t n, uint64_t seed, uint32_t epoch, int64_t *order)

AFFINE = FD_AUG_AFFINE
ELASTIC = FD_AUG_ELASTIC
MAX_OPS = FD_AUG_MAX_OPS
_U8 = np.dtype(np.uint8)
_F32 = np.dtype(np.float32)
_I64 = np.dtype(np.int64)


cdef int fill_spec(fd_aug_spec *spec, list ops, int64_t h, int64_t w) except -1:
    """ops: [(kind, params...)] as made by fastdigits._augspec.ops (declared in
    _augment.pxd: _mlp.pyx fills the spec of an augmented epoch with it)."""
    cdef int i, k
    if len(ops) > FD_AUG_MAX_OPS:
        raise ValueError("augment has %d operations; at most %d" % (len(ops), FD_AUG_MAX_OPS))
    check_size(ops, h, w)  # the size limits, each named
    memset(spec, 0, sizeof(fd_aug_spec))  # unused ops and parameters are zeros
    spec.n_ops = len(ops)
    for i in range(spec.n_ops):
        kind, params = ops[i]
        if len(params) > FD_AUG_MAX_PARAMS:
            raise ValueError("too many parameters for an augmentation op")
        spec.ops[i].kind = kind
        for k in range(len(params)):
            spec.ops[i].p[k] = float(params[k])
    if fd_aug_check(spec, h, w) != FD_OK:
        raise ValueError("augment spec %r is not usable on %d x %d images" % (ops, h, w))
    return 0


cdef int _status(int st) except -1:
    return check_status(st, "fastdigits augment: out of memory for scratch buffers",
                        ValueError, "fastdigits augment: invalid arguments (status %d)")


cdef int _check_images(images, dtypes) except -1:
    """The dtype code (FD_U8 / FD_F32) of images, once they are checked."""
    if not isinstance(images, np.ndarray) or images.ndim != 3 or images.dtype not in dtypes:
        raise TypeError("images must be an (n, h, w) array of %s"
                        % " or ".join(str(d) for d in dtypes))
    if not images.flags.c_contiguous:
        raise ValueError("images must be C-contiguous")
    return FD_U8 if images.dtype == _U8 else FD_F32


def augment(images, list ops, seed, epoch, indices, out, double scale, double mean,
            double std):
    """out[i] = augment(images[i]) * (scale/std) - mean/std (float32); see fastdigits.augment."""
    cdef fd_aug_spec spec
    cdef fd_ctx ctx
    cdef int st
    cdef int64_t n, h, w
    cdef uint64_t s = seed
    cdef uint32_t e = epoch
    cdef const void *img
    cdef const int64_t[::1] ids
    cdef const int64_t *idp = NULL
    cdef float[:, :, ::1] o
    cdef int dt = _check_images(images, (_U8, _F32))
    n, h, w = images.shape
    fill_spec(&spec, ops, h, w)
    if not isinstance(out, np.ndarray) or out.dtype != _F32 or out.shape != images.shape \
            or not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError("out must be a writeable C-contiguous float32 array of shape %s"
                         % (images.shape,))
    if indices is not None:
        if not isinstance(indices, np.ndarray) or indices.dtype != _I64 \
                or indices.shape != (n,) or not indices.flags.c_contiguous:
            raise ValueError("indices must be a contiguous int64 array of shape (%d,)" % n)
    if n == 0 or h * w == 0:
        return out
    o = out
    if indices is not None:
        ids = indices
        idp = &ids[0]
    img = cnp.PyArray_DATA(<cnp.ndarray>images)  # C-contiguous, checked above
    ctx = current_ctx()
    with nogil:
        st = fd_augment(ctx, dt, img, h, w, NULL, idp, n, &spec, s, e, scale, mean, std,
                        &o[0, 0, 0])
    _status(st)
    return out


def shuffle_order(int64_t n, seed, epoch):
    """The permutation of range(n) for (seed, epoch), as int64."""
    cdef fd_ctx ctx
    cdef int st
    cdef uint64_t s = seed
    cdef uint32_t e = epoch
    cdef int64_t[::1] o
    if n < 0:
        raise ValueError("n must be >= 0")
    order = np.empty(n, dtype=np.int64)
    if n == 0:
        return order
    o = order
    ctx = current_ctx()
    with nogil:
        st = fd_shuffle_order(ctx, n, s, e, &o[0])
    _status(st)
    return order


cdef class BatchMaker:
    """Everything fixed for the batches of one epoch; make() fills one batch.

    images: (n, h, w) uint8 or float32, C-contiguous; order: int64 indices
    into images (also the sample ids of the augmentation).

    make() releases the GIL, so a background thread can call it while the
    caller trains.  It holds references to the arrays it reads.
    """
    cdef fd_aug_spec spec
    cdef object images, order
    cdef const void *img
    cdef int dtype
    cdef const int64_t[::1] ordv
    cdef int64_t n, h, w
    cdef uint64_t seed
    cdef uint32_t epoch
    cdef double scale, mean, std
    cdef fd_ctx ctx

    def __init__(self, images, order, list ops, seed, epoch, double scale, double mean,
                 double std):
        self.dtype = _check_images(images, (_U8, _F32))
        if not isinstance(order, np.ndarray) or order.dtype != _I64 or order.ndim != 1 \
                or not order.flags.c_contiguous:
            raise ValueError("order must be a contiguous 1-D int64 array")
        self.n, self.h, self.w = images.shape
        if order.size and (order.min() < 0 or order.max() >= self.n):
            raise ValueError("order has entries outside [0, %d)" % self.n)
        fill_spec(&self.spec, ops, self.h, self.w)
        self.images = images
        self.order = order
        self.img = cnp.PyArray_DATA(<cnp.ndarray>images)  # kept alive by self.images
        self.ordv = order
        self.seed = seed
        self.epoch = epoch
        self.scale = scale
        self.mean = mean
        self.std = std
        # the SIMD path and thread count of the constructing thread: make()
        # may run on a background thread, where fastdigits.threads() is not
        self.ctx = current_ctx()

    def make(self, int64_t start, int64_t count, out):
        """Batch order[start:start+count] into out (float32, count*h*w elements)."""
        cdef float[::1] o
        cdef fd_ctx ctx
        cdef int st
        cdef int64_t i
        if start < 0 or count < 0 or start + count > self.ordv.shape[0]:
            raise ValueError("batch [%d, %d) is outside the order" % (start, start + count))
        if not isinstance(out, np.ndarray) or out.dtype != _F32 or not out.flags.c_contiguous \
                or out.size != count * self.h * self.w or not out.flags.writeable:
            raise ValueError("out must be a writeable C-contiguous float32 array of %d elements"
                             % (count * self.h * self.w))
        if count == 0 or self.h * self.w == 0:
            return out
        # the order array may have been changed since __init__ checked it
        for i in range(start, start + count):
            if self.ordv[i] < 0 or self.ordv[i] >= self.n:
                raise ValueError("order[%d] = %d is outside [0, %d)" % (i, self.ordv[i], self.n))
        o = out.reshape(-1)
        ctx = self.ctx
        # order[start:start+count] are both the rows gathered and their sample ids
        with nogil:
            st = fd_augment(ctx, self.dtype, self.img, self.h, self.w, &self.ordv[start],
                            &self.ordv[start], count, &self.spec, self.seed, self.epoch,
                            self.scale, self.mean, self.std, &o[0])
        _status(st)
        return out
