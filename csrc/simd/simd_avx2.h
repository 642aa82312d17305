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
#include "simd/simd_hreduce.h"

/* ---- 8 x float, 4 x double, 32 x byte ---------------------------------- */
typedef __m256 v8f_vec;
typedef __m256i v8f_mask;
#define v8f_W 8
typedef __m256d v4d_vec;
typedef __m256i v4d_mask;
#define v4d_W 4
typedef __m256i v32b_vec;
#define v32b_W 32

/* The operations spelled alike on every instruction set, written once
 * (simd_isa_impl.h), with the masked ones of simd_avx2_mask_impl.h. */
#define FD_V_MM _mm256
#define FD_V_MM_HALF _mm
#define FD_V_SI si256
#define FD_V_BCAST128 _mm256_broadcastsi128_si256
#define FD_SIMD_MASK_IMPL "simd/simd_avx2_mask_impl.h"
#include "simd/simd_isa_impl.h"

/* The 4 x 4 transposes, within each 128-bit lane, of rows r0..r3:
 * u[i] holds column i of the low lanes, then column i + 4 of the high
 * ones (r0[i], r1[i], r2[i], r3[i] | r0[i + 4], ..., r3[i + 4]). */
FD_INLINE void v8f_transpose4_lanes(__m256 r0, __m256 r1, __m256 r2, __m256 r3, __m256 u[4])
{
    const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    u[0] = _mm256_shuffle_ps(t0, t2, 0x44);
    u[1] = _mm256_shuffle_ps(t0, t2, 0xEE);
    u[2] = _mm256_shuffle_ps(t1, t3, 0x44);
    u[3] = _mm256_shuffle_ps(t1, t3, 0xEE);
}

/* Transposes the 8 x 8 block of rows r[0..7] in place (r[i][j] <-> r[j][i]). */
FD_INLINE void v8f_transpose8(__m256 r[8])
{
    __m256 u[4], v[4];
    int i;
    v8f_transpose4_lanes(r[0], r[1], r[2], r[3], u);
    v8f_transpose4_lanes(r[4], r[5], r[6], r[7], v);
    for (i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], v[i], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(u[i], v[i], 0x31);
    }
}

/* The columns of the 4 x 8 block of rows r[0..3] as q[0..7]: q[i] holds
 * r[0][i], r[1][i], r[2][i], r[3][i]. */
FD_INLINE void v8f_interleave4(const __m256 r[4], __m128 q[8])
{
    __m256 u[4];
    int i;
    v8f_transpose4_lanes(r[0], r[1], r[2], r[3], u);
    for (i = 0; i < 4; i++) {
        q[i] = _mm256_castps256_ps128(u[i]);
        q[i + 4] = _mm256_extractf128_ps(u[i], 1);
    }
}

/* Bilinear sample of a zero-padded float image (row stride S, the pixel
 * (x, y) at pad[(y + 1) * S + x + 1]) at W points (x, y): 0 outside
 * (-1, fw) x (-1, fh); the same float32 operations in the same order as the
 * scalar fd_aug_sample1 (augment_internal.h), so results are bit-identical.
 * Gathers the four neighbours. */
FD_INLINE __m256 v8f_bilinear_pad(const float *pad, int32_t S, float fw, float fh, __m256 x,
                                  __m256 y)
{
    const __m256 m1 = _mm256_set1_ps(-1.0f);
    __m256 in = _mm256_and_ps(_mm256_and_ps(_mm256_cmp_ps(x, m1, _CMP_GT_OQ),
                                            _mm256_cmp_ps(x, _mm256_set1_ps(fw), _CMP_LT_OQ)),
                              _mm256_and_ps(_mm256_cmp_ps(y, m1, _CMP_GT_OQ),
                                            _mm256_cmp_ps(y, _mm256_set1_ps(fh), _CMP_LT_OQ)));
    __m256 xc = _mm256_blendv_ps(m1, x, in), yc = _mm256_blendv_ps(m1, y, in);
    __m256 x0 = _mm256_floor_ps(xc), y0 = _mm256_floor_ps(yc);
    __m256 fx = _mm256_sub_ps(xc, x0), fy = _mm256_sub_ps(yc, y0);
    __m256i vS = _mm256_set1_epi32(S), v1 = _mm256_set1_epi32(1);
    __m256i b =
        _mm256_add_epi32(_mm256_mullo_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(y0), v1), vS),
                         _mm256_add_epi32(_mm256_cvttps_epi32(x0), v1));
    __m256 p00 = _mm256_i32gather_ps(pad, b, 4);
    __m256 p01 = _mm256_i32gather_ps(pad + 1, b, 4);
    __m256 p10 = _mm256_i32gather_ps(pad + S, b, 4);
    __m256 p11 = _mm256_i32gather_ps(pad + S + 1, b, 4);
    return _mm256_and_ps(v8f_bilerp(p00, p01, p10, p11, fx, fy), in);
}

/* 32 x 32 -> 64-bit products of 8 uint32 lanes by m (the same value in
 * every lane), their high and low halves in lane order: vpmuludq takes the
 * even lanes, so the odd ones are shifted down for a second product and the
 * halves blended back (no cross-lane shuffles). */
FD_INLINE void v8u_mulhilo(__m256i a, __m256i m, __m256i *hi, __m256i *lo)
{
    __m256i pe = _mm256_mul_epu32(a, m);
    __m256i po = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
    *lo = _mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA);
    *hi = _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA);
}

#endif /* FD_SIMD_AVX2_H */
