/* AVX2 + FMA vector operations: the one vocabulary of every AVX2 kernel.
 *
 * Private header: include only from files compiled with AVX2 flags
 * (<kernel>_avx2.c) and inside `#if FD_HAVE_X86_SIMD`.
 * Prefix v8f_ works on 8 floats, v4d_ on 4 doubles; the kernel templates
 * pick one with their VP(name) macro.  Masks select the first k lanes so
 * tails are read and written exactly, never out of bounds.
 */
#ifndef FD_SIMD_AVX2_H
#define FD_SIMD_AVX2_H

/* For common/fd_template.h: this unit's instruction set and, per dtype
 * suffix, the prefix of its vector operations (FD_SIMD_BYTES: byte vectors). */
#define FD_SIMD_ISA avx2
#define FD_SIMD_ISA_UP AVX2
#define FD_SIMD_VEC_f32 v8f
#define FD_SIMD_VEC_f64 v4d
#define FD_SIMD_BYTES v32b

#include <immintrin.h>
#include <string.h>

#include "common/fd_common.h"

/* ---- 8 x float ---------------------------------------------------------- */
typedef __m256 v8f_vec;
typedef __m256i v8f_mask;
#define v8f_W 8

FD_INLINE __m256 v8f_load(const float *p)
{ return _mm256_loadu_ps(p); }
FD_INLINE void v8f_store(float *p, __m256 v)
{ _mm256_storeu_ps(p, v); }
FD_INLINE __m256 v8f_set1(float x)
{ return _mm256_set1_ps(x); }
FD_INLINE __m256 v8f_add(__m256 a, __m256 b)
{ return _mm256_add_ps(a, b); }
FD_INLINE __m256 v8f_sub(__m256 a, __m256 b)
{ return _mm256_sub_ps(a, b); }
FD_INLINE __m256 v8f_mul(__m256 a, __m256 b)
{ return _mm256_mul_ps(a, b); }
FD_INLINE __m256 v8f_div(__m256 a, __m256 b)
{ return _mm256_div_ps(a, b); }
FD_INLINE __m256 v8f_sqrt(__m256 a)
{ return _mm256_sqrt_ps(a); }
/* max(a, b); a NaN in b is returned (MAXPS returns its second operand). */
FD_INLINE __m256 v8f_max(__m256 a, __m256 b)
{ return _mm256_max_ps(a, b); }
FD_INLINE __m256 v8f_fmadd(__m256 a, __m256 b, __m256 c)
{ return _mm256_fmadd_ps(a, b, c); }
FD_INLINE __m256 v8f_fnmadd(__m256 a, __m256 b, __m256 c)
{ return _mm256_fnmadd_ps(a, b, c); }
FD_INLINE __m256 v8f_zero(void)
{ return _mm256_setzero_ps(); }
/* p 32-byte aligned */
FD_INLINE __m256 v8f_loada(const float *p)
{ return _mm256_load_ps(p); }
/* non-temporal store, p 32-byte aligned */
FD_INLINE void v8f_stream(float *p, __m256 v)
{ _mm256_stream_ps(p, v); }
/* 8 bytes at p -> 8 floats (exact) */
FD_INLINE __m256 v8f_load_u8(const uint8_t *p)
{ return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p)))); }
FD_INLINE __m256 v8f_xor(__m256 a, __m256 b)
{ return _mm256_xor_ps(a, b); }
FD_INLINE __m256 v8f_abs(__m256 x)
{ return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x); }
/* the sign bit of x alone */
FD_INLINE __m256 v8f_signbit(__m256 x)
{ return _mm256_and_ps(_mm256_set1_ps(-0.0f), x); }
/* sign bit of s set ? a : b */
FD_INLINE __m256 v8f_sel_neg(__m256 s, __m256 a, __m256 b)
{ return _mm256_blendv_ps(b, a, s); }
/* x < y ? a : b (false for NaN) */
FD_INLINE __m256 v8f_sel_lt(__m256 x, __m256 y, __m256 a, __m256 b)
{ return _mm256_blendv_ps(b, a, _mm256_cmp_ps(x, y, _CMP_LT_OQ)); }

FD_INLINE __m256i v8f_tailmask(int64_t k) /* 0 < k < 8 */
{ return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); }
FD_INLINE __m256 v8f_mload(const float *p, __m256i k, __m256 fill)
{ return _mm256_blendv_ps(fill, _mm256_maskload_ps(p, k), _mm256_castsi256_ps(k)); }
FD_INLINE void v8f_mstore(float *p, __m256i k, __m256 v)
{ _mm256_maskstore_ps(p, k, v); }
FD_INLINE __m256 v8f_mzero(__m256i k, __m256 v)
{ return _mm256_and_ps(_mm256_castsi256_ps(k), v); }

FD_INLINE float v8f_hmax(__m256 v)
{
    __m128 x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_max_ps(x, _mm_movehl_ps(x, x));
    x = _mm_max_ss(x, _mm_shuffle_ps(x, x, 1));
    return _mm_cvtss_f32(x);
}
FD_INLINE float v8f_hsum(__m256 v)
{
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 1));
    return _mm_cvtss_f32(x);
}

/* exp(x) for x <= 0 (x = logit - row max), NaN propagated.  Cody-Waite
 * reduction x = n ln2 + r, |r| <= ln2/2, Cephes degree-6 polynomial (~1 ulp),
 * 2^n built in the exponent bits; results below FLT_MIN flush to 0. */
FD_INLINE __m256 v8f_exp_neg(__m256 x)
{
    const __m256 lo = _mm256_set1_ps(-87.33f);
    const __m256 magic = _mm256_set1_ps(12582912.0f); /* 1.5 * 2^23 */
    __m256 xc = _mm256_max_ps(lo, x); /* NaN stays NaN */
    __m256 t = _mm256_fmadd_ps(xc, _mm256_set1_ps(1.44269504088896341f), magic);
    __m256 n = _mm256_sub_ps(t, magic);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), xc);
    __m256 p, z;
    __m256i e;
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    z = _mm256_mul_ps(r, r);
    p = _mm256_fmadd_ps(_mm256_set1_ps(1.9875691500e-4f), r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, z, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    /* bits(t) = bits(magic) + n, so 2^n = (bits(t) - bits(magic) + 127) << 23 */
    e = _mm256_slli_epi32(
        _mm256_add_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(127 - 0x4B400000)), 23);
    p = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
    return _mm256_andnot_ps(_mm256_cmp_ps(x, lo, _CMP_LT_OQ), p);
}

/* Transposes the 8 x 8 block of rows r[0..7] in place (r[i][j] <-> r[j][i]). */
FD_INLINE void v8f_transpose8(__m256 r[8])
{
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* ---- 4 x double --------------------------------------------------------- */
typedef __m256d v4d_vec;
typedef __m256i v4d_mask;
#define v4d_W 4

FD_INLINE __m256d v4d_load(const double *p)
{ return _mm256_loadu_pd(p); }
FD_INLINE void v4d_store(double *p, __m256d v)
{ _mm256_storeu_pd(p, v); }
FD_INLINE __m256d v4d_set1(double x)
{ return _mm256_set1_pd(x); }
FD_INLINE __m256d v4d_add(__m256d a, __m256d b)
{ return _mm256_add_pd(a, b); }
FD_INLINE __m256d v4d_sub(__m256d a, __m256d b)
{ return _mm256_sub_pd(a, b); }
FD_INLINE __m256d v4d_mul(__m256d a, __m256d b)
{ return _mm256_mul_pd(a, b); }
FD_INLINE __m256d v4d_div(__m256d a, __m256d b)
{ return _mm256_div_pd(a, b); }
FD_INLINE __m256d v4d_sqrt(__m256d a)
{ return _mm256_sqrt_pd(a); }
FD_INLINE __m256d v4d_max(__m256d a, __m256d b)
{ return _mm256_max_pd(a, b); }
FD_INLINE __m256d v4d_fmadd(__m256d a, __m256d b, __m256d c)
{ return _mm256_fmadd_pd(a, b, c); }
FD_INLINE __m256d v4d_fnmadd(__m256d a, __m256d b, __m256d c)
{ return _mm256_fnmadd_pd(a, b, c); }
FD_INLINE __m256d v4d_zero(void)
{ return _mm256_setzero_pd(); }
FD_INLINE __m256d v4d_loada(const double *p)
{ return _mm256_load_pd(p); }
FD_INLINE void v4d_stream(double *p, __m256d v)
{ _mm256_stream_pd(p, v); }
/* 4 bytes at p -> 4 doubles (exact); reads exactly 4 bytes */
FD_INLINE __m256d v4d_load_u8(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_cvtepi32_pd(_mm_cvtepu8_epi32(_mm_cvtsi32_si128(v)));
}
FD_INLINE __m256d v4d_xor(__m256d a, __m256d b)
{ return _mm256_xor_pd(a, b); }
FD_INLINE __m256d v4d_abs(__m256d x)
{ return _mm256_andnot_pd(_mm256_set1_pd(-0.0), x); }
FD_INLINE __m256d v4d_signbit(__m256d x)
{ return _mm256_and_pd(_mm256_set1_pd(-0.0), x); }
FD_INLINE __m256d v4d_sel_neg(__m256d s, __m256d a, __m256d b)
{ return _mm256_blendv_pd(b, a, s); }
FD_INLINE __m256d v4d_sel_lt(__m256d x, __m256d y, __m256d a, __m256d b)
{ return _mm256_blendv_pd(b, a, _mm256_cmp_pd(x, y, _CMP_LT_OQ)); }

FD_INLINE __m256i v4d_tailmask(int64_t k) /* 0 < k < 4 */
{ return _mm256_cmpgt_epi64(_mm256_set1_epi64x(k), _mm256_setr_epi64x(0, 1, 2, 3)); }
FD_INLINE __m256d v4d_mload(const double *p, __m256i k, __m256d fill)
{ return _mm256_blendv_pd(fill, _mm256_maskload_pd(p, k), _mm256_castsi256_pd(k)); }
FD_INLINE void v4d_mstore(double *p, __m256i k, __m256d v)
{ _mm256_maskstore_pd(p, k, v); }
FD_INLINE __m256d v4d_mzero(__m256i k, __m256d v)
{ return _mm256_and_pd(_mm256_castsi256_pd(k), v); }

FD_INLINE double v4d_hmax(__m256d v)
{
    __m128d x = _mm_max_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    x = _mm_max_sd(x, _mm_unpackhi_pd(x, x));
    return _mm_cvtsd_f64(x);
}
FD_INLINE double v4d_hsum(__m256d v)
{
    __m128d x = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    x = _mm_add_sd(x, _mm_unpackhi_pd(x, x));
    return _mm_cvtsd_f64(x);
}

/* exp(x) for x <= 0, NaN propagated: reduction as above with the fdlibm
 * ln2 split, degree-12 Taylor polynomial (truncation < 2e-16 on
 * |r| <= ln2/2); results below DBL_MIN flush to 0. */
FD_INLINE __m256d v4d_exp_neg(__m256d x)
{
    const __m256d lo = _mm256_set1_pd(-708.39);
    const __m256d magic = _mm256_set1_pd(6755399441055744.0); /* 1.5 * 2^52 */
    __m256d xc = _mm256_max_pd(lo, x);
    __m256d t = _mm256_fmadd_pd(xc, _mm256_set1_pd(1.4426950408889634074), magic);
    __m256d n = _mm256_sub_pd(t, magic);
    __m256d r = _mm256_fnmadd_pd(n, _mm256_set1_pd(6.93147180369123816490e-01), xc);
    __m256d p;
    __m256i e;
    r = _mm256_fnmadd_pd(n, _mm256_set1_pd(1.90821492927058770002e-10), r);
    p = _mm256_set1_pd(1.0 / 479001600.0);
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 39916800.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 3628800.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 362880.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 40320.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 5040.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 720.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 120.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 24.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 6.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(0.5));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0));
    e = _mm256_slli_epi64(
        _mm256_add_epi64(_mm256_castpd_si256(t),
                         _mm256_set1_epi64x(1023 - (long long)0x4338000000000000LL)),
        52);
    p = _mm256_mul_pd(p, _mm256_castsi256_pd(e));
    return _mm256_andnot_pd(_mm256_cmp_pd(x, lo, _CMP_LT_OQ), p);
}

/* Bilinear sample of a zero-padded float image (row stride S, the pixel
 * (x, y) at pad[(y + 1) * S + x + 1]) at W points (x, y): 0 outside
 * (-1, fw) x (-1, fh); the same float32 operations in the same order as the
 * scalar fd_aug_sample1 (augment_internal.h), so results are bit-identical.
 * Gathers the four neighbours. */
FD_INLINE __m256 v8f_bilinear_pad(const float *pad, int32_t S, float fw, float fh, __m256 x,
                                  __m256 y)
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

/* ---- 32 x byte (IDX byte swaps) ----------------------------------------- */
typedef __m256i v32b_vec;
#define v32b_W 32

FD_INLINE __m256i v32b_load(const uint8_t *p)
{ return _mm256_loadu_si256((const __m256i *)p); }
FD_INLINE void v32b_store(uint8_t *p, __m256i v)
{ _mm256_storeu_si256((__m256i *)p, v); }
/* The same 16-byte pattern in every 128-bit lane (shuffle indices). */
FD_INLINE __m256i v32b_lane_pattern(const uint8_t pattern[16])
{ return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)pattern)); }
/* r[i] = a[idx[i]] within each 128-bit lane (vpshufb). */
FD_INLINE __m256i v32b_shuffle(__m256i a, __m256i idx)
{ return _mm256_shuffle_epi8(a, idx); }

#endif /* FD_SIMD_AVX2_H */
