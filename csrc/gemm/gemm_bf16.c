/* bfloat16 GEMM driver: packing to bf16 pairs, cache blocking, threading,
 * dispatch to the micro-kernel of ctx.isa.  See gemm_bf16.h. */
#include "gemm/gemm_bf16.h"

#include <stdlib.h>

#include "act/act.h"
#include "common/fd_fpenv.h"
#include "common/fd_omp.h"

#define FD_TEMPLATE "gemm/gemm_scalar_epi_impl.h"
#include "common/fd_template.h"

#define GMR FD_GEMM_BF16_GENERIC_MR
#define GNR FD_GEMM_BF16_GENERIC_NR
#define FD_GEMM_BF16_GRAIN ((size_t)1 << 17)

/* The kernels and blocks of one path (see "Dispatch" in fd_common.h). */
typedef struct {
    /* register tile and cache blocks: mc % mr == 0, nc % nr == 0 */
    fd_gemm_blocks blocks;
    int kp_align; /* pairs per K panel rounded up to a multiple of this */
    int a_rows; /* A micro-panels row by row (AMX tiles), else pair by pair */
    fd_ukr_bf16 ukr;
    fd_packb_bf16 packb; /* row-major B (unit column stride), or NULL */
    fd_packa_bf16 packa; /* row-major A when a_rows, or NULL */
    fd_packb_t_bf16 packb_t; /* B with unit row stride, or NULL */
    /* A with unit row stride, or NULL: packed row by row when packa_t_rows
     * (AMX), else pair by pair (for the pairs kernel) */
    fd_packa_t_bf16 packa_t;
    int packa_t_rows;
    fd_ukr_bf16 ukr_pairs;
    /* C of at most narrow_nr columns: a register tile narrow_nr wide (the
     * same sums: only the padding differs), or narrow_nr == 0 */
    int narrow_nr;
    fd_ukr_bf16 ukr_narrow, ukr_narrow_pairs;
    /* per-thread set-up and tear-down around the loop nest (AMX tile
     * configuration), or NULL */
    void (*begin)(void);
    void (*end)(void);
    int rules; /* blocking rules (gemm_blocking.h): AMX's long K panels from L2 */
    /* AMX: short K panels (FD_GEMM_RULE_KC_AB_L1 on `caches`) for
     * FD_GEMM_BF16_SHORT_K_M rows or more (fd_bf_plan), and with them K
     * panels inside the row blocks where B's whole-K block fits in
     * k_inner_bytes (fd_bf_k_inner) */
    int k_inner;
    int64_t k_inner_bytes;
    fd_gemm_blocks entry; /* the table entry the blocks came from */
    const fd_caches *caches;
} fd_bf16_blk;

/* Portable emulation: Intel's vdpbf16ps order per pair (high element's
 * product first), each step rounded to float32; the products of two bf16
 * values are exact, so contracting to an FMA changes nothing. */
static void fd_ukr_bf16_generic(int64_t kp, const uint32_t *FD_RESTRICT Ap,
                                const uint32_t *FD_RESTRICT Bp, float *FD_RESTRICT C, int64_t ldc,
                                int beta, const float *FD_RESTRICT bias, float *FD_RESTRICT z,
                                int64_t ldz, int act)
{
    float c[GMR][GNR], b0[GNR], b1[GNR];
    int64_t q;
    int r, j;
    for (r = 0; r < GMR; r++)
        for (j = 0; j < GNR; j++) c[r][j] = 0.0f;
    for (q = 0; q < kp; q++) {
        for (j = 0; j < GNR; j++) {
            b0[j] = fd_bf16_to_f32((uint16_t)(Bp[j] & 0xffffu));
            b1[j] = fd_bf16_to_f32((uint16_t)(Bp[j] >> 16));
        }
        for (r = 0; r < GMR; r++) {
            const float a0 = fd_bf16_to_f32((uint16_t)(Ap[r] & 0xffffu));
            const float a1 = fd_bf16_to_f32((uint16_t)(Ap[r] >> 16));
            for (j = 0; j < GNR; j++) {
                float t = c[r][j] + a1 * b1[j];
                c[r][j] = t + a0 * b0[j];
            }
        }
        Ap += GMR;
        Bp += GNR;
    }
    fd_gemm_tile_epi_f32(&c[0][0], GMR, GNR, C, ldc, beta, bias, z, ldz, act);
}

static fd_bf16_blk fd_gemm_bf16_pick(int isa)
{
    /* the portable path; every optional kernel NULL, every flag 0 */
    fd_bf16_blk b = {0};
    b.blocks = FD_GEMM_ENTRY(FD_GEMM_BF16_GENERIC);
    b.ukr = fd_ukr_bf16_generic;
    b.kp_align = 1;
#if FD_HAVE_X86_SIMD
    if (isa >= FD_ISA_AVX512_BF16) {
        /* B is packed the same way for vdpbf16ps and AMX */
        b.packb = fd_packb_bf16_avx512bf16;
        b.packb_t = fd_packb_t_bf16_avx512bf16;
    }
    if (isa == FD_ISA_AVX512_BF16) {
        b.blocks = FD_GEMM_ENTRY(FD_GEMM_BF16_AVX512);
        b.ukr = fd_ukr_bf16_avx512bf16_zmm;
#if FD_GEMM_BF16_AVX512_USE_YMM
        b.blocks.mr = FD_GEMM_BF16_AVX512_YMM_MR;
        b.blocks.mc = FD_GEMM_BF16_AVX512_MC / 8 * 6;
        b.ukr = fd_ukr_bf16_avx512bf16_ymm;
#endif
        b.a_rows = FD_GEMM_BF16_AVX512_A_ROWS;
        if (b.a_rows) {
            b.packa = fd_packa_bf16_avx512bf16;
            b.packa_t = fd_packa_t_bf16_avx512bf16;
            b.ukr_pairs = fd_ukr_bf16_avx512bf16_zmm_pairs;
        }
#if !FD_GEMM_BF16_AVX512_USE_YMM
        b.narrow_nr = FD_GEMM_BF16_AVX512_NARROW_NR;
        b.ukr_narrow = fd_ukr_bf16_avx512bf16_zmm_n16;
        b.ukr_narrow_pairs = b.a_rows ? fd_ukr_bf16_avx512bf16_zmm_n16_pairs : NULL;
#endif
    }
    if (isa >= FD_ISA_AMX) {
        /* 16 x 16 tiles: K panels in whole tiles, A row by row */
        b.blocks = FD_GEMM_ENTRY(FD_GEMM_BF16_AMX);
        b.ukr = fd_ukr_bf16_amx;
        b.kp_align = 16;
        b.a_rows = 1;
        b.packa = fd_packa_bf16_avx512bf16;
        b.packa_t = fd_packa_t_bf16_amx; /* transposed A straight into rows */
        b.packa_t_rows = 1;
        b.begin = fd_amx_tiles_begin;
        b.end = fd_amx_tiles_end;
        b.rules = FD_GEMM_RULE_KC_L2;
        b.k_inner = 1;
    }
#else
    (void)isa;
#endif
    return b;
}

/* The path's kernels with the cache blocks derived from caches
 * (gemm_blocking.h): 2 bytes per K element, K panels in whole pairs (AMX:
 * whole tiles of 16 pairs). */
static fd_bf16_blk fd_gemm_bf16_pick_blocked(int isa, const fd_caches *caches)
{
    fd_bf16_blk b = fd_gemm_bf16_pick(isa);
    b.entry = b.blocks;
    b.caches = caches;
    b.blocks = fd_gemm_path_blocks(b.entry, caches, 2, 2 * b.kp_align, b.rules);
    return b;
}

fd_gemm_blocks fd_gemm_bf16_blocking(int isa, const fd_caches *caches)
{ return fd_gemm_bf16_pick_blocked(isa, caches).blocks; }

/* The kernels for an m x k x n product on b (the pick above): the narrow
 * tile when C has at most narrow_nr columns (10 classes: 16 lanes of work
 * a row instead of 32), the pair-by-pair kernel for a transposed A.  Every
 * C element is the same sum over the same K panels in the same order
 * whichever tile computes it, so the results do not change. */
static void fd_bf_for_product(fd_bf16_blk *b, int64_t n, int64_t a_rs, int64_t a_cs)
{
    const int transposed_a = a_rs == 1 && a_cs != 1;
    if (b->narrow_nr && n <= b->narrow_nr && b->blocks.nc % b->narrow_nr == 0) {
        b->blocks.nr = b->narrow_nr;
        b->ukr = b->ukr_narrow;
        b->ukr_pairs = b->ukr_narrow_pairs;
    }
    if (transposed_a && b->ukr_pairs) {
        /* transposed A: the pair-by-pair kernel packs it without a transpose */
        b->ukr = b->ukr_pairs;
        b->a_rows = 0;
    }
}

/* Pairs a K panel of kc elements takes on this path. */
static int64_t fd_bf_pairs(const fd_bf16_blk *b, int64_t kc)
{ return fd_gemm_round_up((kc + 1) / 2, b->kp_align); }

/* Narrow the blocks of bp to an m x k x n problem (pre: on a B packed
 * beforehand); the K panels (even, so only the last panel can end on half
 * a pair; whole tiles on AMX) depend on k and the path only, except that
 * AMX, whose results they do not change, takes its short ones for
 * FD_GEMM_BF16_SHORT_K_M rows or more (on a B packed beforehand, when that
 * is one panel). */
static void fd_bf_plan(fd_bf16_blk *bp, int64_t m, int64_t k, int64_t n, int pre, int64_t *kc_eff)
{
    fd_gemm_blocks *b = &bp->blocks;
    int64_t nk;
    bp->k_inner_bytes = 0;
    if (bp->k_inner && m >= FD_GEMM_BF16_SHORT_K_M && (!pre || k <= b->kc)) {
        /* derived here, not in the pick: most bfloat16 calls of an MLP
         * epoch are small (a B packed beforehand is one long panel here,
         * which the short ones read in place: fd_bf_pre_panel) */
        const fd_gemm_blocks s =
            fd_gemm_path_blocks(bp->entry, bp->caches, 2, 2 * bp->kp_align, FD_GEMM_RULE_KC_AB_L1);
        if (s.kc < b->kc) b->kc = s.kc;
        bp->k_inner_bytes = fd_gemm_k_inner_bytes(bp->caches);
    }
    nk = (k + b->kc - 1) / b->kc;
    if (nk < 1) nk = 1;
    b->mc = fd_gemm_min(b->mc, fd_gemm_round_up(m, b->mr));
    b->nc = fd_gemm_min(b->nc, fd_gemm_round_up(n, b->nr));
    *kc_eff = fd_gemm_round_up((k + nk - 1) / nk, 2 * bp->kp_align);
}

/* Threads for an m x k x n product: fd_gemm_threads with an eighth of its
 * grain (128K multiply-adds a thread; vdpbf16ps does twice the work of an
 * FMA a cycle): the 200 x 256 x 10 products of an MLP's output layer
 * (batch 200, 512K multiply-adds) then run on 2 threads rather than one
 * while the other waits.  The work-size function and the driver both
 * count with it. */
static int fd_bf_threads(const fd_ctx *ctx, const fd_gemm_blocks *b, int64_t m, int64_t k,
                         int64_t n, int prod, int *split_n, int64_t *units)
{ return fd_gemm_threads_grain(ctx, b, m, k, n, prod, FD_GEMM_BF16_GRAIN, split_n, units); }

/* Word offset of K panel pc (a multiple of kc_eff) in a block of B packed
 * panel by panel, n_pad columns each: all earlier panels are full. */
static int64_t fd_bf_pre_offset(const fd_bf16_blk *b, int64_t kc_eff, int64_t n_pad, int64_t pc)
{ return pc / kc_eff * fd_bf_pairs(b, kc_eff) * n_pad; }

/* Words of all K panels of a k x n_pad block of B, packed that way. */
static int64_t fd_bf_whole_k_words(const fd_bf16_blk *b, int64_t kc_eff, int64_t k, int64_t n_pad)
{
    const int64_t last = (k - 1) / kc_eff * kc_eff;
    return fd_bf_pre_offset(b, kc_eff, n_pad, last) + fd_bf_pairs(b, k - last) * n_pad;
}

/* Whether all K panels of an NC-wide block of B fit the budget for
 * packing them at once (fd_bf_k_inner); not with a B producer, which hands
 * B over panel by panel. */
static int fd_bf_whole_k_fits(const fd_bf16_blk *b, int64_t kc_eff, int64_t k, int prod)
{
    return b->k_inner && !prod && k > kc_eff &&
        fd_bf_whole_k_words(b, kc_eff, k, b->blocks.nc) * 4 <= b->k_inner_bytes;
}

/* Whether a thread's m x n region runs its K panels inside each row block
 * (ic outer, pc inner), every K panel of the NC-wide block of B packed at
 * once (or beforehand): when its C takes more than that budget (AMX's short K panels would
 * otherwise send it out of L2 and back once a panel; measured on the Xeon,
 * 1024 x 784 x 256 on one thread: 471 us against 513 panel by panel, while
 * a 256-row region was 117 against 111). */
static int fd_bf_k_inner(const fd_bf16_blk *b, int64_t kc_eff, int64_t k, int prod, int pre,
                         int64_t m, int64_t n)
{
    return (pre ? b->k_inner_bytes > 0 && k > kc_eff : fd_bf_whole_k_fits(b, kc_eff, k, prod)) &&
        m * fd_gemm_round_up(fd_gemm_min(n, b->blocks.nc), b->blocks.nr) * 4 >= b->k_inner_bytes;
}

/* The B micro-panels of K panel pc (kc_eff elements) from column j (a
 * multiple of NR) in a B packed beforehand in panels of pre_kc elements
 * (fd_gemm_bf16_pack_rows), and in *stride the words from one micro-panel
 * to the next: the panel's own, or, for a short panel inside a long one
 * (AMX), its pairs within the long one's micro-panels, read in place. */
static const uint32_t *fd_bf_pre_panel(const fd_bf16_blk *b, const uint32_t *pre, int64_t pre_kc,
                                       int64_t n_pad, int64_t k, int64_t pc, int64_t j,
                                       int64_t *stride)
{
    const int64_t p0 = pc / pre_kc * pre_kc, kp = fd_bf_pairs(b, fd_gemm_min(pre_kc, k - p0));
    *stride = kp * b->blocks.nr;
    return pre + fd_bf_pre_offset(b, pre_kc, n_pad, p0) + j / b->blocks.nr * *stride +
        (pc - p0) / 2 * b->blocks.nr;
}

/* Packed words of one thread's B block: KC x NC (all K panels of it where
 * they fit, for fd_bf_k_inner), whole cache lines. */
static int64_t fd_bf_b_words(const fd_bf16_blk *b, int64_t kc, int64_t k, int prod)
{
    const int64_t bw = fd_bf_whole_k_fits(b, kc, k, prod)
        ? fd_bf_whole_k_words(b, kc, k, b->blocks.nc)
        : fd_bf_pairs(b, kc) * b->blocks.nc;
    return fd_gemm_round_up(bw, FD_GEMM_ALIGN / 4);
}

/* Packed words one thread needs: its B block and an MC x KC block of A. */
static int64_t fd_bf_thread_words(const fd_bf16_blk *b, int64_t kc, int64_t k, int prod)
{
    const int64_t line = FD_GEMM_ALIGN / 4;
    return fd_bf_b_words(b, kc, k, prod) +
        fd_gemm_round_up(fd_bf_pairs(b, kc) * b->blocks.mc, line) + line;
}

/* The K split (gemm_blocking.h: fd_gemm_ksplit_at, the float32 rule and
 * its reasons) of a bfloat16 product on b (fd_bf_for_product's blocks):
 * K rows [0, kh) and [kh, k), kh the half of K rounded up to whole K units
 * of the path (AMX: tiles of 32), and all of K within one of b's K panels,
 * so that a B packed beforehand (one panel then) is read in place from kh
 * on; from FD_GEMM_BF16_KSPLIT_MIN_M rows.  0: not split.  Like the
 * float32 split it depends on m, k, n and the path only. */
static int64_t fd_bf_ksplit_kh(const fd_bf16_blk *b, int64_t k)
{
    const int64_t unit = 2 * (int64_t)b->kp_align;
    return (k / 2 + unit - 1) / unit * unit;
}

static int64_t fd_bf_ksplit_at(const fd_bf16_blk *b, int64_t m, int64_t k, int64_t n)
{
    if (m < FD_GEMM_BF16_KSPLIT_MIN_M || k > b->blocks.kc || !fd_gemm_ksplit_at(m, k, n)) return 0;
    return fd_bf_ksplit_kh(b, k);
}

/* Where a product with a column-major C (computed as C^T = B^T A^T, whose
 * m is n) splits K: where the same product with a row-major C would, so
 * that the layout of C changes no bit; kh, or 0. */
static int64_t fd_bf_ksplit_logical(fd_ctx ctx, const fd_caches *caches, int64_t m, int64_t k,
                                    int64_t n)
{
    fd_bf16_blk b = fd_gemm_bf16_pick_blocked(ctx.isa, caches);
    fd_bf_for_product(&b, n, 0, 0);
    return fd_bf_ksplit_at(&b, m, k, n);
}

/* Floats a row of the second part's sums takes (whole cache lines). */
static int64_t fd_bf_ksplit_lds(int64_t n)
{ return fd_gemm_round_up(n, FD_GEMM_ALIGN / 4); }

/* The parts' blocks and K panels at kh (> 0), and the packing words a
 * thread needs for either part. */
static void fd_bf_ksplit_plan(const fd_bf16_blk *picked, int64_t m, int64_t k, int64_t n, int pre,
                              int64_t kh, fd_bf16_blk bp[2], int64_t kc_eff[2], int64_t *per_thread)
{
    int p;
    *per_thread = 0;
    for (p = 0; p < 2 && kh; p++) {
        const int64_t kp = p ? k - kh : kh;
        int64_t w;
        bp[p] = *picked;
        fd_bf_plan(&bp[p], m, kp, n, pre, &kc_eff[p]);
        w = fd_bf_thread_words(&bp[p], kc_eff[p], kp, 0);
        if (w > *per_thread) *per_thread = w;
    }
}

/* The scratch of a K split at kh (0: none) with B read by rows or packed
 * beforehand (pre): its threads' packing and the second part's sums. */
static size_t fd_bf_ksplit_bytes(fd_ctx ctx, const fd_bf16_blk *picked, int64_t m, int64_t k,
                                 int64_t n, int pre, int64_t kh)
{
    fd_bf16_blk bp[2];
    int64_t kc_eff[2], per_thread;
    int q[2], nt, nt2;
    if (!kh) return 0;
    fd_bf_ksplit_plan(picked, m, k, n, pre, kh, bp, kc_eff, &per_thread);
    nt = fd_gemm_ksplit_threads(&ctx, &bp[0].blocks, m, k, n, FD_GEMM_BF16_GRAIN, 0, q);
    nt2 = fd_gemm_ksplit_threads(&ctx, &bp[0].blocks, m, k, n, FD_GEMM_BF16_GRAIN, 1, q);
    if (nt2 > nt) nt = nt2;
    return ((size_t)nt * (size_t)per_thread + (size_t)(m * fd_bf_ksplit_lds(n))) * 4u +
        2 * FD_GEMM_ALIGN;
}

/* kh: the K split the product takes (fd_bf_ksplit_at, or for a column-major
 * C fd_bf_ksplit_logical of the row-major one; 0: none) */
static size_t fd_bf_work_bytes(fd_ctx ctx, const fd_caches *caches, int64_t m, int64_t k, int64_t n,
                               int64_t kh)
{
    size_t most = 0;
    int pre;
    if (m <= 0 || n <= 0 || k <= 0) return 0;
    for (pre = 0; pre < 2; pre++) { /* B packed here or beforehand: the larger */
        fd_bf16_blk b = fd_gemm_bf16_pick_blocked(ctx.isa, caches);
        int64_t kc, units, t0, t1;
        int split, nt, nt2;
        size_t bytes;
        fd_bf_for_product(&b, n, 0, 0);
        fd_bf_plan(&b, m, k, n, pre, &kc);
        nt = fd_bf_threads(&ctx, &b.blocks, m, k, n, 0, &split, &units);
        nt2 = fd_bf_threads(&ctx, &b.blocks, m, k, n, 1, &split, &units);
        if (nt2 > nt) nt = nt2;
        /* with or without a B producer: the larger */
        t0 = fd_bf_thread_words(&b, kc, k, 0);
        t1 = fd_bf_thread_words(&b, kc, k, 1);
        bytes = (size_t)nt * (size_t)(t0 > t1 ? t0 : t1) * 4u + FD_GEMM_ALIGN;
        if (bytes > most) most = bytes;
        {
            fd_bf16_blk picked = fd_gemm_bf16_pick_blocked(ctx.isa, caches);
            fd_bf_for_product(&picked, n, 0, 0);
            bytes = fd_bf_ksplit_bytes(ctx, &picked, m, k, n, pre, kh);
            if (bytes > most) most = bytes;
        }
    }
    return most;
}

size_t fd_gemm_bf16_work_bytes(fd_ctx ctx, int64_t m, int64_t k, int64_t n)
{
    const fd_caches *caches = fd_cpu_caches();
    const int64_t kh = fd_bf_ksplit_logical(ctx, caches, m, k, n);
    size_t a, t;
    ctx.precision = FD_PREC_F32; /* the plain product covers the trivial cases */
    a = fd_gemm_work_bytes_f32(ctx, m, k, n);
    t = fd_bf_work_bytes(ctx, caches, m, k, n, kh);
    if (t > a) a = t;
    /* column-major C: the transposed product, split where the row-major one is */
    t = fd_bf_work_bytes(ctx, caches, n, k, m, kh);
    return a > t ? a : t;
}

/* One A micro-panel: rows [0, rows) of A (strides a_rs, a_cs) over kc K
 * elements, as kp pairs (zero padding); pair by pair (dst[q * mr + r]) or,
 * a_rows, row by row (dst[r * kp + q]). */
static void fd_bf_pack_a(const fd_bf16_blk *b, int64_t kc, int64_t kp, int64_t rows,
                         const float *FD_RESTRICT A, int64_t a_rs, int64_t a_cs,
                         uint32_t *FD_RESTRICT dst)
{
    const int64_t mr = b->blocks.mr, full = kc / 2;
    const int64_t s_q = b->a_rows ? 1 : mr, s_r = b->a_rows ? kp : 1;
    int64_t r, q;
    if (a_cs == 1 && b->packa) {
        b->packa(kc, kp, rows, A, a_rs, (int)mr, dst);
        return;
    }
    if (a_rs == 1 && b->packa_t && b->packa_t_rows == b->a_rows) {
        b->packa_t(kc, kp, rows, A, a_cs, (int)mr, dst);
        return;
    }
    for (r = 0; r < mr; r++) {
        uint32_t *d = dst + r * s_r;
        if (r < rows) {
            const float *src = A + r * a_rs;
            for (q = 0; q < full; q++)
                d[q * s_q] = fd_bf16_pair(src[2 * q * a_cs], src[(2 * q + 1) * a_cs]);
            q = full;
            if (kc & 1) {
                d[q * s_q] = fd_bf16_pair(src[2 * q * a_cs], 0.0f);
                q++;
            }
        } else {
            q = 0;
        }
        for (; q < kp; q++) d[q * s_q] = 0;
    }
}

/* One B micro-panel: kc rows x `valid` columns of B (strides b_rs, b_cs)
 * as kp pairs x nr words (zero padding). */
static void fd_bf_pack_b(const fd_bf16_blk *b, int64_t kc, int64_t kp, int64_t valid,
                         const float *FD_RESTRICT B, int64_t b_rs, int64_t b_cs,
                         uint32_t *FD_RESTRICT dst)
{
    const int nr = b->blocks.nr;
    const int64_t full = kc / 2, done = (kc + 1) / 2;
    int64_t q, l;
    if (b_cs == 1 && b->packb) {
        b->packb(kc, valid, B, b_rs, nr, dst);
    } else if (b_rs == 1 && b->packb_t) {
        b->packb_t(kc, valid, B, b_cs, nr, dst);
    } else if (b_rs == 1) {
        /* columns contiguous in K (an F-ordered W): pairs are adjacent */
        for (l = 0; l < valid; l++) {
            const float *src = B + l * b_cs;
            for (q = 0; q < full; q++) dst[q * nr + l] = fd_bf16_pair(src[2 * q], src[2 * q + 1]);
            if (kc & 1) dst[full * nr + l] = fd_bf16_pair(src[2 * full], 0.0f);
        }
        for (q = 0; q < done; q++)
            for (l = valid; l < nr; l++) dst[q * nr + l] = 0;
    } else {
        for (q = 0; q < done; q++) {
            const float *r0 = B + 2 * q * b_rs, *r1 = r0 + b_rs;
            const int two = 2 * q + 1 < kc;
            for (l = 0; l < valid; l++)
                dst[q * nr + l] = fd_bf16_pair(r0[l * b_cs], two ? r1[l * b_cs] : 0.0f);
            for (; l < nr; l++) dst[q * nr + l] = 0;
        }
    }
    for (q = done; q < kp; q++)
        for (l = 0; l < nr; l++) dst[q * nr + l] = 0;
}

/* The layout of a B packed beforehand (gemm_bf16.h): K panel by K panel
 * (kc_eff rows each, the last one shorter), each panel's micro-panels of
 * all round_up(n, nr) columns in a row, kp(panel) x nr words each.  The
 * blocks are those the driver derives for this k x n on ctx's path. */
typedef struct {
    fd_bf16_blk b;
    int64_t kc_eff, n_pad;
} fd_bf_pre;

static fd_bf_pre fd_bf_pre_plan(fd_ctx ctx, int64_t k, int64_t n)
{
    fd_bf_pre p;
    p.b = fd_gemm_bf16_pick_blocked(ctx.isa, fd_cpu_caches());
    fd_bf_for_product(&p.b, n, 0, 1);
    fd_bf_plan(&p.b, 1, k, n, 1, &p.kc_eff);
    p.n_pad = fd_gemm_round_up(n, p.b.blocks.nr);
    return p;
}

int64_t fd_gemm_bf16_packed_words(fd_ctx ctx, int64_t k, int64_t n)
{
    fd_bf_pre p;
    if (k < 1 || n < 1) return 0;
    p = fd_bf_pre_plan(ctx, k, n);
    return fd_bf_whole_k_words(&p.b, p.kc_eff, k, p.n_pad);
}

void fd_gemm_bf16_pack_rows(fd_ctx ctx, int64_t k, int64_t n, int64_t p0, int64_t p1,
                            const float *B, int64_t b_rs, uint32_t *dst)
{
    fd_bf_pre p;
    int64_t pc, nr, njp;
    if (k < 1 || n < 1 || p1 <= p0) return;
    p = fd_bf_pre_plan(ctx, k, n);
    nr = p.b.blocks.nr;
    njp = p.n_pad / nr;
    for (pc = p0 / p.kc_eff * p.kc_eff; pc < p1; pc += p.kc_eff) {
        const int64_t kc = fd_gemm_min(p.kc_eff, k - pc), kp = fd_bf_pairs(&p.b, kc);
        const int64_t r0 = p0 > pc ? p0 : pc, r1 = fd_gemm_min(p1, pc + kc);
        const int64_t q0 = (r0 - pc) / 2, done = (r1 - pc + 1) / 2;
        /* the zero pairs padding the panel to kp: with the rows ending it */
        const int64_t kpad = r1 == pc + kc ? kp : done;
        uint32_t *panel = dst + fd_bf_pre_offset(&p.b, p.kc_eff, p.n_pad, pc);
        int64_t jp;
        for (jp = 0; jp < njp; jp++)
            fd_bf_pack_b(&p.b, r1 - r0, kpad - q0, fd_gemm_min(nr, n - jp * nr),
                         B + r0 * b_rs + jp * nr, b_rs, 1, panel + jp * kp * nr + q0 * nr);
    }
}

/* An edge tile (rows x cols of a row-major C, fewer than mr x nr) by the
 * micro-kernel itself on a full tile staged in buf (2 * mr * nr floats): C
 * (when added to), bias and z padded there, the valid part copied back.
 * The same epilogue code as every full tile (the vector one on the SIMD
 * paths), instead of a scalar pass per element that took 8% of a bf16
 * MLP epoch (its 784-row and 10-column edges). */
static void fd_bf_edge_tile(const fd_bf16_blk *b, int64_t kp, const uint32_t *apk,
                            const uint32_t *bpk, int64_t rows, int64_t cols, float *C, int64_t ldc,
                            int beta, const float *bias, float *z, int64_t ldz, int act, float *buf)
{
    const int64_t nr = b->blocks.nr, mr = b->blocks.mr;
    FD_GEMM_ALIGNED64(float tb[FD_GEMM_BF16_NR_MAX]);
    float *tz = buf + mr * nr;
    int64_t r, c;
    if (beta)
        for (r = 0; r < mr; r++)
            for (c = 0; c < nr; c++) buf[r * nr + c] = r < rows && c < cols ? C[r * ldc + c] : 0.0f;
    if (bias)
        for (c = 0; c < nr; c++) tb[c] = c < cols ? bias[c] : 0.0f;
    b->ukr(kp, apk, bpk, buf, nr, beta, bias ? tb : NULL, z ? tz : NULL, nr, act);
    for (r = 0; r < rows; r++)
        for (c = 0; c < cols; c++) {
            C[r * ldc + c] = buf[r * nr + c];
            if (z) z[r * ldz + c] = tz[r * nr + c];
        }
}

/* What one thread's loop nest over its m x n region of C reads and
 * writes (pointers offset to the region). */
typedef struct {
    const fd_bf16_blk *b;
    int64_t kc_eff, m, k, n;
    const float *A;
    int64_t a_rs, a_cs;
    float *C;
    int64_t c_rs, c_cs;
    const float *bias;
    float *z;
    int64_t ldz;
    int act, beta;
    uint32_t *Apack;
    const fd_gemm_epi_f32 *hook;
    int64_t i_off, j_off; /* the region's place in C, for the hook */
    /* a K split's part: its first K row in B, and B's whole K (a B packed
     * beforehand is read at k_off + pc in the layout of all k_all rows) */
    int64_t k_off, k_all;
} fd_bf_nest;

/* Rows [ic, ic + mc) of C, columns [jc, jc + nc), over the K panel at pc
 * (kc elements): the A block packed, then every micro-tile against the
 * panel's B micro-panels at Bpack, b_stride words apart. */
static void fd_bf_block(const fd_bf_nest *t, int64_t jc, int64_t nc, int64_t pc, int64_t ic,
                        const uint32_t *Bpack, int64_t b_stride, float *tilebuf)
{
    const fd_bf16_blk b = *t->b;
    const fd_gemm_blocks bk = b.blocks;
    const int64_t kc = fd_gemm_min(t->kc_eff, t->k - pc), kp = fd_bf_pairs(&b, kc);
    const int64_t mc = fd_gemm_min(bk.mc, t->m - ic), nip = (mc + bk.mr - 1) / bk.mr;
    const int64_t njp = (nc + bk.nr - 1) / bk.nr;
    const int last = pc + kc >= t->k, bt = t->beta || pc > 0;
    const int64_t c_rs = t->c_rs, c_cs = t->c_cs, ldz = t->ldz;
    const float *bias = t->bias;
    float *z = t->z;
    const int act = t->act;
    const fd_gemm_epi_f32 *hook = t->hook;
    int64_t ip, jp;
    for (ip = 0; ip < nip; ip++) {
        const int64_t i0 = ic + ip * bk.mr;
        fd_bf_pack_a(&b, kc, kp, fd_gemm_min(bk.mr, t->m - i0), t->A + i0 * t->a_rs + pc * t->a_cs,
                     t->a_rs, t->a_cs, t->Apack + ip * kp * bk.mr);
    }
    for (ip = 0; ip < nip; ip++) {
        const int64_t i0 = ic + ip * bk.mr, rows = fd_gemm_min(bk.mr, t->m - i0);
        const uint32_t *apk = t->Apack + ip * kp * bk.mr;
        for (jp = 0; jp < njp; jp++) {
            const int64_t j0 = jc + jp * bk.nr, cols = fd_gemm_min(bk.nr, t->n - j0);
            const uint32_t *bpk = Bpack + jp * b_stride;
            float *cp = t->C + i0 * c_rs + j0 * c_cs;
            if (rows == bk.mr && cols == bk.nr && c_cs == 1) {
                if (last)
                    b.ukr(kp, apk, bpk, cp, c_rs, bt, bias ? bias + j0 : NULL,
                          z ? z + i0 * ldz + j0 : NULL, ldz, act);
                else
                    b.ukr(kp, apk, bpk, cp, c_rs, bt, NULL, NULL, 0, FD_ACT_IDENTITY);
            } else if (c_cs == 1) {
                fd_bf_edge_tile(&b, kp, apk, bpk, rows, cols, cp, c_rs, bt,
                                last && bias ? bias + j0 : NULL,
                                last && z ? z + i0 * ldz + j0 : NULL, ldz,
                                last ? act : FD_ACT_IDENTITY, tilebuf);
            } else {
                /* strided C: staged in a buffer like an edge tile (C
                 * gathered when added to, so the sums go on from it as
                 * in a row-major C), the epilogue on the way back */
                int64_t r, c;
                if (bt)
                    for (r = 0; r < bk.mr; r++)
                        for (c = 0; c < bk.nr; c++)
                            tilebuf[r * bk.nr + c] =
                                r < rows && c < cols ? cp[r * c_rs + c * c_cs] : 0.0f;
                b.ukr(kp, apk, bpk, tilebuf, bk.nr, bt, NULL, NULL, 0, FD_ACT_IDENTITY);
                for (r = 0; r < rows; r++)
                    for (c = 0; c < cols; c++) {
                        float *cel = cp + r * c_rs + c * c_cs;
                        const float v = tilebuf[r * bk.nr + c];
                        if (last)
                            fd_gemm_epi_store_f32(v, 0, cel, z ? z + (i0 + r) * ldz + j0 + c : NULL,
                                                  bias ? bias + j0 + c : NULL, act);
                        else
                            *cel = v;
                    }
            }
            if (last && hook)
                hook->c_tile(hook->c_tile_arg, t->i_off + i0, t->j_off + j0, rows, cols, cp, c_rs);
        }
    }
}

/* The B micro-panels of K panel pc for the columns from jc of a thread's
 * region, and in *stride the words between them: in a B packed
 * beforehand (pre, see fd_bf_pre_panel), or in the thread's Bpack, whose
 * panels sit one after the other bpad columns wide (bpad 0: one panel,
 * packed again for each pc). */
static const uint32_t *fd_bf_b_panel(const fd_bf_nest *t, const uint32_t *pre, int64_t pre_kc,
                                     int64_t pre_n_pad, const uint32_t *Bpack, int64_t bpad,
                                     int64_t jc, int64_t pc, int64_t *stride)
{
    const fd_bf16_blk *b = t->b;
    if (pre)
        return fd_bf_pre_panel(b, pre, pre_kc, pre_n_pad, t->k_all, t->k_off + pc, t->j_off + jc,
                               stride);
    *stride = fd_bf_pairs(b, fd_gemm_min(t->kc_eff, t->k - pc)) * b->blocks.nr;
    return Bpack + fd_bf_pre_offset(b, t->kc_eff, bpad, pc);
}

/* Serial loop nest over one thread's region of C (see fd_bf_nest):
 * pre: B packed beforehand in K panels of pre_kc elements
 * (round_up(n, nr) = pre_n_pad columns in all), or NULL to pack B into
 * Bpack here; prod: the B producer, or NULL. */
static void fd_bf_region(const fd_bf_nest *t, const float *B, int64_t b_rs, int64_t b_cs,
                         uint32_t *Bpack, const fd_gemm_epi_f32 *prod, const uint32_t *pre,
                         int64_t pre_kc, int64_t pre_n_pad)
{
    const fd_bf16_blk *b = t->b;
    const fd_gemm_blocks bk = b->blocks;
    const int64_t kc_eff = t->kc_eff, k = t->k, m = t->m, n = t->n;
    const int k_inner = fd_bf_k_inner(b, kc_eff, k, prod != NULL, pre != NULL, m, n);
    int64_t jc, pc, ic, stride;
    FD_GEMM_ALIGNED64(float tilebuf[2 * FD_GEMM_BF16_TILE_MAX]); /* C and z of an edge tile */
    for (jc = 0; jc < n; jc += bk.nc) {
        const int64_t nc = fd_gemm_min(bk.nc, n - jc), njp = (nc + bk.nr - 1) / bk.nr;
        /* B's K panels of this block, packed here: at once (k_inner, the
         * panels one after the other, njp micro-panels each) or panel by
         * panel into the same words (each after its producer ran) */
        const int64_t bpad = k_inner ? njp * bk.nr : 0;
        for (pc = 0; pc < k && !(pre && k_inner); pc += kc_eff) {
            const int64_t kc = fd_gemm_min(kc_eff, k - pc), kp = fd_bf_pairs(b, kc);
            const uint32_t *bpanel =
                fd_bf_b_panel(t, pre, pre_kc, pre_n_pad, Bpack, bpad, jc, pc, &stride);
            uint32_t *dst = Bpack + fd_bf_pre_offset(b, kc_eff, bpad, pc); /* (without pre) */
            int64_t jp;
            if (prod) prod->b_rows(prod->b_rows_arg, pc, pc + kc, t->j_off + jc, nc);
            for (jp = 0; jp < njp && !pre; jp++) {
                const int64_t j0 = jc + jp * bk.nr;
                fd_bf_pack_b(b, kc, kp, fd_gemm_min(bk.nr, n - j0), B + pc * b_rs + j0 * b_cs, b_rs,
                             b_cs, dst + jp * kp * bk.nr);
            }
            if (!k_inner)
                for (ic = 0; ic < m; ic += bk.mc)
                    fd_bf_block(t, jc, nc, pc, ic, bpanel, stride, tilebuf);
        }
        if (k_inner)
            for (ic = 0; ic < m; ic += bk.mc)
                for (pc = 0; pc < k; pc += kc_eff) {
                    const uint32_t *bpanel =
                        fd_bf_b_panel(t, pre, pre_kc, pre_n_pad, Bpack, bpad, jc, pc, &stride);
                    fd_bf_block(t, jc, nc, pc, ic, bpanel, stride, tilebuf);
                }
    }
}

/* Part `part` of the K split over columns [j0, j1): its K rows of A and B
 * (or of the B packed beforehand, pre) into C (the first part, with the
 * product's beta) or into the scratch S (the second), no epilogue; Bp: the
 * thread's packing scratch. */
static void fd_bf_ksplit_part(const fd_bf16_blk *bp, const int64_t *kc_eff, int64_t kh, int part,
                              int64_t m, int64_t k, int64_t j0, int64_t j1, const float *A,
                              int64_t a_rs, int64_t a_cs, const float *B, int64_t b_rs,
                              int64_t b_cs, float *C, int64_t c_rs, float *S, int64_t lds, int beta,
                              const uint32_t *pre, int64_t pre_kc, int64_t n_pad, uint32_t *Bp)
{
    const fd_bf16_blk *b = &bp[part];
    const int64_t k0 = part ? kh : 0, kp = part ? k - kh : kh;
    fd_bf_nest t;
    t.b = b;
    t.kc_eff = kc_eff[part];
    t.m = m;
    t.k = kp;
    t.n = j1 - j0;
    t.A = A + k0 * a_cs;
    t.a_rs = a_rs;
    t.a_cs = a_cs;
    t.C = part ? S + j0 : C + j0;
    t.c_rs = part ? lds : c_rs;
    t.c_cs = 1;
    t.bias = NULL;
    t.z = NULL;
    t.ldz = 0;
    t.act = FD_ACT_IDENTITY;
    t.beta = part ? 0 : beta;
    t.Apack = (uint32_t *)fd_gemm_align_ptr(Bp + fd_bf_b_words(b, kc_eff[part], kp, 0));
    t.hook = NULL;
    t.i_off = 0;
    t.j_off = j0;
    t.k_off = k0;
    t.k_all = k;
    if (b->begin) b->begin();
    fd_bf_region(&t, B + k0 * b_rs + j0 * b_cs, b_rs, b_cs, Bp, NULL, pre, pre_kc, n_pad);
    if (b->end) b->end();
}

/* What the K split's parts and joins read (fd_gemm_ksplit_run's arg). */
typedef struct {
    const fd_bf16_blk *bp;
    const int64_t *kc_eff;
    int64_t kh, m, k, a_rs, a_cs, b_rs, b_cs, c_rs, lds, ldz, pre_kc, n_pad, per_thread;
    const float *A, *B, *bias;
    float *C, *S, *z;
    int act, beta, isa;
    const fd_gemm_epi_f32 *hook;
    const uint32_t *pre;
    uint32_t *base;
} fd_bf_ksplit_args;

static void fd_bf_ksplit_part_cb(void *arg, int p, int64_t j0, int64_t j1, int slot)
{
    const fd_bf_ksplit_args *a = (const fd_bf_ksplit_args *)arg;
    fd_bf_ksplit_part(a->bp, a->kc_eff, a->kh, p, a->m, a->k, j0, j1, a->A, a->a_rs, a->a_cs, a->B,
                      a->b_rs, a->b_cs, a->C, a->c_rs, a->S, a->lds, a->beta, a->pre, a->pre_kc,
                      a->n_pad, a->base + (int64_t)slot * a->per_thread);
}

static void fd_bf_ksplit_join_cb(void *arg, int64_t r0, int64_t r1, int64_t j0, int64_t j1)
{
    const fd_bf_ksplit_args *a = (const fd_bf_ksplit_args *)arg;
    fd_gemm_ksplit_join_f32(a->isa, r0, r1, j1 - j0, a->C + j0, a->c_rs, a->S + j0, a->lds,
                            a->bias ? a->bias + j0 : NULL, a->z ? a->z + j0 : NULL, a->ldz, a->act);
    if (a->hook)
        a->hook->c_tile(a->hook->c_tile_arg, r0, j0, r1 - r0, j1 - j0, a->C + r0 * a->c_rs + j0,
                        a->c_rs);
}

/* The K split (fd_bf_ksplit_at) of a product with a row-major C, in the
 * float32 split's two schedules (gemm_impl.h: gemm_ksplit): B read by rows
 * or packed beforehand, threads take the parts (column slabs of each from
 * 3 threads on), then after a barrier the join by rows; B stored by
 * columns, each thread both parts of a column slab and its join.  The
 * join is the float32 one (fd_gemm_ksplit_join_f32), then the tile hook. */
static int fd_bf_ksplit(fd_ctx ctx, const fd_bf16_blk *picked, int64_t kh, int64_t m, int64_t k,
                        int64_t n, const float *A, int64_t a_rs, int64_t a_cs, const float *B,
                        int64_t b_rs, int64_t b_cs, float *C, int64_t c_rs, const float *bias,
                        float *z, int64_t ldz, int act, int beta, const fd_gemm_epi_f32 *hook,
                        const uint32_t *pre, int64_t pre_kc, void *work)
{
    const int by_cols = b_cs != 1 && !pre;
    const int64_t lds = fd_bf_ksplit_lds(n), n_pad = fd_gemm_round_up(n, picked->blocks.nr);
    fd_bf16_blk bp[2];
    int64_t kc_eff[2], per_thread;
    int q[2], nt;
    float *S;
    uint32_t *base;
    void *owned = NULL;
    fd_bf_ksplit_plan(picked, m, k, n, pre != NULL, kh, bp, kc_eff, &per_thread);
    nt = fd_gemm_ksplit_threads(&ctx, &bp[0].blocks, m, k, n, FD_GEMM_BF16_GRAIN, by_cols, q);
    if (work == NULL) {
        owned =
            malloc(((size_t)nt * (size_t)per_thread + (size_t)(m * lds)) * 4u + 2 * FD_GEMM_ALIGN);
        if (!owned) return FD_ENOMEM;
        work = owned;
    }
    S = (float *)fd_gemm_align_ptr(work);
    base = (uint32_t *)fd_gemm_align_ptr(S + m * lds);

    {
        fd_bf_ksplit_args a;
        fd_gemm_ksplit_job job;
        a.bp = bp;
        a.kc_eff = kc_eff;
        a.kh = kh;
        a.m = m;
        a.k = k;
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
        a.isa = ctx.isa;
        a.hook = hook;
        a.pre = pre;
        a.pre_kc = pre_kc;
        a.n_pad = n_pad;
        a.base = base;
        a.per_thread = per_thread;
        job.part = fd_bf_ksplit_part_cb;
        job.join = fd_bf_ksplit_join_cb;
        job.arg = &a;
        job.blocks[0] = bp[0].blocks;
        job.blocks[1] = bp[1].blocks;
        fd_gemm_ksplit_run(&job, nt, q, by_cols, m, n);
    }
    free(owned);
    return FD_OK;
}

/* fd_gemm_bf16_caches with the K split given: ks < 0 by the rule on this
 * m x k x n (fd_bf_ksplit_at), else kh = ks (0: not split; the transposed
 * product of a column-major C takes the row-major product's). */
static int fd_bf_gemm(fd_ctx ctx, const fd_caches *caches, int64_t m, int64_t k, int64_t n,
                      const float *A, int64_t a_rs, int64_t a_cs, const float *B, int64_t b_rs,
                      int64_t b_cs, float *C, int64_t c_rs, int64_t c_cs,
                      const fd_gemm_epi_f32 *epi, void *work, int64_t ks)
{
    const float *bias = epi ? epi->bias : NULL;
    float *z = epi ? epi->z : NULL;
    const int64_t ldz = epi ? epi->ldz : 0;
    const int act = epi ? epi->act : FD_ACT_IDENTITY;
    const int beta = epi ? epi->beta : 0;
    const fd_gemm_epi_f32 *prod = epi && epi->b_rows ? epi : NULL;
    const fd_gemm_epi_f32 *hook = epi && epi->c_tile ? epi : NULL;
    const uint32_t *pre = epi ? epi->b_packed : NULL;
    fd_bf16_blk b;
    int64_t kc_eff, per_thread, units, kh, pre_kc = 0;
    uint32_t *base;
    void *owned = NULL;
    int nt, split_n, tid;
    fd_fpenv env;

    if (m <= 0 || n <= 0 || k <= 0) {
        /* no products: the float32 driver's bookkeeping (epilogue of
         * zero sums, a B producer still owed) is the same */
        fd_gemm_epi_f32 plain;
        ctx.precision = FD_PREC_F32;
        if (epi && epi->b_packed) { /* nothing was packed for an empty B */
            plain = *epi;
            plain.b_packed = NULL;
            epi = &plain;
        }
        return fd_gemm_caches_f32(ctx, caches, m, k, n, A, a_rs, a_cs, B, b_rs, b_cs, C, c_rs, c_cs,
                                  epi, work);
    }
    if ((bias || z || act != FD_ACT_IDENTITY || hook) && c_cs != 1) return FD_EINVAL;
    if (prod && b_cs != 1) return FD_EINVAL;
    if (pre && (prod || c_cs != 1)) return FD_EINVAL;
    if (c_cs != 1 && c_rs == 1) {
        /* column-major C: C^T = B^T A^T is row-major (no epilogue here),
         * split where the row-major product would be */
        const int64_t kh = fd_bf_ksplit_logical(ctx, caches, m, k, n);
        if (prod) {
            fd_gemm_epi_f32 plain = *epi;
            prod->b_rows(prod->b_rows_arg, 0, k, 0, n);
            plain.b_rows = NULL;
            plain.b_rows_arg = NULL;
            return fd_bf_gemm(ctx, caches, n, k, m, B, b_cs, b_rs, A, a_cs, a_rs, C, c_cs, 1,
                              &plain, work, kh);
        }
        return fd_bf_gemm(ctx, caches, n, k, m, B, b_cs, b_rs, A, a_cs, a_rs, C, c_cs, 1, epi, work,
                          kh);
    }
    b = fd_gemm_bf16_pick_blocked(ctx.isa, caches);
    fd_bf_for_product(&b, n, a_rs, a_cs);
    if (pre) { /* the K panels it was packed in (fd_bf_pre_plan's) */
        fd_bf16_blk p = b;
        fd_bf_plan(&p, 1, k, n, 1, &pre_kc);
    }
    kh = ks < 0 ? fd_bf_ksplit_at(&b, m, k, n) : ks;
    if (c_cs == 1 && kh) {
        if (prod) prod->b_rows(prod->b_rows_arg, 0, k, 0, n); /* all of B first */
        return fd_bf_ksplit(ctx, &b, kh, m, k, n, A, a_rs, a_cs, B, b_rs, b_cs, C, c_rs, bias, z,
                            ldz, act, beta, hook, pre, pre_kc, work);
    }
    fd_bf_plan(&b, m, k, n, pre != NULL, &kc_eff);
    nt = fd_bf_threads(&ctx, &b.blocks, m, k, n, prod != NULL, &split_n, &units);
    env = fd_fpenv_get(); /* the caller's, for every block */
    per_thread = fd_bf_thread_words(&b, kc_eff, k, prod != NULL);
    if (work == NULL) {
        owned = malloc((size_t)nt * (size_t)per_thread * 4u + FD_GEMM_ALIGN);
        if (!owned) return FD_ENOMEM;
        work = owned;
    }
    base = (uint32_t *)fd_gemm_align_ptr(work);

    /* Each thread owns a slab of C and packs its own panels into scratch
     * slot `tid` (a loop index < nt, whatever team OpenMP forms): no
     * barriers, so a descheduled thread never stalls the other. */
    FD_OMP(parallel for num_threads(nt) schedule(static) if (nt > 1))
    for (tid = 0; tid < nt; tid++) {
        const fd_fpenv own = fd_fpenv_enter(env);
        int64_t i0, i1, j0, j1;
        uint32_t *Bp = base + (int64_t)tid * per_thread;
        uint32_t *Ap =
            (uint32_t *)fd_gemm_align_ptr(Bp + fd_bf_b_words(&b, kc_eff, k, prod != NULL));
        fd_gemm_slab(&b.blocks, split_n, units, tid, nt, m, n, &i0, &i1, &j0, &j1);
        if (i1 > i0 && j1 > j0) {
            fd_bf_nest t;
            t.b = &b;
            t.kc_eff = kc_eff;
            t.m = i1 - i0;
            t.k = k;
            t.n = j1 - j0;
            t.A = A + i0 * a_rs;
            t.a_rs = a_rs;
            t.a_cs = a_cs;
            t.C = C + i0 * c_rs + j0 * c_cs;
            t.c_rs = c_rs;
            t.c_cs = c_cs;
            t.bias = bias ? bias + j0 : NULL;
            t.z = z ? z + i0 * ldz + j0 : NULL;
            t.ldz = ldz;
            t.act = act;
            t.beta = beta;
            t.Apack = Ap;
            t.hook = hook;
            t.i_off = i0;
            t.j_off = j0;
            t.k_off = 0;
            t.k_all = k;
            if (b.begin) b.begin();
            fd_bf_region(&t, B + j0 * b_cs, b_rs, b_cs, Bp, prod, pre, pre_kc,
                         fd_gemm_round_up(n, b.blocks.nr));
            if (b.end) b.end();
        }
        fd_fpenv_leave(own);
    }
    free(owned);
    return FD_OK;
}

int fd_gemm_bf16_caches(fd_ctx ctx, const fd_caches *caches, int64_t m, int64_t k, int64_t n,
                        const float *A, int64_t a_rs, int64_t a_cs, const float *B, int64_t b_rs,
                        int64_t b_cs, float *C, int64_t c_rs, int64_t c_cs,
                        const fd_gemm_epi_f32 *epi, void *work)
{
    return fd_bf_gemm(ctx, caches, m, k, n, A, a_rs, a_cs, B, b_rs, b_cs, C, c_rs, c_cs, epi, work,
                      -1);
}

int fd_gemm_bf16(fd_ctx ctx, int64_t m, int64_t k, int64_t n, const float *A, int64_t a_rs,
                 int64_t a_cs, const float *B, int64_t b_rs, int64_t b_cs, float *C, int64_t c_rs,
                 int64_t c_cs, const fd_gemm_epi_f32 *epi, void *work)
{
    return fd_gemm_bf16_caches(ctx, fd_cpu_caches(), m, k, n, A, a_rs, a_cs, B, b_rs, b_cs, C, c_rs,
                               c_cs, epi, work);
}
