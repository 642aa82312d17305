/* Softmax cross-entropy over integer class labels, in one stable pass. */
#ifndef FD_LOSS_H
#define FD_LOSS_H

#include "common/fd_common.h"

typedef enum { FD_REDUCE_NONE = 0, FD_REDUCE_MEAN = 1, FD_REDUCE_SUM = 2 } fd_reduction;

/* logits: (m, c) row-major (ld = c); labels: m class ids in [0, c).
 * loss: m values for FD_REDUCE_NONE, else one value (mean or sum).
 * grad: (m, c) gradient of the reduced loss w.r.t. logits, or NULL.
 * The batch reduction sums fixed-size chunks in a fixed order, so results do
 * not depend on ctx.nthreads.  Returns FD_OK, or FD_EINVAL (nothing written)
 * when a label is out of range. */
#define FD_SOFTMAX_XENT_DECL(T, SFX)                                                               \
    int fd_softmax_xent_##SFX(fd_ctx ctx, int64_t m, int64_t c, const T *logits,                   \
                              const int64_t *labels, int reduction, T *loss, T *grad);

FD_SOFTMAX_XENT_DECL(float, f32)
FD_SOFTMAX_XENT_DECL(double, f64)

/* fd_softmax_xent with FD_REDUCE_MEAN in two halves, for a caller that
 * makes the logits row by row on its own threads (the sparse first
 * layer's last pass, mlp/mlp_sparse.h): fd_softmax_xent_rows_<sfx> takes
 * rows [r0, r1) of an m-row batch on one thread (isa: ctx.isa), writes
 * their gradient rows and each row's loss to li[r]; once every row is
 * done, fd_softmax_xent_mean_<sfx> adds li as fd_softmax_xent adds its
 * rows, so both give the bits fd_softmax_xent gives.  Labels must lie in
 * [0, c) (not checked). */
#define FD_SOFTMAX_XENT_ROWS_DECL(T, SFX)                                                          \
    void fd_softmax_xent_rows_##SFX(int isa, int64_t r0, int64_t r1, int64_t m, int64_t c,         \
                                    const T *logits, const int64_t *labels, T *grad, double *li);  \
    T fd_softmax_xent_mean_##SFX(int64_t m, const double *li);

FD_SOFTMAX_XENT_ROWS_DECL(float, f32)
FD_SOFTMAX_XENT_ROWS_DECL(double, f64)

/* The same for both dtypes (dtype FD_F32 / FD_F64, common/fd_common.h;
 * logits, loss and grad point to float or double): the binding's one
 * entry.  FD_EINVAL also for an unknown dtype. */
int fd_softmax_xent(fd_ctx ctx, int dtype, int64_t m, int64_t c, const void *logits,
                    const int64_t *labels, int reduction, void *loss, void *grad);

#endif
