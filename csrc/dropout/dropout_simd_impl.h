/* Range worker body (see dropout_internal.h), FD_TNAME_ISA(fd_dropout_range,
 * ISA), instantiated through common/fd_template.h by dropout_avx2.c /
 * dropout_avx512.c (after their simd/ header) and by dropout.c for the
 * portable path (no ISA: fd_dropout_range_<sfx>_generic): plain C over FD_DROP_LANES Philox blocks at a time, written so
 * that compilers vectorise the rounds (lane loops over uint32 arrays). */
#include <stdint.h>
#include <string.h>

#ifdef ISA
#define FN FD_TNAME_ISA(fd_dropout_range, ISA)
#else
#define FN FD_TNAME_ISA(fd_dropout_range, generic)
#endif

#ifndef FD_DROP_LANES
#define FD_DROP_LANES 16
#endif
/* Lane type of the generator's words: 64-bit lanes (high half zero) where
 * FD_DROP_WIDE is defined (AVX-512: each 32x32->64 product is then one
 * vpmuludq, no unpacking), else 32-bit lanes (better for SSE2 / AVX2). */
#undef FD_DROP_LANE
#ifdef FD_DROP_WIDE
#define FD_DROP_LANE uint64_t
#else
#define FD_DROP_LANE uint32_t
#endif

#ifndef FD_DROP_NOINLINE
#if defined(_MSC_VER)
#define FD_DROP_NOINLINE __declspec(noinline)
#else
#define FD_DROP_NOINLINE __attribute__((noinline))
#endif
#endif

/* Ten Philox rounds over FD_DROP_LANES counters in place (FD_DROP_ROUNDS_OF):
 * the unit's own function where it defines FD_DROP_ROUNDS (AVX2: 16 lanes of
 * 32 bits in registers), else the loop below, out of line (restrict
 * arguments) so that compilers vectorise it. */
#ifdef FD_DROP_ROUNDS
#if FD_DROP_LANES != 16 || defined(FD_DROP_WIDE)
#error "FD_DROP_ROUNDS works on 16 lanes of 32 bits"
#endif
#define FD_DROP_ROUNDS_OF FD_DROP_ROUNDS
#else
#define FD_DROP_ROUNDS_OF FD_PASTE2(FN, rounds)
static FD_DROP_NOINLINE void FD_PASTE2(FN, rounds)(FD_DROP_LANE *FD_RESTRICT a0,
                                                   FD_DROP_LANE *FD_RESTRICT a1,
                                                   FD_DROP_LANE *FD_RESTRICT a2,
                                                   FD_DROP_LANE *FD_RESTRICT a3, uint64_t k0,
                                                   uint64_t k1)
{
    const uint64_t lo = 0xFFFFFFFFu;
    int j, round;
    for (round = 0; round < 10; round++) {
        for (j = 0; j < FD_DROP_LANES; j++) {
            uint64_t p0 = (uint64_t)0xD2511F53u * (a0[j] & lo);
            uint64_t p1 = (uint64_t)0xCD9E8D57u * (a2[j] & lo);
            FD_DROP_LANE n0 = (FD_DROP_LANE)((p1 >> 32) ^ a1[j] ^ k0);
            FD_DROP_LANE n2 = (FD_DROP_LANE)((p0 >> 32) ^ a3[j] ^ k1);
            a1[j] = (FD_DROP_LANE)(p1 & lo);
            a3[j] = (FD_DROP_LANE)(p0 & lo);
            a0[j] = n0;
            a2[j] = n2;
        }
        k0 = (k0 + 0x9E3779B9u) & lo;
        k1 = (k1 + 0xBB67AE85u) & lo;
    }
}
#endif

/* v where the element is kept (its word's top 24 bits >= thr), else +0.0,
 * as a bit mask: every element's product is computed and selected without
 * a branch.  Written as `word < thr ? 0 : x * scale`, gcc turned the select
 * into a branch with the load and product under it, which AVX2 cannot
 * vectorise (no masked loads) and which a random mask mispredicts half the
 * time (Zen 3, one thread: dropout of 1024 x 256 floats took 1.8 ms). */
#if FD_T_F64
#define FD_DROP_BITS uint64_t
#else
#define FD_DROP_BITS uint32_t
#endif
static inline T FD_PASTE2(FN, keep)(uint32_t word, uint32_t thr, T v)
{
    FD_DROP_BITS b;
    memcpy(&b, &v, sizeof b);
    b &= (FD_DROP_BITS)0 - (FD_DROP_BITS)((word >> 8) >= thr);
    memcpy(&v, &b, sizeof b);
    return v;
}
#undef FD_DROP_BITS

void FN(const FD_TNAME(fd_drop_plan) * d, int64_t q0, int64_t q1, const T *x, T *out)
{
    const int64_t n = d->n;
    const uint64_t seed = d->seed;
    const uint32_t thr = d->thr, c2 = d->c2, c3 = d->c3;
    const T scale = d->scale;
    FD_DROP_LANE a0[FD_DROP_LANES], a1[FD_DROP_LANES], a2[FD_DROP_LANES], a3[FD_DROP_LANES];
    uint32_t w[4 * FD_DROP_LANES];
    int64_t q, e, base, cnt;
    int j;
    for (q = q0; q < q1; q += FD_DROP_LANES) {
        for (j = 0; j < FD_DROP_LANES; j++) {
            uint64_t b = (uint64_t)(q + j);
            a0[j] = (FD_DROP_LANE)(b & 0xFFFFFFFFu);
            a1[j] = (FD_DROP_LANE)(b >> 32);
            a2[j] = c2;
            a3[j] = c3;
        }
        FD_DROP_ROUNDS_OF(a0, a1, a2, a3, seed & 0xFFFFFFFFu, seed >> 32);
        for (j = 0; j < FD_DROP_LANES; j++) {
            w[4 * j] = (uint32_t)a0[j];
            w[4 * j + 1] = (uint32_t)a1[j];
            w[4 * j + 2] = (uint32_t)a2[j];
            w[4 * j + 3] = (uint32_t)a3[j];
        }
        base = 4 * q;
        cnt = 4 * (q1 - q < FD_DROP_LANES ? q1 - q : FD_DROP_LANES);
        if (cnt > n - base) cnt = n - base;
        for (e = 0; e < cnt; e++)
            out[base + e] = FD_PASTE2(FN, keep)(w[e], thr, x[base + e] * scale);
    }
}

/* The tile worker of fd_drop_plan (dropout.h).  A chunk of rows lists
 * the Philox blocks of each row in turn (a block that straddles two rows,
 * or two tiles, is listed for each), generates them FD_DROP_LANES at a
 * time into wl (block t of the list at wl[4 t .. 4 t + 3]), so row r's
 * words are contiguous: from wl + 4 t_r + e0 % 4, t_r its first block and
 * e0 the flat index of its first element.  Each row is then masked in a
 * loop the compiler vectorises: the same expression as the range worker
 * above, so the same bits. */
#ifndef FD_DROP_TILE_BLOCKS
#define FD_DROP_TILE_BLOCKS 512
#define FD_DROP_TILE_ROWS 256
#endif
#ifdef ISA
#define FNT FD_TNAME_ISA(fd_dropout_tile, ISA)
#else
#define FNT FD_TNAME_ISA(fd_dropout_tile, generic)
#endif

void FNT(const FD_TNAME(fd_drop_plan) * d, int64_t i0, int64_t j0, int64_t rows, int64_t cols,
         const T *src, int64_t lds, T *dst, int64_t ldd, T *keep, int64_t ldk)
{
    FD_DROP_LANE a0[FD_DROP_LANES], a1[FD_DROP_LANES], a2[FD_DROP_LANES], a3[FD_DROP_LANES];
    uint32_t wl[4 * (FD_DROP_TILE_BLOCKS + FD_DROP_LANES)];
    int64_t lq[FD_DROP_TILE_BLOCKS + FD_DROP_LANES];
    int64_t rs[FD_DROP_TILE_ROWS]; /* offset in wl of each row's first word */
    const int64_t n = d->n, cmax = 4 * (FD_DROP_TILE_BLOCKS - 2);
    const uint32_t thr = d->thr;
    const T scale = d->scale;
    int64_t c0, r0;
    for (c0 = 0; c0 < cols; c0 += cmax) {
        const int64_t cw = cols - c0 < cmax ? cols - c0 : cmax;
        const int64_t per_row = (cw + 6) / 4; /* blocks a row can touch */
        int64_t rch = FD_DROP_TILE_BLOCKS / per_row;
        if (rch > FD_DROP_TILE_ROWS) rch = FD_DROP_TILE_ROWS;
        for (r0 = 0; r0 < rows; r0 += rch) {
            const int64_t nr = rows - r0 < rch ? rows - r0 : rch;
            int64_t r, c, t, nb = 0, g;
            int j;
            for (r = 0; r < nr; r++) {
                const int64_t e0 = (i0 + r0 + r) * n + j0 + c0;
                int64_t q;
                rs[r] = 4 * nb + (e0 & 3);
                for (q = e0 / 4; q <= (e0 + cw - 1) / 4; q++) lq[nb++] = q;
            }
            for (t = nb; t < nb + FD_DROP_LANES; t++) lq[t] = 0; /* unused lanes */
            for (g = 0; g < nb; g += FD_DROP_LANES) {
                for (j = 0; j < FD_DROP_LANES; j++) {
                    uint64_t bq = (uint64_t)lq[g + j];
                    a0[j] = (FD_DROP_LANE)(bq & 0xFFFFFFFFu);
                    a1[j] = (FD_DROP_LANE)(bq >> 32);
                    a2[j] = d->c2;
                    a3[j] = d->c3;
                }
                FD_DROP_ROUNDS_OF(a0, a1, a2, a3, d->seed & 0xFFFFFFFFu, d->seed >> 32);
                for (j = 0; j < FD_DROP_LANES; j++) {
                    uint32_t *w = wl + 4 * (g + j);
                    w[0] = (uint32_t)a0[j];
                    w[1] = (uint32_t)a1[j];
                    w[2] = (uint32_t)a2[j];
                    w[3] = (uint32_t)a3[j];
                }
            }
            for (r = 0; r < nr; r++) {
                const T *s = src + (r0 + r) * lds + c0;
                T *o = dst + (r0 + r) * ldd + c0;
                const uint32_t *wr = wl + rs[r];
                if (keep) {
                    T *kp = keep + (r0 + r) * ldk + c0;
                    for (c = 0; c < cw; c++) kp[c] = s[c];
                }
                for (c = 0; c < cw; c++) o[c] = FD_PASTE2(FN, keep)(wr[c], thr, s[c] * scale);
            }
        }
    }
}

#undef FNT
#undef FN
#undef FD_DROP_ROUNDS_OF
