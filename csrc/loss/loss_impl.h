/* Per-dtype body of loss.c, instantiated through common/fd_template.h; see loss.h. */

#define FN(name) FD_TNAME(name)

/* Portable row worker.  Max and sum run over FD_LANES independent
 * partial results and exp is branch-free, so compilers can vectorise the
 * inner loops for any target (SSE2, NEON, ...) without reassociating. */
double FD_TNAME_ISA(fd_xent_rows, generic)(int64_t r0, int64_t r1, int64_t c, const T *logits,
                                           const int64_t *labels, T *rows, T *grad, T scale)
{
    double total = 0.0;
    int64_t i, j;
    int k;
    for (i = r0; i < r1; i++) {
        const T *x = logits + i * c;
        T *g = grad ? grad + i * c : NULL;
        const int64_t lab = labels[i];
        T ml[FD_LANES], sl[FD_LANES], mx;
        double s = 0.0, li;
        for (k = 0; k < FD_LANES; k++) {
            ml[k] = (T)-INFINITY;
            sl[k] = (T)0;
        }
        /* a NaN need not win the max: exp(NaN - max) spreads it */
        for (j = 0; j + FD_LANES <= c; j += FD_LANES)
            for (k = 0; k < FD_LANES; k++) ml[k] = x[j + k] > ml[k] ? x[j + k] : ml[k];
        for (; j < c; j++) ml[0] = x[j] > ml[0] ? x[j] : ml[0];
        mx = ml[0];
        for (k = 1; k < FD_LANES; k++) mx = ml[k] > mx ? ml[k] : mx;
        if (g) {
            for (j = 0; j < c; j++) g[j] = FN(fd_exp_neg)(x[j] - mx);
            for (j = 0; j + FD_LANES <= c; j += FD_LANES)
                for (k = 0; k < FD_LANES; k++) sl[k] += g[j + k];
            for (; j < c; j++) sl[0] += g[j];
        } else {
            for (j = 0; j + FD_LANES <= c; j += FD_LANES)
                for (k = 0; k < FD_LANES; k++) sl[k] += FN(fd_exp_neg)(x[j + k] - mx);
            for (; j < c; j++) sl[0] += FN(fd_exp_neg)(x[j] - mx);
        }
        for (k = 0; k < FD_LANES; k++) s += sl[k];
        li = ((double)mx - (double)x[lab]) + log(s);
        total += li;
        if (rows) rows[i] = (T)li;
        if (g) {
            const T inv = (T)((double)scale / s);
            for (j = 0; j < c; j++) g[j] *= inv;
            g[lab] -= scale;
        }
    }
    return total;
}

/* The row worker of one SIMD path (see "Dispatch" in fd_common.h). */
typedef struct {
    double (*rows)(int64_t r0, int64_t r1, int64_t c, const T *logits, const int64_t *labels,
                   T *rows, T *grad, T scale);
} FN(fd_loss_kernels);

static FN(fd_loss_kernels) FN(fd_loss_pick)(int isa)
{
    FN(fd_loss_kernels) k;
    k.rows = FD_PICK(isa, fd_xent_rows);
    return k;
}

/* The rows of each block whose loss sums fd_softmax_xent adds in block
 * order (so its bits do not depend on the thread count). */
static int64_t FN(fd_xent_block_rows)(int64_t m)
{
    const int64_t rows_per = (m + FD_XENT_MAX_BLOCKS - 1) / FD_XENT_MAX_BLOCKS;
    return rows_per < FD_XENT_MIN_ROWS ? FD_XENT_MIN_ROWS : rows_per;
}

void FN(fd_softmax_xent_rows)(int isa, int64_t r0, int64_t r1, int64_t m, int64_t c,
                              const T *logits, const int64_t *labels, T *grad, double *li)
{
    const FN(fd_loss_kernels) k = FN(fd_loss_pick)(isa);
    const T scale = (T)(1.0 / (double)m);
    int64_t r;
    for (r = r0; r < r1; r++) /* (a row's sum is its loss: 0.0 + li) */
        li[r] = k.rows(r, r + 1, c, logits, labels, NULL, grad, scale);
}

T FN(fd_softmax_xent_mean)(int64_t m, const double *li)
{
    const int64_t rows_per = FN(fd_xent_block_rows)(m);
    double total = 0.0;
    int64_t r0, r;
    if (m <= 0) return (T)NAN;
    for (r0 = 0; r0 < m; r0 += rows_per) {
        double part = 0.0; /* as the row worker's sum over its block */
        for (r = r0; r < m && r < r0 + rows_per; r++) part += li[r];
        total += part;
    }
    return (T)(total / (double)m);
}

int FN(fd_softmax_xent)(fd_ctx ctx, int64_t m, int64_t c, const T *logits, const int64_t *labels,
                        int reduction, T *loss, T *grad)
{
    double partial[FD_XENT_MAX_BLOCKS], total = 0.0;
    int64_t i, rows_per, nblocks, b;
    T scale;
    T *rows;
    int nt;
    fd_fpenv env;
    FN(fd_loss_kernels) k;
    if (m < 0 || c < 0) return FD_EINVAL;
    if (reduction != FD_REDUCE_NONE && reduction != FD_REDUCE_MEAN && reduction != FD_REDUCE_SUM)
        return FD_EINVAL;
    for (i = 0; i < m; i++)
        if (labels[i] < 0 || labels[i] >= c) return FD_EINVAL;
    if (m == 0) {
        /* mean of nothing is NaN (as NumPy and PyTorch), sum is 0 */
        if (reduction == FD_REDUCE_MEAN)
            *loss = (T)NAN;
        else if (reduction == FD_REDUCE_SUM)
            *loss = (T)0;
        return FD_OK;
    }
    scale = reduction == FD_REDUCE_MEAN ? (T)(1.0 / (double)m) : (T)1;
    rows = reduction == FD_REDUCE_NONE ? loss : NULL;
    rows_per = FN(fd_xent_block_rows)(m);
    nblocks = (m + rows_per - 1) / rows_per;
    nt = fd_threads_for(&ctx, (size_t)m * (size_t)c, FD_XENT_GRAIN);
    if (nt > nblocks) nt = (int)nblocks;
    k = FN(fd_loss_pick)(ctx.isa);
    env = fd_fpenv_get();
    FD_PARALLEL
    {
        const fd_fpenv own = fd_fpenv_enter(env);
        FD_FOR
        for (b = 0; b < nblocks; b++) {
            int64_t r0 = b * rows_per;
            int64_t r1 = r0 + rows_per < m ? r0 + rows_per : m;
            partial[b] = k.rows(r0, r1, c, logits, labels, rows, grad, scale);
        }
        fd_fpenv_leave(own);
    }
    for (b = 0; b < nblocks; b++) total += partial[b];
    if (reduction == FD_REDUCE_MEAN)
        *loss = (T)(total / (double)m);
    else if (reduction == FD_REDUCE_SUM)
        *loss = (T)total;
    return FD_OK;
}

#undef FN
