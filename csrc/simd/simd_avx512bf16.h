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
    __m512i lo = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(r0));
    __m512i hi = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(r1));
    return _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16));
}

#endif /* FD_SIMD_AVX512BF16_H */
