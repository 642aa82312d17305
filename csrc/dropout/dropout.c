/* Inverted dropout: dispatch, threading and the portable path (dropout.h). */
#include "dropout/dropout.h"

#include <math.h>
#include <string.h>

#include "common/fd_fpenv.h"
#include "common/fd_omp.h"
#include "common/fd_rng.h"
#include "dropout/dropout_internal.h"

/* Elements per thread below which a call stays serial. */
#define FD_DROPOUT_GRAIN ((size_t)1 << 14)
#define FD_DROP_LANES 16

/* The portable range worker, then the per-dtype driver. */
#define FD_TEMPLATE "dropout/dropout_simd_impl.h"
#include "common/fd_template.h"

#define FD_TEMPLATE "dropout/dropout_impl.h"
#include "common/fd_template.h"

int fd_dropout(fd_ctx ctx, int dtype, int64_t n, const void *x, void *out, double p, uint64_t seed)
{
    if (dtype == FD_F32) return fd_dropout_f32(ctx, n, x, out, p, seed);
    if (dtype == FD_F64) return fd_dropout_f64(ctx, n, x, out, p, seed);
    return FD_EINVAL;
}
