/* Per-dtype body of dense.c, instantiated through common/fd_template.h; see dense.h. */

#define FN(name) FD_TNAME(name)

/* fd_dz_row (dense.h): restrict + branch-free (act' multiplies, as in the
 * NumPy reference) so that the compiler vectorises it. */
FD_NOINLINE void FN(fd_dz_row)(int act, int64_t n, const T *FD_RESTRICT dy, const T *FD_RESTRICT yz,
                               T *FD_RESTRICT dz, T *FD_RESTRICT ps)
{
    int64_t j;
    if (act == FD_ACT_IDENTITY) {
        /* dz is dy itself (NULL) unless dropout made a new dy */
        for (j = 0; j < n; j++) ps[j] += dy[j];
        if (dz)
            for (j = 0; j < n; j++) dz[j] = dy[j];
    } else if (act == FD_ACT_RELU) {
        for (j = 0; j < n; j++) {
            /* 1, 0, or NaN for a NaN y (NaN propagates); selects,
             * no branch: vectorises */
            T msk = yz[j] > (T)0 ? (T)1 : yz[j] <= (T)0 ? (T)0 : yz[j];
            T g = dy[j] * msk;
            dz[j] = g;
            ps[j] += g;
        }
    } else if (act == FD_ACT_SIGMOID) {
        for (j = 0; j < n; j++) {
            T g = dy[j] * (yz[j] * ((T)1 - yz[j]));
            dz[j] = g;
            ps[j] += g;
        }
    } else if (act == FD_ACT_TANH) {
        for (j = 0; j < n; j++) {
            T g = dy[j] * ((T)1 - yz[j] * yz[j]);
            dz[j] = g;
            ps[j] += g;
        }
    } else {
        for (j = 0; j < n; j++) {
            T g = dy[j] * FN(fd_act_grad)(act, yz[j]);
            dz[j] = g;
            ps[j] += g;
        }
    }
}

/* gelu' needs tanh: vector code on x86 (act_simd.h:
 * fd_dz_gelu_row_<sfx>_<isa>), libm otherwise. */
static void FD_TNAME_ISA(fd_dz_gelu_row, generic)(int64_t n, const T *dy, const T *yz, T *dz, T *ps)
{ FN(fd_dz_row)(FD_ACT_GELU, n, dy, yz, dz, ps); }

/* The GELU dz row worker of one SIMD path (see "Dispatch" in fd_common.h);
 * every other activation's is the portable fd_dz_row. */
typedef struct {
    void (*dz_gelu)(int64_t n, const T *dy, const T *yz, T *dz, T *ps);
} FN(fd_dense_kernels);

static FN(fd_dense_kernels) FN(fd_dense_pick)(int isa)
{
    FN(fd_dense_kernels) k;
    k.dz_gelu = FD_PICK(isa, fd_dz_gelu_row);
    return k;
}

/* dz = dy * act' and the bias gradient's chunk sums for a block of rows and
 * columns: the B producer of the dW = x^T dz product (gemm.h), so dz is
 * made in the pass that packs it, each column by the thread that owns it.
 * For the identity dz is dy itself and only the chunk sums are made.  Rows
 * of a chunk arrive in order, so each chunk sum starts at its first row. */
typedef struct {
    FN(fd_dense_kernels) k;
    const FN(fd_drop_plan) * dp; /* dropout's backward, or NULL */
    int act;
    int64_t n, lddy, ldyz;
    const T *dy, *yz;
    T *dz; /* n apart; unused for the identity without dropout */
    T *part; /* chunk sums, n apart */
} FN(fd_dz_job);
static void FN(fd_dz_block_drop)(const FN(fd_dz_job) * jb, int64_t p0, int64_t p1, int64_t j0,
                                 int64_t nc);
/* Row i of dz, columns j0 .. j0 + nc, from that row's dy (dz: NULL for the
 * identity without dropout); the chunk's sum starts at its first row. */
FD_INLINE void FN(fd_dz_one_row)(const FN(fd_dz_job) * jb, int64_t i, int64_t j0, int64_t nc,
                                 const T *dy, T *dz)
{
    T *ps = jb->part + (i / FD_DB_CHUNK) * jb->n + j0;
    const T *yz = jb->act == FD_ACT_IDENTITY ? NULL : jb->yz + i * jb->ldyz + j0;
    int64_t j;
    if (i % FD_DB_CHUNK == 0)
        for (j = 0; j < nc; j++) ps[j] = (T)0;
    if (jb->act == FD_ACT_GELU)
        jb->k.dz_gelu(nc, dy, yz, dz, ps);
    else
        FN(fd_dz_row)(jb->act, nc, dy, yz, dz, ps);
}
static void FN(fd_dz_block)(void *arg, int64_t p0, int64_t p1, int64_t j0, int64_t nc)
{
    const FN(fd_dz_job) *jb = (const FN(fd_dz_job) *)arg;
    const int ident = jb->act == FD_ACT_IDENTITY;
    int64_t i;
    if (jb->dp) {
        FN(fd_dz_block_drop)(jb, p0, p1, j0, nc);
        return;
    }
    for (i = p0; i < p1; i++)
        FN(fd_dz_one_row)(jb, i, j0, nc, jb->dy + i * jb->lddy + j0,
                          ident ? NULL : jb->dz + i * jb->n + j0);
}

/* fd_dz_block with dropout's backward: the dropped dy of up to FD_DZ_TMP
 * elements (a few rows of the block) is made in a buffer in L1
 * (fd_drop_plan's tile worker, the mask of fd_dropout_ex), then each row
 * is the same dz row as without dropout on that dy, so dz and the chunk
 * sums are those of fd_dropout_ex(dy) bit for bit; dz is always written. */
#define FD_DZ_TMP 512
static void FN(fd_dz_block_drop)(const FN(fd_dz_job) * jb, int64_t p0, int64_t p1, int64_t j0,
                                 int64_t nc)
{
    T tmp[FD_DZ_TMP];
    int64_t c0, r0, i;
    for (c0 = 0; c0 < nc; c0 += FD_DZ_TMP) {
        const int64_t cw = nc - c0 < FD_DZ_TMP ? nc - c0 : FD_DZ_TMP, rch = FD_DZ_TMP / cw;
        const int64_t jj = j0 + c0;
        for (r0 = p0; r0 < p1; r0 += rch) {
            const int64_t nr = p1 - r0 < rch ? p1 - r0 : rch;
            jb->dp->tile(jb->dp, r0, jj, nr, cw, jb->dy + r0 * jb->lddy + jj, jb->lddy, tmp, cw,
                         NULL, 0);
            for (i = r0; i < r0 + nr; i++)
                FN(fd_dz_one_row)(jb, i, jj, cw, tmp + (i - r0) * cw, jb->dz + i * jb->n + jj);
        }
    }
}
#undef FD_DZ_TMP

/* The forward pass's tile hook (gemm.h: c_tile) with dropout. */
typedef struct {
    FN(fd_drop_plan) plan;
    T *keep;
    int64_t ldk;
} FN(fd_fwd_drop);
static void FN(fd_fwd_drop_tile)(void *arg, int64_t i0, int64_t j0, int64_t rows, int64_t cols,
                                 T *c, int64_t ldc)
{
    const FN(fd_fwd_drop) *fd = (const FN(fd_fwd_drop) *)arg;
    fd->plan.tile(&fd->plan, i0, j0, rows, cols, c, ldc, c, ldc,
                  fd->keep ? fd->keep + i0 * fd->ldk + j0 : NULL, fd->ldk);
}

size_t FN(fd_dense_forward_work_bytes)(fd_ctx ctx, int64_t m, int64_t k, int64_t n)
{ return FN(fd_gemm_work_bytes)(ctx, m, k, n); }

int FN(fd_dense_forward)(fd_ctx ctx, int64_t m, int64_t k, int64_t n, const T *x, int64_t ldx,
                         const T *W, int64_t w_rs, int64_t w_cs, const T *b, int act, T *y,
                         int64_t ldy, T *z, int64_t ldz, const fd_dense_drop *drop, T *yk,
                         int64_t ldyk, const uint32_t *w_packed, void *work)
{
    FN(fd_gemm_epi) epi;
    FN(fd_fwd_drop) fdp;
    int rc;
    if (drop && !(drop->p >= 0.0 && drop->p < 1.0)) return FD_EINVAL;
    memset(&epi, 0, sizeof(epi));
    epi.bias = b;
    epi.z = z;
    epi.ldz = ldz;
    epi.act = act;
    epi.beta = 0;
    epi.b_packed = w_packed;
    if (drop && drop->p > 0.0) {
        rc = FN(fd_drop_plan_init)(&fdp.plan, ctx, n, drop->p, drop->seed, drop->c2, drop->tag);
        if (rc != FD_OK) return rc;
        fdp.keep = yk;
        fdp.ldk = ldyk;
        epi.c_tile = FN(fd_fwd_drop_tile);
        epi.c_tile_arg = &fdp;
        yk = NULL;
    }
    rc = FN(fd_gemm)(ctx, m, k, n, x, ldx, 1, W, w_rs, w_cs, y, ldy, 1, &epi, work);
    if (rc == FD_OK && yk) { /* no dropout: the un-dropped output is y */
        int64_t i;
        for (i = 0; i < m; i++) memcpy(yk + i * ldyk, y + i * ldy, (size_t)n * sizeof(T));
    }
    return rc;
}

static size_t FN(fd_dense_bwd_gemm_bytes)(fd_ctx ctx, int64_t m, int64_t k, int64_t n)
{
    /* dW (k x n, inner m; or its transpose) and dx (m x k, inner n) */
    size_t a = FN(fd_gemm_work_bytes)(ctx, k, m, n);
    size_t a2 = FN(fd_gemm_work_bytes)(ctx, n, m, k);
    size_t c = FN(fd_gemm_work_bytes)(ctx, m, n, k);
    if (a2 > a) a = a2;
    return a > c ? a : c;
}

size_t FN(fd_dense_backward_work_bytes)(fd_ctx ctx, int64_t m, int64_t k, int64_t n)
{
    size_t nch;
    if (m <= 0 || n <= 0) return 0;
    nch = (size_t)((m + FD_DB_CHUNK - 1) / FD_DB_CHUNK);
    return fd_align_up((size_t)m * (size_t)n * sizeof(T)) +
        fd_align_up(nch * (size_t)n * sizeof(T)) + FN(fd_dense_bwd_gemm_bytes)(ctx, m, k, n) + 64;
}

int FN(fd_dense_backward)(fd_ctx ctx, int64_t m, int64_t k, int64_t n, const T *dy, int64_t lddy,
                          const T *x, int64_t ldx, const T *W, int64_t w_rs, int64_t w_cs,
                          const T *yz, int64_t ldyz, int yz_is_preact, int act, T *dx, int64_t lddx,
                          T *dW, int64_t dw_rs, int64_t dw_cs, T *db, int accumulate,
                          const fd_dense_drop *drop, void *work)
{
    void *owned = NULL;
    char *w;
    const T *dz;
    int64_t lddz, nch;
    T *part, *gwork;
    FN(fd_dz_job) job;
    int fused, rc = FD_OK;
    FN(fd_drop_plan) plan;
    const FN(fd_drop_plan) *dp = NULL;
    (void)yz_is_preact; /* act' reads yz as documented per activation */
    if (drop && !(drop->p >= 0.0 && drop->p < 1.0)) return FD_EINVAL;
    if (drop && drop->p > 0.0 && n > 0) {
        rc = FN(fd_drop_plan_init)(&plan, ctx, n, drop->p, drop->seed, drop->c2, drop->tag);
        if (rc != FD_OK) return rc;
        dp = &plan;
    }
    if (n <= 0) {
        /* no outputs: every gradient is zero */
        int64_t i, j;
        if (!accumulate) {
            if (dx)
                for (i = 0; i < m; i++)
                    for (j = 0; j < k; j++) dx[i * lddx + j] = (T)0;
            if (dW)
                for (i = 0; i < k; i++)
                    for (j = 0; j < n; j++) dW[i * dw_rs + j * dw_cs] = 0;
        }
        return FD_OK;
    }
    if (work == NULL) {
        owned = malloc(FN(fd_dense_backward_work_bytes)(ctx, m, k, n) + 64);
        if (!owned) return FD_ENOMEM;
        work = owned;
    }
    w = (char *)fd_align64(work);
    nch = (m + FD_DB_CHUNK - 1) / FD_DB_CHUNK;
    part = (T *)(w + fd_align_up((size_t)m * (size_t)n * sizeof(T)));
    gwork = (T *)((char *)part + fd_align_up((size_t)nch * (size_t)n * sizeof(T)));
    if (act == FD_ACT_IDENTITY && !dp) {
        dz = dy;
        lddz = lddy;
    } else {
        dz = (const T *)w;
        lddz = n;
    }
    /* dz and the chunk sums are made while dz is packed for dW
     * (fd_dz_block) when that product splits its columns (n >= k)
     * anyway; a row split would pack all of dz in every thread. Else
     * they get a pass of their own, threads splitting the columns.  A
     * column-major dW (a PyTorch weight's gradient) is computed as dz^T x,
     * which does not pack dz: the product would make all of dz first on
     * one thread, so it gets the pass of its own too. */
    fused =
        dW != NULL && n >= k && !(dw_rs == 1 && dw_cs != 1) && (db || act != FD_ACT_IDENTITY || dp);
    job.k = FN(fd_dense_pick)(ctx.isa);
    job.dp = dp;
    job.act = act;
    job.n = n;
    job.lddy = lddy;
    job.ldyz = ldyz;
    job.dy = dy;
    job.yz = yz;
    job.dz = (T *)w;
    job.part = part;
    if (!fused && m > 0 && (db || act != FD_ACT_IDENTITY || dp)) {
        /* one pass: threads own whole 64-row chunks, or, with fewer
         * chunks than threads, slabs of columns (16-aligned) */
        int nt = fd_threads_for(&ctx, (size_t)m * (size_t)n, (size_t)1 << 14);
        int64_t nblk = nch >= nt ? nch : nt, blk;
        int64_t wcol = ((n + nt - 1) / nt + 15) & ~(int64_t)15;
        const fd_fpenv env = fd_fpenv_get();
        FD_PARALLEL
        {
            const fd_fpenv own = fd_fpenv_enter(env);
            FD_FOR
            for (blk = 0; blk < nblk; blk++) {
                if (nch >= nt) {
                    int64_t i0 = blk * FD_DB_CHUNK;
                    FN(fd_dz_block)(&job, i0, m - i0 < FD_DB_CHUNK ? m : i0 + FD_DB_CHUNK, 0, n);
                } else if (blk * wcol < n) {
                    int64_t j0 = blk * wcol;
                    FN(fd_dz_block)(&job, 0, m, j0, n - j0 < wcol ? n - j0 : wcol);
                }
            }
            fd_fpenv_leave(own);
        }
    } else if (!fused && db && !accumulate) {
        memset(db, 0, (size_t)n * sizeof(T));
    }
    if (dW && rc == FD_OK) {
        FN(fd_gemm_epi) epi;
        memset(&epi, 0, sizeof(epi));
        epi.act = FD_ACT_IDENTITY;
        epi.beta = accumulate;
        epi.ksplit_either = 1; /* K is the batch */
        if (fused) {
            epi.b_rows = FN(fd_dz_block);
            epi.b_rows_arg = &job;
        }
        rc = FN(fd_gemm)(ctx, k, m, n, x, 1, ldx, dz, lddz, 1, dW, dw_rs, dw_cs, &epi, gwork);
    }
    if (db && rc == FD_OK && (fused || m > 0)) {
        /* chunk sums added in chunk order: the same bits for any
         * thread count */
        int64_t j, ch;
        for (j = 0; j < n; j++) {
            T s = (T)0;
            for (ch = 0; ch < nch; ch++) s += part[ch * n + j];
            db[j] = accumulate ? db[j] + s : s;
        }
    }
    if (dx && rc == FD_OK) {
        FN(fd_gemm_epi) epi;
        memset(&epi, 0, sizeof(epi));
        epi.act = FD_ACT_IDENTITY;
        epi.beta = accumulate;
        rc = FN(fd_gemm)(ctx, m, n, k, dz, lddz, 1, W, w_cs, w_rs, dx, lddx, 1, &epi, gwork);
    }
    free(owned);
    return rc;
}

#undef FN
