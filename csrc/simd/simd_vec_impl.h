/* Per-dtype vector vocabulary template: the operations of one float vector
 * type (v8f_, v4d_ in simd_avx2.h; v16f_, v8d_ in simd_avx512.h) that every
 * x86 instruction set spells the same way, written once.  Instantiated for
 * both dtypes (T, SFX, FD_T_F64 of common/fd_template.h) by simd_isa_impl.h,
 * with the instruction set's FD_V_MM, FD_V_MM_HALF, FD_V_SI and
 * FD_SIMD_MASK_IMPL, its own template of the operations whose intrinsics
 * differ between instruction sets (masks, blends; it sees the macros
 * below), included here before the operations built on them.
 * Defines for it FD_V (the prefix: v8f), FD_V_S (the scalar type), FD_V_F64
 * (0, 1), FD_V_PS (the intrinsics' dtype suffix: ps, pd), FD_VN(name) (the
 * operation: v8f_name), FD_VT (the vector type) and FD_MM(op) (the
 * intrinsic: _mm256_op_ps); undefined again at the end. */

#define FD_V FD_PASTE2(FD_SIMD_VEC, SFX)
#define FD_V_S T
#define FD_V_F64 FD_T_F64
#if FD_T_F64
#define FD_V_PS pd
#else
#define FD_V_PS ps
#endif
#define FD_VN(name) FD_PASTE2(FD_V, name)
#define FD_MM(op) FD_PASTE3(FD_V_MM, op, FD_V_PS)
#define FD_VT FD_VN(vec)

FD_INLINE FD_VT FD_VN(load)(const FD_V_S *p)
{ return FD_MM(loadu)(p); }
FD_INLINE void FD_VN(store)(FD_V_S *p, FD_VT v)
{ FD_MM(storeu)(p, v); }
FD_INLINE FD_VT FD_VN(set1)(FD_V_S x)
{ return FD_MM(set1)(x); }
/* W bytes at p -> W values (exact); reads exactly W bytes.  The double
 * lanes widen from a half-width vector of int32. */
FD_INLINE FD_VT FD_VN(load_u8)(const uint8_t *p)
{
    __m128i b = _mm_setzero_si128();
    memcpy(&b, p, FD_VN(W));
#if FD_V_F64
    return FD_MM(cvtepi32)(FD_PASTE2(FD_V_MM_HALF, cvtepu8_epi32)(b));
#else
    return FD_MM(cvtepi32)(FD_PASTE2(FD_V_MM, cvtepu8_epi32)(b));
#endif
}
FD_INLINE FD_VT FD_VN(add)(FD_VT a, FD_VT b)
{ return FD_MM(add)(a, b); }
FD_INLINE FD_VT FD_VN(sub)(FD_VT a, FD_VT b)
{ return FD_MM(sub)(a, b); }
FD_INLINE FD_VT FD_VN(mul)(FD_VT a, FD_VT b)
{ return FD_MM(mul)(a, b); }
FD_INLINE FD_VT FD_VN(div)(FD_VT a, FD_VT b)
{ return FD_MM(div)(a, b); }
FD_INLINE FD_VT FD_VN(sqrt)(FD_VT a)
{ return FD_MM(sqrt)(a); }
/* max(a, b); a NaN in b is returned (MAXPS returns its second operand). */
FD_INLINE FD_VT FD_VN(max)(FD_VT a, FD_VT b)
{ return FD_MM(max)(a, b); }
FD_INLINE FD_VT FD_VN(fmadd)(FD_VT a, FD_VT b, FD_VT c)
{ return FD_MM(fmadd)(a, b, c); }
FD_INLINE FD_VT FD_VN(fnmadd)(FD_VT a, FD_VT b, FD_VT c)
{ return FD_MM(fnmadd)(a, b, c); }
FD_INLINE FD_VT FD_VN(zero)(void)
{ return FD_MM(setzero)(); }
/* p aligned to the vector size */
FD_INLINE FD_VT FD_VN(loada)(const FD_V_S *p)
{ return FD_MM(load)(p); }
/* non-temporal store, p aligned to the vector size */
FD_INLINE void FD_VN(stream)(FD_V_S *p, FD_VT v)
{ FD_MM(stream)(p, v); }
FD_INLINE FD_VT FD_VN (xor)(FD_VT a, FD_VT b)
{ return FD_MM(xor)(a, b); }
/* the sign bit of x alone */
FD_INLINE FD_VT FD_VN(signbit)(FD_VT x)
{ return FD_MM (and)(FD_MM(set1)((FD_V_S)-0.0), x); }

/* The bilinear blend of four neighbours at fractions (fx, fy):
 * (p00 (1 - fx) + p01 fx) (1 - fy) + (p10 (1 - fx) + p11 fx) fy, the
 * operations and order of the scalar fd_aug_sample1 (augment_internal.h). */
FD_INLINE FD_VT FD_VN(bilerp)(FD_VT p00, FD_VT p01, FD_VT p10, FD_VT p11, FD_VT fx, FD_VT fy)
{
    const FD_VT one = FD_MM(set1)((FD_V_S)1);
    FD_VT gx = FD_VN(sub)(one, fx), gy = FD_VN(sub)(one, fy);
    FD_VT v0 = FD_VN(add)(FD_VN(mul)(p00, gx), FD_VN(mul)(p01, fx));
    FD_VT v1 = FD_VN(add)(FD_VN(mul)(p10, gx), FD_VN(mul)(p11, fx));
    return FD_VN(add)(FD_VN(mul)(v0, gy), FD_VN(mul)(v1, fy));
}

#include FD_SIMD_MASK_IMPL

/* 2^n from t = magic + n (exp_neg): n is in the low mantissa bits of t
 * (bits(t) = bits(magic) + n) and magic's bits there are 0, so bits(t)
 * shifted left by the mantissa width is n in the exponent field; adding the
 * bits of 1 adds the exponent bias.  In integer lanes of the dtype's width. */
#define FD_VCAT_(a, b) a##b
#define FD_VCAT(a, b) FD_VCAT_(a, b)
#define FD_V_TO_BITS FD_PASTE3(FD_V_MM, FD_VCAT(cast, FD_V_PS), FD_V_SI)
#define FD_V_FROM_BITS FD_PASTE3(FD_V_MM, FD_VCAT(cast, FD_V_SI), FD_V_PS)
#if FD_V_F64
#define FD_V_EPI(op) FD_PASTE3(FD_V_MM, op, epi64)
#else
#define FD_V_EPI(op) FD_PASTE3(FD_V_MM, op, epi32)
#endif
FD_INLINE FD_VT FD_VN(pow2n)(FD_VT t)
{
    const int mant = FD_V_F64 ? 52 : 23;
    return FD_V_FROM_BITS(
        FD_V_EPI(add)(FD_V_EPI(slli)(FD_V_TO_BITS(t), mant), FD_V_TO_BITS(FD_MM(set1)((FD_V_S)1))));
}
#undef FD_V_EPI
#undef FD_V_FROM_BITS
#undef FD_V_TO_BITS
#undef FD_VCAT
#undef FD_VCAT_

#if FD_V_F64
/* exp(x) for x <= 0, NaN propagated: the float reduction (below) with the fdlibm
 * ln2 split, degree-12 Taylor polynomial (truncation < 2e-16 on
 * |r| <= ln2/2); results below DBL_MIN flush to 0. */
FD_INLINE FD_VT FD_VN(exp_neg)(FD_VT x)
{
    const FD_VT lo = FD_VN(set1)(-708.39);
    const FD_VT magic = FD_VN(set1)(6755399441055744.0); /* 1.5 * 2^52 */
    FD_VT xc = FD_VN(max)(lo, x);
    FD_VT t = FD_VN(fmadd)(xc, FD_VN(set1)(1.4426950408889634074), magic);
    FD_VT n = FD_VN(sub)(t, magic);
    FD_VT r = FD_VN(fnmadd)(n, FD_VN(set1)(6.93147180369123816490e-01), xc);
    FD_VT p = FD_VN(set1)(1.0 / 479001600.0);
    r = FD_VN(fnmadd)(n, FD_VN(set1)(1.90821492927058770002e-10), r);
    p = FD_VN(fmadd)(p, r, FD_VN(set1)(1.0 / 39916800.0));
    p = FD_VN(fmadd)(p, r, FD_VN(set1)(1.0 / 3628800.0));
    p = FD_VN(fmadd)(p, r, FD_VN(set1)(1.0 / 362880.0));
    p = FD_VN(fmadd)(p, r, FD_VN(set1)(1.0 / 40320.0));
    p = FD_VN(fmadd)(p, r, FD_VN(set1)(1.0 / 5040.0));
    p = FD_VN(fmadd)(p, r, FD_VN(set1)(1.0 / 720.0));
    p = FD_VN(fmadd)(p, r, FD_VN(set1)(1.0 / 120.0));
    p = FD_VN(fmadd)(p, r, FD_VN(set1)(1.0 / 24.0));
    p = FD_VN(fmadd)(p, r, FD_VN(set1)(1.0 / 6.0));
    p = FD_VN(fmadd)(p, r, FD_VN(set1)(0.5));
    p = FD_VN(fmadd)(p, r, FD_VN(set1)(1.0));
    p = FD_VN(fmadd)(p, r, FD_VN(set1)(1.0));
    p = FD_VN(mul)(p, FD_VN(pow2n)(t));
    return FD_VN(zero_lt)(x, lo, p);
}
#else
/* exp(x) for x <= 0 (x = logit - row max), NaN propagated.  Cody-Waite
 * reduction x = n ln2 + r, |r| <= ln2/2, Cephes degree-6 polynomial (~1 ulp),
 * 2^n built in the exponent bits; results below FLT_MIN flush to 0. */
FD_INLINE FD_VT FD_VN(exp_neg)(FD_VT x)
{
    const FD_VT lo = FD_VN(set1)(-87.33f);
    const FD_VT magic = FD_VN(set1)(12582912.0f); /* 1.5 * 2^23 */
    FD_VT xc = FD_VN(max)(lo, x); /* NaN stays NaN */
    FD_VT t = FD_VN(fmadd)(xc, FD_VN(set1)(1.44269504088896341f), magic);
    FD_VT n = FD_VN(sub)(t, magic);
    FD_VT r = FD_VN(fnmadd)(n, FD_VN(set1)(0.693359375f), xc);
    FD_VT p, z;
    r = FD_VN(fnmadd)(n, FD_VN(set1)(-2.12194440e-4f), r);
    z = FD_VN(mul)(r, r);
    p = FD_VN(fmadd)(FD_VN(set1)(1.9875691500e-4f), r, FD_VN(set1)(1.3981999507e-3f));
    p = FD_VN(fmadd)(p, r, FD_VN(set1)(8.3334519073e-3f));
    p = FD_VN(fmadd)(p, r, FD_VN(set1)(4.1665795894e-2f));
    p = FD_VN(fmadd)(p, r, FD_VN(set1)(1.6666665459e-1f));
    p = FD_VN(fmadd)(p, r, FD_VN(set1)(5.0000001201e-1f));
    p = FD_VN(fmadd)(p, z, FD_VN(add)(r, FD_VN(set1)(1.0f)));
    p = FD_VN(mul)(p, FD_VN(pow2n)(t));
    return FD_VN(zero_lt)(x, lo, p);
}
#endif

#undef FD_VT
#undef FD_MM
#undef FD_VN
#undef FD_V
#undef FD_V_S
#undef FD_V_F64
#undef FD_V_PS
