/* AVX-512 (F/DQ/BW/VL) vector operations: the one vocabulary of every
 * AVX-512 kernel.  Private header: include only from files compiled with
 * AVX-512 flags (<kernel>_avx512.c) inside `#if FD_HAVE_X86_SIMD`.
 * Prefix v16f_ works on 16 floats, v8d_ on 8 doubles.  Same arithmetic as
 * simd/simd_avx2.h (only the lane count and the masks differ).
 */
#ifndef FD_SIMD_AVX512_H
#define FD_SIMD_AVX512_H

/* For common/fd_template.h: this unit's instruction set and, per dtype
 * suffix, the prefix of its vector operations (FD_SIMD_BYTES: byte vectors). */
#define FD_SIMD_ISA avx512
#define FD_SIMD_ISA_UP AVX512
#define FD_SIMD_VEC_f32 v16f
#define FD_SIMD_VEC_f64 v8d
#define FD_SIMD_BYTES v64b

#include <immintrin.h>

#include "common/fd_common.h"

/* ---- 16 x float --------------------------------------------------------- */
typedef __m512 v16f_vec;
typedef __mmask16 v16f_mask;
#define v16f_W 16

FD_INLINE __m512 v16f_load(const float *p)
{ return _mm512_loadu_ps(p); }
FD_INLINE void v16f_store(float *p, __m512 v)
{ _mm512_storeu_ps(p, v); }
FD_INLINE __m512 v16f_set1(float x)
{ return _mm512_set1_ps(x); }
FD_INLINE __m512 v16f_add(__m512 a, __m512 b)
{ return _mm512_add_ps(a, b); }
FD_INLINE __m512 v16f_sub(__m512 a, __m512 b)
{ return _mm512_sub_ps(a, b); }
FD_INLINE __m512 v16f_mul(__m512 a, __m512 b)
{ return _mm512_mul_ps(a, b); }
FD_INLINE __m512 v16f_div(__m512 a, __m512 b)
{ return _mm512_div_ps(a, b); }
FD_INLINE __m512 v16f_sqrt(__m512 a)
{ return _mm512_sqrt_ps(a); }
FD_INLINE __m512 v16f_max(__m512 a, __m512 b)
{ return _mm512_max_ps(a, b); }
FD_INLINE __m512 v16f_fmadd(__m512 a, __m512 b, __m512 c)
{ return _mm512_fmadd_ps(a, b, c); }
FD_INLINE __m512 v16f_fnmadd(__m512 a, __m512 b, __m512 c)
{ return _mm512_fnmadd_ps(a, b, c); }
FD_INLINE __m512 v16f_zero(void)
{ return _mm512_setzero_ps(); }
/* p 64-byte aligned */
FD_INLINE __m512 v16f_loada(const float *p)
{ return _mm512_load_ps(p); }
/* non-temporal store, p 64-byte aligned */
FD_INLINE void v16f_stream(float *p, __m512 v)
{ _mm512_stream_ps(p, v); }
/* 16 bytes at p -> 16 floats (exact) */
FD_INLINE __m512 v16f_load_u8(const uint8_t *p)
{ return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(p)))); }
/* lanes in k from p, zero elsewhere (nothing else is read) */
FD_INLINE __m512 v16f_mloadz(const float *p, __mmask16 k)
{ return _mm512_maskz_loadu_ps(k, p); }
FD_INLINE __m512 v16f_xor(__m512 a, __m512 b)
{ return _mm512_xor_ps(a, b); }
FD_INLINE __m512 v16f_abs(__m512 x)
{ return _mm512_abs_ps(x); }
/* the sign bit of x alone */
FD_INLINE __m512 v16f_signbit(__m512 x)
{ return _mm512_and_ps(_mm512_set1_ps(-0.0f), x); }
/* sign bit of s set ? a : b */
FD_INLINE __m512 v16f_sel_neg(__m512 s, __m512 a, __m512 b)
{ return _mm512_mask_blend_ps(_mm512_movepi32_mask(_mm512_castps_si512(s)), b, a); }
/* x < y ? a : b (false for NaN) */
FD_INLINE __m512 v16f_sel_lt(__m512 x, __m512 y, __m512 a, __m512 b)
{ return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, y, _CMP_LT_OQ), b, a); }

FD_INLINE __mmask16 v16f_tailmask(int64_t k) /* 0 < k < 16 */
{ return (__mmask16)((1u << k) - 1u); }
FD_INLINE __m512 v16f_mload(const float *p, __mmask16 k, __m512 fill)
{ return _mm512_mask_loadu_ps(fill, k, p); }
FD_INLINE void v16f_mstore(float *p, __mmask16 k, __m512 v)
{ _mm512_mask_storeu_ps(p, k, v); }
FD_INLINE __m512 v16f_mzero(__mmask16 k, __m512 v)
{ return _mm512_maskz_mov_ps(k, v); }

FD_INLINE float v16f_hmax(__m512 v)
{
    __m256 y = _mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 x = _mm_max_ps(_mm256_castps256_ps128(y), _mm256_extractf128_ps(y, 1));
    x = _mm_max_ps(x, _mm_movehl_ps(x, x));
    x = _mm_max_ss(x, _mm_shuffle_ps(x, x, 1));
    return _mm_cvtss_f32(x);
}
FD_INLINE float v16f_hsum(__m512 v)
{
    __m256 y = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(y), _mm256_extractf128_ps(y, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 1));
    return _mm_cvtss_f32(x);
}

/* exp(x) for x <= 0, NaN propagated: see v8f_exp_neg in simd/simd_avx2.h. */
FD_INLINE __m512 v16f_exp_neg(__m512 x)
{
    const __m512 lo = _mm512_set1_ps(-87.33f);
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    __m512 xc = _mm512_max_ps(lo, x);
    __m512 t = _mm512_fmadd_ps(xc, _mm512_set1_ps(1.44269504088896341f), magic);
    __m512 n = _mm512_sub_ps(t, magic);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), xc);
    __m512 p, z;
    __m512i e;
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    z = _mm512_mul_ps(r, r);
    p = _mm512_fmadd_ps(_mm512_set1_ps(1.9875691500e-4f), r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, z, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    e = _mm512_slli_epi32(
        _mm512_add_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(127 - 0x4B400000)), 23);
    p = _mm512_mul_ps(p, _mm512_castsi512_ps(e));
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, lo, _CMP_NLT_UQ), p);
}

/* ---- 8 x double --------------------------------------------------------- */
typedef __m512d v8d_vec;
typedef __mmask8 v8d_mask;
#define v8d_W 8

FD_INLINE __m512d v8d_load(const double *p)
{ return _mm512_loadu_pd(p); }
FD_INLINE void v8d_store(double *p, __m512d v)
{ _mm512_storeu_pd(p, v); }
FD_INLINE __m512d v8d_set1(double x)
{ return _mm512_set1_pd(x); }
FD_INLINE __m512d v8d_add(__m512d a, __m512d b)
{ return _mm512_add_pd(a, b); }
FD_INLINE __m512d v8d_sub(__m512d a, __m512d b)
{ return _mm512_sub_pd(a, b); }
FD_INLINE __m512d v8d_mul(__m512d a, __m512d b)
{ return _mm512_mul_pd(a, b); }
FD_INLINE __m512d v8d_div(__m512d a, __m512d b)
{ return _mm512_div_pd(a, b); }
FD_INLINE __m512d v8d_sqrt(__m512d a)
{ return _mm512_sqrt_pd(a); }
FD_INLINE __m512d v8d_max(__m512d a, __m512d b)
{ return _mm512_max_pd(a, b); }
FD_INLINE __m512d v8d_fmadd(__m512d a, __m512d b, __m512d c)
{ return _mm512_fmadd_pd(a, b, c); }
FD_INLINE __m512d v8d_fnmadd(__m512d a, __m512d b, __m512d c)
{ return _mm512_fnmadd_pd(a, b, c); }
FD_INLINE __m512d v8d_zero(void)
{ return _mm512_setzero_pd(); }
FD_INLINE __m512d v8d_loada(const double *p)
{ return _mm512_load_pd(p); }
FD_INLINE void v8d_stream(double *p, __m512d v)
{ _mm512_stream_pd(p, v); }
/* 8 bytes at p -> 8 doubles (exact) */
FD_INLINE __m512d v8d_load_u8(const uint8_t *p)
{ return _mm512_cvtepi32_pd(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p)))); }
FD_INLINE __m512d v8d_mloadz(const double *p, __mmask8 k)
{ return _mm512_maskz_loadu_pd(k, p); }
FD_INLINE __m512d v8d_xor(__m512d a, __m512d b)
{ return _mm512_xor_pd(a, b); }
FD_INLINE __m512d v8d_abs(__m512d x)
{ return _mm512_abs_pd(x); }
FD_INLINE __m512d v8d_signbit(__m512d x)
{ return _mm512_and_pd(_mm512_set1_pd(-0.0), x); }
FD_INLINE __m512d v8d_sel_neg(__m512d s, __m512d a, __m512d b)
{ return _mm512_mask_blend_pd(_mm512_movepi64_mask(_mm512_castpd_si512(s)), b, a); }
FD_INLINE __m512d v8d_sel_lt(__m512d x, __m512d y, __m512d a, __m512d b)
{ return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(x, y, _CMP_LT_OQ), b, a); }

FD_INLINE __mmask8 v8d_tailmask(int64_t k) /* 0 < k < 8 */
{ return (__mmask8)((1u << k) - 1u); }
FD_INLINE __m512d v8d_mload(const double *p, __mmask8 k, __m512d fill)
{ return _mm512_mask_loadu_pd(fill, k, p); }
FD_INLINE void v8d_mstore(double *p, __mmask8 k, __m512d v)
{ _mm512_mask_storeu_pd(p, k, v); }
FD_INLINE __m512d v8d_mzero(__mmask8 k, __m512d v)
{ return _mm512_maskz_mov_pd(k, v); }

FD_INLINE double v8d_hmax(__m512d v)
{
    __m256d y = _mm256_max_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
    __m128d x = _mm_max_pd(_mm256_castpd256_pd128(y), _mm256_extractf128_pd(y, 1));
    x = _mm_max_sd(x, _mm_unpackhi_pd(x, x));
    return _mm_cvtsd_f64(x);
}
FD_INLINE double v8d_hsum(__m512d v)
{
    __m256d y = _mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
    __m128d x = _mm_add_pd(_mm256_castpd256_pd128(y), _mm256_extractf128_pd(y, 1));
    x = _mm_add_sd(x, _mm_unpackhi_pd(x, x));
    return _mm_cvtsd_f64(x);
}

/* exp(x) for x <= 0, NaN propagated: see v4d_exp_neg in simd/simd_avx2.h. */
FD_INLINE __m512d v8d_exp_neg(__m512d x)
{
    const __m512d lo = _mm512_set1_pd(-708.39);
    const __m512d magic = _mm512_set1_pd(6755399441055744.0);
    __m512d xc = _mm512_max_pd(lo, x);
    __m512d t = _mm512_fmadd_pd(xc, _mm512_set1_pd(1.4426950408889634074), magic);
    __m512d n = _mm512_sub_pd(t, magic);
    __m512d r = _mm512_fnmadd_pd(n, _mm512_set1_pd(6.93147180369123816490e-01), xc);
    __m512d p;
    __m512i e;
    r = _mm512_fnmadd_pd(n, _mm512_set1_pd(1.90821492927058770002e-10), r);
    p = _mm512_set1_pd(1.0 / 479001600.0);
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0 / 39916800.0));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0 / 3628800.0));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0 / 362880.0));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0 / 40320.0));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0 / 5040.0));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0 / 720.0));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0 / 120.0));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0 / 24.0));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0 / 6.0));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(0.5));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0));
    e = _mm512_slli_epi64(
        _mm512_add_epi64(_mm512_castpd_si512(t),
                         _mm512_set1_epi64(1023 - (long long)0x4338000000000000LL)),
        52);
    p = _mm512_mul_pd(p, _mm512_castsi512_pd(e));
    return _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(x, lo, _CMP_NLT_UQ), p);
}

/* Bilinear sample of a zero-padded float image (row stride S, the pixel
 * (x, y) at pad[(y + 1) * S + x + 1]) at W points (x, y): 0 outside
 * (-1, fw) x (-1, fh); the same float32 operations in the same order as the
 * scalar fd_aug_sample1 (augment_internal.h), so results are bit-identical.
 * Gathers the four neighbours. */
FD_INLINE __m512 v16f_bilinear_pad(const float *pad, int32_t S, float fw, float fh, __m512 x,
                                   __m512 y)
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

/* ---- 64 x byte (IDX byte swaps) ----------------------------------------- */
typedef __m512i v64b_vec;
#define v64b_W 64

FD_INLINE __m512i v64b_load(const uint8_t *p)
{ return _mm512_loadu_si512((const void *)p); }
FD_INLINE void v64b_store(uint8_t *p, __m512i v)
{ _mm512_storeu_si512((void *)p, v); }
/* The same 16-byte pattern in every 128-bit lane (shuffle indices). */
FD_INLINE __m512i v64b_lane_pattern(const uint8_t pattern[16])
{ return _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)pattern)); }
/* r[i] = a[idx[i]] within each 128-bit lane (vpshufb). */
FD_INLINE __m512i v64b_shuffle(__m512i a, __m512i idx)
{ return _mm512_shuffle_epi8(a, idx); }

#endif /* FD_SIMD_AVX512_H */
