/* In-place optimiser steps over flat parameter buffers of n elements. */
#ifndef FD_OPTIM_H
#define FD_OPTIM_H

#include "common/fd_common.h"

/* PyTorch's SGD: g = grad + weight_decay * param; with momentum,
 * v = momentum * v + g and the step uses v (or g + momentum * v when
 * nesterov); param -= lr * step.  velocity may be NULL when momentum == 0. */
#define FD_SGD_DECL(T, SFX)                                                                        \
    void fd_sgd_step_##SFX(fd_ctx ctx, int64_t n, T *param, const T *grad, double lr,              \
                           double momentum, T *velocity, double weight_decay, int nesterov);

/* AdamW: param -= lr * weight_decay * param (decoupled), then
 * m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * param -= lr * (m / (1-b1^step)) / (sqrt(v / (1-b2^step)) + eps).
 * step counts from 1. */
#define FD_ADAM_DECL(T, SFX)                                                                       \
    void fd_adam_step_##SFX(fd_ctx ctx, int64_t n, T *param, const T *grad, T *m, T *v, double lr, \
                            double beta1, double beta2, double eps, int64_t step,                  \
                            double weight_decay);                                                  \
    /* The same step split in two, for callers that share the work out     \
     * themselves (the MLP epoch's fused L2 pass): the coefficients of     \
     * one step, then any number of spans of it on one thread; the same    \
     * bits as fd_adam_step. */                       \
    typedef struct {                                                                               \
        T coef[8];                                                                                 \
    } fd_adam_consts_##SFX;                                                                        \
    fd_adam_consts_##SFX fd_adam_coefs_##SFX(double lr, double beta1, double beta2, double eps,    \
                                             int64_t step, double weight_decay);                   \
    void fd_adam_apply_##SFX(int isa, int64_t n, T *param, const T *grad, T *m, T *v,              \
                             const fd_adam_consts_##SFX *c);

FD_SGD_DECL(float, f32)
FD_SGD_DECL(double, f64)
FD_ADAM_DECL(float, f32)
FD_ADAM_DECL(double, f64)

/* The same for both dtypes (dtype FD_F32 / FD_F64, common/fd_common.h; the
 * buffers are float or double): the bindings' entries.  An unknown dtype
 * does nothing. */
void fd_sgd_step(fd_ctx ctx, int dtype, int64_t n, void *param, const void *grad, double lr,
                 double momentum, void *velocity, double weight_decay, int nesterov);
void fd_adam_step(fd_ctx ctx, int dtype, int64_t n, void *param, const void *grad, void *m, void *v,
                  double lr, double beta1, double beta2, double eps, int64_t step,
                  double weight_decay);

#endif
