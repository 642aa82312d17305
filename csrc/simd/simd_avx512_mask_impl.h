/* The AVX-512 operations of one float vector type (v16f_, v8d_) whose
 * intrinsics are not spelled alike on AVX2: lane masks (__mmask16 /
 * __mmask8, the first k lanes) and blends.  Included by simd/simd_vec_impl.h
 * (FD_SIMD_MASK_IMPL of simd_avx512.h), which defines FD_VN, FD_VT, FD_MM
 * and the FD_V* macros.  No include guard. */

FD_INLINE FD_VN(mask) FD_VN(tailmask)(int64_t k) /* 0 < k < W */
{ return (FD_VN(mask))((1u << k) - 1u); }
FD_INLINE FD_VT FD_VN(mload)(const FD_V_S *p, FD_VN(mask) k, FD_VT fill)
{ return FD_MM(mask_loadu)(fill, k, p); }
/* lanes in k from p, zero elsewhere (nothing else is read) */
FD_INLINE FD_VT FD_VN(mloadz)(const FD_V_S *p, FD_VN(mask) k)
{ return FD_MM(maskz_loadu)(k, p); }
FD_INLINE void FD_VN(mstore)(FD_V_S *p, FD_VN(mask) k, FD_VT v)
{ FD_MM(mask_storeu)(p, k, v); }
FD_INLINE FD_VT FD_VN(mzero)(FD_VN(mask) k, FD_VT v)
{ return FD_MM(maskz_mov)(k, v); }
/* bit i set where lane i of a != lane i of b (or either is NaN) */
FD_INLINE unsigned FD_VN(neq_bits)(FD_VT a, FD_VT b)
{ return (unsigned)FD_PASTE2(FD_MM(cmp), mask)(a, b, _CMP_NEQ_UQ); }
FD_INLINE FD_VT FD_VN(abs)(FD_VT x)
{ return FD_MM(abs)(x); }
/* sign bit of s set ? a : b */
FD_INLINE FD_VT FD_VN(sel_neg)(FD_VT s, FD_VT a, FD_VT b)
{
#if FD_V_F64
    return FD_MM(mask_blend)(_mm512_movepi64_mask(_mm512_castpd_si512(s)), b, a);
#else
    return FD_MM(mask_blend)(_mm512_movepi32_mask(_mm512_castps_si512(s)), b, a);
#endif
}
/* x < y ? a : b (false for NaN) */
FD_INLINE FD_VT FD_VN(sel_lt)(FD_VT x, FD_VT y, FD_VT a, FD_VT b)
{ return FD_MM(mask_blend)(FD_PASTE2(FD_MM(cmp), mask)(x, y, _CMP_LT_OQ), b, a); }
/* x < y ? 0 : v (v for NaN) */
FD_INLINE FD_VT FD_VN(zero_lt)(FD_VT x, FD_VT y, FD_VT v)
{ return FD_MM(maskz_mov)(FD_PASTE2(FD_MM(cmp), mask)(x, y, _CMP_NLT_UQ), v); }
/* relu'(y): 1 where y > 0, 0 where y <= 0, y where NaN (it spreads) */
FD_INLINE FD_VT FD_VN(relu_grad)(FD_VT y)
{
    const FD_VT z = FD_MM(setzero)();
    const FD_VT r = FD_MM(mask_blend)(FD_PASTE2(FD_MM(cmp), mask)(y, z, _CMP_LE_OQ), y, z);
    return FD_MM(mask_blend)(FD_PASTE2(FD_MM(cmp), mask)(y, z, _CMP_GT_OQ), r,
                             FD_MM(set1)((FD_V_S)1));
}

/* hmax / hsum: the two 256-bit halves folded into one (simd_hreduce.h) */
#if FD_V_F64
#define FD_V_LO(v) _mm512_castpd512_pd256(v)
#define FD_V_HI(v) _mm512_extractf64x4_pd(v, 1)
#else
#define FD_V_LO(v) _mm512_castps512_ps256(v)
#define FD_V_HI(v) _mm512_extractf32x8_ps(v, 1)
#endif
FD_INLINE FD_V_S FD_VN(hmax)(FD_VT v)
{ return FD_PASTE2(fd_hmax256, FD_V_PS)(FD_PASTE2(_mm256_max, FD_V_PS)(FD_V_LO(v), FD_V_HI(v))); }
FD_INLINE FD_V_S FD_VN(hsum)(FD_VT v)
{ return FD_PASTE2(fd_hsum256, FD_V_PS)(FD_PASTE2(_mm256_add, FD_V_PS)(FD_V_LO(v), FD_V_HI(v))); }
#undef FD_V_LO
#undef FD_V_HI
