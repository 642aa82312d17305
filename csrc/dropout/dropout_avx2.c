/* AVX2 range workers for dropout (built with -mavx2 -mfma): the portable
 * body, vectorised by the compiler for this instruction set. */
#include "dropout/dropout_internal.h"

#if FD_HAVE_X86_SIMD
#include "simd/simd_avx2.h"

/* Ten Philox-4x32 rounds over the FD_DROP_LANES counters, two groups of 8
 * lanes kept in registers for all rounds.  The portable loop, vectorised by
 * gcc for AVX2, stored the words every round and built each 64-bit product
 * with cross-lane shuffles: slower than its SSE2 build (Zen 3). */
static void fd_drop_philox10_avx2(uint32_t *a0, uint32_t *a1, uint32_t *a2, uint32_t *a3,
                                  uint64_t k0, uint64_t k1)
{
    const __m256i m0 = _mm256_set1_epi32((int)0xD2511F53u);
    const __m256i m1 = _mm256_set1_epi32((int)0xCD9E8D57u);
    __m256i x0[2], x1[2], x2[2], x3[2];
    uint32_t key0 = (uint32_t)k0, key1 = (uint32_t)k1;
    int g, round;
    for (g = 0; g < 2; g++) {
        x0[g] = _mm256_loadu_si256((const __m256i *)(a0 + 8 * g));
        x1[g] = _mm256_loadu_si256((const __m256i *)(a1 + 8 * g));
        x2[g] = _mm256_loadu_si256((const __m256i *)(a2 + 8 * g));
        x3[g] = _mm256_loadu_si256((const __m256i *)(a3 + 8 * g));
    }
    for (round = 0; round < 10; round++) {
        const __m256i vk0 = _mm256_set1_epi32((int)key0), vk1 = _mm256_set1_epi32((int)key1);
        for (g = 0; g < 2; g++) {
            __m256i hi0, lo0, hi1, lo1;
            v8u_mulhilo(x0[g], m0, &hi0, &lo0);
            v8u_mulhilo(x2[g], m1, &hi1, &lo1);
            x0[g] = _mm256_xor_si256(_mm256_xor_si256(hi1, x1[g]), vk0);
            x2[g] = _mm256_xor_si256(_mm256_xor_si256(hi0, x3[g]), vk1);
            x1[g] = lo1;
            x3[g] = lo0;
        }
        key0 += 0x9E3779B9u;
        key1 += 0xBB67AE85u;
    }
    for (g = 0; g < 2; g++) {
        _mm256_storeu_si256((__m256i *)(a0 + 8 * g), x0[g]);
        _mm256_storeu_si256((__m256i *)(a1 + 8 * g), x1[g]);
        _mm256_storeu_si256((__m256i *)(a2 + 8 * g), x2[g]);
        _mm256_storeu_si256((__m256i *)(a3 + 8 * g), x3[g]);
    }
}
#define FD_DROP_ROUNDS fd_drop_philox10_avx2

#define FD_TEMPLATE "dropout/dropout_simd_impl.h"
#include "common/fd_template.h"
#else
FD_NO_SIMD_UNIT;
#endif
