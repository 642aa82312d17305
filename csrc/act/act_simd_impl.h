/* Vector sigmoid / tanh / gelu, instantiated by act_avx2.c / act_avx512.c
 * through common/fd_template.h (T, SFX, ISA, VP: the simd/ vocabulary; this
 * uses its abs, signbit, xor, sel_neg and sel_lt besides the arithmetic).
 * Defines FD_TNAME_ISA(fd_act_rows, ISA) and FD_TNAME_ISA(fd_dz_gelu_row,
 * ISA) (see act_simd.h).  Below |x| = FD_ACT_TANH_SMALL tanh uses its odd
 * Taylor series, longer for double (FD_T_F64).
 * exp comes from VP(exp_neg) (x <= 0 only, ~1 ulp, NaN propagated), so
 * every exp argument is -|.|: nothing overflows, +-inf give exact 0 / +-1.
 */
#ifndef FD_ACT_TANH_SMALL
#define FD_ACT_TANH_SMALL 0.25
#endif

/* 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) for x < 0: one division. */
FD_INLINE VP(vec) VP(act_sigmoid)(VP(vec) x)
{
    const VP(vec) one = VP(set1)((T)1);
    VP(vec) e = VP(exp_neg)(VP(sub)(VP(set1)((T)0), VP(abs)(x)));
    return VP(div)(VP(sel_neg)(x, e, one), VP(add)(one, e));
}

/* tanh|x| = (1 - e) / (1 + e), e = exp(-2|x|) (no overflow; 1 - e exact by
 * Sterbenz for |x| <= ln2/2, but e's own rounding error grows relative to
 * 1 - e as |x| -> 0).  Below TANH_SMALL the odd Taylor series is used
 * instead (~1 ulp there).  Sign restored last. */
FD_INLINE VP(vec) VP(act_tanh)(VP(vec) x)
{
    const VP(vec) one = VP(set1)((T)1);
    VP(vec) ax = VP(abs)(x);
    VP(vec) e = VP(exp_neg)(VP(mul)(ax, VP(set1)((T)-2)));
    VP(vec) t = VP(div)(VP(sub)(one, e), VP(add)(one, e));
    VP(vec) x2 = VP(mul)(ax, ax);
#if FD_T_F64 /* double: series to x^23 (next term < 1e-19 relative) */
    VP(vec) p = VP(set1)((T)(-113927491862.0 / 2900518163668125.0));
    p = VP(fmadd)(p, x2, VP(set1)((T)(18888466084.0 / 194896477400625.0)));
    p = VP(fmadd)(p, x2, VP(set1)((T)(-443861162.0 / 1856156927625.0)));
    p = VP(fmadd)(p, x2, VP(set1)((T)(6404582.0 / 10854718875.0)));
    p = VP(fmadd)(p, x2, VP(set1)((T)(-929569.0 / 638512875.0)));
    p = VP(fmadd)(p, x2, VP(set1)((T)(21844.0 / 6081075.0)));
    p = VP(fmadd)(p, x2, VP(set1)((T)(-1382.0 / 155925.0)));
#else /* float: to x^11 (next term < 1e-9 relative) */
    VP(vec) p = VP(set1)((T)(-1382.0 / 155925.0));
#endif
    p = VP(fmadd)(p, x2, VP(set1)((T)(62.0 / 2835.0)));
    p = VP(fmadd)(p, x2, VP(set1)((T)(-17.0 / 315.0)));
    p = VP(fmadd)(p, x2, VP(set1)((T)(2.0 / 15.0)));
    p = VP(fmadd)(p, x2, VP(set1)((T)(-1.0 / 3.0)));
    p = VP(fmadd)(VP(mul)(ax, x2), p, ax);
    t = VP(sel_lt)(ax, VP(set1)((T)FD_ACT_TANH_SMALL), p, t);
    return VP(xor)(t, VP(signbit)(x));
}

/* 0.5 x (1 + tanh u) = x * sigmoid(2u), u = c (x + a x^3): same function,
 * without the cancellation in 1 + tanh u for negative u. */
FD_INLINE VP(vec) VP(act_gelu)(VP(vec) x)
{
    VP(vec) x2 = VP(mul)(x, x);
    VP(vec) in = VP(fmadd)(VP(mul)(VP(set1)((T)FD_GELU_A), x), x2, x);
    return VP(mul)(x, VP(act_sigmoid)(VP(mul)(VP(set1)((T)(2.0 * FD_GELU_C)), in)));
}

/* gelu'(z), same formula as fd_act_grad_* in act/act.h. */
FD_INLINE VP(vec) VP(act_gelu_grad)(VP(vec) z)
{
    const VP(vec) half = VP(set1)((T)0.5), one = VP(set1)((T)1);
    const VP(vec) c = VP(set1)((T)FD_GELU_C);
    VP(vec) z2 = VP(mul)(z, z);
    VP(vec) t = VP(act_tanh)(VP(mul)(c, VP(fmadd)(VP(mul)(VP(set1)((T)FD_GELU_A), z2), z, z)));
    VP(vec) d = VP(mul)(VP(mul)(VP(mul)(half, z), VP(fnmadd)(t, t, one)), c);
    d = VP(mul)(d, VP(fmadd)(VP(set1)((T)(3.0 * FD_GELU_A)), z2, one));
    return VP(add)(VP(mul)(half, VP(add)(one, t)), d);
}

#define ACT_LOOP(F)                                                                                \
    for (i = 0; i < rows; i++) {                                                                   \
        T *q = p + i * ld;                                                                         \
        for (j = 0; j + W <= n; j += W) VP(store)(q + j, F(VP(load)(q + j)));                      \
        if (j < n) {                                                                               \
            VP(mask) k = VP(tailmask)(n - j);                                                      \
            VP(mstore)(q + j, k, F(VP(mload)(q + j, k, VP(set1)((T)0))));                          \
        }                                                                                          \
    }

void FD_TNAME_ISA(fd_act_rows, ISA)(int act, int64_t rows, int64_t n, T *p, int64_t ld)
{
    const int64_t W = VP(W);
    int64_t i, j;
    switch (act) {
    case FD_ACT_SIGMOID: ACT_LOOP(VP(act_sigmoid)) break;
    case FD_ACT_TANH: ACT_LOOP(VP(act_tanh)) break;
    case FD_ACT_GELU: ACT_LOOP(VP(act_gelu)) break;
    default: break;
    }
}
#undef ACT_LOOP

void FD_TNAME_ISA(fd_dz_gelu_row, ISA)(int64_t n, const T *FD_RESTRICT dy, const T *FD_RESTRICT z,
                                       T *FD_RESTRICT dz, T *FD_RESTRICT ps)
{
    const int64_t W = VP(W);
    int64_t j;
    for (j = 0; j + W <= n; j += W) {
        VP(vec) g = VP(mul)(VP(load)(dy + j), VP(act_gelu_grad)(VP(load)(z + j)));
        VP(store)(dz + j, g);
        VP(store)(ps + j, VP(add)(VP(load)(ps + j), g));
    }
    if (j < n) {
        VP(mask) k = VP(tailmask)(n - j);
        const VP(vec) zero = VP(set1)((T)0);
        VP(vec)
        g = VP(mul)(VP(mload)(dy + j, k, zero), VP(act_gelu_grad)(VP(mload)(z + j, k, zero)));
        VP(mstore)(dz + j, k, g);
        VP(mstore)(ps + j, k, VP(add)(VP(mload)(ps + j, k, zero), g));
    }
}
