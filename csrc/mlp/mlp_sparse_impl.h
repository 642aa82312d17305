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

/* Portable weight gradient (mlp_sparse.h): FD_SP_COLS columns of a row of
 * dW at a time, in an array the compiler keeps in registers. */
#define FD_SP_COLS 16
void FD_TNAME_ISA(fd_sp_wgrad, generic)(int64_t p0, int64_t p1, const T *xt, int64_t mp,
                                        const uint64_t *mk, int64_t nw, const T *dz, int64_t lddz,
                                        T c, const T *db, int64_t n, T *dW, int64_t lddw)
{
    int64_t j0, p, w;
    int j;
    for (j0 = 0; j0 < n; j0 += FD_SP_COLS) {
        const int nc = (int)(n - j0 < FD_SP_COLS ? n - j0 : FD_SP_COLS);
        for (p = p0; p < p1; p++) {
            T acc[FD_SP_COLS];
            for (j = 0; j < nc; j++) acc[j] = c * db[j0 + j];
            for (w = 0; w < nw; w++) {
                uint64_t bits = mk[p * nw + w];
                while (bits) {
                    const int64_t r = w * 64 + fd_sp_ctz64(bits);
                    const T a = xt[p * mp + r], *d = dz + r * lddz + j0;
                    bits &= bits - 1;
                    for (j = 0; j < nc; j++) acc[j] += a * d[j];
                }
            }
            for (j = 0; j < nc; j++) dW[p * lddw + j0 + j] = acc[j];
        }
    }
}
#undef FD_SP_COLS

/* Portable head product (mlp_sparse.h). */
void FD_TNAME_ISA(fd_sp_head, generic)(int64_t rows, int64_t n, int64_t cn, const T *y, int64_t ldy,
                                       const T *wh, const T *bh, T *out)
{
    int64_t r, j, c;
    for (r = 0; r < rows; r++) {
        T acc[FD_SP_NEXT_MAX];
        for (c = 0; c < cn; c++) acc[c] = (T)0;
        for (j = 0; j < n; j++) {
            const T a = y[r * ldy + j], *w = wh + j * FD_SP_NEXT_MAX;
            for (c = 0; c < cn; c++) acc[c] += a * w[c];
        }
        for (c = 0; c < cn; c++) out[r * cn + c] = bh ? acc[c] + bh[c] : acc[c];
    }
}

/* Portable column sums (mlp_sparse.h). */
void FD_TNAME_ISA(fd_sp_colsum, generic)(int64_t r0, int64_t r1, const T *W, int64_t ldw, int64_t n,
                                         T c, const T *b0, T *cw, T *wp, int64_t ldp)
{
    int64_t j, r;
    for (j = 0; j < n; j++) cw[j] = b0 ? b0[j] : (T)0;
    for (r = r0; r < r1; r++) {
        for (j = 0; j < n; j++) cw[j] += c * W[r * ldw + j];
        if (wp) memcpy(wp + r * ldp, W + r * ldw, (size_t)n * sizeof(T));
    }
}

/* Portable compression (mlp_sparse.h): flags f (k + 8 bytes; a loop the
 * compiler vectorises), then a branch-free packing (each pixel is written,
 * the count advances only for the kept ones) that skips 8 unflagged pixels
 * at a time. */
int64_t FD_TNAME_ISA(fd_sp_compress, generic)(int64_t k, const int32_t *starts, int64_t nb,
                                              const T *const *xr, int rows, T c,
                                              unsigned char *FD_RESTRICT f, int32_t *FD_RESTRICT ix,
                                              T *FD_RESTRICT v, int32_t *FD_RESTRICT bnd)
{
    const T *x0 = xr[0], *x1 = xr[rows > 1 ? 1 : 0], *x2 = xr[rows > 2 ? 2 : 0],
            *x3 = xr[rows > 3 ? 3 : 0];
    int64_t j, cnt = 0, t = 0, next = starts[0];
    for (j = 0; j < k; j++)
        f[j] = (unsigned char)((x0[j] != c) | (x1[j] != c) | (x2[j] != c) | (x3[j] != c));
    for (j = 0; j < k; j++) {
        uint64_t w8;
        if (j % 8 == 0 && j + 8 <= k) {
            memcpy(&w8, f + j, 8);
            if (w8 == 0) {
                while (next < j + 8) { /* the chunks that start in the skipped pixels */
                    bnd[t++] = (int32_t)cnt;
                    next = starts[t];
                }
                j += 7;
                continue;
            }
        }
        while (j >= next) {
            bnd[t++] = (int32_t)cnt;
            next = starts[t];
        }
        ix[cnt] = (int32_t)j;
        v[cnt * 4 + 0] = x0[j] - c;
        v[cnt * 4 + 1] = rows > 1 ? x1[j] - c : (T)0;
        v[cnt * 4 + 2] = rows > 2 ? x2[j] - c : (T)0;
        v[cnt * 4 + 3] = rows > 3 ? x3[j] - c : (T)0;
        cnt += f[j];
    }
    while (t <= nb) bnd[t++] = (int32_t)cnt;
    return cnt;
}
/* Portable fd_sp_dz_next (mlp_sparse.h). */
void FD_TNAME_ISA(fd_sp_dz_next, generic)(int64_t n, int64_t cn, const T *dn, const T *WnT,
                                          const T *y, T *dz, T *ps)
{
    int64_t j, c;
    for (j = 0; j < n; j++) {
        T a = dn[0] * WnT[j], g;
        for (c = 1; c < cn; c++) a += dn[c] * WnT[c * n + j];
        /* relu': 1, 0, or NaN for a NaN y, as fd_dz_row */
        g = a * (y[j] > (T)0 ? (T)1 : y[j] <= (T)0 ? (T)0 : y[j]);
        dz[j] = g;
        ps[j] += g;
    }
}

/* Portable fd_sp_wnext (mlp_sparse.h). */
void FD_TNAME_ISA(fd_sp_wnext, generic)(int64_t rows, int64_t n, int64_t cn, const T *y,
                                        const T *dn, T *acc)
{
    int64_t r, c, j;
    for (c = 0; c < cn; c++) {
        T *o = acc + c * n;
        for (j = 0; j < n; j++) o[j] = dn[c] * y[j];
        for (r = 1; r < rows; r++)
            for (j = 0; j < n; j++) o[j] += dn[r * cn + c] * y[r * n + j];
    }
}

/* Portable lay-out of a chunk by pixel (mlp_sparse.h). */
void FD_TNAME_ISA(fd_sp_layout, generic)(int64_t p0, int64_t p1, int64_t q, int64_t ng, int64_t nch,
                                         const int32_t *bnd, const int32_t *ix, const T *v,
                                         int64_t kk, T *xt, int64_t mp, uint64_t *mk, int64_t nw)
{
    int64_t p, g, u;
    for (p = p0; p < p1; p++)
        for (u = 0; u < nw; u++) mk[p * nw + u] = 0;
    for (g = 0; g < ng; g++) {
        const int32_t *bd = bnd + g * (nch + 1);
        for (u = bd[q]; u < bd[q + 1]; u++) {
            const int64_t pp = ix[g * kk + u];
            const T *vv = v + (g * kk + u) * FD_SP_G;
            T *xp = xt + pp * mp + g * FD_SP_G;
            uint64_t nib = 0;
            int i;
            for (i = 0; i < FD_SP_G; i++) {
                xp[i] = vv[i];
                nib |= (uint64_t)(vv[i] != (T)0) << i; /* (a NaN is kept) */
            }
            mk[pp * nw + g * FD_SP_G / 64] |= nib << (g * FD_SP_G % 64);
        }
    }
}

static size_t FN(fd_sp_align)(size_t b)
{ return (b + 63) & ~(size_t)63; }

/* The chunks of pixels: the two parts split at a chunk boundary
 * (fd_sp_split), and the backward pass lays the groups out by pixel a
 * chunk at a time.  Each is as many pixels as keep their rows of dW (n
 * wide) in half the L1 data cache (CPUID or sysfs: common/cpu.h), between
 * 8 and 256, the last one shorter: the size the groups' weight gradient
 * passed over until stop 39, kept because the split, and with it the
 * forward's sums, depend on it. */
static int64_t FN(fd_sp_chunk_len)(int64_t n)
{
    const int64_t len = fd_cpu_caches()->l1d.size / 2 / (n * (int64_t)sizeof(T));
    return len < 8 ? 8 : len > 256 ? 256 : len;
}

/* The row stride of the scratch's n-wide arrays, W's copy and the part
 * (which holds dz in the backward pass): n, plus a cache line where rows
 * n long would be a multiple of 256 bytes apart.  The forward reads a
 * tile of W's columns from its kept rows, the weight gradient one of dz's
 * from every row; at a 1 KiB stride (n = 256 float32) such a column of
 * lines falls into 4 of L1's 64 sets and thrashes. */
static int64_t FN(fd_sp_ldp)(int64_t n)
{ return (n * (int64_t)sizeof(T)) % 256 == 0 ? n + 64 / (int64_t)sizeof(T) : n; }

static int64_t FN(fd_sp_chunks)(int64_t k, int64_t len)
{ return (k + len - 1) / len; }

/* The chunk boundary t (0..nch) below which the groups' kept pixels come
 * closest to half of them all (the first such): the parts' split, so the
 * two halves of the threads get the same work (below the middle of the
 * image, digits keep 47.6% of theirs).  It depends on the batch only. */
static int64_t FN(fd_sp_split)(int64_t ng, int64_t nch, const int32_t *bnd, int64_t total)
{
    int64_t t, g, best = 0, gap = total;
    for (t = 0; t <= nch; t++) {
        int64_t below = 0, d;
        for (g = 0; g < ng; g++) below += bnd[g * (nch + 1) + t];
        d = 2 * below - total < 0 ? total - 2 * below : 2 * below - total;
        if (d < gap) {
            gap = d;
            best = t;
        }
    }
    return best;
}

/* The column slabs of the passes split by columns: nsl of them for nt
 * threads (multiples of 16 columns).  The forward's column sums take
 * 2 * nsl items, item q part q / nsl, columns [j0, j1) (empty where j0 >=
 * n; the first threads take part 0); the weight gradient's pairs of
 * threads a slab each. */
static int64_t FN(fd_sp_slabs)(int nt, int64_t n, int64_t *slab)
{
    const int64_t nsl = nt > 1 ? nt / 2 : 1;
    *slab = ((n + nsl - 1) / nsl + 15) & ~(int64_t)15;
    return nsl;
}

static int FN(fd_sp_item)(int64_t q, int64_t nsl, int64_t slab, int64_t n, int64_t *j0, int64_t *j1)
{
    *j0 = q % nsl * slab;
    *j1 = *j0 + slab < n ? *j0 + slab : n;
    return (int)(q / nsl);
}

/* The mask words per pixel for m rows (a bit per row of the groups). */
static int64_t FN(fd_sp_words)(int64_t m)
{ return ((m + FD_SP_G - 1) / FD_SP_G * FD_SP_G + 63) / 64; }

/* The scratch, carved in this order. */
typedef struct {
    int32_t *ix; /* (ng, k + FD_SP_PAD): each group's kept pixels */
    T *v; /* (ng, k + FD_SP_PAD, FD_SP_G): their x - c */
    int64_t *cnt; /* (ng): kept pixels */
    unsigned char *f; /* (ng, k + 8): flags */
    T *cw; /* (2, n): part 0: b + c * colsum(W[:k/2]); part 1: c * colsum(W[k/2:]) */
    T *part; /* (m, ldp): part 1's sums; in the backward pass, dz */
    int32_t *starts; /* (nch + 1): each chunk's first pixel, then k */
    int32_t *bnd; /* (ng, nch + 1): each chunk's first kept pixel in each group's */
    T *dbp; /* (m / FD_SP_DB_ROWS rounded up, n): db's sums over blocks of rows */
    int64_t *ready; /* (1): 1 when the forward pass left the groups for the backward */
    T *wnt; /* (FD_SP_NEXT_MAX, n): the next layer's weights transposed */
    T *wnp; /* (nbk, FD_SP_NEXT_MAX, n): its weight gradient's block sums, transposed */
    T *c; /* (1): the background */
    T *wp; /* (k, ldp): W with rows ldp apart where ldp > n or W is column-major
            * (else unused: W itself); in the backward pass, a column-major dW */
    T *xt; /* (k, mp): each pixel's x - c for the rows of its groups (the backward pass's) */
    uint64_t *mk; /* (k, nw): each pixel's rows that keep it, a bit each */
    T *wh; /* (n, FD_SP_NEXT_MAX): the forward's next layer, padded with zeros */
    T *bh; /* (FD_SP_NEXT_MAX): its bias, padded */
} FN(fd_sp_bufs);

static size_t FN(fd_sp_layout)(int64_t m, int64_t k, int64_t n, void *scratch, FN(fd_sp_bufs) * b)
{
    const size_t ng = (size_t)((m + FD_SP_G - 1) / FD_SP_G), kk = (size_t)k + FD_SP_PAD;
    const size_t nch1 = (size_t)FN(fd_sp_chunks)(k, FN(fd_sp_chunk_len)(n)) + 1;
    const size_t nbk = (size_t)((m + FD_SP_DB_ROWS - 1) / FD_SP_DB_ROWS);
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
    FD_SP_TAKE(f, unsigned char, ng *((size_t)k + 8));
    FD_SP_TAKE(cw, T, 2 * (size_t)n);
    FD_SP_TAKE(part, T, (size_t)m * (size_t)FN(fd_sp_ldp)(n));
    FD_SP_TAKE(starts, int32_t, nch1);
    FD_SP_TAKE(bnd, int32_t, ng *nch1);
    FD_SP_TAKE(dbp, T, nbk * (size_t)n);
    FD_SP_TAKE(ready, int64_t, 1);
    FD_SP_TAKE(wnt, T, (size_t)FD_SP_NEXT_MAX * (size_t)n);
    FD_SP_TAKE(wnp, T, nbk * FD_SP_NEXT_MAX * (size_t)n);
    FD_SP_TAKE(c, T, 1);
    FD_SP_TAKE(wp, T, (size_t)k * (size_t)FN(fd_sp_ldp)(n));
    FD_SP_TAKE(xt, T, (size_t)k * ng * FD_SP_G);
    FD_SP_TAKE(mk, uint64_t, (size_t)k *FN(fd_sp_words)(m));
    FD_SP_TAKE(wh, T, (size_t)n * FD_SP_NEXT_MAX);
    FD_SP_TAKE(bh, T, FD_SP_NEXT_MAX);
#undef FD_SP_TAKE
    return off + 64;
}

int64_t FN(fd_mlp_argmax)(const T *row, int64_t c)
{
    /* selects, not branches: which class wins is unpredictable */
    T top = row[0];
    int64_t j, best = 0;
    for (j = 1; j < c; j++) {
        const T x = row[j];
        const int take = (x > top) | ((x != x) & (top == top));
        best = take ? j : best;
        top = take ? x : top;
    }
    return best;
}

/* fd_sp_head on rows [r0, r1) of y (ldy), finished by this thread. */
static void FN(fd_sp_head_rows)(int isa, const fd_sp_head *hd, const FN(fd_sp_bufs) * bf, int64_t m,
                                int64_t n, const T *y, int64_t ldy, int64_t r0, int64_t r1)
{
    void (*head)(int64_t, int64_t, int64_t, const T *, int64_t, const T *, const T *, T *) =
        FD_PICK(isa, fd_sp_head);
    const int64_t cn = hd->cn;
    T *out = (T *)hd->out;
    int64_t r;
    head(r1 - r0, n, cn, y + r0 * ldy, ldy, bf->wh, hd->bn ? bf->bh : NULL, out + r0 * cn);
    FN(fd_softmax_xent_rows)(isa, r0, r1, m, cn, out, hd->lab, (T *)hd->dout, hd->li);
    for (r = r0; r < r1; r++)
        hd->hit[r] = (unsigned char)(FN(fd_mlp_argmax)(out + r * cn, cn) == hd->lab[r]);
}

size_t FN(fd_mlp_sparse_bytes)(int64_t m, int64_t k, int64_t n)
{ return FN(fd_sp_layout)(m, k, n, NULL, NULL); }

int FN(fd_mlp_sparse_may)(int64_t k, const T *x0)
{
    /* a NaN or inf background would spread to every row; ix holds int32;
     * a first row denser than the unions may be is data that is not
     * images (k compares, against compressing the whole batch before the
     * dense product) */
    const T c = k > 0 ? x0[0] : (T)0;
    int64_t p, kept = 0;
    if (k < 1 || k > INT32_MAX || !(c - c == (T)0)) return 0;
    for (p = 0; p < k; p++) kept += x0[p] != c; /* (a NaN is kept) */
    return (double)kept <= FD_SP_MAX_FILL * (double)k;
}

int FN(fd_mlp_sparse_forward)(fd_ctx ctx, int64_t m, int64_t k, int64_t n, const T *x,
                              const int64_t *idx, const T *W, int64_t w_rs, int64_t w_cs,
                              const T *b, int act, T *y, int64_t ldy, void *scratch,
                              const fd_sp_head *hd)
{
    const int64_t ng = (m + FD_SP_G - 1) / FD_SP_G, kk = k + FD_SP_PAD;
    FN(fd_sp_bufs) bf;
    void (*fwd)(int64_t, const int32_t *, const T *, const T *, int64_t, int64_t, const T *, int,
                T *, int64_t, int) = FD_PICK(ctx.isa, fd_sp_forward);
    int64_t (*compress)(int64_t, const int32_t *, int64_t, const T *const *, int, T,
                        unsigned char *, int32_t *, T *, int32_t *) =
        FD_PICK(ctx.isa, fd_sp_compress);
    void (*colsum)(int64_t, int64_t, const T *, int64_t, int64_t, T, const T *, T *, T *, int64_t) =
        FD_PICK(ctx.isa, fd_sp_colsum);
    const T c = x[idx ? idx[0] * k : 0];
    const fd_fpenv env = fd_fpenv_get();
    const int64_t nb = (n + FD_SP_BLOCK - 1) / FD_SP_BLOCK, ldp = FN(fd_sp_ldp)(n);
    int64_t q, total = 0, nsl, slab, c0, kh, ldf;
    const T *wf;
    const int64_t len = FN(fd_sp_chunk_len)(n), nch = FN(fd_sp_chunks)(k, len);
    const int wcol = w_cs != 1; /* column-major W: the copy in wp is read */
    int nt = fd_threads_for(&ctx, (size_t)(m * k), (size_t)1 << 14);
    fd_pair_share share[FD_PAIR_MAX];
    FN(fd_sp_layout)(m, k, n, scratch, &bf);
    *bf.ready = 0; /* no sparse backward pass unless this batch takes the path */
    if (m < 1 || (act != FD_ACT_RELU && act != FD_ACT_IDENTITY) ||
        (wcol ? w_rs != 1 || w_cs < k : w_rs < n) ||
        (hd && (hd->cn < 1 || hd->cn > FD_SP_NEXT_MAX)) ||
        !FN(fd_mlp_sparse_may)(k, x + (idx ? idx[0] * k : 0)))
        return 0;
    for (q = 0; q <= nch; q++) bf.starts[q] = (int32_t)(q == nch ? k : q * len);
    /* (the passes below share their items by pairs of threads, but for
     * the column sums: no item's result depends on the thread that takes
     * it) */
    fd_pair_reset(share, nt);
    FD_PARALLEL
    {
        const fd_fpenv own = fd_fpenv_enter(env);
        fd_pair_iter it = fd_pair_start(share, ng, 2);
        int64_t q0, q1, g0;
        while (fd_pair_next(&it, &q0, &q1))
            for (g0 = q0; g0 < q1; g0++) {
                const int rows = (int)(m - g0 * FD_SP_G < FD_SP_G ? m - g0 * FD_SP_G : FD_SP_G);
                const T *xr[FD_SP_G];
                int g;
                for (g = 0; g < rows; g++)
                    xr[g] = x + (idx ? idx[g0 * FD_SP_G + g] : g0 * FD_SP_G + g) * k;
                bf.cnt[g0] =
                    compress(k, bf.starts, nch, xr, rows, c, bf.f + g0 * (k + 8), bf.ix + g0 * kk,
                             bf.v + g0 * kk * FD_SP_G, bf.bnd + g0 * (nch + 1));
            }
        fd_fpenv_leave(own);
    }
    for (q = 0; q < ng; q++) total += bf.cnt[q];
    if ((double)total > FD_SP_MAX_FILL * (double)ng * (double)k) return 0;
    c0 = FN(fd_sp_split)(ng, nch, bf.bnd, total);
    kh = bf.starts[c0];

    /* The sums go in two parts, the pixels below the split (about half of
     * the kept ones) and the rest, added at the end: the first threads
     * take part 0, which reads the rows of W that the optimiser's step
     * wrote from their cores (it splits W's elements in order), the others
     * part 1, a pair of threads sharing the ends of their two ranges of
     * items (where part 0's threads and part 1's meet, and within each
     * part when there are more).  Two parts for any thread
     * count, so the bits are the same for all.  Each thread goes over
     * its groups once per block of FD_SP_BLOCK columns: that block of its
     * rows of W stays in cache while every group reads from it. */
    nt = fd_threads_for(&ctx, (size_t)(total * n), (size_t)1 << 16);
    nsl = FN(fd_sp_slabs)(nt, n, &slab);
    FD_PARALLEL
    {
        const fd_fpenv own = fd_fpenv_enter(env);
        FD_FOR
        for (q = 0; q < 2 * nsl; q++) {
            int64_t j0, j1;
            const int p = FN(fd_sp_item)(q, nsl, slab, n, &j0, &j1);
            const int64_t r0 = p ? kh : 0, r1 = p ? k : kh;
            if (j0 >= n) continue;
            if (wcol) { /* the block transposed into wp (in cache for the sums) */
                FN(fd_gemm_tcopy)(ctx.isa, j1 - j0, r1 - r0, W + j0 * w_cs + r0, w_cs,
                                  bf.wp + r0 * ldp + j0, ldp);
                colsum(r0, r1, bf.wp + j0, ldp, j1 - j0, c, p == 0 && b ? b + j0 : NULL,
                       bf.cw + p * n + j0, NULL, ldp);
            } else
                colsum(r0, r1, W + j0, w_rs, j1 - j0, c, p == 0 && b ? b + j0 : NULL,
                       bf.cw + p * n + j0, ldp > n ? bf.wp + j0 : NULL, ldp);
        }
        fd_fpenv_leave(own);
    }
    *bf.ready = 1;
    *bf.c = c;
    wf = wcol || ldp > n ? bf.wp : W; /* (the copy made above, rows ldp apart) */
    ldf = wcol || ldp > n ? ldp : w_rs;
    fd_pair_reset(share, nt);
    FD_PARALLEL
    {
        const fd_fpenv own = fd_fpenv_enter(env);
        fd_pair_iter it = fd_pair_start(share, 2 * nb * ng, 4);
        int64_t q0, q1, i;
        while (fd_pair_next(&it, &q0, &q1))
            for (i = q0; i < q1; i++) {
                const int p = (int)(i / (nb * ng));
                const int64_t g = i % ng, j0 = i / ng % nb * FD_SP_BLOCK;
                const int64_t split = bf.bnd[g * (nch + 1) + c0]; /* part 1's first pixel */
                const int64_t u0 = p ? split : 0, u1 = p ? bf.cnt[g] : split;
                const int rows = (int)(m - g * FD_SP_G < FD_SP_G ? m - g * FD_SP_G : FD_SP_G);
                fwd(u1 - u0, bf.ix + g * kk + u0, bf.v + (g * kk + u0) * FD_SP_G, wf + j0, ldf,
                    n - j0 < FD_SP_BLOCK ? n - j0 : FD_SP_BLOCK, bf.cw + p * n + j0, 0,
                    (p ? bf.part + g * FD_SP_G * ldp : y + g * FD_SP_G * ldy) + j0, p ? ldp : ldy,
                    rows);
            }
        fd_fpenv_leave(own);
    }
    if (hd) { /* the next layer's weights, rows FD_SP_NEXT_MAX wide for whole vectors */
        const T *wn = (const T *)hd->wn, *bn = (const T *)hd->bn;
        int64_t j, c1;
        for (j = 0; j < n; j++)
            for (c1 = 0; c1 < FD_SP_NEXT_MAX; c1++)
                bf.wh[j * FD_SP_NEXT_MAX + c1] = c1 < hd->cn ? wn[j * hd->cn + c1] : (T)0;
        for (c1 = 0; c1 < FD_SP_NEXT_MAX; c1++) bf.bh[c1] = bn && c1 < hd->cn ? bn[c1] : (T)0;
    }
    nt = fd_threads_for(&ctx, (size_t)(m * n) * (size_t)(hd ? hd->cn : 1), (size_t)1 << 12);
    fd_pair_reset(share, nt);
    FD_PARALLEL
    {
        const fd_fpenv own = fd_fpenv_enter(env);
        fd_pair_iter it = fd_pair_start(share, m, 8);
        int64_t q0, q1, r, j;
        while (fd_pair_next(&it, &q0, &q1)) {
            for (r = q0; r < q1; r++) {
                T *yr = y + r * ldy;
                const T *pr = bf.part + r * ldp;
                if (act == FD_ACT_RELU)
                    for (j = 0; j < n; j++) {
                        /* relu(NaN) = NaN, as the dense epilogue */
                        const T z = yr[j] + pr[j];
                        yr[j] = z <= (T)0 ? (T)0 : z;
                    }
                else
                    for (j = 0; j < n; j++) yr[j] += pr[j];
            }
            if (hd) FN(fd_sp_head_rows)(ctx.isa, hd, &bf, m, n, y, ldy, q0, q1);
        }
        fd_fpenv_leave(own);
    }
    return 1;
}

int FN(fd_mlp_sparse_backward)(fd_ctx ctx, int64_t m, int64_t k, int64_t n, const T *dy,
                               int64_t lddy, const T *dn, int64_t cn, const T *Wn, int64_t wn_rs,
                               int64_t wn_cs, T *dWn, int64_t dwn_rs, int64_t dwn_cs, T *dbn,
                               const T *y, int act, T *dW, int64_t dw_rs, int64_t dw_cs, T *db,
                               void *scratch, int *done)
{
    const int64_t ng = (m + FD_SP_G - 1) / FD_SP_G, kk = k + FD_SP_PAD,
                  len = FN(fd_sp_chunk_len)(n);
    const int64_t nch = FN(fd_sp_chunks)(k, len), ldp = FN(fd_sp_ldp)(n);
    const int dwcol = dw_cs != 1; /* column-major dW: summed in wp, then copied */
    FN(fd_sp_bufs) bf;
    void (*wgrad)(int64_t, int64_t, const T *, int64_t, const uint64_t *, int64_t, const T *,
                  int64_t, T, const T *, int64_t, T *, int64_t) = FD_PICK(ctx.isa, fd_sp_wgrad);
    void (*dz_next)(int64_t, int64_t, const T *, const T *, const T *, T *, T *) =
        FD_PICK(ctx.isa, fd_sp_dz_next);
    void (*wnext)(int64_t, int64_t, int64_t, const T *, const T *, T *) =
        FD_PICK(ctx.isa, fd_sp_wnext);
    void (*layout)(int64_t, int64_t, int64_t, int64_t, int64_t, const int32_t *, const int32_t *,
                   const T *, int64_t, T *, int64_t, uint64_t *, int64_t) =
        FD_PICK(ctx.isa, fd_sp_layout);
    const fd_fpenv env = fd_fpenv_get();
    int64_t q, nsl, slab, lddz, nbk, nw, mp;
    T c, *dz;
    int nt = fd_threads_for(&ctx, (size_t)(m * n) * (size_t)(dy ? 1 : cn), (size_t)1 << 14);
    fd_pair_share share[FD_PAIR_MAX];
    *done = 0;
    FN(fd_sp_layout)(m, k, n, scratch, &bf);
    if (!dy &&
        (!*bf.ready || !db || !dn || !Wn || !dWn || !dbn || cn < 1 || cn > FD_SP_NEXT_MAX ||
         act != FD_ACT_RELU))
        return FD_EINVAL;
    if (dwcol ? dw_rs != 1 || dw_cs < k : dw_rs < n) return FD_EINVAL;
    if (!*bf.ready || db == NULL) return FD_OK;
    c = *bf.c;
    if (!dy) { /* the next layer's weights, transposed: rows of n for dz's
                * pass (two loops: a division per element took 8 us) */
        int64_t j, c1;
        for (j = 0; j < n; j++)
            for (c1 = 0; c1 < cn; c1++) bf.wnt[c1 * n + j] = Wn[j * wn_rs + c1 * wn_cs];
    }
    /* dz = dy * act'(y) (dy itself for the identity: no dz; dy NULL: the
     * next layer's dx, row by row) in the forward's part 1, read by now,
     * and db: blocks of FD_SP_DB_ROWS rows shared in order by pairs of
     * threads (about the rows each finished in the forward pass), each
     * block's column sums in row order; then db adds the blocks in order
     * (so the bits do not depend on the thread count) */
    dz = act == FD_ACT_IDENTITY ? NULL : bf.part;
    lddz = dz ? ldp : lddy;
    nbk = (m + FD_SP_DB_ROWS - 1) / FD_SP_DB_ROWS;
    fd_pair_reset(share, nt);
    FD_PARALLEL
    {
        const fd_fpenv own = fd_fpenv_enter(env);
        fd_pair_iter it = fd_pair_start(share, nbk, 1);
        int64_t q0, q1, i;
        while (fd_pair_next(&it, &q0, &q1))
            for (i = q0; i < q1; i++) {
                T *ps = bf.dbp + i * n;
                int64_t r, j;
                const int64_t r0 = i * FD_SP_DB_ROWS;
                const int64_t r1 = r0 + FD_SP_DB_ROWS < m ? r0 + FD_SP_DB_ROWS : m;
                for (j = 0; j < n; j++) ps[j] = (T)0;
                for (r = r0; r < r1; r++)
                    if (dy)
                        FN(fd_dz_row)(act, n, dy + r * lddy, y + r * n, dz ? dz + r * lddz : NULL,
                                      ps);
                    else
                        dz_next(n, cn, dn + r * cn, bf.wnt, y + r * n, dz + r * lddz, ps);
                if (!dy)
                    wnext(r1 - r0, n, cn, y + r0 * n, dn + r0 * cn,
                          bf.wnp + i * FD_SP_NEXT_MAX * n);
            }
        fd_fpenv_leave(own);
    }
    /* One region for three independent passes (a fork and a join fewer):
     * dW's lay-out by pixel (xt, mk: each chunk's pixels from the groups,
     * read by the sums below), the next layer's dW (its blocks' sums in
     * block order, by slabs of FD_SP_BLOCK of its n rows; its db in row
     * order), and db (the blocks in order) */
    nw = FN(fd_sp_words)(m);
    mp = ng * FD_SP_G;
    nt = fd_threads_for(&ctx, (size_t)(ng * k), (size_t)1 << 12);
    fd_pair_reset(share, nt);
    FD_PARALLEL
    {
        /* (the caller's DAZ: a denormal x - c is 0 there) */
        const fd_fpenv own = fd_fpenv_enter(env);
        const int64_t nb = dy ? 0 : (n + FD_SP_BLOCK - 1) / FD_SP_BLOCK;
        fd_pair_iter it = fd_pair_start(share, nch, 1);
        int64_t q0, q1, i;
        while (fd_pair_next(&it, &q0, &q1))
            for (i = q0; i < q1; i++)
                layout(bf.starts[i], bf.starts[i + 1], i, ng, nch, bf.bnd, bf.ix, bf.v, kk, bf.xt,
                       mp, bf.mk, nw);
        FD_FOR
        for (q = 0; q <= nb; q++) {
            T sums[FD_SP_NEXT_MAX][FD_SP_BLOCK];
            const int64_t j0 = q * FD_SP_BLOCK;
            const int64_t w = n - j0 < FD_SP_BLOCK ? n - j0 : FD_SP_BLOCK;
            int64_t t, c, j;
            if (q == nb) { /* (the last item: the next layer's db) */
                for (c = 0; c < cn && !dy; c++) {
                    T sum = (T)0;
                    for (t = 0; t < m; t++) sum += dn[t * cn + c];
                    dbn[c] = sum;
                }
                continue;
            }
            for (c = 0; c < cn; c++)
                for (j = 0; j < w; j++) sums[c][j] = bf.wnp[c * n + j0 + j];
            for (t = 1; t < nbk; t++)
                for (c = 0; c < cn; c++) {
                    const T *p = bf.wnp + (t * FD_SP_NEXT_MAX + c) * n + j0;
                    for (j = 0; j < w; j++) sums[c][j] += p[j];
                }
            for (j = 0; j < w; j++)
                for (c = 0; c < cn; c++) dWn[(j0 + j) * dwn_rs + c * dwn_cs] = sums[c][j];
        }
        FD_FOR
        for (q = 0; q < n; q++) {
            int64_t t;
            T sum = bf.dbp[q];
            for (t = 1; t < nbk; t++) sum += bf.dbp[t * n + q];
            db[q] = sum;
        }
        fd_fpenv_leave(own);
    }
    /* dW by pixels (mlp_sparse.h), in column slabs (half as many as
     * threads), each slab's chunks of pixels shared by a pair of threads:
     * the first thread of two takes the first chunks (the rows of W its
     * core's optimiser step writes), the other the last, a claim of
     * adjacent chunks a call (dz's columns stay in L1 from pixel to pixel);
     * a pixel's row of dW does not depend on the call that sums it */
    nt = fd_threads_for(&ctx, (size_t)(m * n) * (size_t)k / 4, (size_t)1 << 16);
    nsl = FN(fd_sp_slabs)(nt, n, &slab);
    fd_pair_reset(share, nt);
    FD_PARALLEL
    {
        const fd_fpenv own = fd_fpenv_enter(env);
        fd_pair_iter it = fd_pair_start(share, nsl * nch, 1);
        int64_t q0, q1, i;
        while (fd_pair_next(&it, &q0, &q1))
            for (i = q0; i < q1;) { /* (a claim may span two slabs) */
                const int64_t s = i / nch, e = (s + 1) * nch < q1 ? (s + 1) * nch : q1;
                const int64_t j0 = s * slab, j1 = j0 + slab < n ? j0 + slab : n;
                const int64_t p0 = bf.starts[i - s * nch], p1 = bf.starts[e - s * nch];
                i = e;
                if (j0 >= n) continue;
                wgrad(p0, p1, bf.xt, mp, bf.mk, nw, (dz ? dz : dy) + j0, lddz, c, db + j0, j1 - j0,
                      dwcol ? bf.wp + j0 : dW + j0, dwcol ? ldp : dw_rs);
                if (dwcol) /* (the block is still in cache) */
                    FN(fd_gemm_tcopy)(ctx.isa, p1 - p0, j1 - j0, bf.wp + p0 * ldp + j0, ldp,
                                      dW + j0 * dw_cs + p0, dw_cs);
            }
        fd_fpenv_leave(own);
    }
    *done = 1;
    return FD_OK;
}

#undef FN
