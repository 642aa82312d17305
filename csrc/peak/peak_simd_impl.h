/* One FMA-throughput loop, included by peak_avx2.c and peak_avx512.c with
 *   VEC       the vector type          FMADD(a, b, c)  a * b + c
 *   SET1(x)   broadcast                ADDV(a, b)      a + b
 *   LANES     elements per vector      STORE(p, v)     unaligned store
 *   ELEM      element type             FNAME           function name
 *
 * 12 independent accumulator chains: FMA latency is 4 cycles and a core
 * retires 2 FMAs per cycle, so at least 8 chains must be in flight; 12 gives
 * margin and still fits the 16 (AVX2) / 32 (AVX-512) vector registers. */
double FNAME(int64_t iters, double *sink)
{
    /* acc = acc * m + c converges to c / (1 - m) = 1: no overflow, no
     * denormals, and the compiler cannot fold it (no fast-math). */
    const VEC m = SET1((ELEM)0.999999);
    const VEC c = SET1((ELEM)0.000001);
    VEC a0 = SET1((ELEM)0.1), a1 = SET1((ELEM)0.2), a2 = SET1((ELEM)0.3);
    VEC a3 = SET1((ELEM)0.4), a4 = SET1((ELEM)0.5), a5 = SET1((ELEM)0.6);
    VEC a6 = SET1((ELEM)0.7), a7 = SET1((ELEM)0.8), a8 = SET1((ELEM)0.9);
    VEC a9 = SET1((ELEM)1.1), a10 = SET1((ELEM)1.2), a11 = SET1((ELEM)1.3);
    ELEM buf[LANES];
    double s = 0.0;
    int64_t i;
    int j;
    for (i = 0; i < iters; i++) {
        a0 = FMADD(a0, m, c);
        a1 = FMADD(a1, m, c);
        a2 = FMADD(a2, m, c);
        a3 = FMADD(a3, m, c);
        a4 = FMADD(a4, m, c);
        a5 = FMADD(a5, m, c);
        a6 = FMADD(a6, m, c);
        a7 = FMADD(a7, m, c);
        a8 = FMADD(a8, m, c);
        a9 = FMADD(a9, m, c);
        a10 = FMADD(a10, m, c);
        a11 = FMADD(a11, m, c);
    }
    a0 = ADDV(ADDV(ADDV(a0, a1), ADDV(a2, a3)), ADDV(ADDV(a4, a5), ADDV(a6, a7)));
    a0 = ADDV(a0, ADDV(ADDV(a8, a9), ADDV(a10, a11)));
    STORE(buf, a0);
    for (j = 0; j < LANES; j++) s += (double)buf[j];
    *sink = s;
    return (double)iters * 12.0 * LANES * 2.0;
}
