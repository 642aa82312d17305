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

/* The lanes whose bit is set in `bits` (< 2^W), in lane order, as 3-bit
 * lane numbers in the nibbles of a word (AVX2 has no compress
 * instruction: a table of the 256 bytes' set bits). */
FD_INLINE int FD_VN(compress_order)(unsigned bits)
{
    static const uint32_t order[256] = {
        0x00000000, 0x00000000, 0x00000001, 0x00000010, 0x00000002, 0x00000020, 0x00000021,
        0x00000210, 0x00000003, 0x00000030, 0x00000031, 0x00000310, 0x00000032, 0x00000320,
        0x00000321, 0x00003210, 0x00000004, 0x00000040, 0x00000041, 0x00000410, 0x00000042,
        0x00000420, 0x00000421, 0x00004210, 0x00000043, 0x00000430, 0x00000431, 0x00004310,
        0x00000432, 0x00004320, 0x00004321, 0x00043210, 0x00000005, 0x00000050, 0x00000051,
        0x00000510, 0x00000052, 0x00000520, 0x00000521, 0x00005210, 0x00000053, 0x00000530,
        0x00000531, 0x00005310, 0x00000532, 0x00005320, 0x00005321, 0x00053210, 0x00000054,
        0x00000540, 0x00000541, 0x00005410, 0x00000542, 0x00005420, 0x00005421, 0x00054210,
        0x00000543, 0x00005430, 0x00005431, 0x00054310, 0x00005432, 0x00054320, 0x00054321,
        0x00543210, 0x00000006, 0x00000060, 0x00000061, 0x00000610, 0x00000062, 0x00000620,
        0x00000621, 0x00006210, 0x00000063, 0x00000630, 0x00000631, 0x00006310, 0x00000632,
        0x00006320, 0x00006321, 0x00063210, 0x00000064, 0x00000640, 0x00000641, 0x00006410,
        0x00000642, 0x00006420, 0x00006421, 0x00064210, 0x00000643, 0x00006430, 0x00006431,
        0x00064310, 0x00006432, 0x00064320, 0x00064321, 0x00643210, 0x00000065, 0x00000650,
        0x00000651, 0x00006510, 0x00000652, 0x00006520, 0x00006521, 0x00065210, 0x00000653,
        0x00006530, 0x00006531, 0x00065310, 0x00006532, 0x00065320, 0x00065321, 0x00653210,
        0x00000654, 0x00006540, 0x00006541, 0x00065410, 0x00006542, 0x00065420, 0x00065421,
        0x00654210, 0x00006543, 0x00065430, 0x00065431, 0x00654310, 0x00065432, 0x00654320,
        0x00654321, 0x06543210, 0x00000007, 0x00000070, 0x00000071, 0x00000710, 0x00000072,
        0x00000720, 0x00000721, 0x00007210, 0x00000073, 0x00000730, 0x00000731, 0x00007310,
        0x00000732, 0x00007320, 0x00007321, 0x00073210, 0x00000074, 0x00000740, 0x00000741,
        0x00007410, 0x00000742, 0x00007420, 0x00007421, 0x00074210, 0x00000743, 0x00007430,
        0x00007431, 0x00074310, 0x00007432, 0x00074320, 0x00074321, 0x00743210, 0x00000075,
        0x00000750, 0x00000751, 0x00007510, 0x00000752, 0x00007520, 0x00007521, 0x00075210,
        0x00000753, 0x00007530, 0x00007531, 0x00075310, 0x00007532, 0x00075320, 0x00075321,
        0x00753210, 0x00000754, 0x00007540, 0x00007541, 0x00075410, 0x00007542, 0x00075420,
        0x00075421, 0x00754210, 0x00007543, 0x00075430, 0x00075431, 0x00754310, 0x00075432,
        0x00754320, 0x00754321, 0x07543210, 0x00000076, 0x00000760, 0x00000761, 0x00007610,
        0x00000762, 0x00007620, 0x00007621, 0x00076210, 0x00000763, 0x00007630, 0x00007631,
        0x00076310, 0x00007632, 0x00076320, 0x00076321, 0x00763210, 0x00000764, 0x00007640,
        0x00007641, 0x00076410, 0x00007642, 0x00076420, 0x00076421, 0x00764210, 0x00007643,
        0x00076430, 0x00076431, 0x00764310, 0x00076432, 0x00764320, 0x00764321, 0x07643210,
        0x00000765, 0x00007650, 0x00007651, 0x00076510, 0x00007652, 0x00076520, 0x00076521,
        0x00765210, 0x00007653, 0x00076530, 0x00076531, 0x00765310, 0x00076532, 0x00765320,
        0x00765321, 0x07653210, 0x00007654, 0x00076540, 0x00076541, 0x00765410, 0x00076542,
        0x00765420, 0x00765421, 0x07654210, 0x00076543, 0x00765430, 0x00765431, 0x07654310,
        0x00765432, 0x07654320, 0x07654321, 0x76543210};
    return (int)order[bits & 255u];
}
/* W lanes at p: the lanes of x whose bit is set in bits, in lane order,
 * then unspecified lanes of x. */
FD_INLINE void FD_VN(compress_store)(FD_V_S *p, unsigned bits, FD_VT x)
{
#if FD_V_F64 /* each double as its two int32 halves */
    const __m256i nib =
        _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(FD_VN(compress_order)(bits)),
                                           _mm256_setr_epi32(0, 0, 4, 4, 8, 8, 12, 12)),
                         _mm256_set1_epi32(7));
    const __m256i perm =
        _mm256_add_epi32(_mm256_add_epi32(nib, nib), _mm256_setr_epi32(0, 1, 0, 1, 0, 1, 0, 1));
    _mm256_storeu_pd(p, _mm256_castps_pd(_mm256_permutevar8x32_ps(_mm256_castpd_ps(x), perm)));
#else
    const __m256i perm =
        _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(FD_VN(compress_order)(bits)),
                                           _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28)),
                         _mm256_set1_epi32(7));
    _mm256_storeu_ps(p, _mm256_permutevar8x32_ps(x, perm));
#endif
}
/* W int32 at p: j + i for each lane i whose bit is set in bits, in order,
 * then unspecified values. */
FD_INLINE void FD_VN(compress_index)(int32_t *p, int32_t j, unsigned bits)
{
#if FD_V_F64
    const __m128i lane = _mm_and_si128(
        _mm_srlv_epi32(_mm_set1_epi32(FD_VN(compress_order)(bits)), _mm_setr_epi32(0, 4, 8, 12)),
        _mm_set1_epi32(7));
    _mm_storeu_si128((__m128i *)(void *)p, _mm_add_epi32(_mm_set1_epi32(j), lane));
#else
    const __m256i lane =
        _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(FD_VN(compress_order)(bits)),
                                           _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28)),
                         _mm256_set1_epi32(7));
    _mm256_storeu_si256((__m256i *)(void *)p, _mm256_add_epi32(_mm256_set1_epi32(j), lane));
#endif
}

FD_INLINE FD_V_S FD_VN(hmax)(FD_VT v)
{ return FD_PASTE2(fd_hmax256, FD_V_PS)(v); }
FD_INLINE FD_V_S FD_VN(hsum)(FD_VT v)
{ return FD_PASTE2(fd_hsum256, FD_V_PS)(v); }

#undef FD_V_FROM_MASK
