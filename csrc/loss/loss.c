/* Softmax cross-entropy: portable row worker and the driver that checks
 * labels, splits the batch into fixed row blocks over OpenMP threads and
 * reduces the block sums in a fixed order (results independent of the
 * thread count). */
#include "loss/loss.h"

#include <math.h>
#include <string.h>

#include "common/fd_fpenv.h"
#include "common/fd_omp.h"
#include "loss/loss_internal.h"

/* fd_exp_neg_f32 / fd_exp_neg_f64: the scalar exp of the portable worker. */
#define FD_TEMPLATE "loss/loss_exp_impl.h"
#include "common/fd_template.h"

/* Partial maxima and sums per row in the portable worker (loss_impl.h). */
#define FD_LANES 8

/* Row blocks: at most FD_XENT_MAX_BLOCKS (their sums live on the stack), at
 * least FD_XENT_MIN_ROWS rows each; the split depends on m only. */
#define FD_XENT_MAX_BLOCKS 256
#define FD_XENT_MIN_ROWS 16
/* Logits per thread before a second thread pays off. */
#define FD_XENT_GRAIN 16384

#define FD_TEMPLATE "loss/loss_impl.h"
#include "common/fd_template.h"

int fd_softmax_xent(fd_ctx ctx, int dtype, int64_t m, int64_t c, const void *logits,
                    const int64_t *labels, int reduction, void *loss, void *grad)
{
    if (dtype == FD_F32)
        return fd_softmax_xent_f32(ctx, m, c, logits, labels, reduction, loss, grad);
    if (dtype == FD_F64)
        return fd_softmax_xent_f64(ctx, m, c, logits, labels, reduction, loss, grad);
    return FD_EINVAL;
}
