/* Private to the loss kernels: the per-ISA row-block workers that
 * loss.c dispatches to.  Each processes rows [r0, r1) of the (m, c) logits
 * and returns the sum of their losses in double, added in row order (so a
 * fixed row block always gives the same bits); per-row losses go to
 * `rows` when not NULL and the gradient (scaled by `scale`) to `grad` when
 * not NULL.  Labels are already validated. */
#ifndef FD_LOSS_INTERNAL_H
#define FD_LOSS_INTERNAL_H

#include "common/fd_common.h"

#define FD_XENT_ROWS_DECL(T, SFX, ISA)                                                             \
    double fd_xent_rows_##SFX##_##ISA(int64_t r0, int64_t r1, int64_t c, const T *logits,          \
                                      const int64_t *labels, T *rows, T *grad, T scale);

FD_DECL_PATHS(FD_XENT_ROWS_DECL)

#endif
