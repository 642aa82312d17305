/* Per-dtype body of peak.c: the portable FMA-throughput loop, the pick and
 * the entry point, instantiated through common/fd_template.h. */

#define FN(name) FD_TNAME(name)

/* Portable loop: 16 independent multiply-add chains per iteration, plain C
 * (the compiler may vectorise it with the baseline instruction set; that is
 * what the generic kernels get too).  A multiply plus an add counts 2. */
static double FD_TNAME_ISA(fd_peak_fma, generic)(int64_t iters, double *sink)
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

/* The FMA loop of one SIMD path (see "Dispatch" in fd_common.h). */
typedef struct {
    peak_fn fma;
} FN(fd_peak_kernels);

static FN(fd_peak_kernels) FN(fd_peak_pick)(int isa)
{
    FN(fd_peak_kernels) k;
    k.fma = FD_PICK(isa, fd_peak_fma);
    return k;
}

double FN(fd_peak_fma)(fd_ctx ctx, int64_t iters, int *threads_used, double *sink)
{ return peak_run(ctx, iters, threads_used, sink, FN(fd_peak_pick)(ctx.isa).fma); }

#undef FN
