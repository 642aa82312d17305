# C declarations shared by every Cython binding: the kernel context, status
# codes and the activation enum (csrc/act/act_code.h).  The helper functions are in _binding.pxd.

cdef extern from "common/fd_common.h" nogil:
    ctypedef struct fd_ctx:
        int isa
        int nthreads
        int precision
        int tile
        int flush_denormals
    enum:
        FD_PREC_F32
        FD_PREC_BF16
        FD_OK
        FD_ENOMEM
        FD_EINVAL
        FD_F32
        FD_F64
        FD_U8


cdef extern from "act/act_code.h" nogil:
    enum:
        FD_ACT_IDENTITY
        FD_ACT_RELU
        FD_ACT_SIGMOID
        FD_ACT_TANH
        FD_ACT_GELU
