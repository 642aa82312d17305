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
    static const double init[12] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.1, 1.2, 1.3};
    VP(vec) acc[12], sum[6];
    T buf[VP(W)];
    double s = 0.0;
    int64_t i;
    int j;
#pragma GCC unroll 12
    for (j = 0; j < 12; j++) acc[j] = VP(set1)((T)init[j]);
    for (i = 0; i < iters; i++)
#pragma GCC unroll 12
        for (j = 0; j < 12; j++) acc[j] = VP(fmadd)(acc[j], m, c);
#pragma GCC unroll 6
    for (j = 0; j < 6; j++) sum[j] = VP(add)(acc[2 * j], acc[2 * j + 1]);
    VP(store)(buf,
              VP(add)(VP(add)(VP(add)(sum[0], sum[1]), VP(add)(sum[2], sum[3])),
                      VP(add)(sum[4], sum[5])));
    for (j = 0; j < VP(W); j++) s += (double)buf[j];
    *sink = s;
    return (double)iters * 12.0 * VP(W) * 2.0;
}
