/* GEMM blocking: one table per instruction set and dtype, the only place
 * these numbers are written (gemm.c, gemm_impl.h and the micro-kernel units
 * read them from here).
 *
 *   MR x NR     register block: the micro-kernel's tile of C (compile time)
 *   KC          the largest K panel the path may take: a cap on the KC
 *               derived from the caches (below); FD_GEMM_KC_MAX unless a
 *               measurement showed that a shorter panel pays
 *   MC, NC      the blocks used before they were derived at run time (a
 *               record; the drivers overwrite them)
 *   SMALL_N     outputs up to this many columns take the unpacked
 *               narrow-output kernel (AVX-512 only: one vector of lanes)
 *
 *   B_INPLACE   1: a small batch (m <= FD_GEMM_SMALL_M) reads full panels
 *               of a row-major B whose rows are at most 2 KiB apart in
 *               place instead of packing them (gemm_impl.h); 0: always packs
 *
 * KC: no path caps it now.  AVX2 float kept KC = 384 while its small batches
 * read B in place (Zen 4, 2026-12-03: 64 x 784 -> 256 ran at 51 GFLOP/s
 * with 384 against 47 with one 784 panel).
 * B_INPLACE: AVX2 packs.  Its tile reads one 64-byte line of B a k-step,
 * so an in-place B is a strided stream of single lines (a power-of-two
 * row stride maps it onto 4 of L1d's 64 sets).  On a Zen 3 (AVX2 only,
 * 32 KiB L1d, 512 KiB L2; one thread, medians of 5 rounds, 2026-12-06)
 * packing B took 64 x 784 -> 256 from 72-74 to 77-83 GFLOP/s, -> 512 from
 * 62-64 to 77-81, 16 x 784 -> 512 from 53 to 64, float64 64 x 784 -> 256
 * from 26 to 41; 2 threads 784 -> 512: 89-114 -> 136; only 8 rows were
 * level.  With B packed, KC 256 to 1192 ran within 2% of each other at
 * batch 64, and one panel was best at batch 1024 and 2048^3.  AVX-512's
 * 32-wide tile (two lines a k-step) reads B in place: measured faster on
 * the Zen 4 and the Xeon (the tall tile needs it). */
#ifndef FD_GEMM_BLOCKING_H
#define FD_GEMM_BLOCKING_H

#include "common/cpu.h"

/* Cache blocks derived at run time (gemm_blocking.c) from the caches the
 * CPU reports (common/cpu.h, fd_cpu_caches), BLIS-style (Low et al. 2016,
 * "Analytical modeling is enough for high-performance BLIS"), for the loop
 * order of gemm_impl.h (jc, pc, ic, ir, jr: an A micro-panel is reused
 * across the jr loop, the packed KC x NC block of B across the ir loop):
 *   KC  MR x KC micro-panel of A in all ways of L1d but one
 *   NC  KC x NC block of B in this core's share of L3 (NC_L3), or of L2
 *       (NC_L2) where no L3 is reported or (float32/float64) the L2 is
 *       at least FD_GEMM_NC_L2_ONLY_BYTES
 *   MC  MC x KC block of A in MC_L2 of L2
 * clamped to the limits below and to the path's KC cap (the table above),
 * rounded down (KC to the path's K alignment, MC to MR, NC to NR).  On
 * the Zen 4 this gives KC 896, MC 144, NC 1152 for float AVX-512 (main had
 * 800, 256, 1024: the same K panels and the same blocks at the MNIST
 * shapes), on a Xeon with 48 KiB L1d and 2 MiB L2 KC 1408, MC 184, NC 256
 * (docs/performance.md). */
#define FD_GEMM_KC_MIN 64
#define FD_GEMM_KC_MAX 2048
#define FD_GEMM_MC_MAX 1024
#define FD_GEMM_NC_MAX 4096
#define FD_GEMM_NC_L2_NUM 1
#define FD_GEMM_NC_L2_DEN 2
#define FD_GEMM_NC_L3_NUM 1
#define FD_GEMM_NC_L3_DEN 4
/* float32/float64 (FD_GEMM_RULE_NC_BIG_L2): NC from L2 even where an L3
 * is reported, on CPUs whose L2 is at least
 * this big.  The L3 rule was measured on the Zen 4 (1 MiB L2: half of it
 * holds only 128 columns of B at KC 896, and its L3 streams B fast); on
 * the Xeon of issue 13 (Sapphire Rapids, 2 MiB L2, mesh L3) B streamed
 * from L3 (NC 4096) ran at 95 GFLOP/s against 144-158 with NC 160-320 in
 * L2 (one thread, process CPU time, 1024 x 784 x 1024; 2048^3: 95 against
 * 141-150).  cpuid reports no bandwidths, so the L2 size stands in for
 * "an L2 big enough to hold a useful block of B". */
#define FD_GEMM_NC_L2_ONLY_BYTES (2 * 1024 * 1024)
/* ... and then the B block takes three quarters of L2, not half: NC 256
 * instead of 160 at KC 1408 on that Xeon, which keeps an n = 256 layer in
 * one block (2 threads: 1024 x 784 x 256 319 against 309 GFLOP/s,
 * 1024 x 784 x 1024 322 against 314; one thread 1024 x 784 x 1024 159
 * against 144, 2048^3 148 against 151) */
#define FD_GEMM_NC_L2_ONLY_NUM 3
#define FD_GEMM_NC_L2_ONLY_DEN 4
#define FD_GEMM_MC_L2_NUM 1
#define FD_GEMM_MC_L2_DEN 2
#define FD_GEMM_KC_L2_NUM 1
#define FD_GEMM_KC_L2_DEN 8
#define FD_GEMM_KC_AB_L1_NUM 3
#define FD_GEMM_KC_AB_L1_DEN 4

/* Whether the AVX-512 path runs the tall float tile
 * (FD_GEMM_AVX512_TALL_F32_*) for a call whose fd_ctx.tile is `tile`:
 * FD_TILE_AUTO where the core has two 512-bit FMA ports
 * (fd_cpu_fma512_ports), FD_TILE_TALL / FD_TILE_BASE force it on / off
 * (tests, benchmarks).  Results do not depend on it (the same K panels). */
int fd_gemm_tall_f32(int tile);

/* Register tile and cache blocks of one path and dtype. */
typedef struct {
    int mr, nr;
    int64_t kc, mc, nc;
} fd_gemm_blocks;

/* Rules a path's blocks follow besides the ones above (flags):
 *   FD_GEMM_RULE_KC_L2      a matrix unit (AMX): K panels long enough that
 *       the A and B micro-panels take FD_GEMM_KC_L2 of L2 (MNIST's K = 784
 *       in one panel): its blocks, for small batches and for a B packed
 *       beforehand.  Measured on a Xeon with AMX (2 MiB L2, 784 -> 256,
 *       2 threads): batch 64 0.028 ms against 0.036 in short panels.
 *   FD_GEMM_RULE_KC_AB_L1   a matrix unit (AMX), its short K panels (for
 *       FD_GEMM_BF16_SHORT_K_M rows or more): each tile product reads a
 *       tile of A and one of B, a cache line a cycle, which L2 cannot
 *       feed; so the A micro-panel, read again by every B micro-panel,
 *       must stay in L1d with the B micro-panel streaming past it: the
 *       two ((MR + NR) x KC) take FD_GEMM_KC_AB_L1 of L1d (KC 288 on a
 *       48 KiB L1d: MNIST's K = 784 in three panels).  The tiles carry
 *       the float32 sums from panel to panel (C loaded into them), so the
 *       panels change no result.  Measured on a Xeon with AMX (48 KiB
 *       L1d), a 32 x 32 tile loop over packed panels on one core: 1.40
 *       TFLOP/s at 400 pairs a panel, 1.81 at 208, 2.14 at 128 (3.8 at
 *       most); the tile loops of a 1024 x 784 x 256 product 1.36 -> 1.57
 *       TFLOP/s in three panels.
 *   FD_GEMM_RULE_NC_BIG_L2  float32/float64: NC from L2 where the L2 is at
 *       least FD_GEMM_NC_L2_ONLY_BYTES (above). */
#define FD_GEMM_RULE_KC_L2 1
#define FD_GEMM_RULE_NC_BIG_L2 2
#define FD_GEMM_RULE_KC_AB_L1 4
/* Rows of C from which a bfloat16 product on AMX takes the short K panels
 * (the K panels change no result there, see gemm_bf16.h) */
#define FD_GEMM_BF16_SHORT_K_M 256

/* Blocks for an MR x NR micro-kernel whose packed operands take kbytes
 * per K element and row (4 float, 8 double, 2 bfloat16) and whose K panel
 * is a multiple of kalign, on caches c (NULL: fd_caches_default()), by the
 * rules above and `rules`.  A pure function: the same caches give the
 * same blocks. */
fd_gemm_blocks fd_gemm_derive_blocks(const fd_caches *c, int mr, int nr, int kbytes, int kalign,
                                     int rules);

/* The blocks a path runs with: its table entry (FD_GEMM_ENTRY below: MR,
 * NR and the KC cap) and the blocks derived from caches c by `rules`, KC
 * capped by the entry's.  The one place the float32/float64 and the
 * bfloat16 drivers (their pick_blocked) turn a table entry into blocks. */
fd_gemm_blocks fd_gemm_path_blocks(fd_gemm_blocks entry, const fd_caches *c, int kbytes, int kalign,
                                   int rules);

/* Bytes of L2 a B block with all its K panels may take when the K panels
 * run inside the row blocks (the bfloat16 driver's fd_bf_k_inner). */
#define FD_GEMM_K_INNER_L2_NUM 1
#define FD_GEMM_K_INNER_L2_DEN 2
int64_t fd_gemm_k_inner_bytes(const fd_caches *c);

/* Small batches on CPUs whose B blocks live in L2 (FD_GEMM_RULE_NC_BIG_L2
 * with an L2 of FD_GEMM_NC_L2_ONLY_BYTES or more): a product with at most
 * FD_GEMM_SMALL_M rows of C reuses each B block for only a few row tiles,
 * so moving B (packing it, or reading it in place) is a large share of its
 * time.  Where the rows of B are wider than NC, the B block there cut
 * each row into NC-wide pieces (1 KiB of a 4 KiB row at NC 256), which
 * the L2 streamer (it stops at page ends) and the L2's sets (a
 * power-of-two row stride maps a column onto few of them) both handle
 * badly.  fd_gemm_small_m_blocks widens NC to whole rows, at most
 * FD_GEMM_PAGE_BYTES of each, and shortens KC so that the block takes half
 * of L2 (FD_GEMM_NC_L2: the packed block and the rows it is packed from
 * pass through L2 together): contiguous rows, a page at a time.  On issue
 * 13's Xeon (2 MiB L2, float32) 784 -> 1024 and 784 -> 2048 take four K
 * panels of 196 (NC 1024), 784 -> 512 two of 392 (NC 512), 1024 -> 784
 * four of 256 (NC 800); 784 -> 256 (NC 256 already whole rows) is
 * unchanged.  The Zen 4 (1 MiB L2, B blocks in L3 with NC 1152 at KC 896:
 * already whole rows up to 1152 columns) keeps its blocks.  The K panels
 * depend on m, n and the caches only (never the thread count or the
 * layout of B); a column-major C is computed as C^T, whose m is n. */
#define FD_GEMM_SMALL_M 128
#define FD_GEMM_PAGE_BYTES 4096
void fd_gemm_small_m_blocks(fd_gemm_blocks *b, const fd_caches *c, int kbytes, int rules, int64_t m,
                            int64_t n);

/* Small batches over a long K: the K split.  A product of at most
 * FD_GEMM_KSPLIT_MAX_M rows of C whose K is at least FD_GEMM_KSPLIT_MIN_K is
 * computed as two K parts, rows [0, kh) and [kh, k) of B, kh the half of K
 * rounded up to whole 8-row units (fd_gemm_ksplit_at; 0: not split): the
 * first part's sums go to C, the second's to a scratch block, and a join
 * adds them and applies the epilogue.  Where B is stored by rows (a
 * row-major W), threads take the parts (then column slabs of each part,
 * from 3 threads on), so each reads only its half of B's rows,
 * contiguous, which its cache keeps between calls; and in training the
 * weight gradient (cut by rows: its K is the batch) and the optimiser
 * step (cut by elements: rows) touch the same half of W on the same core,
 * where a forward cut by columns (half of every row) moved half of W
 * between the cores' caches twice a step.  Where B is stored by columns (a
 * PyTorch weight, W^T), each thread takes a column slab of both parts and
 * joins it: whole rows of B's storage again, as an optimiser stepping the
 * flat array cuts it.  Either way every element is the same two sums and
 * join, which depend on m and k only, never the thread count or B's
 * layout: one thread runs both parts and the join, with the same bits. */
#define FD_GEMM_KSPLIT_MIN_K 512
/* 256 rows, not FD_GEMM_SMALL_M: on the Xeon of issue 13 (2 threads) the
 * 784-256-10 epoch at batch 200 ran 10-13% faster (SGD; Adam 5-9%) with
 * the split, and a 200 x 784 x 256 product alone 4% slower */
#define FD_GEMM_KSPLIT_MAX_M 256
/* ... and at most this many elements of C: the second part's sums take a
 * scratch block as large as C, bounded so (8 MiB of float64) */
#define FD_GEMM_KSPLIT_MAX_MN ((int64_t)1 << 20)
/* bfloat16 products (gemm_bf16.c: fd_bf_ksplit_at) split from
 * FD_GEMM_BF16_KSPLIT_MIN_M to FD_GEMM_KSPLIT_MAX_M rows of C.  Measured on
 * the Xeon of issue 13 (AMX, 2 threads, x @ W of 784 -> 256): alone, with W
 * packed beforehand, 160 rows 43-47 us against 47-49 unsplit, 200 rows
 * 50-54 against 59-62, 256 rows 63-65 against 90-96; 96 and 128 rows
 * 15-20% slower split (the join and twice the C tiles outweigh packing
 * half of x); in the 784-256-10 epoch at batch 200 (Adam, bfloat16) 7-9%
 * faster, at batch 64 3% */
#define FD_GEMM_BF16_KSPLIT_MIN_M 160
static inline int64_t fd_gemm_ksplit_at(int64_t m, int64_t k, int64_t n)
{
    if (m < 1 || n < 1 || m > FD_GEMM_KSPLIT_MAX_M || k < FD_GEMM_KSPLIT_MIN_K ||
        n > FD_GEMM_KSPLIT_MAX_MN / m)
        return 0;
    return (k / 2 + 7) / 8 * 8;
}
/* float32 / float64 products that ask for it (fd_gemm_epi.ksplit_either: a
 * weight gradient x^T dz, whose K is the batch) are split where C's rows
 * or C^T's rows would be: dW of a 784 -> 256 layer at a batch >= 512 (C^T
 * has 256 rows).  Measured on the Xeon of issue 13 (2 threads),
 * dense_backward relu 784 -> 256: batch 1024 2.72-2.85 -> 2.57-2.62 ms
 * (C-order W), batch 600 1.60-1.67 -> 1.56-1.59 ms; with an F-order W
 * (dW column-major, computed as dW^T, which was split by its own rows)
 * level.  Forwards keep the rule on C's rows: 512 and 768 rows over 784
 * ran 3-5% slower split. */
static inline int64_t fd_gemm_ksplit_either_at(int64_t m, int64_t k, int64_t n, int either)
{
    const int64_t kh = fd_gemm_ksplit_at(m, k, n);
    return kh || !either ? kh : fd_gemm_ksplit_at(n, k, m);
}

/* Threads for the K split of an m x k x n product on blocks b, each with
 * at least `grain` multiply-adds: 1, which runs both parts; with B read by
 * rows q[0] + q[1], q[p] column slabs of part p (the odd thread to the
 * first part); with B stored by columns (by_cols) one column slab of both
 * parts each. */
static inline int fd_gemm_ksplit_threads(const fd_ctx *ctx, const fd_gemm_blocks *b, int64_t m,
                                         int64_t k, int64_t n, size_t grain, int by_cols, int q[2])
{
    const int nt = fd_threads_for(ctx, (size_t)m * (size_t)n * (size_t)k, grain);
    const int64_t units = (n + b->nr - 1) / b->nr;
    int p;
    q[0] = (nt + 1) / 2;
    q[1] = nt / 2 > 1 ? nt / 2 : 1;
    for (p = 0; p < 2; p++)
        if ((int64_t)q[p] > units) q[p] = (int)units;
    if (by_cols) return (int64_t)nt > units ? (int)units : nt;
    return nt >= 2 ? q[0] + q[1] : 1;
}

static inline fd_gemm_blocks fd_gemm_entry(int mr, int nr, int64_t kc, int64_t mc, int64_t nc)
{
    fd_gemm_blocks b;
    b.mr = mr;
    b.nr = nr;
    b.kc = kc;
    b.mc = mc;
    b.nc = nc;
    return b;
}

/* Packing scratch: every thread's packed blocks start on a cache line
 * (fd_gemm_align_ptr), and so do the edge-tile buffers (FD_GEMM_ALIGNED64). */
#define FD_GEMM_ALIGN 64
#if defined(_MSC_VER)
#define FD_GEMM_ALIGNED64(decl) __declspec(align(64)) decl
#else
#define FD_GEMM_ALIGNED64(decl) decl __attribute__((aligned(64)))
#endif
static inline void *fd_gemm_align_ptr(void *p)
{
    uintptr_t u = (uintptr_t)p;
    return (void *)((u + FD_GEMM_ALIGN - 1) & ~(uintptr_t)(FD_GEMM_ALIGN - 1));
}

/* a rounded up to a multiple of b (b >= 1); the smaller of a and b */
static inline int64_t fd_gemm_round_up(int64_t a, int64_t b)
{ return (a + b - 1) / b * b; }
static inline int64_t fd_gemm_min(int64_t a, int64_t b)
{ return a < b ? a : b; }

/* Threads (each with its own packing scratch) for an m x k x n product on
 * blocks b: only when each gets >= `grain` multiply-adds (fd_gemm_threads:
 * FD_GEMM_GRAIN), and never more than
 * the slabs of C there are to hand out (*units, of NR columns when
 * *split_n, else of MR rows).  Slabs cut the longer side of C (keeping the
 * duplicated packing of the other operand small) unless K is short (see
 * below); a produced B (prod) is
 * split by columns, so each of its elements is made by one thread. */
static inline int fd_gemm_threads_grain(const fd_ctx *ctx, const fd_gemm_blocks *b, int64_t m,
                                        int64_t k, int64_t n, int prod, size_t grain, int *split_n,
                                        int64_t *units)
{
    int nt = fd_threads_for(ctx, (size_t)m * (size_t)n * (size_t)k, grain);
    const int64_t mu = (m + b->mr - 1) / b->mr;
    /* A short K (a weight gradient: K is the batch) makes writing C the
     * bulk of the work, and threads sharing every row of C then ran no
     * faster than one (784 x 64 x 256 F-order dW on Zen 4: 2 threads 290
     * us cut by columns, 135 us by rows); so rows when m >= k and there
     * are enough of them: the B each thread then packs whole is small. */
    *split_n = prod || (n >= m && !(m >= k && mu >= 2 * (int64_t)nt));
    *units = *split_n ? (n + b->nr - 1) / b->nr : (m + b->mr - 1) / b->mr;
    if ((int64_t)nt > *units) nt = (int)*units;
    return nt;
}

/* Multiply-adds a thread of a float32/float64 product gets at least. */
#define FD_GEMM_GRAIN ((size_t)1 << 20)

static inline int fd_gemm_threads(const fd_ctx *ctx, const fd_gemm_blocks *b, int64_t m, int64_t k,
                                  int64_t n, int prod, int *split_n, int64_t *units)
{ return fd_gemm_threads_grain(ctx, b, m, k, n, prod, FD_GEMM_GRAIN, split_n, units); }

/* Thread tid's slab of the m x n C, of nt threads on the units above:
 * rows [*i0, *i1) x columns [*j0, *j1) (empty when *i1 <= *i0 or
 * *j1 <= *j0). */
static inline void fd_gemm_slab(const fd_gemm_blocks *b, int split_n, int64_t units, int tid,
                                int nt, int64_t m, int64_t n, int64_t *i0, int64_t *i1, int64_t *j0,
                                int64_t *j1)
{
    const int64_t u0 = units * tid / nt, u1 = units * (tid + 1) / nt;
    *i0 = 0;
    *i1 = m;
    *j0 = 0;
    *j1 = n;
    if (split_n) {
        *j0 = u0 * b->nr;
        *j1 = fd_gemm_min(n, u1 * b->nr);
    } else {
        *i0 = u0 * b->mr;
        *i1 = fd_gemm_min(m, u1 * b->mr);
    }
}

/* portable C: plain loops the compiler may vectorise */
#define FD_GEMM_GENERIC_F32_MR 4
#define FD_GEMM_GENERIC_F32_NR 8
#define FD_GEMM_GENERIC_F32_KC FD_GEMM_KC_MAX
#define FD_GEMM_GENERIC_F32_MC 128
#define FD_GEMM_GENERIC_F32_NC 2048
#define FD_GEMM_GENERIC_F32_B_INPLACE 1

#define FD_GEMM_GENERIC_F64_MR 4
#define FD_GEMM_GENERIC_F64_NR 4
#define FD_GEMM_GENERIC_F64_KC FD_GEMM_KC_MAX
#define FD_GEMM_GENERIC_F64_MC 128
#define FD_GEMM_GENERIC_F64_NC 2048
#define FD_GEMM_GENERIC_F64_B_INPLACE 1

/* AVX2 + FMA: 6 x 16 float / 6 x 8 double = 12 ymm accumulators */
#define FD_GEMM_AVX2_F32_MR 6
#define FD_GEMM_AVX2_F32_NR 16
#define FD_GEMM_AVX2_F32_KC FD_GEMM_KC_MAX
#define FD_GEMM_AVX2_F32_MC 240
#define FD_GEMM_AVX2_F32_NC 1024
#define FD_GEMM_AVX2_F32_B_INPLACE 0

#define FD_GEMM_AVX2_F64_MR 6
#define FD_GEMM_AVX2_F64_NR 8
#define FD_GEMM_AVX2_F64_KC FD_GEMM_KC_MAX
#define FD_GEMM_AVX2_F64_MC 192
#define FD_GEMM_AVX2_F64_NC 512
#define FD_GEMM_AVX2_F64_B_INPLACE 0

/* AVX-512: 8 x 32 float / 8 x 16 double = 16 zmm accumulators */
#define FD_GEMM_AVX512_F32_MR 8
#define FD_GEMM_AVX512_F32_NR 32
#define FD_GEMM_AVX512_F32_KC FD_GEMM_KC_MAX
#define FD_GEMM_AVX512_F32_MC 256
#define FD_GEMM_AVX512_F32_NC 1024
#define FD_GEMM_AVX512_F32_SMALL_N 16
#define FD_GEMM_AVX512_F32_B_INPLACE 1

/* AVX-512 float, the tall tile: 14 x 32 (28 zmm accumulators, 2 of B, 1
 * broadcast), for the row tiles of a product whose A and B are both read
 * in place (a batch of <= 128 rows times a row-major weight of <= 512
 * columns) on Intel cores with two 512-bit FMA ports (fd_cpu_fma512_ports,
 * common/cpu.h): the B micro-panel, read in place from L2, then serves 14
 * rows instead of 8.  The product keeps the 8 x 32 entry's blocks (the
 * same K panels: bit-identical results) and 8-row units; gemm_impl.h cuts
 * the whole units into 14-row tiles and as few 8-row ones as leave no
 * padding (64 = 4 x 14 + 8).  On issue 13's Xeon (one thread, paired
 * process-CPU-time medians): 64 x 784 x 256 +8%, 128 x 784 x 256 +8%,
 * 64 x 784 x 512 +18% against 8 x 32 tiles; 12 x 32 gave +6%, +8%, +10%
 * (docs/performance.md).  Not used with a packed B (1024 x 784 x 1024,
 * 2048^3: no gain, measured with 12 x 32). */
#define FD_GEMM_AVX512_TALL_F32_MR 14
#define FD_GEMM_AVX512_TALL_F32_NR 32

#define FD_GEMM_AVX512_F64_MR 8
#define FD_GEMM_AVX512_F64_NR 16
#define FD_GEMM_AVX512_F64_KC FD_GEMM_KC_MAX
#define FD_GEMM_AVX512_F64_MC 192
#define FD_GEMM_AVX512_F64_NC 1024
#define FD_GEMM_AVX512_F64_SMALL_N 8
#define FD_GEMM_AVX512_F64_B_INPLACE 1

/* bfloat16 (gemm_bf16.h), float32 in and out.  KC counts K elements (a
 * multiple of 2: K goes in pairs; AMX: of 32, whole tiles). */
#define FD_GEMM_BF16_GENERIC_MR 4
#define FD_GEMM_BF16_GENERIC_NR 8
#define FD_GEMM_BF16_GENERIC_KC FD_GEMM_KC_MAX
#define FD_GEMM_BF16_GENERIC_MC 128
#define FD_GEMM_BF16_GENERIC_NC 1024

/* vdpbf16ps on zmm: 8 x 32 float tile, 16 accumulators */
#define FD_GEMM_BF16_AVX512_MR 8
#define FD_GEMM_BF16_AVX512_NR 32
#define FD_GEMM_BF16_AVX512_KC FD_GEMM_KC_MAX
#define FD_GEMM_BF16_AVX512_MC 256
#define FD_GEMM_BF16_AVX512_NC 1024
/* the narrow twin for n <= 16 columns (the 10 classes of an MLP's output
 * layer): 8 x 16, one zmm a row, instead of padding 10 columns to 32 */
#define FD_GEMM_BF16_AVX512_NARROW_NR 16
/* the ymm twin (6 x 32, 24 accumulators), run instead when 1 */
#define FD_GEMM_BF16_AVX512_YMM_MR 6
#define FD_GEMM_BF16_AVX512_USE_YMM 0
/* A packed row by row (1) or pair by pair (0), see gemm_bf16.h */
#define FD_GEMM_BF16_AVX512_A_ROWS 1

/* AMX: 2 x 2 tiles of 16 x 16 float; K panels padded to 16 pairs */
#define FD_GEMM_BF16_AMX_MR 32
#define FD_GEMM_BF16_AMX_NR 32
#define FD_GEMM_BF16_AMX_KC FD_GEMM_KC_MAX
#define FD_GEMM_BF16_AMX_MC 256
#define FD_GEMM_BF16_AMX_NC 1024

/* Largest MR x NR tile of any micro-kernel (elements): the edge-tile
 * buffer's size. */
#define FD_GEMM_TILE_MAX 448
#define FD_GEMM_BF16_TILE_MAX 1024
#define FD_GEMM_BF16_NR_MAX 32 /* the widest bf16 tile */

/* FD_GEMM_BLK(AVX2, 32, KC) is FD_GEMM_AVX2_F32_KC: the templates look their
 * entry up by instruction set and dtype width. */
#define FD_GEMM_BLK_(isa, bits, field) FD_GEMM_##isa##_F##bits##_##field
#define FD_GEMM_BLK(isa, bits, field) FD_GEMM_BLK_(isa, bits, field)

/* One path's table entry as an fd_gemm_blocks (MC, NC: the record above),
 * by the prefix of its names: FD_GEMM_ENTRY(FD_GEMM_BF16_AMX), or
 * FD_GEMM_ENTRY(FD_GEMM_PATH(AVX2, 32)) for FD_GEMM_AVX2_F32_*. */
#define FD_GEMM_PATH_(isa, bits) FD_GEMM_##isa##_F##bits
#define FD_GEMM_PATH(isa, bits) FD_GEMM_PATH_(isa, bits)
#define FD_GEMM_ENTRY_(p) fd_gemm_entry(p##_MR, p##_NR, p##_KC, p##_MC, p##_NC)
#define FD_GEMM_ENTRY(p) FD_GEMM_ENTRY_(p)

#endif /* FD_GEMM_BLOCKING_H */
