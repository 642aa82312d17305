/* GEMM driver template, instantiated by gemm.c through common/fd_template.h. */
#define FN(name) FD_TNAME(name)
#define UKR_T FN(fd_ukr)
#if FD_T_F64
#define T_BITS 64
#define FD_TPACK_SIMD 0
#else
#define T_BITS 32
#define FD_TPACK_SIMD 1 /* SIMD transposing packs (float only) */
#endif
/* BLK(AVX2, KC): this dtype's entry in the blocking table (gemm_blocking.h) */
#define BLK(isa, field) FD_GEMM_BLK(isa, T_BITS, field)
#define GENERIC_MR BLK(GENERIC, MR)
#define GENERIC_NR BLK(GENERIC, NR)

#include "gemm/gemm_scalar_epi_impl.h"

/* The kernels and blocks of one SIMD path (see "Dispatch" in fd_common.h). */
typedef struct {
    /* register tile and cache blocks: mc % mr == 0, nc % nr == 0 */
    fd_gemm_blocks blocks;
    UKR_T ukr;
    /* transposing pack (s_p == 1) into vector registers, or NULL */
    void (*tpack)(int64_t kc, int W, int64_t valid, const T *src, int64_t s_l, T *dst);
    /* narrow outputs (n <= small_n_max) without packing, or NULL */
    void (*small_n)(fd_ctx ctx, int64_t m, int64_t k, int64_t n, const T *A, int64_t a_rs,
                    int64_t a_cs, const T *B, int64_t b_rs, T *C, int64_t ldc, int beta,
                    const T *bias, T *z, int64_t ldz, int act, const FN(fd_gemm_epi) * hook);
    int64_t small_n_max;
    /* small batches may read a row-major B in place (the table's B_INPLACE) */
    int b_inplace;
    /* the tall tile (gemm_blocking.h: FD_GEMM_AVX512_TALL_F32_*) for row
     * tiles of products reading A and B in place, or NULL; mr_tall rows */
    UKR_T ukr_tall;
    int mr_tall;
    /* the micro-kernels' vector sigmoid / tanh / gelu over rows
     * (act_simd.h), or NULL for the scalar ones (act.h) */
    void (*act_rows)(int act, int64_t rows, int64_t n, T *p, int64_t ld);
} FN(blk);

/* Portable micro-kernel: plain loops the compiler can vectorise. */
static FD_NO_LOOP_VECTORIZE void
FD_TNAME_ISA(fd_ukr, generic)(int64_t kc, const T *FD_RESTRICT Ap, int64_t lda, int arows,
                              const T *FD_RESTRICT Bp, int64_t ldb, T *FD_RESTRICT C, int64_t ldc,
                              int beta, const T *FD_RESTRICT bias, T *FD_RESTRICT z, int64_t ldz,
                              int act)
{
    T c[GENERIC_MR][GENERIC_NR], acc[GENERIC_MR][GENERIC_NR];
    /* A's MR values of k-step p are ar[r][p * as]: packed (as = MR, row r
     * at Ap + r) or in place (as = 1, row min(r, arows - 1)) */
    const T *ar[GENERIC_MR];
    const int64_t as = lda ? 1 : GENERIC_MR;
    int64_t p;
    int r, j;
    for (r = 0; r < GENERIC_MR; r++) ar[r] = lda ? Ap + (r < arows ? r : arows - 1) * lda : Ap + r;
    /* acc is never address-taken: it stays in vector registers, one
     * broadcast of A and NR / width products a row per k-step (gcc had
     * vectorised the k loop with shuffles: 6 GFLOP/s float32 on a Zen 3) */
    for (r = 0; r < GENERIC_MR; r++)
        for (j = 0; j < GENERIC_NR; j++) acc[r][j] = (T)0;
    for (p = 0; p < kc; p++) {
        const T *FD_RESTRICT b = Bp + p * ldb;
#pragma GCC unroll 8
        for (r = 0; r < GENERIC_MR; r++) {
            const T a = ar[r][p * as];
#pragma GCC unroll 16
            for (j = 0; j < GENERIC_NR; j++) acc[r][j] += a * b[j];
        }
    }
    for (r = 0; r < GENERIC_MR; r++)
        for (j = 0; j < GENERIC_NR; j++) c[r][j] = acc[r][j];
    FN(fd_gemm_tile_epi)(&c[0][0], GENERIC_MR, GENERIC_NR, C, ldc, beta, bias, z, ldz, act);
}

static FN(blk) FN(fd_gemm_pick)(int isa, int tile)
{
    FN(blk) b;
    b.ukr = FD_PICK(isa, fd_ukr);
    b.blocks = FD_GEMM_ENTRY(FD_GEMM_PATH(GENERIC, T_BITS));
    b.tpack = NULL;
    b.small_n = NULL;
    b.small_n_max = 0;
    b.b_inplace = BLK(GENERIC, B_INPLACE);
    b.ukr_tall = NULL;
    b.mr_tall = 0;
    b.act_rows = NULL;
#if FD_HAVE_X86_SIMD
    if (isa >= FD_ISA_AVX2) {
        b.blocks = FD_GEMM_ENTRY(FD_GEMM_PATH(AVX2, T_BITS));
        b.act_rows = FD_TNAME_ISA(fd_act_rows, avx2);
        b.b_inplace = BLK(AVX2, B_INPLACE);
#if FD_TPACK_SIMD
        b.tpack = fd_tpack_f32_avx2;
#endif
    }
    if (isa >= FD_ISA_AVX512) {
        b.blocks = FD_GEMM_ENTRY(FD_GEMM_PATH(AVX512, T_BITS));
        b.act_rows = FD_TNAME_ISA(fd_act_rows, avx512);
        b.small_n = FD_TNAME_ISA(fd_small_n, avx512);
#if FD_TPACK_SIMD
        b.tpack = fd_tpack_f32_avx512;
#endif
        b.small_n_max = BLK(AVX512, SMALL_N);
        b.b_inplace = BLK(AVX512, B_INPLACE);
#if !FD_T_F64
        if (fd_gemm_tall_f32(tile)) {
            b.ukr_tall = fd_ukr_f32_avx512tall;
            b.mr_tall = BLK(AVX512_TALL, MR);
        }
#else
        (void)tile;
#endif
    }
#else
    (void)tile;
#endif
    return b;
}

/* The path's kernels with the cache blocks derived from caches
 * (gemm_blocking.h): they depend on the caches and the path only, never on
 * the thread count. */
static FN(blk) FN(fd_gemm_pick_blocked)(int isa, int tile, const fd_caches *caches)
{
    FN(blk) b = FN(fd_gemm_pick)(isa, tile);
    b.blocks = fd_gemm_path_blocks(b.blocks, caches, (int)sizeof(T), 8, FD_GEMM_RULE_NC_BIG_L2);
    return b;
}

fd_gemm_blocks FN(fd_gemm_blocking)(int isa, const fd_caches *caches)
{ return FN(fd_gemm_pick_blocked)(isa, FD_TILE_AUTO, caches).blocks; }

int FN(fd_gemm_tall_mr)(int isa)
{ return FN(fd_gemm_pick)(isa, FD_TILE_AUTO).mr_tall; }

/* Narrow the picked blocks (*b) to an m x k x n problem on caches c. */
static void FN(plan)(const fd_caches *c, int64_t m, int64_t k, int64_t n, fd_gemm_blocks *b,
                     int64_t *kc_eff)
{
    int64_t nk;
    fd_gemm_small_m_blocks(b, c, (int)sizeof(T), FD_GEMM_RULE_NC_BIG_L2, m, n);
    b->mc = fd_gemm_min(b->mc, fd_gemm_round_up(m, b->mr));
    b->nc = fd_gemm_min(b->nc, fd_gemm_round_up(n, b->nr));
    /* Split K into equal panels: fewer C reloads than a short tail panel. */
    nk = (k + b->kc - 1) / b->kc;
    if (nk < 1) nk = 1;
    *kc_eff = (k + nk - 1) / nk;
}

/* Packed-buffer elements one thread needs. */
static int64_t FN(thread_elems)(const fd_gemm_blocks *b, int64_t kc)
{
    /* Rounded to whole cache lines so every thread's B block (and, after
     * fd_gemm_align_ptr, its A block) starts on one: packed loads are aligned. */
    const int64_t line = FD_GEMM_ALIGN / (int64_t)sizeof(T);
    return fd_gemm_round_up(b->mc * kc + kc * b->nc, line) + line;
}

/* Elements of the second K part's sums (fd_gemm_ksplit_at), whole cache
 * lines a row, or 0 when the product is not split. */
static int64_t FN(ksplit_lds)(int64_t n)
{ return fd_gemm_round_up(n, FD_GEMM_ALIGN / (int64_t)sizeof(T)); }
static int64_t FN(ksplit_elems)(int64_t m, int64_t n, int64_t kh)
{ return kh ? m * FN(ksplit_lds)(n) + FD_GEMM_ALIGN / (int64_t)sizeof(T) : 0; }

/* The scratch of a K split at kh (0: none): its threads' packing (for the
 * longer of the two parts' K panels) and the second part's sums. */
static size_t FN(ksplit_bytes)(fd_ctx ctx, const fd_caches *caches, int64_t m, int64_t k, int64_t n,
                               int64_t kh)
{
    int64_t most = 0, kc, e;
    int p, nt;
    fd_gemm_blocks b0 = FN(fd_gemm_pick_blocked)(ctx.isa, ctx.tile, caches).blocks, b;
    if (!kh) return 0;
    for (p = 0; p < 2; p++) {
        b = b0;
        FN(plan)(caches, m, p ? k - kh : kh, n, &b, &kc);
        e = FN(thread_elems)(&b, kc);
        if (e > most) most = e;
    }
    /* either schedule (gemm_ksplit) runs at most the threads the
     * product's size allows */
    nt = fd_threads_for(&ctx, (size_t)m * (size_t)n * (size_t)k, FD_GEMM_GRAIN);
    return ((size_t)nt * (size_t)most + (size_t)FN(ksplit_elems)(m, n, kh)) * sizeof(T) +
        2 * FD_GEMM_ALIGN;
}

/* Where a product with a row-major C on `picked` splits K (fd_gemm_ksplit_at;
 * 0: not split): not where the narrow-output kernel takes it (n <=
 * small_n_max, B read in place or, strided, through a row-major copy).  A
 * column-major C, computed as C^T = B^T A^T (whose m is n), is split where
 * the row-major product is: the layout of C changes no split. */
static int64_t FN(ksplit_for)(const FN(blk) * picked, int64_t m, int64_t k, int64_t n, int64_t b_cs,
                              int act, int either)
{
    const int narrow = picked->small_n && n <= picked->small_n_max &&
        (b_cs == 1 || (k <= picked->blocks.kc && (act == FD_ACT_IDENTITY || act == FD_ACT_RELU)));
    return narrow ? 0 : fd_gemm_ksplit_either_at(m, k, n, either);
}

/* Scratch for the threads this product will actually use (not ctx.nthreads:
 * a small product on threads(64) would otherwise reserve 64 threads' panels). */
static size_t FN(work_bytes)(fd_ctx ctx, const fd_caches *caches, int64_t m, int64_t k, int64_t n)
{
    fd_gemm_blocks b;
    int64_t kc, units;
    int split, nt, nt2;
    if (m <= 0 || n <= 0 || k <= 0) return 0;
    b = FN(fd_gemm_pick_blocked)(ctx.isa, ctx.tile, caches).blocks;
    FN(plan)(caches, m, k, n, &b, &kc);
    nt = fd_gemm_threads(&ctx, &b, m, k, n, 0, &split, &units);
    nt2 = fd_gemm_threads(&ctx, &b, m, k, n, 1, &split, &units); /* with a B producer */
    if (nt2 > nt) nt = nt2;
    return (size_t)nt * (size_t)FN(thread_elems)(&b, kc) * sizeof(T) + FD_GEMM_ALIGN;
}

size_t FN(fd_gemm_work_bytes)(fd_ctx ctx, int64_t m, int64_t k, int64_t n)
{
#if !FD_T_F64
    if (ctx.precision == FD_PREC_BF16) return fd_gemm_bf16_work_bytes(ctx, m, k, n);
#endif
    /* enough for either orientation (a column-major C is computed as the
     * transposed product) */
    const fd_caches *c = fd_cpu_caches();
    size_t a = FN(work_bytes)(ctx, c, m, k, n), t = FN(work_bytes)(ctx, c, n, k, m);
    if (t > a) a = t;
    t = FN(ksplit_bytes)(ctx, c, m, k, n, fd_gemm_ksplit_either_at(m, k, n, 1));
    if (t > a) a = t;
    /* a column-major C: the transposed product, split where C's is */
    t = FN(ksplit_bytes)(ctx, c, n, k, m, fd_gemm_ksplit_either_at(m, k, n, 1));
    return a > t ? a : t;
}

/* Pack kc x W: dst[p * W + l] = src[p * s_p + l * s_l] for lanes l < valid,
 * zero for the padding lanes.  W is MR (A) or NR (B). */
/* dst[p * ldd + l] = src[l * s_l + p] for l < valid, p < kc: tpack where
 * the path has one (float32 SIMD: blocks through registers), else blocks
 * of 8 p-steps, which keep both the reads (8 contiguous) and the writes (8
 * rows of dst) in a few cache lines. */
static void FN(tcopy)(void (*tpack)(int64_t, int, int64_t, const T *, int64_t, T *), int64_t kc,
                      int64_t ldd, int64_t valid, const T *FD_RESTRICT src, int64_t s_l,
                      T *FD_RESTRICT dst)
{
    int64_t p0 = 0, p, l, q;
    if (tpack && ldd <= INT_MAX) {
        tpack(kc, (int)ldd, valid, src, s_l, dst);
        return;
    }
    for (; p0 + 8 <= kc; p0 += 8)
        for (l = 0; l < valid; l++) {
            const T *sl = src + l * s_l + p0;
            for (q = 0; q < 8; q++) dst[(p0 + q) * ldd + l] = sl[q];
        }
    for (l = 0; l < valid; l++)
        for (p = p0; p < kc; p++) dst[p * ldd + l] = src[l * s_l + p];
}

#define PACK_ROWS(N)                                                                               \
    case N:                                                                                        \
        for (p = 0; p < kc; p++)                                                                   \
            for (l = 0; l < N; l++) dst[p * N + l] = src[p * s_p + l];                             \
        return;
static void FN(pack)(void (*tpack)(int64_t, int, int64_t, const T *, int64_t, T *), int64_t kc,
                     int W, int64_t valid, const T *FD_RESTRICT src, int64_t s_p, int64_t s_l,
                     T *FD_RESTRICT dst)
{
    int64_t p, l;
    if (s_l == 1 && valid == W) {
        /* contiguous lanes, full panel: fixed-size copies the compiler
         * turns into vector moves */
        switch (W) {
            PACK_ROWS(32)
            PACK_ROWS(16)
            PACK_ROWS(8)
            PACK_ROWS(6)
            PACK_ROWS(4)
        default: break;
        }
    }
    if (s_p == 1 && s_l != 1) {
        FN(tcopy)(tpack, kc, W, valid, src, s_l, dst); /* e.g. W^T, row-major A */
    } else {
        for (p = 0; p < kc; p++)
            for (l = 0; l < valid; l++) dst[p * W + l] = src[p * s_p + l * s_l];
    }
    if (valid < W)
        for (p = 0; p < kc; p++)
            for (l = valid; l < W; l++) dst[p * W + l] = (T)0;
}
#undef PACK_ROWS

/* Pack a row-major kc x nc block of B (unit column stride) into NR-wide
 * micro-panels, walking B row by row: each row is one sequential read the
 * hardware prefetcher follows.  Panel by panel, the same copy would jump a
 * whole row (often 4 KiB: a new page, no prefetch) every NR elements, which
 * made packing a large share of small-batch products. */
#define PACK_B_ROW(N)                                                                              \
    case N:                                                                                        \
        for (jp = 0; jp < nfull; jp++) {                                                           \
            const T *s = src + jp * N;                                                             \
            T *d = dst + jp * kc * N;                                                              \
            for (l = 0; l < N; l++) d[l] = s[l];                                                   \
        }                                                                                          \
        break;
static void FN(pack_b_rows)(int64_t kc, int64_t nc, int nr, const T *FD_RESTRICT b, int64_t b_rs,
                            T *FD_RESTRICT pk)
{
    const int64_t nfull = nc / nr, tail = nc - nfull * nr;
    int64_t p, jp, l;
    for (p = 0; p < kc; p++) {
        const T *FD_RESTRICT src = b + p * b_rs;
        T *FD_RESTRICT dst = pk + p * nr;
        switch (nr) {
            PACK_B_ROW(32)
            PACK_B_ROW(16)
            PACK_B_ROW(8)
            PACK_B_ROW(4)
        default:
            for (jp = 0; jp < nfull; jp++)
                for (l = 0; l < nr; l++) dst[jp * kc * nr + l] = src[jp * nr + l];
        }
        if (tail) {
            /* last, partial panel: zero-padded to NR lanes */
            T *d = dst + nfull * kc * nr;
            for (l = 0; l < tail; l++) d[l] = src[nfull * nr + l];
            for (; l < nr; l++) d[l] = (T)0;
        }
    }
}
#undef PACK_B_ROW

/* Serial BLIS loop nest over one m x n region of C (pointers already
 * offset to the region).  Every element's K order is fixed by kc_eff only,
 * so how the regions are cut does not change any result. */
static void FN(gemm_region)(const FN(blk) * bp, int64_t kc_eff, int64_t m, int64_t k, int64_t n,
                            const T *A, int64_t a_rs, int64_t a_cs, const T *B, int64_t b_rs,
                            int64_t b_cs, T *C, int64_t c_rs, int64_t c_cs, const T *bias, T *z,
                            int64_t ldz, int act, int beta, T *Bpack, T *Apack,
                            const FN(fd_gemm_epi) * prod, int64_t j_off,
                            const FN(fd_gemm_epi) * hook, int64_t i_off)
{
    const FN(blk) b = *bp;
    const fd_gemm_blocks bk = b.blocks;
    /* Unit column stride: the kernel broadcasts A straight from its rows. */
    const int a_inplace = a_cs == 1 && a_rs != 1 && a_rs != 0;
    /* Row-major B with short rows, few row tiles, on a path whose table
     * allows it (B_INPLACE): packing would not pay for itself (each panel
     * is reused by only m / MR tiles), and rows <= 2 KiB apart keep the
     * in-place stream TLB- and prefetch-friendly. */
    const int b_inplace = b.b_inplace && b_cs == 1 && b_rs > 0 &&
        b_rs * (int64_t)sizeof(T) <= 2048 && m <= FD_GEMM_SMALL_M && !prod;
    int64_t jc, pc, ic;
    FD_GEMM_ALIGNED64(T tilebuf[FD_GEMM_TILE_MAX]);
    for (jc = 0; jc < n; jc += bk.nc) {
        int64_t nc = fd_gemm_min(bk.nc, n - jc);
        int64_t njp = (nc + bk.nr - 1) / bk.nr;
        for (pc = 0; pc < k; pc += kc_eff) {
            int64_t kc = fd_gemm_min(kc_eff, k - pc);
            int last = pc + kc >= k;
            int bt = beta || pc > 0;
            int64_t jp;
            if (prod) /* B is produced block by block, just before packing */
                prod->b_rows(prod->b_rows_arg, pc, pc + kc, j_off + jc, nc);
            if (b_cs == 1 && !b_inplace)
                FN(pack_b_rows)(kc, nc, bk.nr, B + pc * b_rs + jc, b_rs, Bpack);
            else
                for (jp = 0; jp < njp; jp++) {
                    int64_t j0 = jc + jp * bk.nr;
                    int64_t cols = fd_gemm_min(bk.nr, n - j0);
                    T *dst = Bpack + jp * kc * bk.nr;
                    const T *src = B + pc * b_rs + j0 * b_cs;
                    if (!(b_inplace && cols == bk.nr))
                        FN(pack)(b.tpack, kc, bk.nr, cols, src, b_rs, b_cs, dst);
                }
            for (ic = 0; ic < m; ic += bk.mc) {
                int64_t mc = fd_gemm_min(bk.mc, m - ic);
                int64_t nip = (mc + bk.mr - 1) / bk.mr;
                int64_t ip, jp2;
                if (!a_inplace)
                    for (ip = 0; ip < nip; ip++) {
                        int64_t i0 = ic + ip * bk.mr;
                        int64_t rows = fd_gemm_min(bk.mr, m - i0);
                        T *dst = Apack + ip * kc * bk.mr;
                        const T *src = A + i0 * a_rs + pc * a_cs;
                        FN(pack)(b.tpack, kc, bk.mr, rows, src, a_cs, a_rs, dst);
                    }
                /* Row tiles: MR rows each, or, with the tall tile (A and B
                 * read in place), ntall tiles of mr_tall rows first and the
                 * rest in MR-row tiles: the block's whole MR-row units are
                 * cut into mr_tall-row tiles and as few MR-row ones as
                 * leave no padding, and only its last, part unit (the rows
                 * an MR tile would pad, which the slabs of every thread
                 * count leave at the same place) is an edge tile, as with
                 * MR tiles alone: the same elements take the edge tiles'
                 * scalar epilogue whatever the tiles and thread count. */
                int64_t ntall = 0, i1;
                if (b.ukr_tall && a_inplace && b_inplace) {
                    const int64_t whole = mc / bk.mr * bk.mr, mt = b.mr_tall;
                    int64_t nmr = 0;
                    while ((whole - nmr * bk.mr) % mt) nmr++; /* ends by nmr = whole / MR */
                    ntall = (whole - nmr * bk.mr) / mt;
                }
                /* ir outer: the MR x KC micro-panel of A stays in L1 while
                 * the KC x NC panel of B streams from L2.  This lets KC
                 * cover a whole MNIST-sized K (784) in one panel, so each C
                 * tile is written once, epilogue included. */
                for (ip = 0, i1 = ic; i1 < ic + mc; ip++) {
                    const int tall = ip < ntall;
                    const int64_t tmr = tall ? b.mr_tall : bk.mr;
                    const UKR_T ukr = tall ? b.ukr_tall : b.ukr;
                    int64_t i0 = i1;
                    int64_t rows = fd_gemm_min(tmr, m - i0);
                    /* (tall tiles only where A is read in place) */
                    const T *apk =
                        a_inplace ? A + i0 * a_rs + pc : Apack + (i0 - ic) / bk.mr * kc * bk.mr;
                    int64_t lda = a_inplace ? a_rs : 0;
                    i1 += tmr;
                    for (jp2 = 0; jp2 < njp; jp2++) {
                        int64_t j0 = jc + jp2 * bk.nr;
                        int64_t cols = fd_gemm_min(bk.nr, n - j0);
                        /* full panels of a row-major B are read in place */
                        const int bin = b_inplace && cols == bk.nr;
                        const T *bpk = bin ? B + pc * b_rs + j0 : Bpack + jp2 * kc * bk.nr;
                        const int64_t ldb = bin ? b_rs : bk.nr;
                        T *cp = C + i0 * c_rs + j0 * c_cs;
                        if (rows == tmr && cols == bk.nr && c_cs == 1) {
                            if (last)
                                ukr(kc, apk, lda, (int)rows, bpk, ldb, cp, c_rs, bt,
                                    bias ? bias + j0 : NULL, z ? z + i0 * ldz + j0 : NULL, ldz,
                                    act);
                            else
                                ukr(kc, apk, lda, (int)rows, bpk, ldb, cp, c_rs, bt, NULL, NULL, 0,
                                    FD_ACT_IDENTITY);
                        } else {
                            /* Edge tile (or strided C): full tile into a
                             * buffer, then only the valid part is stored. */
                            int64_t r, c;
                            ukr(kc, apk, lda, (int)rows, bpk, ldb, tilebuf, bk.nr, 0, NULL, NULL, 0,
                                FD_ACT_IDENTITY);
                            if (c_cs == 1 && !(last && (z || act != FD_ACT_IDENTITY))) {
                                /* no z, no activation: row by row, loops
                                 * the compiler vectorises (the element
                                 * loop below was 7% of a 256 x 64 x 784
                                 * weight-gradient product, whose 784
                                 * columns end in a 16-wide edge); the
                                 * same operations in the same order */
                                const T *bb = last && bias ? bias + j0 : NULL;
                                for (r = 0; r < rows; r++) {
                                    T *FD_RESTRICT cr = cp + r * c_rs;
                                    const T *FD_RESTRICT tr = tilebuf + r * bk.nr;
                                    if (bt)
                                        for (c = 0; c < cols; c++) cr[c] = tr[c] + cr[c];
                                    else
                                        for (c = 0; c < cols; c++) cr[c] = tr[c];
                                    if (bb)
                                        for (c = 0; c < cols; c++) cr[c] = cr[c] + bb[c];
                                }
                            } else {
                                for (r = 0; r < rows; r++)
                                    for (c = 0; c < cols; c++) {
                                        T *cel = cp + r * c_rs + c * c_cs;
                                        T v = tilebuf[r * bk.nr + c];
                                        if (last) {
                                            FN(fd_gemm_epi_store)(
                                                v, bt, cel, z ? z + (i0 + r) * ldz + j0 + c : NULL,
                                                bias ? bias + j0 + c : NULL, act);
                                        } else {
                                            *cel = bt ? *cel + v : v;
                                        }
                                    }
                            }
                        }
                    }
                    /* the hook gets the row tile's whole strip of this NC
                     * block (still in L1): dropout over 6 x 16 AVX2 tiles
                     * spent more on its per-call set-up than on the strip */
                    if (last && hook)
                        hook->c_tile(hook->c_tile_arg, i_off + i0, j_off + jc, rows, nc,
                                     C + i0 * c_rs + jc * c_cs, c_rs);
                }
            }
        }
    }
}

/* Rows [r0, r1) of the K split's join over n columns (C, S, bias and z
 * offset to the first): C = S + C (the second part's sums
 * added to the first's, as a micro-kernel adds its sums to C), then the
 * epilogue in the micro-kernels' order and code: + bias, z, relu, or the
 * path's vector sigmoid / tanh / gelu over the stored row. */
static void FN(ksplit_join)(const FN(blk) * b, int64_t r0, int64_t r1, int64_t n, T *C, int64_t ldc,
                            const T *S, int64_t lds, const T *bias, T *z, int64_t ldz, int act)
{
    const int rows_act = act != FD_ACT_IDENTITY && act != FD_ACT_RELU;
    int64_t r, j;
    for (r = r0; r < r1; r++) {
        T *FD_RESTRICT c = C + r * ldc;
        const T *FD_RESTRICT s = S + r * lds;
        T *FD_RESTRICT zr = z ? z + r * ldz : NULL;
        for (j = 0; j < n; j++) {
            T v = s[j] + c[j];
            if (bias) v = v + bias[j];
            if (zr) zr[j] = v;
            c[j] = act == FD_ACT_RELU ? FN(fd_act)(FD_ACT_RELU, v) : v;
        }
        if (rows_act && b->act_rows)
            b->act_rows(act, 1, n, c, ldc);
        else if (rows_act)
            for (j = 0; j < n; j++) c[j] = FN(fd_act)(act, c[j]);
    }
}

void FN(fd_gemm_ksplit_join)(int isa, int64_t r0, int64_t r1, int64_t n, T *C, int64_t ldc,
                             const T *S, int64_t lds, const T *bias, T *z, int64_t ldz, int act)
{
    const FN(blk) b = FN(fd_gemm_pick)(isa, FD_TILE_AUTO);
    FN(ksplit_join)(&b, r0, r1, n, C, ldc, S, lds, bias, z, ldz, act);
}

/* Part `part` of the K split over columns [j0, j1): its K rows of A and B
 * into C (the first part, with the product's beta) or into the scratch S
 * (the second), no epilogue; Bp: the thread's packing scratch. */
static void FN(ksplit_part)(const FN(blk) * bp, const int64_t *kc_eff, const int64_t *kpart,
                            int part, int64_t m, int64_t j0, int64_t j1, const T *A, int64_t a_rs,
                            int64_t a_cs, const T *B, int64_t b_rs, int64_t b_cs, T *C,
                            int64_t c_rs, T *S, int64_t lds, int beta, T *Bp)
{
    const int64_t k0 = part ? kpart[0] : 0;
    T *Ap = (T *)fd_gemm_align_ptr(Bp + kc_eff[part] * bp[part].blocks.nc);
    FN(gemm_region)(&bp[part], kc_eff[part], m, kpart[part], j1 - j0, A + k0 * a_cs, a_rs, a_cs,
                    B + k0 * b_rs + j0 * b_cs, b_rs, b_cs, part ? S + j0 : C + j0,
                    part ? lds : c_rs, 1, NULL, NULL, 0, FD_ACT_IDENTITY, part ? 0 : beta, Bp, Ap,
                    NULL, j0, NULL, 0);
}

/* What the K split's parts and joins read (fd_gemm_ksplit_run's arg). */
typedef struct {
    const FN(blk) * bp, *picked;
    const int64_t *kc_eff, *kpart;
    int64_t m, a_rs, a_cs, b_rs, b_cs, c_rs, lds, ldz, per_thread;
    const T *A, *B, *bias;
    T *C, *S, *z, *base;
    int act, beta;
    const FN(fd_gemm_epi) * hook;
} FN(ksplit_args);

static void FN(ksplit_part_cb)(void *arg, int p, int64_t j0, int64_t j1, int slot)
{
    const FN(ksplit_args) *a = (const FN(ksplit_args) *)arg;
    FN(ksplit_part)(a->bp, a->kc_eff, a->kpart, p, a->m, j0, j1, a->A, a->a_rs, a->a_cs, a->B,
                    a->b_rs, a->b_cs, a->C, a->c_rs, a->S, a->lds, a->beta,
                    a->base + (int64_t)slot * a->per_thread);
}

static void FN(ksplit_join_cb)(void *arg, int64_t r0, int64_t r1, int64_t j0, int64_t j1)
{
    const FN(ksplit_args) *a = (const FN(ksplit_args) *)arg;
    FN(ksplit_join)(a->picked, r0, r1, j1 - j0, a->C + j0, a->c_rs, a->S + j0, a->lds,
                    a->bias ? a->bias + j0 : NULL, a->z ? a->z + j0 : NULL, a->ldz, a->act);
    if (a->hook)
        a->hook->c_tile(a->hook->c_tile_arg, r0, j0, r1 - r0, j1 - j0, a->C + r0 * a->c_rs + j0,
                        a->c_rs);
}

/* The K split at kh (fd_gemm_ksplit_at) of a product with a row-major C (a
 * B producer has made all of B before): the two parts, then the join,
 * whose rows then go to the tile hook. */
static int FN(gemm_ksplit)(fd_ctx ctx, const fd_caches *caches, const FN(blk) * picked, int64_t kh,
                           int64_t m, int64_t k, int64_t n, const T *A, int64_t a_rs, int64_t a_cs,
                           const T *B, int64_t b_rs, int64_t b_cs, T *C, int64_t c_rs,
                           const T *bias, T *z, int64_t ldz, int act, int beta,
                           const FN(fd_gemm_epi) * hook, void *work)
{
    const int64_t lds = FN(ksplit_lds)(n);
    const int64_t kpart[2] = {kh, k - kh};
    FN(blk) bp[2];
    int64_t kc_eff[2], per_thread, e;
    int q[2], nt, p;
    T *S, *base;
    void *owned = NULL;
    for (p = 0; p < 2; p++) {
        bp[p] = *picked;
        FN(plan)(caches, m, kpart[p], n, &bp[p].blocks, &kc_eff[p]);
    }
    per_thread = FN(thread_elems)(&bp[0].blocks, kc_eff[0]);
    e = FN(thread_elems)(&bp[1].blocks, kc_eff[1]);
    if (e > per_thread) per_thread = e;
    nt = fd_gemm_ksplit_threads(&ctx, &bp[0].blocks, m, k, n, FD_GEMM_GRAIN, b_cs != 1, q);
    if (work == NULL) {
        owned = malloc(((size_t)nt * (size_t)per_thread + (size_t)FN(ksplit_elems)(m, n, kh)) *
                           sizeof(T) +
                       FD_GEMM_ALIGN);
        if (!owned) return FD_ENOMEM;
        work = owned;
    }
    S = (T *)fd_gemm_align_ptr(work);
    base = (T *)fd_gemm_align_ptr(S + m * lds);

    {
        /* B stored by columns (W^T): each thread both parts of a column
         * slab and its join, so it reads whole columns of B, rows of its
         * storage, as an optimiser stepping the flat array cuts it; B by
         * rows: threads take the parts, so each reads its half of B's rows
         * (the same sums either way) */
        FN(ksplit_args) a;
        fd_gemm_ksplit_job job;
        a.bp = bp;
        a.picked = picked;
        a.kc_eff = kc_eff;
        a.kpart = kpart;
        a.m = m;
        a.A = A;
        a.a_rs = a_rs;
        a.a_cs = a_cs;
        a.B = B;
        a.b_rs = b_rs;
        a.b_cs = b_cs;
        a.C = C;
        a.c_rs = c_rs;
        a.S = S;
        a.lds = lds;
        a.bias = bias;
        a.z = z;
        a.ldz = ldz;
        a.act = act;
        a.beta = beta;
        a.hook = hook;
        a.base = base;
        a.per_thread = per_thread;
        job.part = FN(ksplit_part_cb);
        job.join = FN(ksplit_join_cb);
        job.arg = &a;
        job.blocks[0] = bp[0].blocks;
        job.blocks[1] = bp[1].blocks;
        fd_gemm_ksplit_run(&job, nt, q, b_cs != 1, m, n);
    }
    free(owned);
    return FD_OK;
}

/* fd_gemm_caches with the K split given: ks < 0 by this product's own rule
 * (ksplit_for), else kh = ks (0: not split; the transposed product of a
 * column-major C takes the row-major product's). */
static int FN(gemm_caches_ks)(fd_ctx ctx, const fd_caches *caches, int64_t m, int64_t k, int64_t n,
                              const T *A, int64_t a_rs, int64_t a_cs, const T *B, int64_t b_rs,
                              int64_t b_cs, T *C, int64_t c_rs, int64_t c_cs,
                              const FN(fd_gemm_epi) * epi, void *work, int64_t ks)
{
    const T *bias = epi ? epi->bias : NULL;
    T *z = epi ? epi->z : NULL;
    int64_t ldz = epi ? epi->ldz : 0;
    int act = epi ? epi->act : FD_ACT_IDENTITY;
    int beta = epi ? epi->beta : 0;
    const int either = epi ? epi->ksplit_either : 0;
    const FN(fd_gemm_epi) *prod = epi && epi->b_rows ? epi : NULL;
    const FN(fd_gemm_epi) *hook = epi && epi->c_tile ? epi : NULL;
    /* Paths that do not pack B: a column-major C (computed as C^T), and
     * narrow outputs on AVX-512 (fd_small_n reads B in place). */
    const int col_major_c = c_cs != 1 && c_rs == 1;
    const FN(blk) picked = FN(fd_gemm_pick_blocked)(ctx.isa, ctx.tile, caches);
    /* small batch, long K: two K parts (gemm_blocking.h), row-major C only */
    const int64_t kh = c_cs != 1 ? 0
        : ks >= 0                ? ks
                                 : FN(ksplit_for)(&picked, m, k, n, b_cs, act, either);
    const int ksplit = kh != 0;
    const int narrow =
        !ksplit && picked.small_n && n <= picked.small_n_max && b_cs == 1 && c_cs == 1;
    /* The same for a strided B (a transposed PyTorch weight: b_rs == 1)
     * through a row-major copy of it (k x n, small), when K fits one panel
     * (the packed product then sums in the same order) and the epilogue is
     * the identity or relu (the packed product's narrow tiles are edge
     * tiles, whose scalar epilogue is the vector one bit for bit only for
     * those): the same results, without padding every tile to NR. */
    const int narrow_t = !ksplit && picked.small_n && n <= picked.small_n_max && b_cs != 1 &&
        c_cs == 1 && !prod && k <= picked.blocks.kc &&
        (act == FD_ACT_IDENTITY || act == FD_ACT_RELU);
    FN(blk) b;
    int64_t kc_eff, per_thread, units;
    T *base;
    void *owned = NULL;
    int nt, split_n, tid;
    const fd_fpenv env = fd_fpenv_get(); /* the caller's, for every block */

#if !FD_T_F64
    if (ctx.precision == FD_PREC_BF16)
        return fd_gemm_bf16_caches(ctx, caches, m, k, n, A, a_rs, a_cs, B, b_rs, b_cs, C, c_rs,
                                   c_cs, epi, work);
#endif
    if (prod && m <= 0 && n > 0 && k > 0) /* no C, but B is still owed */
        prod->b_rows(prod->b_rows_arg, 0, k, 0, n);
    if (m <= 0 || n <= 0) return FD_OK;
    if ((bias || z || act != FD_ACT_IDENTITY || hook) && c_cs != 1) return FD_EINVAL;
    if (prod && b_cs != 1) return FD_EINVAL;
    if (epi && epi->b_packed) return FD_EINVAL; /* bfloat16 products only */

    if (prod && k > 0 && (col_major_c || narrow || ksplit)) {
        /* this product will not pack B: produce all of it first */
        FN(fd_gemm_epi) plain = *epi;
        prod->b_rows(prod->b_rows_arg, 0, k, 0, n);
        plain.b_rows = NULL;
        plain.b_rows_arg = NULL;
        return FN(gemm_caches_ks)(ctx, caches, m, k, n, A, a_rs, a_cs, B, b_rs, b_cs, C, c_rs, c_cs,
                                  &plain, work, ks);
    }
    if (k <= 0) {
        int64_t i, j;
        for (i = 0; i < m; i++)
            for (j = 0; j < n; j++)
                FN(fd_gemm_epi_store)((T)0, beta, C + i * c_rs + j * c_cs,
                                      z ? z + i * ldz + j : NULL, bias ? bias + j : NULL, act);
        if (hook) hook->c_tile(hook->c_tile_arg, 0, 0, m, n, C, c_rs);
        return FD_OK;
    }
    if (col_major_c) {
        /* Column-major C: compute C^T = B^T A^T, which is row-major. */
        return FN(gemm_caches_ks)(ctx, caches, n, k, m, B, b_cs, b_rs, A, a_cs, a_rs, C, c_cs, 1,
                                  epi, work,
                                  FN(ksplit_for)(&picked, m, k, n, b_cs, FD_ACT_IDENTITY, either));
    }
    if (narrow) {
        picked.small_n(ctx, m, k, n, A, a_rs, a_cs, B, b_rs, C, c_rs, beta, bias, z, ldz, act,
                       hook);
        return FD_OK;
    }
    if (narrow_t) {
        /* the scratch holds one thread's kc x nc block of B, >= k x n */
        T *bt;
        int64_t p, j;
        if (work == NULL) {
            owned = malloc((size_t)k * (size_t)n * sizeof(T) + FD_GEMM_ALIGN);
            if (!owned) return FD_ENOMEM;
            work = owned;
        }
        bt = (T *)fd_gemm_align_ptr(work);
        for (j = 0; j < n; j++)
            for (p = 0; p < k; p++) bt[p * n + j] = B[p * b_rs + j * b_cs];
        picked.small_n(ctx, m, k, n, A, a_rs, a_cs, bt, n, C, c_rs, beta, bias, z, ldz, act, hook);
        free(owned);
        return FD_OK;
    }
    if (ksplit)
        return FN(gemm_ksplit)(ctx, caches, &picked, kh, m, k, n, A, a_rs, a_cs, B, b_rs, b_cs, C,
                               c_rs, bias, z, ldz, act, beta, hook, work);
    b = picked;
    FN(plan)(caches, m, k, n, &b.blocks, &kc_eff);

    /* Each thread owns a slab of C and packs its own panels into scratch
     * slot `tid` (a loop index < nt, whatever team OpenMP actually forms):
     * no barriers, so a descheduled thread never stalls the other. */
    nt = fd_gemm_threads(&ctx, &b.blocks, m, k, n, prod != NULL, &split_n, &units);

    per_thread = FN(thread_elems)(&b.blocks, kc_eff);
    if (work == NULL) {
        owned = malloc((size_t)nt * (size_t)per_thread * sizeof(T) + FD_GEMM_ALIGN);
        if (!owned) return FD_ENOMEM;
        work = owned;
    }
    base = (T *)fd_gemm_align_ptr(work);

FD_OMP(parallel for num_threads(nt) schedule(static) if (nt > 1))
for (tid = 0; tid < nt; tid++) {
    const fd_fpenv own = fd_fpenv_enter(env);
    int64_t i0, i1, j0, j1;
    T *Bp = base + (int64_t)tid * per_thread;
    T *Ap = (T *)fd_gemm_align_ptr(Bp + kc_eff * b.blocks.nc);
    fd_gemm_slab(&b.blocks, split_n, units, tid, nt, m, n, &i0, &i1, &j0, &j1);
    if (i1 > i0 && j1 > j0)
        FN(gemm_region)(&b, kc_eff, i1 - i0, k, j1 - j0, A + i0 * a_rs, a_rs, a_cs, B + j0 * b_cs,
                        b_rs, b_cs, C + i0 * c_rs + j0 * c_cs, c_rs, c_cs, bias ? bias + j0 : NULL,
                        z ? z + i0 * ldz + j0 : NULL, ldz, act, beta, Bp, Ap, prod, j0, hook, i0);
    fd_fpenv_leave(own);
}
free(owned);
return FD_OK;
}

int FN(fd_gemm_caches)(fd_ctx ctx, const fd_caches *caches, int64_t m, int64_t k, int64_t n,
                       const T *A, int64_t a_rs, int64_t a_cs, const T *B, int64_t b_rs,
                       int64_t b_cs, T *C, int64_t c_rs, int64_t c_cs, const FN(fd_gemm_epi) * epi,
                       void *work)
{
    return FN(gemm_caches_ks)(ctx, caches, m, k, n, A, a_rs, a_cs, B, b_rs, b_cs, C, c_rs, c_cs,
                              epi, work, -1);
}

void FN(fd_gemm_tcopy)(int isa, int64_t rows, int64_t cols, const T *src, int64_t lds, T *dst,
                       int64_t ldd)
{ FN(tcopy)(FN(fd_gemm_pick)(isa, FD_TILE_AUTO).tpack, cols, ldd, rows, src, lds, dst); }

int FN(fd_gemm)(fd_ctx ctx, int64_t m, int64_t k, int64_t n, const T *A, int64_t a_rs, int64_t a_cs,
                const T *B, int64_t b_rs, int64_t b_cs, T *C, int64_t c_rs, int64_t c_cs,
                const FN(fd_gemm_epi) * epi, void *work)
{
    return FN(fd_gemm_caches)(ctx, fd_cpu_caches(), m, k, n, A, a_rs, a_cs, B, b_rs, b_cs, C, c_rs,
                              c_cs, epi, work);
}

#undef FN
#undef UKR_T
#undef T_BITS
#undef FD_TPACK_SIMD
#undef BLK
#undef GENERIC_MR
#undef GENERIC_NR
