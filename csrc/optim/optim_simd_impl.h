/* Optimiser span workers written once over the vector operations of
 * simd/simd_avx2.h / simd/simd_avx512.h, instantiated by optim_avx2.c /
 * optim_avx512.c through common/fd_template.h.  The tail goes through the same vector
 * arithmetic with masked loads/stores, so every element gets the same
 * rounding wherever it falls. */

/* One SGD vector; returns the new param, updates *vv (velocity) in place. */
FD_INLINE VP(vec) FD_TNAME_ISA(sgd_vec, ISA)(VP(vec) p, VP(vec) g, VP(vec) * vv, VP(vec) lr,
                                             VP(vec) mom, VP(vec) wd, int flags)
{
    if (flags & FD_SGD_WD) g = VP(fmadd)(wd, p, g);
    if (flags & FD_SGD_MOM) {
        VP(vec) v = VP(fmadd)(mom, *vv, g);
        *vv = v;
        g = (flags & FD_SGD_NESTEROV) ? VP(fmadd)(mom, v, g) : v;
    }
    return VP(fnmadd)(lr, g, p);
}

void FD_TNAME_ISA(fd_sgd_span, ISA)(int64_t n, T *p, const T *g, T *v, T lr, T mom, T wd, int flags)
{
    const int64_t W = VP(W);
    const VP(vec) vlr = VP(set1)(lr), vmom = VP(set1)(mom), vwd = VP(set1)(wd);
    const VP(vec) zero = VP(set1)((T)0);
    const int usev = (flags & FD_SGD_MOM) != 0;
    int64_t i;
    for (i = 0; i + W <= n; i += W) {
        VP(vec) vv = usev ? VP(load)(v + i) : zero;
        VP(vec)
        np = FD_TNAME_ISA(sgd_vec, ISA)(VP(load)(p + i), VP(load)(g + i), &vv, vlr, vmom, vwd,
                                        flags);
        VP(store)(p + i, np);
        if (usev) VP(store)(v + i, vv);
    }
    if (i < n) {
        VP(mask) k = VP(tailmask)(n - i);
        VP(vec) vv = usev ? VP(mload)(v + i, k, zero) : zero;
        VP(vec)
        np = FD_TNAME_ISA(sgd_vec, ISA)(VP(mload)(p + i, k, zero), VP(mload)(g + i, k, zero), &vv,
                                        vlr, vmom, vwd, flags);
        VP(mstore)(p + i, k, np);
        if (usev) VP(mstore)(v + i, k, vv);
    }
}

/* g += c * w; sum w^2 in 4 vectors of partial sums (4 chains of FMAs),
 * added in a fixed order at the end.  The masked tail adds zeros. */
T FD_TNAME_ISA(fd_l2_span, ISA)(int64_t n, const T *w, T *g, T c)
{
    const int64_t W = VP(W);
    const VP(vec) vc = VP(set1)(c), zero = VP(zero)();
    VP(vec) acc[4] = {zero, zero, zero, zero};
    int64_t i;
    int a = 0;
    for (i = 0; i + W <= n; i += W, a = (a + 1) & 3) {
        const VP(vec) wi = VP(load)(w + i);
        acc[a] = VP(fmadd)(wi, wi, acc[a]);
        VP(store)(g + i, VP(fmadd)(vc, wi, VP(load)(g + i)));
    }
    if (i < n) {
        const VP(mask) k = VP(tailmask)(n - i);
        const VP(vec) wi = VP(mload)(w + i, k, zero);
        acc[a] = VP(fmadd)(wi, wi, acc[a]);
        VP(mstore)(g + i, k, VP(fmadd)(vc, wi, VP(mload)(g + i, k, zero)));
    }
    return VP(hsum)(VP(add)(VP(add)(acc[0], acc[1]), VP(add)(acc[2], acc[3])));
}

/* One AdamW vector: decoupled decay, moments, bias-corrected step. */
#define FD_ADAM_VEC(P, G, M, V)                                                                    \
    do {                                                                                           \
        M = VP(fmadd)(vb1, M, VP(mul)(vc1, G));                                                    \
        V = VP(fmadd)(vb2, V, VP(mul)(VP(mul)(vc2, G), G));                                        \
        P = VP(fnmadd)(vstep, VP(div)(M, VP(fmadd)(VP(sqrt)(V), vibc, veps)), VP(mul)(P, vdecay)); \
    } while (0)

void FD_TNAME_ISA(fd_adam_span, ISA)(int64_t n, T *p, const T *g, T *m, T *v, T decay, T b1, T c1,
                                     T b2, T c2, T inv_bc2s, T eps, T step_size)
{
    const int64_t W = VP(W);
    const VP(vec) vdecay = VP(set1)(decay), vb1 = VP(set1)(b1), vc1 = VP(set1)(c1);
    const VP(vec) vb2 = VP(set1)(b2), vc2 = VP(set1)(c2), vibc = VP(set1)(inv_bc2s);
    const VP(vec) veps = VP(set1)(eps), vstep = VP(set1)(step_size);
    int64_t i;
    for (i = 0; i + W <= n; i += W) {
        VP(vec) P = VP(load)(p + i), G = VP(load)(g + i);
        VP(vec) M = VP(load)(m + i), V = VP(load)(v + i);
        FD_ADAM_VEC(P, G, M, V);
        VP(store)(m + i, M);
        VP(store)(v + i, V);
        VP(store)(p + i, P);
    }
    if (i < n) {
        /* masked-off lanes compute on ones (no 0/0), and are never stored */
        const VP(vec) one = VP(set1)((T)1);
        VP(mask) k = VP(tailmask)(n - i);
        VP(vec) P = VP(mload)(p + i, k, one), G = VP(mload)(g + i, k, one);
        VP(vec) M = VP(mload)(m + i, k, one), V = VP(mload)(v + i, k, one);
        FD_ADAM_VEC(P, G, M, V);
        VP(mstore)(m + i, k, M);
        VP(mstore)(v + i, k, V);
        VP(mstore)(p + i, k, P);
    }
}

#undef FD_ADAM_VEC
