/* MLP training epoch and batched inference on top of the dense, loss and
 * optimiser kernels (see mlp.h).  One template, two dtypes. */
#include "mlp/mlp.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "common/fd_fpenv.h"
#include "common/fd_omp.h"
#include "dense/dense.h"
#include "dropout/dropout.h"
#include "gemm/gemm_bf16.h"
#include "loss/loss.h"
#include "mlp/mlp_sparse.h"
#include "optim/optim.h"

#define FD_MLP_MAX_LAYERS 64
#define FD_MLP_ALIGN 64 /* cache line: each buffer starts on its own line */
#define FD_MLP_L2_BLOCK 4096 /* elements per block of the L2 penalty pass */
#define FD_MLP_L2_CHUNK 256 /* blocks per parallel region (sums on the stack) */
#define FD_MLP_L2_SUB 256 /* elements per penalty + Adam span within a block */
/* elements per chunk of the bfloat16 epoch's weight step (whole row pairs):
 * its W, gradient and state stay in L1/L2 until the chunk is packed */
#define FD_MLP_W_CHUNK 4096

static size_t fd_mlp_align(size_t n)
{ return (n + FD_MLP_ALIGN - 1) & ~(size_t)(FD_MLP_ALIGN - 1); }

static char *fd_mlp_align_ptr(void *p)
{
    uintptr_t u = (uintptr_t)p;
    return (char *)p + ((FD_MLP_ALIGN - (u & (FD_MLP_ALIGN - 1))) & (FD_MLP_ALIGN - 1));
}

static int fd_mlp_shape_ok(const fd_mlp_shape *s)
{
    int l;
    if (!s || s->nlayers < 1 || s->nlayers > FD_MLP_MAX_LAYERS || s->batch < 1 || !s->sizes ||
        s->tail < 0 || s->tail >= s->batch)
        return 0;
    for (l = 0; l <= s->nlayers; l++)
        if (s->sizes[l] < 1) return 0;
    return 1;
}

/* Whether n rows (of a valid shape) end in a batch the work block was sized
 * for: a full one or the shape's tail. */
static int fd_mlp_rows_ok(const fd_mlp_shape *s, int64_t n)
{ return n >= 0 && (n % s->batch == 0 || n % s->batch == s->tail); }

/* The augmented batch of `m` samples idx[0..m) into out (float32 only:
 * elem is sizeof(T)); see the aug_* fields of fd_mlp_optim. */
static int fd_mlp_aug_ok(const fd_mlp_optim *o, int64_t k0, size_t elem)
{
    if (elem != sizeof(float) || !o->aug_spec || o->aug_h < 1 || o->aug_w < 1 ||
        o->aug_h * o->aug_w != k0 || !(o->aug_std > 0.0))
        return 0;
    return fd_aug_check(o->aug_spec, o->aug_h, o->aug_w) == FD_OK;
}

static int fd_mlp_aug_batch(fd_ctx ctx, const fd_mlp_optim *o, const int64_t *idx, int64_t m,
                            void *out)
{
    return fd_augment_u8(ctx, o->aug_images, o->aug_h, o->aug_w, idx, idx, m, o->aug_spec,
                         o->aug_seed, o->aug_epoch, o->aug_scale, o->aug_mean, o->aug_std,
                         (float *)out);
}

/* The batch's rows idx[0..m) in order of their labels lab[0..m) (labels:
 * all of X's) into perm, rows of one label in batch order (a counting sort
 * with cnt's C + 1 counts), and lab reordered with them.  Returns 0, with
 * nothing written, when a label is outside [0, C). */
static int fd_mlp_by_label(int64_t m, int64_t C, const int64_t *idx, const int64_t *labels,
                           int64_t *lab, int64_t *perm, int64_t *cnt)
{
    int64_t r, c;
    for (r = 0; r < m; r++)
        if (lab[r] < 0 || lab[r] >= C) return 0;
    for (c = 0; c <= C; c++) cnt[c] = 0;
    for (r = 0; r < m; r++) cnt[lab[r] + 1]++;
    for (c = 1; c < C; c++) cnt[c] += cnt[c - 1];
    for (r = 0; r < m; r++) perm[cnt[lab[r]]++] = idx[r];
    for (r = 0; r < m; r++) lab[r] = labels[perm[r]];
    return 1;
}

#define FD_TEMPLATE "mlp/mlp_impl.h"
#include "common/fd_template.h"

/* The dtype-dispatching entries (mlp.h): the _f32 or _f64 instance, the
 * pointer tables read as tables of float * or double *. */
size_t fd_mlp_work_bytes(fd_ctx ctx, int dtype, const fd_mlp_shape *shape)
{
    if (dtype == FD_F32) return fd_mlp_work_bytes_f32(ctx, shape);
    if (dtype == FD_F64) return fd_mlp_work_bytes_f64(ctx, shape);
    return 0;
}

/* With ctx.flush_denormals the whole call runs with FTZ and DAZ
 * (common/fd_fpenv.h; every parallel region takes the caller's setting),
 * and the caller's own is back before it returns and while the progress
 * callback (which may run Python) runs. */
typedef struct {
    fd_mlp_progress cb;
    void *user;
    fd_fpenv caller;
} fd_mlp_cb_env;

static int fd_mlp_cb_in_caller_env(void *arg, int64_t steps_done)
{
    const fd_mlp_cb_env *e = (const fd_mlp_cb_env *)arg;
    const fd_fpenv flushing = fd_fpenv_enter(e->caller);
    const int r = e->cb(e->user, steps_done);
    fd_fpenv_leave(flushing);
    return r;
}

static fd_fpenv fd_mlp_env_enter(fd_ctx ctx)
{
    const fd_fpenv own = fd_fpenv_get();
    return ctx.flush_denormals ? fd_fpenv_enter(fd_fpenv_flushing(own)) : own;
}

int fd_mlp_epoch(fd_ctx ctx, int dtype, const fd_mlp_shape *shape, void *const *params,
                 void *const *grads, void *const *state, const void *X, int64_t n,
                 const int64_t *labels, const int64_t *order, int64_t n_order, fd_mlp_optim *opt,
                 void *work, double *loss_sum, int64_t *correct, int64_t *steps_done,
                 fd_mlp_progress cb, void *cb_user, int64_t every)
{
    fd_mlp_cb_env ce;
    fd_mlp_progress pcb = cb ? fd_mlp_cb_in_caller_env : NULL;
    int rc = FD_EINVAL;
    ce.cb = cb;
    ce.user = cb_user;
    ce.caller = fd_mlp_env_enter(ctx);
    if (dtype == FD_F32)
        rc = fd_mlp_epoch_f32(ctx, shape, (float *const *)params, (float *const *)grads,
                              (float *const *)state, (const float *)X, n, labels, order, n_order,
                              opt, work, loss_sum, correct, steps_done, pcb, &ce, every);
    else if (dtype == FD_F64)
        rc = fd_mlp_epoch_f64(ctx, shape, (double *const *)params, (double *const *)grads,
                              (double *const *)state, (const double *)X, n, labels, order, n_order,
                              opt, work, loss_sum, correct, steps_done, pcb, &ce, every);
    fd_fpenv_leave(ce.caller);
    return rc;
}

int fd_mlp_forward(fd_ctx ctx, int dtype, const fd_mlp_shape *shape, void *const *params,
                   const void *X, int64_t n, void *logits, void *work)
{
    const fd_fpenv own = fd_mlp_env_enter(ctx);
    int rc = FD_EINVAL;
    if (dtype == FD_F32)
        rc = fd_mlp_forward_f32(ctx, shape, (float *const *)params, (const float *)X, n,
                                (float *)logits, work);
    else if (dtype == FD_F64)
        rc = fd_mlp_forward_f64(ctx, shape, (double *const *)params, (const double *)X, n,
                                (double *)logits, work);
    fd_fpenv_leave(own);
    return rc;
}
