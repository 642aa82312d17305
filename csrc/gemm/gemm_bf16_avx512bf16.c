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

#define VP(name) v16f_##name
#define MR FD_GEMM_BF16_AVX512_MR
#define NV (FD_GEMM_BF16_AVX512_NR / 16)
#define NAME fd_ukr_bf16_avx512bf16_zmm
#define ACT_ROWS fd_act_rows_avx512_f32
#define A_ROWS FD_GEMM_BF16_AVX512_A_ROWS
#include "gemm/gemm_bf16_simd_impl.h"
#undef A_ROWS
#undef VP
#undef MR
#undef NV
#undef NAME
#undef ACT_ROWS

#define VP(name) v8f_##name
#define MR FD_GEMM_BF16_AVX512_YMM_MR
#define NV (FD_GEMM_BF16_AVX512_NR / 8)
#define NAME fd_ukr_bf16_avx512bf16_ymm
#define ACT_ROWS fd_act_rows_avx512_f32
#define A_ROWS FD_GEMM_BF16_AVX512_A_ROWS
#include "gemm/gemm_bf16_simd_impl.h"
#undef A_ROWS
#undef VP
#undef MR
#undef NV
#undef NAME
#undef ACT_ROWS

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
