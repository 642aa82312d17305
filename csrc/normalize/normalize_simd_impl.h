/* Template for one SIMD range kernel, FD_TNAME_ISA(fd_norm_kern_u8, ISA)
 * (see normalize_internal.h), instantiated by normalize_avx2.c /
 * normalize_avx512.c through common/fd_template.h:
 *   VP(name)   the simd/ vocabulary (v8f_, v4d_, v16f_, v8d_): vec, W,
 *              set1, load_u8 (W bytes -> W values, exact), mul, add,
 *              store, stream (non-temporal, aligned to the vector size)
 * Head (until out is 64-byte aligned, streaming only) and tail are scalar;
 * with contraction off they round exactly like the vector body. */

/* One vector to p: non-temporal when nt. */
FD_INLINE void FD_TNAME_ISA(fd_norm_put, ISA)(T *p, VP(vec) y, int nt)
{
    if (nt)
        VP(stream)(p, y);
    else
        VP(store)(p, y);
}

/* out = in * va + vc for whole vectors from i while they fit, four at a
 * time then one; returns where it stopped.  nt: non-temporal stores (out + i
 * 64-byte aligned); a constant at each call, so the choice folds away. */
FD_INLINE int64_t FD_TNAME_ISA(fd_norm_vectors,
                               ISA)(int64_t i, int64_t n, const uint8_t *FD_RESTRICT in,
                                    T *FD_RESTRICT out, VP(vec) va, VP(vec) vc, int nt)
{
    for (; i + 4 * VP(W) <= n; i += 4 * VP(W)) {
        VP(vec) x[4];
        int u;
#pragma GCC unroll 4
        for (u = 0; u < 4; u++) x[u] = VP(load_u8)(in + i + u * VP(W));
#pragma GCC unroll 4
        for (u = 0; u < 4; u++)
            FD_TNAME_ISA(fd_norm_put, ISA)(out + i + u * VP(W), VP(add)(VP(mul)(x[u], va), vc), nt);
    }
    for (; i + VP(W) <= n; i += VP(W))
        FD_TNAME_ISA(fd_norm_put, ISA)(out + i, VP(add)(VP(mul)(VP(load_u8)(in + i), va), vc), nt);
    return i;
}

void FD_TNAME_ISA(fd_norm_kern_u8, ISA)(int64_t n, const uint8_t *FD_RESTRICT in,
                                        T *FD_RESTRICT out, T a, T c, int stream)
{
    int64_t i = 0;
    const VP(vec) va = VP(set1)(a), vc = VP(set1)(c);
    if (stream) {
        /* Aligned head so the body can use non-temporal stores. */
        while (i < n && ((uintptr_t)(out + i) & 63) != 0) {
            out[i] = (T)in[i] * a + c;
            i++;
        }
        if (((uintptr_t)(out + i) & 63) == 0)
            i = FD_TNAME_ISA(fd_norm_vectors, ISA)(i, n, in, out, va, vc, 1);
        /* Order the weakly-ordered streaming stores before we return. */
        _mm_sfence();
    }
    i = FD_TNAME_ISA(fd_norm_vectors, ISA)(i, n, in, out, va, vc, 0);
    for (; i < n; i++) out[i] = (T)in[i] * a + c;
}
