/* Template for one SIMD range kernel, FD_TNAME_ISA(fd_norm_kern_u8, ISA)
 * (see normalize_internal.h), instantiated by normalize_avx2.c /
 * normalize_avx512.c through common/fd_template.h:
 *   VP(name)   the simd/ vocabulary (v8f_, v4d_, v16f_, v8d_): vec, W,
 *              set1, load_u8 (W bytes -> W values, exact), mul, add,
 *              store, stream (non-temporal, aligned to the vector size)
 * Head (until out is 64-byte aligned, streaming only) and tail are scalar;
 * with contraction off they round exactly like the vector body. */

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
        if (((uintptr_t)(out + i) & 63) == 0) {
            for (; i + 4 * VP(W) <= n; i += 4 * VP(W)) {
                VP(vec) x0 = VP(load_u8)(in + i), x1 = VP(load_u8)(in + i + VP(W));
                VP(vec) x2 = VP(load_u8)(in + i + 2 * VP(W)), x3 = VP(load_u8)(in + i + 3 * VP(W));
                VP(stream)(out + i, VP(add)(VP(mul)(x0, va), vc));
                VP(stream)(out + i + VP(W), VP(add)(VP(mul)(x1, va), vc));
                VP(stream)(out + i + 2 * VP(W), VP(add)(VP(mul)(x2, va), vc));
                VP(stream)(out + i + 3 * VP(W), VP(add)(VP(mul)(x3, va), vc));
            }
            for (; i + VP(W) <= n; i += VP(W))
                VP(stream)(out + i, VP(add)(VP(mul)(VP(load_u8)(in + i), va), vc));
        }
        /* Order the weakly-ordered streaming stores before we return. */
        _mm_sfence();
    }
    for (; i + 4 * VP(W) <= n; i += 4 * VP(W)) {
        VP(vec) x0 = VP(load_u8)(in + i), x1 = VP(load_u8)(in + i + VP(W));
        VP(vec) x2 = VP(load_u8)(in + i + 2 * VP(W)), x3 = VP(load_u8)(in + i + 3 * VP(W));
        VP(store)(out + i, VP(add)(VP(mul)(x0, va), vc));
        VP(store)(out + i + VP(W), VP(add)(VP(mul)(x1, va), vc));
        VP(store)(out + i + 2 * VP(W), VP(add)(VP(mul)(x2, va), vc));
        VP(store)(out + i + 3 * VP(W), VP(add)(VP(mul)(x3, va), vc));
    }
    for (; i + VP(W) <= n; i += VP(W))
        VP(store)(out + i, VP(add)(VP(mul)(VP(load_u8)(in + i), va), vc));
    for (; i < n; i++) out[i] = (T)in[i] * a + c;
}
