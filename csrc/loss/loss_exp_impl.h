/* exp(x) for x <= 0 (x = logit - row max), NaN propagated, per dtype:
 * FD_TNAME(fd_exp_neg), instantiated by loss.c through common/fd_template.h.
 * The same reduction and polynomial as the SIMD paths (exp_neg in
 * simd/simd_vec_impl.h), without FMA.  The clamp below ln(FLT_MIN) /
 * ln(DBL_MIN) (result flushed to 0) is decided on the bits: integer selects
 * keep the function branch-free, so loops calling it vectorise (float
 * compares may trap, which blocks if-conversion), and memcpy plus unsigned
 * arithmetic keep it free of UB even for NaN. */

#if FD_T_F64
#define EXP_U uint64_t /* T's bits */
#define EXP_LO -708.39
#define EXP_MAGIC 6755399441055744.0 /* 1.5 * 2^52 */
#define EXP_MAGIC_BITS 0x4338000000000000ull
#define EXP_ABS_BITS 0x7fffffffffffffffull
#define EXP_INF_BITS 0x7ff0000000000000ull
#define EXP_LOG2E 1.4426950408889634074
#define EXP_LN2_HI 6.93147180369123816490e-01 /* fdlibm's ln2 split */
#define EXP_LN2_LO 1.90821492927058770002e-10
#define EXP_BIAS 1023u
#define EXP_MANT 52
#else
#define EXP_U uint32_t
#define EXP_LO -87.33f
#define EXP_MAGIC 12582912.0f /* 1.5 * 2^23 */
#define EXP_MAGIC_BITS 0x4B400000u
#define EXP_ABS_BITS 0x7fffffffu
#define EXP_INF_BITS 0x7f800000u
#define EXP_LOG2E 1.44269504088896341f
#define EXP_LN2_HI 0.693359375f /* Cephes' ln2 split */
#define EXP_LN2_LO -2.12194440e-4f
#define EXP_BIAS 127u
#define EXP_MANT 23
#endif

static inline T FD_TNAME(fd_exp_neg)(T x)
{
    const T lo = EXP_LO, magic = EXP_MAGIC;
    T xc, t, n, r, p, s;
    EXP_U xb, lob, under, tb, eb, pb;
    memcpy(&xb, &x, sizeof xb);
    memcpy(&lob, &lo, sizeof lob);
    /* x < lo: a negative value below lo has larger bits; NaN is not under */
    under = 0u - (EXP_U)((xb > lob) & ((xb & EXP_ABS_BITS) <= EXP_INF_BITS));
    xb = (xb & ~under) | (lob & under);
    memcpy(&xc, &xb, sizeof xc);
    t = xc * EXP_LOG2E + magic; /* round(x / ln2) in the low bits */
    n = t - magic;
    r = xc - n * EXP_LN2_HI;
    r = r - n * EXP_LN2_LO;
#if FD_T_F64
    /* degree-12 Taylor polynomial */
    p = 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
#else
    {
        /* Cephes degree-6 polynomial */
        const float z = r * r;
        p = 1.9875691500e-4f * r + 1.3981999507e-3f;
        p = p * r + 8.3334519073e-3f;
        p = p * r + 4.1665795894e-2f;
        p = p * r + 1.6666665459e-1f;
        p = p * r + 5.0000001201e-1f;
        p = p * z + (r + 1.0f);
    }
#endif
    memcpy(&tb, &t, sizeof tb);
    eb = (tb - EXP_MAGIC_BITS + EXP_BIAS) << EXP_MANT; /* 2^n */
    memcpy(&s, &eb, sizeof s);
    p = p * s;
    memcpy(&pb, &p, sizeof pb);
    pb &= ~under;
    memcpy(&p, &pb, sizeof p);
    return p;
}

#undef EXP_U
#undef EXP_LO
#undef EXP_MAGIC
#undef EXP_MAGIC_BITS
#undef EXP_ABS_BITS
#undef EXP_INF_BITS
#undef EXP_LOG2E
#undef EXP_LN2_HI
#undef EXP_LN2_LO
#undef EXP_BIAS
#undef EXP_MANT
