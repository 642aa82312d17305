/* A whole MLP training epoch in one call: batch gathering, fused dense
 * forward, softmax cross-entropy, backward and the optimiser step.
 *
 * The caller owns every buffer: parameters, gradients, optimiser state and
 * one scratch block of fd_mlp_work_bytes_*() bytes made once per fit, so an
 * epoch allocates nothing and touches no Python.  Results are bit-identical
 * for any ctx.nthreads because every kernel used is.
 */
#ifndef FD_MLP_H
#define FD_MLP_H

#include "common/fd_common.h"

enum { FD_MLP_SGD = 0, FD_MLP_ADAM = 1 };

typedef struct {
    int nlayers; /* dense layers L >= 1 */
    const int64_t *sizes; /* L + 1 widths: sizes[0] features, sizes[L] classes */
    int act; /* hidden activation (fd_activation); output is linear */
    int64_t batch; /* rows per step (the last step may have fewer) */
} fd_mlp_shape;

typedef struct {
    int kind; /* FD_MLP_SGD or FD_MLP_ADAM */
    double lr;
    double momentum; /* sgd; 0 = plain SGD (no state) */
    double weight_decay; /* sgd: coupled (PyTorch); adam: decoupled (AdamW) */
    double beta1, beta2, eps; /* adam */
    int64_t step; /* optimiser steps taken so far; advanced by the epoch */
    /* scikit-learn's MLP semantics (all 0 = off): */
    double l2; /* L2 penalty alpha: each batch of m rows adds
                            alpha/(2m) * sum_l ||W_l||^2 (weights, not biases)
                            to its loss and alpha/m * W_l to dL/dW_l */
    int nesterov; /* sgd with momentum: Nesterov's update */
    int adam_eps_hat; /* adam: eps is added to sqrt(v) before the bias
                            correction (Kingma & Ba's eps-hat), not to
                            sqrt(v_hat) */
} fd_mlp_optim;

/* Progress hook: called after every `every` steps with the steps done in
 * this epoch; a non-zero return stops the epoch after that step. */
typedef int (*fd_mlp_progress)(void *user, int64_t steps_done);

/* params / grads: 2L pointers W0, b0, W1, b1, ... with W_l (sizes[l],
 * sizes[l+1]) C-contiguous.  state: SGD with momentum: 2L velocities; Adam:
 * 2L first moments then 2L second moments; else unused (may be NULL).
 * X: (n, sizes[0]) rows; labels: n ids in [0, sizes[L]); order: n_order row
 * indices into X (the epoch's sample order, each in [0, n)).
 * Outputs: *loss_sum = sum of per-sample losses, *correct = train samples
 * whose arg-max logit equals the label, *steps_done.
 * Returns FD_OK, FD_EINVAL (bad label/index: the step is not taken) or
 * FD_ENOMEM. */
#define FD_MLP_DECL(T, SFX)                                                                        \
    size_t fd_mlp_work_bytes_##SFX(fd_ctx ctx, const fd_mlp_shape *shape);                         \
    int fd_mlp_epoch_##SFX(fd_ctx ctx, const fd_mlp_shape *shape, T *const *params,                \
                           T *const *grads, T *const *state, const T *X, int64_t n,                \
                           const int64_t *labels, const int64_t *order, int64_t n_order,           \
                           fd_mlp_optim *opt, void *work, double *loss_sum, int64_t *correct,      \
                           int64_t *steps_done, fd_mlp_progress cb, void *cb_user, int64_t every); \
    /* logits (n, sizes[L]) for X (n, sizes[0]) computed shape->batch rows at  \
     * a time with the same work block. */                   \
    int fd_mlp_forward_##SFX(fd_ctx ctx, const fd_mlp_shape *shape, T *const *params, const T *X,  \
                             int64_t n, T *logits, void *work);

FD_MLP_DECL(float, f32)
FD_MLP_DECL(double, f64)

#endif /* FD_MLP_H */
