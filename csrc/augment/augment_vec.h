/* Private to augment_avx2.c / augment_avx512.c: the vector bilinear sample
 * (gathers) that augment_simd_impl.h uses, for the unit's instruction set:
 * define AUG_AVX512 or AUG_AVX2 before including it.  AUG_W lanes;
 * aug_sample_vec(pad, S, fw, fh, x, y) computes fd_aug_sample1 for AUG_W
 * points at once with the same float32 operations (bit-identical). */
#ifndef FD_AUGMENT_VEC_H
#define FD_AUGMENT_VEC_H

#include <immintrin.h>

#include "common/fd_common.h"

#if defined(AUG_AVX512)
#define AUG_W 16
typedef __m512 aug_vf;

FD_INLINE aug_vf aug_load(const float *p)
{ return _mm512_loadu_ps(p); }
FD_INLINE void aug_store(float *p, aug_vf v)
{ _mm512_storeu_ps(p, v); }

FD_INLINE aug_vf aug_sample_vec(const float *pad, int32_t S, float fw, float fh, aug_vf x, aug_vf y)
{
    const __m512 m1 = _mm512_set1_ps(-1.0f), one = _mm512_set1_ps(1.0f);
    __mmask16 in = _mm512_cmp_ps_mask(x, m1, _CMP_GT_OQ) &
        _mm512_cmp_ps_mask(x, _mm512_set1_ps(fw), _CMP_LT_OQ) &
        _mm512_cmp_ps_mask(y, m1, _CMP_GT_OQ) &
        _mm512_cmp_ps_mask(y, _mm512_set1_ps(fh), _CMP_LT_OQ);
    __m512 xc = _mm512_mask_blend_ps(in, m1, x), yc = _mm512_mask_blend_ps(in, m1, y);
    __m512 x0 = _mm512_roundscale_ps(xc, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __m512 y0 = _mm512_roundscale_ps(yc, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __m512 fx = _mm512_sub_ps(xc, x0), fy = _mm512_sub_ps(yc, y0);
    __m512 gx = _mm512_sub_ps(one, fx), gy = _mm512_sub_ps(one, fy);
    __m512i vS = _mm512_set1_epi32(S), v1 = _mm512_set1_epi32(1);
    __m512i b =
        _mm512_add_epi32(_mm512_mullo_epi32(_mm512_add_epi32(_mm512_cvttps_epi32(y0), v1), vS),
                         _mm512_add_epi32(_mm512_cvttps_epi32(x0), v1));
    /* Horizontal neighbours are adjacent: gather them as one 64-bit pair
     * per pixel (half the gathered elements), then split even/odd floats. */
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, v1);
    __m256i blo = _mm512_castsi512_si256(b), bhi = _mm512_extracti32x8_epi32(b, 1);
    __m512 t0 = _mm512_castsi512_ps(_mm512_i32gather_epi64(blo, (const void *)pad, 4));
    __m512 t1 = _mm512_castsi512_ps(_mm512_i32gather_epi64(bhi, (const void *)pad, 4));
    __m512 u0 = _mm512_castsi512_ps(_mm512_i32gather_epi64(blo, (const void *)(pad + S), 4));
    __m512 u1 = _mm512_castsi512_ps(_mm512_i32gather_epi64(bhi, (const void *)(pad + S), 4));
    __m512 p00 = _mm512_permutex2var_ps(t0, even, t1), p01 = _mm512_permutex2var_ps(t0, odd, t1);
    __m512 p10 = _mm512_permutex2var_ps(u0, even, u1), p11 = _mm512_permutex2var_ps(u0, odd, u1);
    __m512 v0 = _mm512_add_ps(_mm512_mul_ps(p00, gx), _mm512_mul_ps(p01, fx));
    __m512 v1f = _mm512_add_ps(_mm512_mul_ps(p10, gx), _mm512_mul_ps(p11, fx));
    __m512 v = _mm512_add_ps(_mm512_mul_ps(v0, gy), _mm512_mul_ps(v1f, fy));
    return _mm512_maskz_mov_ps(in, v);
}

#elif defined(AUG_AVX2)
#define AUG_W 8
typedef __m256 aug_vf;

FD_INLINE aug_vf aug_load(const float *p)
{ return _mm256_loadu_ps(p); }
FD_INLINE void aug_store(float *p, aug_vf v)
{ _mm256_storeu_ps(p, v); }

FD_INLINE aug_vf aug_sample_vec(const float *pad, int32_t S, float fw, float fh, aug_vf x, aug_vf y)
{
    const __m256 m1 = _mm256_set1_ps(-1.0f), one = _mm256_set1_ps(1.0f);
    __m256 in = _mm256_and_ps(_mm256_and_ps(_mm256_cmp_ps(x, m1, _CMP_GT_OQ),
                                            _mm256_cmp_ps(x, _mm256_set1_ps(fw), _CMP_LT_OQ)),
                              _mm256_and_ps(_mm256_cmp_ps(y, m1, _CMP_GT_OQ),
                                            _mm256_cmp_ps(y, _mm256_set1_ps(fh), _CMP_LT_OQ)));
    __m256 xc = _mm256_blendv_ps(m1, x, in), yc = _mm256_blendv_ps(m1, y, in);
    __m256 x0 = _mm256_floor_ps(xc), y0 = _mm256_floor_ps(yc);
    __m256 fx = _mm256_sub_ps(xc, x0), fy = _mm256_sub_ps(yc, y0);
    __m256 gx = _mm256_sub_ps(one, fx), gy = _mm256_sub_ps(one, fy);
    __m256i vS = _mm256_set1_epi32(S), v1 = _mm256_set1_epi32(1);
    __m256i b =
        _mm256_add_epi32(_mm256_mullo_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(y0), v1), vS),
                         _mm256_add_epi32(_mm256_cvttps_epi32(x0), v1));
    __m256 p00 = _mm256_i32gather_ps(pad, b, 4);
    __m256 p01 = _mm256_i32gather_ps(pad + 1, b, 4);
    __m256 p10 = _mm256_i32gather_ps(pad + S, b, 4);
    __m256 p11 = _mm256_i32gather_ps(pad + S + 1, b, 4);
    __m256 v0 = _mm256_add_ps(_mm256_mul_ps(p00, gx), _mm256_mul_ps(p01, fx));
    __m256 v1f = _mm256_add_ps(_mm256_mul_ps(p10, gx), _mm256_mul_ps(p11, fx));
    __m256 v = _mm256_add_ps(_mm256_mul_ps(v0, gy), _mm256_mul_ps(v1f, fy));
    return _mm256_and_ps(v, in);
}
#endif

#endif
