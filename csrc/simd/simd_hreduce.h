/* Horizontal max and sum of a 256-bit float vector, the last steps of
 * every x86 path's hmax / hsum: simd_avx2.h calls them on its vectors,
 * simd_avx512.h on the two halves of its vectors folded into one.
 * Private header: include only from files compiled with AVX2 flags or more. */
#ifndef FD_SIMD_HREDUCE_H
#define FD_SIMD_HREDUCE_H

#include <immintrin.h>

#include "common/fd_common.h"

FD_INLINE float fd_hmax256_ps(__m256 v)
{
    __m128 x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_max_ps(x, _mm_movehl_ps(x, x));
    x = _mm_max_ss(x, _mm_shuffle_ps(x, x, 1));
    return _mm_cvtss_f32(x);
}
FD_INLINE float fd_hsum256_ps(__m256 v)
{
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 1));
    return _mm_cvtss_f32(x);
}

FD_INLINE double fd_hmax256_pd(__m256d v)
{
    __m128d x = _mm_max_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    x = _mm_max_sd(x, _mm_unpackhi_pd(x, x));
    return _mm_cvtsd_f64(x);
}
FD_INLINE double fd_hsum256_pd(__m256d v)
{
    __m128d x = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    x = _mm_add_sd(x, _mm_unpackhi_pd(x, x));
    return _mm_cvtsd_f64(x);
}

#endif /* FD_SIMD_HREDUCE_H */
