/* One FMA-throughput loop, FD_TNAME_ISA(fd_peak_fma, ISA), instantiated by
 * peak_avx2.c and peak_avx512.c through common/fd_template.h; it uses the
 * simd/ vocabulary's vec, W, set1, fmadd, add and store.
 *
 * 12 independent accumulator chains: FMA latency is 4 cycles and a core
 * retires 2 FMAs per cycle, so at least 8 chains must be in flight; 12 gives
 * margin and still fits the 16 (AVX2) / 32 (AVX-512) vector registers. */
double FD_TNAME_ISA(fd_peak_fma, ISA)(int64_t iters, double *sink)
{
    /* acc = acc * m + c converges to c / (1 - m) = 1: no overflow, no
     * denormals, and the compiler cannot fold it (no fast-math). */
    const VP(vec) m = VP(set1)((T)0.999999);
    const VP(vec) c = VP(set1)((T)0.000001);
    VP(vec) a0 = VP(set1)((T)0.1), a1 = VP(set1)((T)0.2), a2 = VP(set1)((T)0.3);
    VP(vec) a3 = VP(set1)((T)0.4), a4 = VP(set1)((T)0.5), a5 = VP(set1)((T)0.6);
    VP(vec) a6 = VP(set1)((T)0.7), a7 = VP(set1)((T)0.8), a8 = VP(set1)((T)0.9);
    VP(vec) a9 = VP(set1)((T)1.1), a10 = VP(set1)((T)1.2), a11 = VP(set1)((T)1.3);
    T buf[VP(W)];
    double s = 0.0;
    int64_t i;
    int j;
    for (i = 0; i < iters; i++) {
        a0 = VP(fmadd)(a0, m, c);
        a1 = VP(fmadd)(a1, m, c);
        a2 = VP(fmadd)(a2, m, c);
        a3 = VP(fmadd)(a3, m, c);
        a4 = VP(fmadd)(a4, m, c);
        a5 = VP(fmadd)(a5, m, c);
        a6 = VP(fmadd)(a6, m, c);
        a7 = VP(fmadd)(a7, m, c);
        a8 = VP(fmadd)(a8, m, c);
        a9 = VP(fmadd)(a9, m, c);
        a10 = VP(fmadd)(a10, m, c);
        a11 = VP(fmadd)(a11, m, c);
    }
    a0 = VP(add)(VP(add)(VP(add)(a0, a1), VP(add)(a2, a3)),
                 VP(add)(VP(add)(a4, a5), VP(add)(a6, a7)));
    a0 = VP(add)(a0, VP(add)(VP(add)(a8, a9), VP(add)(a10, a11)));
    VP(store)(buf, a0);
    for (j = 0; j < VP(W); j++) s += (double)buf[j];
    *sink = s;
    return (double)iters * 12.0 * VP(W) * 2.0;
}
