/* Per-dtype body of mlp_sparse.c (see mlp_sparse.h): the portable group
 * forward, the compression into groups and the driver. */

#define FN(name) FD_TNAME(name)
#if FD_SP_G != 4
#error "the portable compression below packs groups of 4 rows"
#endif

/* Portable path: FD_SP_COLS output columns at a time, in arrays the
 * compiler keeps in vector registers where it can. */
#define FD_SP_COLS 16
void FD_TNAME_ISA(fd_sp_forward, generic)(int64_t u_count, const int32_t *ix, const T *v,
                                          const T *W, int64_t ldw, int64_t n, const T *cw, int relu,
                                          T *y, int64_t ldy, int rows)
{
    int64_t j0, u;
    int g, j;
    for (j0 = 0; j0 < n; j0 += FD_SP_COLS) {
        const int nc = (int)(n - j0 < FD_SP_COLS ? n - j0 : FD_SP_COLS);
        T acc[FD_SP_G][FD_SP_COLS];
        for (g = 0; g < FD_SP_G; g++)
            for (j = 0; j < nc; j++) acc[g][j] = cw[j0 + j];
        for (u = 0; u < u_count; u++) {
            const T *w = W + (int64_t)ix[u] * ldw + j0;
            for (g = 0; g < FD_SP_G; g++) {
                const T a = v[u * FD_SP_G + g];
                for (j = 0; j < nc; j++) acc[g][j] += a * w[j];
            }
        }
        for (g = 0; g < rows; g++)
            for (j = 0; j < nc; j++) {
                /* relu(NaN) = NaN, as the dense epilogue */
                const T z = acc[g][j];
                y[g * ldy + j0 + j] = relu && z <= (T)0 ? (T)0 : z;
            }
    }
}
#undef FD_SP_COLS

/* Portable column sums (mlp_sparse.h). */
void FD_TNAME_ISA(fd_sp_colsum, generic)(int64_t r0, int64_t r1, const T *W, int64_t ldw, int64_t n,
                                         T c, const T *b0, T *cw)
{
    int64_t j, r;
    for (j = 0; j < n; j++) cw[j] = b0 ? b0[j] : (T)0;
    for (r = r0; r < r1; r++)
        for (j = 0; j < n; j++) cw[j] += c * W[r * ldw + j];
}

/* Portable compression (mlp_sparse.h): flags f (k + 8 bytes; a loop the
 * compiler vectorises), then a branch-free packing (each pixel is written,
 * the count advances only for the kept ones) that skips 8 unflagged pixels
 * at a time. */
int64_t FD_TNAME_ISA(fd_sp_compress, generic)(int64_t k, int64_t kh, const T *x, int64_t ldx,
                                              int rows, T c, unsigned char *FD_RESTRICT f,
                                              int32_t *FD_RESTRICT ix, T *FD_RESTRICT v,
                                              int64_t *split)
{
    const T *x0 = x, *x1 = rows > 1 ? x + ldx : x, *x2 = rows > 2 ? x + 2 * ldx : x,
            *x3 = rows > 3 ? x + 3 * ldx : x;
    int64_t j, cnt = 0;
    for (j = 0; j < k; j++)
        f[j] = (unsigned char)((x0[j] != c) | (x1[j] != c) | (x2[j] != c) | (x3[j] != c));
    *split = -1;
    for (j = 0; j < k; j++) {
        uint64_t w8;
        if (j % 8 == 0 && j + 8 <= k) {
            memcpy(&w8, f + j, 8);
            if (w8 == 0) {
                if (kh >= j && kh < j + 8) *split = cnt;
                j += 7;
                continue;
            }
        }
        if (j == kh) *split = cnt;
        ix[cnt] = (int32_t)j;
        v[cnt * 4 + 0] = x0[j] - c;
        v[cnt * 4 + 1] = rows > 1 ? x1[j] - c : (T)0;
        v[cnt * 4 + 2] = rows > 2 ? x2[j] - c : (T)0;
        v[cnt * 4 + 3] = rows > 3 ? x3[j] - c : (T)0;
        cnt += f[j];
    }
    if (*split < 0) *split = cnt;
    return cnt;
}
static size_t FN(fd_sp_align)(size_t b)
{ return (b + 63) & ~(size_t)63; }

/* The scratch, carved in this order. */
typedef struct {
    int32_t *ix; /* (ng, k + 1): each group's kept pixels */
    T *v; /* (ng, k + 1, FD_SP_G): their x - c */
    int64_t *cnt, *split; /* (ng): kept pixels, those below k / 2 */
    unsigned char *f; /* (ng, k + 8): flags */
    T *cw; /* (2, n): part 0: b + c * colsum(W[:k/2]); part 1: c * colsum(W[k/2:]) */
    T *part; /* (m, n): part 1's sums */
    /* for the backward pass: */
    unsigned char *uf; /* (k): 1 where any row of the batch differs from c: the union */
    int32_t *pos; /* (k): each pixel's index in the union, or -1 */
    int32_t *run; /* (k, 2): the union as runs of adjacent pixels: first, length */
    int64_t *nu; /* (1): the union's count (-1: the backward pass stays dense) */
    T *c; /* (1): the background */
    T *xc; /* (m, nu): x's columns of the union */
    T *dwc; /* (nu, n): dW's rows of the union */
} FN(fd_sp_bufs);

static size_t FN(fd_sp_layout)(int64_t m, int64_t k, int64_t n, void *scratch, FN(fd_sp_bufs) * b)
{
    const size_t ng = (size_t)((m + FD_SP_G - 1) / FD_SP_G), kk = (size_t)k + 1;
    char *p = scratch ? (char *)fd_align64(scratch) : NULL;
    size_t off = 0;
#define FD_SP_TAKE(field, type, count)                                                             \
    do {                                                                                           \
        if (p) b->field = (type *)(void *)(p + off);                                               \
        off += FN(fd_sp_align)((count) * sizeof(type));                                            \
    } while (0)
    FD_SP_TAKE(ix, int32_t, ng *kk);
    FD_SP_TAKE(v, T, ng * kk * FD_SP_G);
    FD_SP_TAKE(cnt, int64_t, ng);
    FD_SP_TAKE(split, int64_t, ng);
    FD_SP_TAKE(f, unsigned char, ng *((size_t)k + 8));
    FD_SP_TAKE(cw, T, 2 * (size_t)n);
    FD_SP_TAKE(part, T, (size_t)m * (size_t)n);
    FD_SP_TAKE(uf, unsigned char, (size_t)k);
    FD_SP_TAKE(pos, int32_t, (size_t)k);
    FD_SP_TAKE(run, int32_t, 2 * (size_t)k);
    FD_SP_TAKE(nu, int64_t, 1);
    FD_SP_TAKE(c, T, 1);
    if (FD_SP_DW_ROWS(m)) {
        FD_SP_TAKE(xc, T, (size_t)m * (size_t)k);
        FD_SP_TAKE(dwc, T, (size_t)k * (size_t)n);
    }
#undef FD_SP_TAKE
    return off + 64;
}

size_t FN(fd_mlp_sparse_bytes)(int64_t m, int64_t k, int64_t n)
{ return FN(fd_sp_layout)(m, k, n, NULL, NULL); }

int FN(fd_mlp_sparse_forward)(fd_ctx ctx, int64_t m, int64_t k, int64_t n, const T *x, const T *W,
                              const T *b, int act, T *y, int64_t ldy, void *scratch)
{
    const int64_t ng = (m + FD_SP_G - 1) / FD_SP_G, kk = k + 1, kh = k / 2;
    FN(fd_sp_bufs) bf;
    const int32_t *run;
    void (*fwd)(int64_t, const int32_t *, const T *, const T *, int64_t, int64_t, const T *, int,
                T *, int64_t, int) = FD_PICK(ctx.isa, fd_sp_forward);
    int64_t (*compress)(int64_t, int64_t, const T *, int64_t, int, T, unsigned char *, int32_t *,
                        T *, int64_t *) = FD_PICK(ctx.isa, fd_sp_compress);
    void (*colsum)(int64_t, int64_t, const T *, int64_t, int64_t, T, const T *, T *) =
        FD_PICK(ctx.isa, fd_sp_colsum);
    const T c = x[0];
    const fd_fpenv env = fd_fpenv_get();
    const int64_t nb = (n + FD_SP_BLOCK - 1) / FD_SP_BLOCK;
    int64_t q, total = 0, nsl, slab, nu = 0, nrun = 0, xnu;
    const int dw = FD_SP_DW_ROWS(m); /* the backward pass may take the batch's union */
    int nt = fd_threads_for(&ctx, (size_t)(m * k), (size_t)1 << 14);
    FN(fd_sp_layout)(m, k, n, scratch, &bf);
    *bf.nu = -1; /* no sparse backward pass unless this batch sets it */
    /* a NaN or inf background would spread to every row; ix holds int32 */
    if (m < 1 || k > INT32_MAX || (act != FD_ACT_RELU && act != FD_ACT_IDENTITY) ||
        !(c - c == (T)0))
        return 0;
    FD_PARALLEL
    {
        const fd_fpenv own = fd_fpenv_enter(env);
        FD_FOR
        for (q = 0; q < ng; q++) {
            const int rows = (int)(m - q * FD_SP_G < FD_SP_G ? m - q * FD_SP_G : FD_SP_G);
            bf.cnt[q] = compress(k, kh, x + q * FD_SP_G * k, k, rows, c, bf.f + q * (k + 8),
                                 bf.ix + q * kk, bf.v + q * kk * FD_SP_G, bf.split + q);
        }
        fd_fpenv_leave(own);
    }
    for (q = 0; q < ng; q++) total += bf.cnt[q];
    if ((double)total > FD_SP_MAX_FILL * (double)ng * (double)k) return 0;
    if (dw) memset(bf.uf, 0, (size_t)k);

    /* The sums go in two parts, pixels below k / 2 and the rest, added at
     * the end: the first threads take part 0, which reads the rows of W
     * that the optimiser's step wrote from their cores (it splits W's
     * elements in order), the others part 1.  Two parts for any thread
     * count, so the bits are the same for all.  Each thread goes over
     * its groups once per block of FD_SP_BLOCK columns: that block of its
     * rows of W stays in cache while every group reads from it. */
    nt = fd_threads_for(&ctx, (size_t)(total * n), (size_t)1 << 16);
    nsl = nt > 1 ? nt / 2 : 1;
    slab = ((n + nsl - 1) / nsl + 15) & ~(int64_t)15;
    FD_PARALLEL
    {
        const fd_fpenv own = fd_fpenv_enter(env);
        FD_FOR
        for (q = 0; q < 2 * nsl; q++) {
            const int p = (int)(q / nsl);
            const int64_t j0 = q % nsl * slab, j1 = j0 + slab < n ? j0 + slab : n;
            int64_t g, u;
            if (j0 < n)
                colsum(p ? kh : 0, p ? k : kh, W + j0, n, j1 - j0, c, p == 0 && b ? b + j0 : NULL,
                       bf.cw + p * n + j0);
            if (dw && q % nsl == 0) /* the batch's union, each part's pixels */
                for (g = 0; g < ng; g++)
                    for (u = p ? bf.split[g] : 0; u < (p ? bf.cnt[g] : bf.split[g]); u++)
                        bf.uf[bf.ix[g * kk + u]] = 1;
        }
        fd_fpenv_leave(own);
    }
    for (q = 0; q < k && dw; q++) {
        bf.pos[q] = bf.uf[q] ? (int32_t)nu++ : -1;
        if (!bf.uf[q]) continue;
        if (q > 0 && bf.uf[q - 1]) {
            bf.run[2 * nrun - 1]++;
        } else {
            bf.run[2 * nrun] = (int32_t)q;
            bf.run[2 * nrun + 1] = 1;
            nrun++;
        }
    }
    xnu = dw && nu > 0 && (double)nu <= FD_SP_DW_MAX_FILL * (double)k ? nu : -1;
    *bf.nu = xnu;
    *bf.c = c;
    FD_PARALLEL
    {
        const fd_fpenv own = fd_fpenv_enter(env);
        FD_FOR
        for (q = 0; q < 2 * nb * ng; q++) {
            const int p = (int)(q / (nb * ng));
            const int64_t g = q % ng, j0 = q / ng % nb * FD_SP_BLOCK;
            const int64_t u0 = p ? bf.split[g] : 0, u1 = p ? bf.cnt[g] : bf.split[g];
            const int rows = (int)(m - g * FD_SP_G < FD_SP_G ? m - g * FD_SP_G : FD_SP_G);
            fwd(u1 - u0, bf.ix + g * kk + u0, bf.v + (g * kk + u0) * FD_SP_G, W + j0, n,
                n - j0 < FD_SP_BLOCK ? n - j0 : FD_SP_BLOCK, bf.cw + p * n + j0, 0,
                (p ? bf.part + g * FD_SP_G * n : y + g * FD_SP_G * ldy) + j0, p ? n : ldy, rows);
        }
        fd_fpenv_leave(own);
    }
    nt = fd_threads_for(&ctx, (size_t)(m * n), (size_t)1 << 14);
    run = bf.run;
    FD_PARALLEL
    {
        const fd_fpenv own = fd_fpenv_enter(env);
        FD_FOR
        for (q = 0; q < m; q++) {
            T *yr = y + q * ldy;
            const T *pr = bf.part + q * n;
            int64_t j;
            if (xnu >= 0) { /* the backward pass's input: x's columns of the union, run by run */
                const T *xr = x + q * k;
                T *o = bf.xc + q * xnu;
                for (j = 0; j < nrun; j++) {
                    const T *src = xr + run[2 * j];
                    const int32_t len = run[2 * j + 1];
                    int32_t t;
                    for (t = 0; t < len; t++) o[t] = src[t];
                    o += len;
                }
            }
            if (act == FD_ACT_RELU)
                for (j = 0; j < n; j++) {
                    /* relu(NaN) = NaN, as the dense epilogue */
                    const T z = yr[j] + pr[j];
                    yr[j] = z <= (T)0 ? (T)0 : z;
                }
            else
                for (j = 0; j < n; j++) yr[j] += pr[j];
        }
        fd_fpenv_leave(own);
    }
    return 1;
}

int FN(fd_mlp_sparse_backward)(fd_ctx ctx, int64_t m, int64_t k, int64_t n, const T *dy,
                               int64_t lddy, const T *y, int act, T *dW, T *db, void *scratch,
                               void *work, size_t work_bytes, int *done)
{
    FN(fd_sp_bufs) bf;
    int64_t nu, q;
    T c;
    int rc, nt = fd_threads_for(&ctx, (size_t)(k * n), (size_t)1 << 14);
    fd_fpenv env;
    *done = 0;
    FN(fd_sp_layout)(m, k, n, scratch, &bf);
    nu = *bf.nu;
    c = *bf.c;
    if (nu < 0 || db == NULL) return FD_OK;
    /* dW's rows of the union from x's columns (NULL work: the kernel allocates
     * what a shape needs beyond the epoch's scratch) */
    rc = FN(fd_dense_backward)(
        ctx, m, nu, n, dy, lddy, bf.xc, nu, NULL, 0, 0, y, n, 0, act, NULL, 0, bf.dwc, n, 1, db, 0,
        NULL, FN(fd_dense_backward_work_bytes)(ctx, m, nu, n) <= work_bytes ? work : NULL);
    if (rc != FD_OK) return rc;
    /* every other row of dW sums c * dz over the batch: c * db */
    env = fd_fpenv_get();
    FD_PARALLEL
    {
        const fd_fpenv own = fd_fpenv_enter(env);
        FD_FOR
        for (q = 0; q < k; q++) {
            T *wr = dW + q * n;
            int64_t j;
            if (bf.pos[q] >= 0)
                memcpy(wr, bf.dwc + (int64_t)bf.pos[q] * n, (size_t)n * sizeof(T));
            else
                for (j = 0; j < n; j++) wr[j] = c * db[j];
        }
        fd_fpenv_leave(own);
    }
    *done = 1;
    return FD_OK;
}

#undef FN
