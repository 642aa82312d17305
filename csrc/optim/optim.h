/* In-place optimiser steps over flat parameter buffers of n elements. */
#ifndef FD_OPTIM_H
#define FD_OPTIM_H

#include "common/fd_common.h"

/* fd_sgd_step_f32/_f64, fd_adam_step_*, fd_adam_coefs_*, fd_adam_apply_* */
#define FD_TEMPLATE "optim/optim_decl.h"
#include "common/fd_template.h"

/* The same for both dtypes (dtype FD_F32 / FD_F64, common/fd_common.h; the
 * buffers are float or double): the bindings' entries.  An unknown dtype
 * does nothing. */
void fd_sgd_step(fd_ctx ctx, int dtype, int64_t n, void *param, const void *grad, double lr,
                 double momentum, void *velocity, double weight_decay, int nesterov);
void fd_adam_step(fd_ctx ctx, int dtype, int64_t n, void *param, const void *grad, void *m, void *v,
                  double lr, double beta1, double beta2, double eps, int64_t step,
                  double weight_decay);

#endif
