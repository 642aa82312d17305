/* bfloat16 GEMM with float32 in and out: C = A @ B (+ C), fused epilogue.
 *
 * fd_gemm_f32 comes here when ctx.precision == FD_PREC_BF16 (same
 * arguments, same epilogue and B producer, see gemm.h).  A and B are
 * float32; each operand is rounded to bfloat16 (round to nearest even, NaN
 * stays NaN) while it is packed, the products are summed in float32, and
 * the epilogue (beta, bias, z, activation) runs in float32.
 *
 * Packing: K is taken in pairs (k = 2q, 2q + 1), as vdpbf16ps and
 * tdpbf16ps want them: one 32-bit word holds the bf16 of element 2q (low
 * half) and 2q + 1 (high half); an odd K is padded with a zero.
 *   B micro-panel (NR columns): word [q * NR + j] = pair of column j.
 *   A micro-panel (MR rows): word [r * kp + q] (a_rows: row by row, so a
 *   row-major A converts 32 floats at a time; 16 rows of 16 pairs form an
 *   AMX tile), or word [q * MR + r] (the portable path).
 *
 * Paths (ctx.isa, one pick per call):
 *   AMX          tdpbf16ps on 16 x 16 float tiles (2 x 2 of them: 32 x 32)
 *   AVX512_BF16  vdpbf16ps, 8 x 32 tile of zmm (or ymm: gemm_bf16_avx512bf16.c)
 *   others       portable C emulation: each pair as c = c + a1 * b1, then
 *                c = c + a0 * b0 in float32 (products of two bf16 are exact
 *                in float32, so this is Intel's documented vdpbf16ps order;
 *                a CPU that rounds the two-product sum once differs in the
 *                last bit)
 * Results are bit-identical for any thread count on each path (threads
 * split output tiles only; the K panels depend on the path alone, and on
 * AMX not even on that: its tiles go on with the float32 sums of the last
 * K panel, and with the C of a product that adds to C, loaded into them).
 * Across paths they agree within bf16 accuracy, not bitwise.
 *
 * Nothing is cached between calls: both operands are packed per call,
 * except a B the caller packed itself (epi->b_packed, below).
 */
#ifndef FD_GEMM_BF16_H
#define FD_GEMM_BF16_H

#include <string.h>

#include "common/fd_common.h"
#include "gemm/gemm.h"

/* float32 -> bfloat16 bits, round to nearest even; NaN stays a (quiet) NaN. */
static inline uint16_t fd_f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof(u));
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline float fd_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof(f));
    return f;
}

static inline uint32_t fd_bf16_pair(float lo, float hi)
{ return (uint32_t)fd_f32_to_bf16(lo) | ((uint32_t)fd_f32_to_bf16(hi) << 16); }

size_t fd_gemm_bf16_work_bytes(fd_ctx ctx, int64_t m, int64_t k, int64_t n);
/* A k x n B packed once for the products of ctx's path (ctx.isa, this
 * CPU's caches) that take it as epi->b_packed, with a row-major C: every K
 * panel's micro-panels, all columns, in the words the driver would pack.
 * fd_gemm_bf16_packed_words: its size in 32-bit words (0 when k or n < 1).
 * fd_gemm_bf16_pack_rows: rows [p0, p1) of a row-major B (b_rs apart) into
 * dst; p0 even, p1 even or k, so a pair is never split (an odd k's last
 * pair gets a zero high half).  Rows of disjoint ranges may be packed by
 * different threads at once; the zero padding of a K panel is written with
 * the range that reaches the panel's end. */
int64_t fd_gemm_bf16_packed_words(fd_ctx ctx, int64_t k, int64_t n);
void fd_gemm_bf16_pack_rows(fd_ctx ctx, int64_t k, int64_t n, int64_t p0, int64_t p1,
                            const float *B, int64_t b_rs, uint32_t *dst);
int fd_gemm_bf16(fd_ctx ctx, int64_t m, int64_t k, int64_t n, const float *A, int64_t a_rs,
                 int64_t a_cs, const float *B, int64_t b_rs, int64_t b_cs, float *C, int64_t c_rs,
                 int64_t c_cs, const fd_gemm_epi_f32 *epi, void *work);
/* The same on caches c instead of this CPU's (see fd_gemm_caches_f32). */
int fd_gemm_bf16_caches(fd_ctx ctx, const fd_caches *c, int64_t m, int64_t k, int64_t n,
                        const float *A, int64_t a_rs, int64_t a_cs, const float *B, int64_t b_rs,
                        int64_t b_cs, float *C, int64_t c_rs, int64_t c_cs,
                        const fd_gemm_epi_f32 *epi, void *work);
/* The register tile and cache blocks the bf16 path isa uses on caches c. */
fd_gemm_blocks fd_gemm_bf16_blocking(int isa, const fd_caches *c);

/* Micro-kernel: the MR x NR tile of C from kp packed pairs of A and B,
 * written to C (row-major, ldc) with the epilogue of gemm.h (bias offset to
 * the tile's first column, z to its first element; NULL: none). */
typedef void (*fd_ukr_bf16)(int64_t kp, const uint32_t *Ap, const uint32_t *Bp, float *C,
                            int64_t ldc, int beta, const float *bias, float *z, int64_t ldz,
                            int act);

/* Pack kc rows [2q, 2q + 1] x NR columns of a row-major B (b_rs apart,
 * valid columns, zero padding) into pairs: one micro-panel. */
typedef void (*fd_packb_bf16)(int64_t kc, int64_t valid, const float *B, int64_t b_rs, int nr,
                              uint32_t *dst);

/* Pack rows [0, rows) of a row-major A (unit column stride, a_rs apart)
 * over kc K elements into an A micro-panel row by row (word [r * kp + q]),
 * zero padding to kp pairs and mr rows. */
typedef void (*fd_packa_bf16)(int64_t kc, int64_t kp, int64_t rows, const float *A, int64_t a_rs,
                              int mr, uint32_t *dst);

/* Transposed operands (unit row stride): A pair by pair (word [q * mr + r])
 * from a_cs-apart K steps; B (word [q * nr + l]) from b_cs-apart columns. */
typedef void (*fd_packa_t_bf16)(int64_t kc, int64_t kp, int64_t rows, const float *A, int64_t a_cs,
                                int mr, uint32_t *dst);
typedef void (*fd_packb_t_bf16)(int64_t kc, int64_t valid, const float *B, int64_t b_cs, int nr,
                                uint32_t *dst);

#if FD_HAVE_X86_SIMD
void fd_packa_t_bf16_avx512bf16(int64_t kc, int64_t kp, int64_t rows, const float *A, int64_t a_cs,
                                int mr, uint32_t *dst);
void fd_packb_t_bf16_avx512bf16(int64_t kc, int64_t valid, const float *B, int64_t b_cs, int nr,
                                uint32_t *dst);
void fd_packa_bf16_avx512bf16(int64_t kc, int64_t kp, int64_t rows, const float *A, int64_t a_rs,
                              int mr, uint32_t *dst);
#define FD_UKR_BF16_DECL(NAME)                                                                     \
    void NAME(int64_t kp, const uint32_t *Ap, const uint32_t *Bp, float *C, int64_t ldc, int beta, \
              const float *bias, float *z, int64_t ldz, int act);
FD_UKR_BF16_DECL(fd_ukr_bf16_avx512bf16_zmm)
FD_UKR_BF16_DECL(fd_ukr_bf16_avx512bf16_zmm_pairs)
FD_UKR_BF16_DECL(fd_ukr_bf16_avx512bf16_zmm_n16)
FD_UKR_BF16_DECL(fd_ukr_bf16_avx512bf16_zmm_n16_pairs)
FD_UKR_BF16_DECL(fd_ukr_bf16_avx512bf16_ymm)
FD_UKR_BF16_DECL(fd_ukr_bf16_amx)
/* AMX: load the tile configuration on this thread / release the tiles */
void fd_amx_tiles_begin(void);
void fd_amx_tiles_end(void);
void fd_packa_t_bf16_amx(int64_t kc, int64_t kp, int64_t rows, const float *A, int64_t a_cs, int mr,
                         uint32_t *dst);
void fd_packb_bf16_avx512bf16(int64_t kc, int64_t valid, const float *B, int64_t b_rs, int nr,
                              uint32_t *dst);
#endif

#endif /* FD_GEMM_BF16_H */
