/* Private to the optimiser kernels: per-ISA workers over one contiguous
 * span of n elements; optim.c splits the buffer into fixed blocks and
 * dispatches.  Coefficients arrive already rounded to T. */
#ifndef FD_OPTIM_INTERNAL_H
#define FD_OPTIM_INTERNAL_H

#include "common/fd_common.h"

/* SGD: flags bit 0 = weight decay, bit 1 = momentum, bit 2 = nesterov. */
#define FD_SGD_WD 1
#define FD_SGD_MOM 2
#define FD_SGD_NESTEROV 4

#define FD_L2_LANES 16 /* the portable L2 span's partial sums */

#define FD_OPT_SPAN_DECL(T, SFX, ISA)                                                              \
    void fd_sgd_span_##SFX##_##ISA(int64_t n, T *p, const T *g, T *v, T lr, T mom, T wd,           \
                                   int flags);                                                     \
    void fd_adam_span_##SFX##_##ISA(int64_t n, T *p, const T *g, T *m, T *v, T decay, T b1, T c1,  \
                                    T b2, T c2, T inv_bc2s, T eps, T step_size);                   \
    T fd_l2_span_##SFX##_##ISA(int64_t n, const T *w, T *g, T c);

FD_DECL_PATHS(FD_OPT_SPAN_DECL)

#endif
