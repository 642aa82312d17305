/* The AVX2 operations of one float vector type (v8f_, v4d_) whose
 * intrinsics are not spelled alike on AVX-512: lane masks (an all-ones
 * __m256i lane for each of the first k lanes) and blends.  Included by
 * simd/simd_vec_impl.h (FD_SIMD_MASK_IMPL of simd_avx2.h), which defines
 * FD_VN, FD_VT, FD_MM and the FD_V* macros.  No include guard. */

#define FD_V_FROM_MASK(k) FD_PASTE2(_mm256_castsi256, FD_V_PS)(k)

FD_INLINE __m256i FD_VN(tailmask)(int64_t k) /* 0 < k < W */
{
#if FD_V_F64
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(k), _mm256_setr_epi64x(0, 1, 2, 3));
#else
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
#endif
}
FD_INLINE FD_VT FD_VN(mload)(const FD_V_S *p, __m256i k, FD_VT fill)
{ return FD_MM(blendv)(fill, FD_MM(maskload)(p, k), FD_V_FROM_MASK(k)); }
FD_INLINE void FD_VN(mstore)(FD_V_S *p, __m256i k, FD_VT v)
{ FD_MM(maskstore)(p, k, v); }
FD_INLINE FD_VT FD_VN(mzero)(__m256i k, FD_VT v)
{ return FD_MM (and)(FD_V_FROM_MASK(k), v); }
FD_INLINE FD_VT FD_VN(abs)(FD_VT x)
{ return FD_MM(andnot)(FD_MM(set1)((FD_V_S)-0.0), x); }
/* sign bit of s set ? a : b */
FD_INLINE FD_VT FD_VN(sel_neg)(FD_VT s, FD_VT a, FD_VT b)
{ return FD_MM(blendv)(b, a, s); }
/* x < y ? a : b (false for NaN) */
FD_INLINE FD_VT FD_VN(sel_lt)(FD_VT x, FD_VT y, FD_VT a, FD_VT b)
{ return FD_MM(blendv)(b, a, FD_MM(cmp)(x, y, _CMP_LT_OQ)); }
/* x < y ? 0 : v (v for NaN) */
FD_INLINE FD_VT FD_VN(zero_lt)(FD_VT x, FD_VT y, FD_VT v)
{ return FD_MM(andnot)(FD_MM(cmp)(x, y, _CMP_LT_OQ), v); }
/* relu'(y): 1 where y > 0, 0 where y <= 0, y where NaN (it spreads) */
FD_INLINE FD_VT FD_VN(relu_grad)(FD_VT y)
{
    const FD_VT z = FD_MM(setzero)();
    const FD_VT r = FD_MM(blendv)(y, z, FD_MM(cmp)(y, z, _CMP_LE_OQ));
    return FD_MM(blendv)(r, FD_MM(set1)((FD_V_S)1), FD_MM(cmp)(y, z, _CMP_GT_OQ));
}
/* bit i set where lane i of a != lane i of b (or either is NaN) */
FD_INLINE unsigned FD_VN(neq_bits)(FD_VT a, FD_VT b)
{ return (unsigned)FD_MM(movemask)(FD_MM(cmp)(a, b, _CMP_NEQ_UQ)); }

FD_INLINE FD_V_S FD_VN(hmax)(FD_VT v)
{ return FD_PASTE2(fd_hmax256, FD_V_PS)(v); }
FD_INLINE FD_V_S FD_VN(hsum)(FD_VT v)
{ return FD_PASTE2(fd_hsum256, FD_V_PS)(v); }

#undef FD_V_FROM_MASK
