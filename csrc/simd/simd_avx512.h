/* AVX-512 (F/DQ/BW/VL) vector operations: the one vocabulary of every
 * AVX-512 kernel.  Private header: include only from files compiled with
 * AVX-512 flags (<kernel>_avx512.c) inside `#if FD_HAVE_X86_SIMD`.
 * Prefix v16f_ works on 16 floats, v8d_ on 8 doubles.  Same arithmetic as
 * simd/simd_avx2.h: the operations spelled alike are written once
 * (simd/simd_isa_impl.h); the lane count and the masks differ.
 */
#ifndef FD_SIMD_AVX512_H
#define FD_SIMD_AVX512_H

/* For common/fd_template.h: this unit's instruction set and, per dtype
 * suffix, the prefix of its vector operations (FD_SIMD_BYTES: byte vectors).
 * An AVX-512 unit may include simd_avx2.h first for the ymm operations:
 * this header, included last, names the unit. */
#undef FD_SIMD_ISA
#undef FD_SIMD_ISA_UP
#undef FD_SIMD_VEC_f32
#undef FD_SIMD_VEC_f64
#undef FD_SIMD_BYTES
#define FD_SIMD_ISA avx512
#define FD_SIMD_ISA_UP AVX512
#define FD_SIMD_VEC_f32 v16f
#define FD_SIMD_VEC_f64 v8d
#define FD_SIMD_BYTES v64b

#include <immintrin.h>
#include <string.h>

#include "common/fd_common.h"
#include "simd/simd_hreduce.h"

/* ---- 16 x float, 8 x double, 64 x byte ---------------------------------- */
typedef __m512 v16f_vec;
typedef __mmask16 v16f_mask;
#define v16f_W 16
typedef __m512d v8d_vec;
typedef __mmask8 v8d_mask;
#define v8d_W 8
typedef __m512i v64b_vec;
#define v64b_W 64

/* The operations spelled alike on every instruction set, written once
 * (simd_isa_impl.h), with the masked ones of simd_avx512_mask_impl.h. */
#define FD_V_MM _mm512
#define FD_V_MM_HALF _mm256
#define FD_V_SI si512
#define FD_V_BCAST128 _mm512_broadcast_i32x4
#define FD_SIMD_MASK_IMPL "simd/simd_avx512_mask_impl.h"
#include "simd/simd_isa_impl.h"

/* Bilinear sample of a zero-padded float image (row stride S, the pixel
 * (x, y) at pad[(y + 1) * S + x + 1]) at W points (x, y): 0 outside
 * (-1, fw) x (-1, fh); the same float32 operations in the same order as the
 * scalar fd_aug_sample1 (augment_internal.h), so results are bit-identical.
 * Gathers the four neighbours. */
FD_INLINE __m512 v16f_bilinear_pad(const float *pad, int32_t S, float fw, float fh, __m512 x,
                                   __m512 y)
{
    const __m512 m1 = _mm512_set1_ps(-1.0f);
    __mmask16 in = _mm512_cmp_ps_mask(x, m1, _CMP_GT_OQ) &
        _mm512_cmp_ps_mask(x, _mm512_set1_ps(fw), _CMP_LT_OQ) &
        _mm512_cmp_ps_mask(y, m1, _CMP_GT_OQ) &
        _mm512_cmp_ps_mask(y, _mm512_set1_ps(fh), _CMP_LT_OQ);
    __m512 xc = _mm512_mask_blend_ps(in, m1, x), yc = _mm512_mask_blend_ps(in, m1, y);
    __m512 x0 = _mm512_roundscale_ps(xc, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __m512 y0 = _mm512_roundscale_ps(yc, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __m512 fx = _mm512_sub_ps(xc, x0), fy = _mm512_sub_ps(yc, y0);
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
    return _mm512_maskz_mov_ps(in, v16f_bilerp(p00, p01, p10, p11, fx, fy));
}

/* 16 x 16 transpose of 32-bit words (floats or bf16 pairs): r[i] word c
 * -> r[c] word i (unpack within 128-bit lanes, then a 4 x 4 transpose of
 * the lanes). */
FD_INLINE void v16i_transpose16(__m512i r[16])
{
    __m512i t[16], u[16];
    int i, j;
    for (i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    /* u[4g + j], lane L: words 4L + j of rows 4g .. 4g + 3 */
    for (i = 0; i < 4; i++) {
        u[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    for (j = 0; j < 4; j++) {
        const __m512i s0 = _mm512_shuffle_i32x4(u[j], u[4 + j], _MM_SHUFFLE(1, 0, 1, 0));
        const __m512i s1 = _mm512_shuffle_i32x4(u[j], u[4 + j], _MM_SHUFFLE(3, 2, 3, 2));
        const __m512i s2 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], _MM_SHUFFLE(1, 0, 1, 0));
        const __m512i s3 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], _MM_SHUFFLE(3, 2, 3, 2));
        r[j] = _mm512_shuffle_i32x4(s0, s2, _MM_SHUFFLE(2, 0, 2, 0));
        r[4 + j] = _mm512_shuffle_i32x4(s0, s2, _MM_SHUFFLE(3, 1, 3, 1));
        r[8 + j] = _mm512_shuffle_i32x4(s1, s3, _MM_SHUFFLE(2, 0, 2, 0));
        r[12 + j] = _mm512_shuffle_i32x4(s1, s3, _MM_SHUFFLE(3, 1, 3, 1));
    }
}

/* Lane j of four rows r[0..3] (16 floats each) interleaved: z[L] holds
 * lanes 4L .. 4L + 3 of the rows, each lane's four in row order (z[L]
 * word 4p + g = r[g] word 4L + p).  Unpacks within 128-bit lanes, then a
 * 4 x 4 transpose of the lanes. */
FD_INLINE void v16f_interleave4(const __m512 r[4], __m512 z[4])
{
    const __m512 t0 = _mm512_unpacklo_ps(r[0], r[1]), t1 = _mm512_unpackhi_ps(r[0], r[1]);
    const __m512 t2 = _mm512_unpacklo_ps(r[2], r[3]), t3 = _mm512_unpackhi_ps(r[2], r[3]);
    /* u_p, lane L: lane 4L + p of the four rows */
    const __m512 u0 =
        _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t0), _mm512_castps_pd(t2)));
    const __m512 u1 =
        _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t0), _mm512_castps_pd(t2)));
    const __m512 u2 =
        _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t1), _mm512_castps_pd(t3)));
    const __m512 u3 =
        _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t1), _mm512_castps_pd(t3)));
    const __m512 a = _mm512_shuffle_f32x4(u0, u1, _MM_SHUFFLE(1, 0, 1, 0));
    const __m512 b = _mm512_shuffle_f32x4(u2, u3, _MM_SHUFFLE(1, 0, 1, 0));
    const __m512 c = _mm512_shuffle_f32x4(u0, u1, _MM_SHUFFLE(3, 2, 3, 2));
    const __m512 d = _mm512_shuffle_f32x4(u2, u3, _MM_SHUFFLE(3, 2, 3, 2));
    z[0] = _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(2, 0, 2, 0));
    z[1] = _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 1, 3, 1));
    z[2] = _mm512_shuffle_f32x4(c, d, _MM_SHUFFLE(2, 0, 2, 0));
    z[3] = _mm512_shuffle_f32x4(c, d, _MM_SHUFFLE(3, 1, 3, 1));
}

#endif /* FD_SIMD_AVX512_H */
