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
#include "gemm/gemm_bf16_simd_impl.h"
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
#include "gemm/gemm_bf16_simd_impl.h"
#undef VP
#undef MR
#undef NV
#undef NAME
#undef ACT_ROWS

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
