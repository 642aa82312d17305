/* Per-dtype body of peak.c: the portable FMA-throughput loop, included
 * once per (T, SFX). */

#define FN(name) FD_TNAME(name)

static double FN(peak_generic)(int64_t iters, double *sink)
{
    T acc[16];
    const T m = (T)0.999999, c = (T)0.000001;
    double s = 0.0;
    int64_t i;
    int j;
    for (j = 0; j < 16; j++) acc[j] = (T)(0.05 * (j + 1));
    for (i = 0; i < iters; i++)
        for (j = 0; j < 16; j++) acc[j] = acc[j] * m + c;
    for (j = 0; j < 16; j++) s += (double)acc[j];
    *sink = s;
    return (double)iters * 16.0 * 2.0;
}

#undef FN
