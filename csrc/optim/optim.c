/* In-place SGD and AdamW steps: portable span workers and the drivers that
 * split the flat buffer into fixed blocks over OpenMP threads.  Block
 * boundaries depend on n only and each element is updated by itself, so
 * results do not depend on the thread count. */
#include "optim/optim.h"

#include <math.h>

#include "common/fd_fpenv.h"
#include "common/fd_omp.h"
#include "optim/optim_internal.h"

/* Elements per block: a multiple of every vector width, large enough to
 * amortise the dispatch, small enough to balance threads. */
#define FD_OPT_BLOCK 4096
/* Elements per thread before a second thread pays off. */
#define FD_OPT_GRAIN 32768

#define FD_TEMPLATE "optim/optim_impl.h"
#include "common/fd_template.h"

void fd_sgd_step(fd_ctx ctx, int dtype, int64_t n, void *param, const void *grad, double lr,
                 double momentum, void *velocity, double weight_decay, int nesterov)
{
    if (dtype == FD_F32)
        fd_sgd_step_f32(ctx, n, param, grad, lr, momentum, velocity, weight_decay, nesterov);
    else if (dtype == FD_F64)
        fd_sgd_step_f64(ctx, n, param, grad, lr, momentum, velocity, weight_decay, nesterov);
}

void fd_adam_step(fd_ctx ctx, int dtype, int64_t n, void *param, const void *grad, void *m, void *v,
                  double lr, double beta1, double beta2, double eps, int64_t step,
                  double weight_decay)
{
    if (dtype == FD_F32)
        fd_adam_step_f32(ctx, n, param, grad, m, v, lr, beta1, beta2, eps, step, weight_decay);
    else if (dtype == FD_F64)
        fd_adam_step_f64(ctx, n, param, grad, m, v, lr, beta1, beta2, eps, step, weight_decay);
}
