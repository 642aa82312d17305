/* A whole MLP training epoch in one call: the batch's rows (read through
 * the sample order, gathered where a dense product needs them), fused
 * dense forward, softmax cross-entropy, backward and the optimiser step.
 *
 * The caller owns every buffer: parameters, gradients, optimiser state and
 * one scratch block of fd_mlp_work_bytes_*() bytes made once per fit, so an
 * epoch allocates nothing and touches no Python.  Results are bit-identical
 * for any ctx.nthreads because every kernel used is.
 */
#ifndef FD_MLP_H
#define FD_MLP_H

#include "augment/augment.h"
#include "common/fd_common.h"

enum { FD_MLP_SGD = 0, FD_MLP_ADAM = 1 };

/* Learning-rate schedules, evaluated in C before every step from
 * t = step - sched_start (steps taken in this fit so far), T = sched_total
 * and W = sched_warmup (0 <= W <= T):
 *   CONSTANT: lr * (t + 1) / W while t < W, then lr;
 *   LINEAR:   the same warm-up, then lr * (T - t) / (T - W): linear decay
 *             to zero at the end of the fit;
 *   ONECYCLE: cosine from lr / 25 up to lr over the W warm-up steps, then
 *             cosine from lr down to 0 over the rest (PyTorch's OneCycleLR
 *             with final_div_factor -> inf, no momentum cycling). */
enum { FD_MLP_LR_CONSTANT = 0, FD_MLP_LR_LINEAR = 1, FD_MLP_LR_ONECYCLE = 2 };

typedef struct {
    int nlayers; /* dense layers L >= 1 */
    const int64_t *sizes; /* L + 1 widths: sizes[0] features, sizes[L] classes */
    int act; /* hidden activation (fd_activation); output is linear */
    int64_t batch; /* rows per step (the last step may have fewer) */
    /* rows of the last step when it has fewer (0: every step has batch
     * rows): the work block is sized for both, since a product's scratch
     * does not shrink with its rows (a short product may take longer K
     * panels or no K split); fd_mlp_epoch and fd_mlp_forward return
     * FD_EINVAL for a row count whose last step is another */
    int64_t tail;
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
    /* Regularisation and schedules (issue 14; all 0 = off): */
    double dropout; /* drop rate of every hidden layer's output, training only */
    double input_dropout; /* drop rate of the input rows, training only */
    uint64_t seed; /* dropout's Philox key */
    double label_smoothing; /* eps: targets (1 - eps) one-hot + eps / classes */
    int schedule; /* FD_MLP_LR_*: lr above is the peak rate */
    int64_t sched_start, sched_total, sched_warmup; /* see FD_MLP_LR_* */
    /* Augmented batches (issue 14; aug_images NULL = off; float32 only, the
     * float64 epoch returns FD_EINVAL): each batch is built by
     * fd_augment_u8 from aug_images (the n images of aug_h x aug_w pixels,
     * aug_h * aug_w == sizes[0]; X is then unused and may be NULL) with
     * rows = ids = the batch's entries of order, spec aug_spec, key
     * aug_seed, epoch aug_epoch, and the normalisation aug_scale /
     * aug_mean / aug_std, straight into the batch buffer. */
    const uint8_t *aug_images;
    const fd_aug_spec *aug_spec;
    int64_t aug_h, aug_w;
    uint64_t aug_seed;
    uint32_t aug_epoch;
    double aug_scale, aug_mean, aug_std;
} fd_mlp_optim;

/* Dropout masks in the epoch: the activation h_j (j = 0: the input rows,
 * j = l + 1: dense layer l's output) of the batch of global optimiser step
 * s (opt->step before the step) uses fd_dropout_ex's counter with
 * c0, c1 = (element index within the batch, row-major) / 4, c2 = the low
 * 32 bits of s and tag = j + 1, key = opt->seed (csrc/dropout/dropout.h).
 * The backward pass re-derives the same mask for dL/dh_j; nothing is
 * stored.  Inference (fd_mlp_forward) applies no dropout. */

/* bfloat16 precision (ctx.precision, float32 only): each weight matrix is
 * packed to bf16 (gemm_bf16.h) when the epoch starts and re-packed by each
 * optimiser step, chunk by chunk while the chunk is in cache, so the
 * forward products do not pack W; after a progress hook that returns
 * FD_MLP_TOUCHED it is packed again.  Nothing packed outlives the call.
 * The weight bits are those of stepping and packing apart. */

/* Sparse input (mlp_sparse.h): a training step whose first layer is relu
 * (or the only, linear, layer) without dropout, in float32 or float64
 * precision, computes that layer as (x - c) @ W + c * colsum(W) from the
 * pixels that differ from the batch's first element c, when they are few
 * (digit images: 81% of MNIST's pixels are background).  Same sums in
 * another order: the bits differ from the dense product's, not the result
 * beyond rounding, and do not depend on the thread count.  Its backward
 * pass takes the first layer's weight gradient from the same groups of
 * rows.  Such an epoch without dropout takes each batch's rows label by
 * label (rows of one label in batch order): 4 rows of one digit share
 * more pixels (35% of MNIST's are in their union, against 39% for 4 at
 * random).  The step's sums (the gradients', the loss's) then run in that
 * order.  Inference (fd_mlp_forward) keeps the dense product. */

/* Progress hook: called after every `every` steps with the steps done in
 * this epoch; returns FD_MLP_STOP to stop the epoch after that step, and
 * FD_MLP_TOUCHED when code that may have changed the parameters ran (a
 * bfloat16 epoch then packs its weights again), both, or 0. */
enum { FD_MLP_STOP = 1, FD_MLP_TOUCHED = 2 };
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
     * a time with the same work block (bfloat16: each W packed once per      \
     * call, before the first batch). */                   \
    int fd_mlp_forward_##SFX(fd_ctx ctx, const fd_mlp_shape *shape, T *const *params, const T *X,  \
                             int64_t n, T *logits, void *work);

FD_MLP_DECL(float, f32)
FD_MLP_DECL(double, f64)

/* The same for both dtypes, for the binding: one entry each whose dtype
 * (FD_F32, FD_F64; common/fd_common.h) says which instance above it calls.
 * The tables params / grads / state hold float * (FD_F32) or double *
 * (FD_F64) pointers stored as void *, and X / logits point to float or
 * double; a bfloat16-precision epoch is the FD_F32 one with
 * ctx.precision = FD_PREC_BF16, as for fd_mlp_epoch_f32.
 * fd_mlp_work_bytes returns 0 for an unknown dtype; fd_mlp_epoch and
 * fd_mlp_forward return FD_EINVAL for it (nothing read or written).
 * With ctx.flush_denormals they run with denormals flushed to zero (x86
 * FTZ and DAZ, AArch64 FZ; common/fd_fpenv.h) and restore the caller's setting
 * before returning and around the progress callback; the _f32 / _f64
 * instances compute in the caller's setting. */
size_t fd_mlp_work_bytes(fd_ctx ctx, int dtype, const fd_mlp_shape *shape);
int fd_mlp_epoch(fd_ctx ctx, int dtype, const fd_mlp_shape *shape, void *const *params,
                 void *const *grads, void *const *state, const void *X, int64_t n,
                 const int64_t *labels, const int64_t *order, int64_t n_order, fd_mlp_optim *opt,
                 void *work, double *loss_sum, int64_t *correct, int64_t *steps_done,
                 fd_mlp_progress cb, void *cb_user, int64_t every);
int fd_mlp_forward(fd_ctx ctx, int dtype, const fd_mlp_shape *shape, void *const *params,
                   const void *X, int64_t n, void *logits, void *work);

#endif /* FD_MLP_H */
