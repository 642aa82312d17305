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

FD_XENT_ROWS_DECL(float, f32, generic)
FD_XENT_ROWS_DECL(double, f64, generic)
#if FD_HAVE_X86_SIMD
FD_XENT_ROWS_DECL(float, f32, avx2)
FD_XENT_ROWS_DECL(double, f64, avx2)
FD_XENT_ROWS_DECL(float, f32, avx512)
FD_XENT_ROWS_DECL(double, f64, avx512)
#endif

#endif
