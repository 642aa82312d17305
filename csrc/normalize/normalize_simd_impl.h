/* Template for one SIMD range kernel (see normalize_internal.h), included by
 * normalize_avx2.c / normalize_avx512.c once per dtype with:
 *   T, FN        element type and function name
 *   V, W         vector type and its lane count
 *   V_SET1(x)    broadcast
 *   V_LOAD_U8(p) load W bytes from p and convert them to a V (exact)
 *   V_MUL, V_ADD, V_STOREU(p, v)
 *   V_STREAM(p, v) non-temporal store, p aligned to the vector size
 * Head (until out is 64-byte aligned, streaming only) and tail are scalar;
 * with contraction off they round exactly like the vector body. */

void FN(int64_t n, const uint8_t *FD_RESTRICT in, T *FD_RESTRICT out, T a, T c,
        int stream)
{
    int64_t i = 0;
    const V va = V_SET1(a), vc = V_SET1(c);
    if (stream) {
        /* Aligned head so the body can use non-temporal stores. */
        while (i < n && ((uintptr_t)(out + i) & 63) != 0) {
            out[i] = (T)in[i] * a + c;
            i++;
        }
        if (((uintptr_t)(out + i) & 63) == 0) {
            for (; i + 4 * W <= n; i += 4 * W) {
                V x0 = V_LOAD_U8(in + i), x1 = V_LOAD_U8(in + i + W);
                V x2 = V_LOAD_U8(in + i + 2 * W), x3 = V_LOAD_U8(in + i + 3 * W);
                V_STREAM(out + i, V_ADD(V_MUL(x0, va), vc));
                V_STREAM(out + i + W, V_ADD(V_MUL(x1, va), vc));
                V_STREAM(out + i + 2 * W, V_ADD(V_MUL(x2, va), vc));
                V_STREAM(out + i + 3 * W, V_ADD(V_MUL(x3, va), vc));
            }
            for (; i + W <= n; i += W)
                V_STREAM(out + i, V_ADD(V_MUL(V_LOAD_U8(in + i), va), vc));
        }
        /* Order the weakly-ordered streaming stores before we return. */
        _mm_sfence();
    }
    for (; i + 4 * W <= n; i += 4 * W) {
        V x0 = V_LOAD_U8(in + i), x1 = V_LOAD_U8(in + i + W);
        V x2 = V_LOAD_U8(in + i + 2 * W), x3 = V_LOAD_U8(in + i + 3 * W);
        V_STOREU(out + i, V_ADD(V_MUL(x0, va), vc));
        V_STOREU(out + i + W, V_ADD(V_MUL(x1, va), vc));
        V_STOREU(out + i + 2 * W, V_ADD(V_MUL(x2, va), vc));
        V_STOREU(out + i + 3 * W, V_ADD(V_MUL(x3, va), vc));
    }
    for (; i + W <= n; i += W)
        V_STOREU(out + i, V_ADD(V_MUL(V_LOAD_U8(in + i), va), vc));
    for (; i < n; i++)
        out[i] = (T)in[i] * a + c;
}
