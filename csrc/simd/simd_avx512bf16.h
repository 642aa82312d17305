/* AVX512_BF16 vocabulary: bf16 pair dot products into float32 lanes, for
 * the zmm (v16f_) and ymm (v8f_, AVX512VL) vectors of simd_avx512.h and
 * simd_avx2.h.  A 32-bit word holds two bf16 (k = 2q low, 2q + 1 high);
 * dpbf16(acc, a, b) adds a.lo * b.lo + a.hi * b.hi to each float lane.
 * Private header: include only from files compiled with -mavx512bf16.
 */
#ifndef FD_SIMD_AVX512BF16_H
#define FD_SIMD_AVX512BF16_H

#include <immintrin.h>

#include "common/fd_common.h"

/* v16f_ and v8f_ iload (a vector of words), ibcast (one word in every lane)
 * and dpbf16 */
#define FD_V v16f
#define FD_V_BITS 512
#include "simd/simd_bf16_impl.h"
#define FD_V v8f
#define FD_V_BITS 256
#include "simd/simd_bf16_impl.h"

/* 16 floats of row r0 and of row r1 -> 16 words (bf16(r0) | bf16(r1) << 16),
 * round to nearest even (vcvtneps2bf16: NaN stays NaN; denormal inputs are
 * flushed to zero, as vdpbf16ps treats denormal bf16 anyway). */
FD_INLINE __m512i v16f_bf16_pairs(__m512 r0, __m512 r1)
{
    /* one vcvtne2ps2bf16 (bf16 words 0-15 from r0, 16-31 from r1: the same
     * rounding as vcvtneps2bf16) and one vpermw interleaving them */
    static const uint16_t inter[32] = {0,  16, 1,  17, 2,  18, 3,  19, 4,  20, 5,
                                       21, 6,  22, 7,  23, 8,  24, 9,  25, 10, 26,
                                       11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
    return _mm512_permutexvar_epi16(_mm512_loadu_si512((const void *)inter),
                                    (__m512i)_mm512_cvtne2ps_pbh(r1, r0));
}

#endif /* FD_SIMD_AVX512BF16_H */
