/* The per-dtype optimiser steps declared in optim.h (a declaration
 * template, instantiated there through common/fd_template.h; no include
 * guard). */

/* PyTorch's SGD: g = grad + weight_decay * param; with momentum,
 * v = momentum * v + g and the step uses v (or g + momentum * v when
 * nesterov); param -= lr * step.  velocity may be NULL when momentum == 0. */
void FD_TNAME(fd_sgd_step)(fd_ctx ctx, int64_t n, T *param, const T *grad, double lr,
                           double momentum, T *velocity, double weight_decay, int nesterov);

/* AdamW: param -= lr * weight_decay * param (decoupled), then
 * m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * param -= lr * (m / (1-b1^step)) / (sqrt(v / (1-b2^step)) + eps).
 * step counts from 1. */
void FD_TNAME(fd_adam_step)(fd_ctx ctx, int64_t n, T *param, const T *grad, T *m, T *v, double lr,
                            double beta1, double beta2, double eps, int64_t step,
                            double weight_decay);

/* The same step split in two, for callers that share the work out
 * themselves (the MLP epoch's fused L2 pass): the coefficients of one
 * step, then any number of spans of it on one thread; the same bits as
 * fd_adam_step. */
typedef struct {
    T coef[8];
} FD_TNAME(fd_adam_consts);
FD_TNAME(fd_adam_consts)
FD_TNAME(fd_adam_coefs)(double lr, double beta1, double beta2, double eps, int64_t step,
                        double weight_decay);
void FD_TNAME(fd_adam_apply)(int isa, int64_t n, T *param, const T *grad, T *m, T *v,
                             const FD_TNAME(fd_adam_consts) * c);

/* The L2 penalty's share of one span, for the MLP epoch: g += c * w over
 * n elements, and the sum of w^2 (partial sums in lanes, so the bits
 * depend on the SIMD path and n only). */
T FD_TNAME(fd_l2_apply)(int isa, int64_t n, const T *w, T *g, T c);

/* SGD split the same way (the MLP's bfloat16 epoch steps and packs each
 * weight matrix a few rows at a time): the same bits as fd_sgd_step with
 * the same arguments (velocity NULL or not as there). */
typedef struct {
    T coef[3];
    int flags;
} FD_TNAME(fd_sgd_consts);
FD_TNAME(fd_sgd_consts)
FD_TNAME(fd_sgd_coefs)(double lr, double momentum, int has_velocity, double weight_decay,
                       int nesterov);
void FD_TNAME(fd_sgd_apply)(int isa, int64_t n, T *param, const T *grad, T *velocity,
                            const FD_TNAME(fd_sgd_consts) * c);
