# The augmentation declarations _augment.pyx and _mlp.pyx share: the spec of
# csrc/augment/augment.h and fill_spec (defined in _augment.pyx), which fills
# one from fastdigits._augspec.ops(...) and checks it against the image size.
from libc.stdint cimport int64_t

cdef extern from "augment/augment.h" nogil:
    enum:
        FD_AUG_MAX_OPS
        FD_AUG_MAX_PARAMS
        FD_AUG_AFFINE
        FD_AUG_ELASTIC
    ctypedef struct fd_aug_op:
        int kind
        double p[10]
    ctypedef struct fd_aug_spec:
        int n_ops
        fd_aug_op ops[16]
    int fd_aug_check(const fd_aug_spec *spec, int64_t h, int64_t w)

cdef int fill_spec(fd_aug_spec *spec, list ops, int64_t h, int64_t w) except -1
