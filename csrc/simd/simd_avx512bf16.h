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

typedef __m512i v16f_ivec;
typedef __m256i v8f_ivec;

FD_INLINE __m512i v16f_iload(const uint32_t *p)
{ return _mm512_loadu_si512((const void *)p); }
FD_INLINE __m512i v16f_ibcast(uint32_t w)
{ return _mm512_set1_epi32((int)w); }
FD_INLINE __m512 v16f_dpbf16(__m512 acc, __m512i a, __m512i b)
{ return _mm512_dpbf16_ps(acc, (__m512bh)a, (__m512bh)b); }

FD_INLINE __m256i v8f_iload(const uint32_t *p)
{ return _mm256_loadu_si256((const __m256i *)p); }
FD_INLINE __m256i v8f_ibcast(uint32_t w)
{ return _mm256_set1_epi32((int)w); }
FD_INLINE __m256 v8f_dpbf16(__m256 acc, __m256i a, __m256i b)
{ return _mm256_dpbf16_ps(acc, (__m256bh)a, (__m256bh)b); }

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
