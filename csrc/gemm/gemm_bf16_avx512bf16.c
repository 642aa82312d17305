/* AVX512_BF16 bf16 GEMM micro-kernels and B packing (gemm_bf16.h); this
 * file is compiled with -mavx512f ... -mavx512bf16.  Two widths of the same
 * template: zmm (8 x 32 tile, 16 accumulators) and ymm (6 x 32, 24), for
 * CPUs whose AVX-512 units are 256 bits wide (Zen 4); gemm_blocking.h says
 * which one the AVX512_BF16 path runs and why. */
#include "gemm/gemm_bf16.h"

#if FD_HAVE_X86_SIMD
#include <immintrin.h>

#include "act/act.h"
#include "act/act_simd.h"
#include "simd/simd_avx2.h"
#include "simd/simd_avx512.h"
#include "simd/simd_avx512bf16.h"

/* gemm_bf16_simd_impl.h once per (width, tile, A layout); it undefines
 * VP, MR, NR, NAME and A_ROWS again. */
#define VP(name) v16f_##name
#define MR FD_GEMM_BF16_AVX512_MR
#define NR FD_GEMM_BF16_AVX512_NR
#define NAME fd_ukr_bf16_avx512bf16_zmm
#define A_ROWS FD_GEMM_BF16_AVX512_A_ROWS
#include "gemm/gemm_bf16_simd_impl.h"

/* the same tile with A packed pair by pair: a transposed A (x^T in the
 * backward pass's dW = x^T dz) packs that way without a transpose */
#define VP(name) v16f_##name
#define MR FD_GEMM_BF16_AVX512_MR
#define NR FD_GEMM_BF16_AVX512_NR
#define NAME fd_ukr_bf16_avx512bf16_zmm_pairs
#define A_ROWS 0
#include "gemm/gemm_bf16_simd_impl.h"

/* the narrow tile (8 x 16) for C of at most 16 columns, both A layouts */
#define VP(name) v16f_##name
#define MR FD_GEMM_BF16_AVX512_MR
#define NR FD_GEMM_BF16_AVX512_NARROW_NR
#define NAME fd_ukr_bf16_avx512bf16_zmm_n16
#define A_ROWS FD_GEMM_BF16_AVX512_A_ROWS
#include "gemm/gemm_bf16_simd_impl.h"

#define VP(name) v16f_##name
#define MR FD_GEMM_BF16_AVX512_MR
#define NR FD_GEMM_BF16_AVX512_NARROW_NR
#define NAME fd_ukr_bf16_avx512bf16_zmm_n16_pairs
#define A_ROWS 0
#include "gemm/gemm_bf16_simd_impl.h"

#define VP(name) v8f_##name
#define MR FD_GEMM_BF16_AVX512_YMM_MR
#define NR FD_GEMM_BF16_AVX512_NR
#define NAME fd_ukr_bf16_avx512bf16_ymm
#define A_ROWS FD_GEMM_BF16_AVX512_A_ROWS
#include "gemm/gemm_bf16_simd_impl.h"

/* Row-major A (unit column stride), rows [0, rows) of a micro-panel row
 * by row: 32 floats of a row -> 16 pairs (vcvtne2ps2bf16 keeps the order);
 * zero pairs up to kp and zero rows up to mr. */
void fd_packa_bf16_avx512bf16(int64_t kc, int64_t kp, int64_t rows, const float *A, int64_t a_rs,
                              int mr, uint32_t *dst)
{
    int64_t r, p;
    for (r = 0; r < mr; r++) {
        uint32_t *d = dst + r * kp;
        int64_t q = 0;
        if (r < rows) {
            const float *src = A + r * a_rs;
            for (p = 0; p + 32 <= kc; p += 32, q += 16) {
                __m512bh h = _mm512_cvtne2ps_pbh(v16f_load(src + p + 16), v16f_load(src + p));
                _mm512_storeu_si512((void *)(d + q), (__m512i)h);
            }
            if (p < kc) {
                const int64_t left = kc - p; /* 1..31 floats */
                __m512 lo =
                    left >= 16 ? v16f_load(src + p) : v16f_mloadz(src + p, v16f_tailmask(left));
                __m512 hi =
                    left > 16 ? v16f_mloadz(src + p + 16, v16f_tailmask(left - 16)) : v16f_zero();
                const int64_t np = (left + 1) / 2;
                __m512i w = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
                _mm512_mask_storeu_epi32((void *)(d + q), (__mmask16)((1u << np) - 1u), w);
                q += np;
            }
        }
        for (; q < kp; q++) d[q] = 0;
    }
}

/* A with unit row stride (column r of a row-major x, a_cs apart between
 * K steps), pair by pair (word [q * mr + r], mr <= 16): pairs of K come
 * from two rows of x, contiguous in r. */
void fd_packa_t_bf16_avx512bf16(int64_t kc, int64_t kp, int64_t rows, const float *A, int64_t a_cs,
                                int mr, uint32_t *dst)
{
    const int64_t np = (kc + 1) / 2;
    const __mmask16 m = (__mmask16)((1u << rows) - 1u), st = (__mmask16)((1u << mr) - 1u);
    int64_t q;
    for (q = 0; q < np; q++) {
        const float *r0 = A + 2 * q * a_cs;
        __m512 x0 = v16f_mloadz(r0, m), x1 = v16f_zero();
        if (2 * q + 1 < kc) x1 = v16f_mloadz(r0 + a_cs, m);
        _mm512_mask_storeu_epi32((void *)(dst + q * mr), st, v16f_bf16_pairs(x0, x1));
    }
    for (; q < kp; q++)
        _mm512_mask_storeu_epi32((void *)(dst + q * mr), st, _mm512_setzero_si512());
}

/* B with unit row stride (an F-ordered W, or W^T in dx = dz W^T): column
 * l's pairs are adjacent floats; 32 of them -> 16 words, scattered down
 * the panel (word [q * nr + l]). */
void fd_packb_t_bf16_avx512bf16(int64_t kc, int64_t valid, const float *B, int64_t b_cs, int nr,
                                uint32_t *dst)
{
    const int64_t np = (kc + 1) / 2;
    const __m512i idx =
        _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                           _mm512_set1_epi32(nr));
    int64_t l, p, q;
    for (l = 0; l < valid; l++) {
        const float *src = B + l * b_cs;
        uint32_t *d = dst + l;
        for (p = 0, q = 0; p + 32 <= kc; p += 32, q += 16) {
            __m512bh h = _mm512_cvtne2ps_pbh(v16f_load(src + p + 16), v16f_load(src + p));
            _mm512_i32scatter_epi32((void *)(d + q * nr), idx, (__m512i)h, 4);
        }
        if (p < kc) {
            const int64_t left = kc - p, npr = (left + 1) / 2;
            __m512 lo = left >= 16 ? v16f_load(src + p) : v16f_mloadz(src + p, v16f_tailmask(left));
            __m512 hi =
                left > 16 ? v16f_mloadz(src + p + 16, v16f_tailmask(left - 16)) : v16f_zero();
            __m512i w = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
            _mm512_mask_i32scatter_epi32((void *)(d + q * nr), (__mmask16)((1u << npr) - 1u), idx,
                                         w, 4);
        }
    }
    for (q = 0; q < np; q++)
        for (l = valid; l < nr; l++) dst[q * nr + l] = 0;
}

/* Row-major B: pairs of rows -> one micro-panel (nr a multiple of 16). */
void fd_packb_bf16_avx512bf16(int64_t kc, int64_t valid, const float *B, int64_t b_rs, int nr,
                              uint32_t *dst)
{
    const int64_t np = (kc + 1) / 2;
    const int nv = nr / 16;
    int64_t q;
    int v;
    for (q = 0; q < np; q++) {
        const float *r0 = B + 2 * q * b_rs, *r1 = r0 + b_rs;
        const int two = 2 * q + 1 < kc;
        for (v = 0; v < nv; v++) {
            const int64_t left = valid - (int64_t)v * 16;
            __m512 x0 = v16f_zero(), x1 = v16f_zero();
            if (left >= 16) {
                x0 = v16f_load(r0 + v * 16);
                if (two) x1 = v16f_load(r1 + v * 16);
            } else if (left > 0) {
                const __mmask16 m = v16f_tailmask(left);
                x0 = v16f_mloadz(r0 + v * 16, m);
                if (two) x1 = v16f_mloadz(r1 + v * 16, m);
            }
            _mm512_storeu_si512((void *)(dst + q * nr + v * 16), v16f_bf16_pairs(x0, x1));
        }
    }
}

#else
FD_NO_SIMD_UNIT;
#endif
