/* Per-dtype body of dropout.c, instantiated through common/fd_template.h; see dropout.h. */

#define FN(name) FD_TNAME(name)

int FN(fd_dropout_ex)(fd_ctx ctx, int64_t n, const T *x, T *out, double p, uint64_t seed,
                      uint32_t c2, uint32_t tag)
{
    FN(fd_drop_plan) d;
    int64_t nq, per, t;
    fd_fpenv env;
    int nt, rc = FN(fd_drop_plan_init)(&d, ctx, n, p, seed, c2, tag);
    if (rc != FD_OK) return rc;
    if (n == 0) return FD_OK;
    if (p == 0.0) {
        if (out != x) memmove(out, x, (size_t)n * sizeof(T));
        return FD_OK;
    }
    nq = (n + 3) / 4;
    nt = fd_threads_for(&ctx, (size_t)n, FD_DROPOUT_GRAIN);
    /* whole 16-block (64-element) slices per thread */
    per = ((nq + nt - 1) / nt + FD_DROP_LANES - 1) / FD_DROP_LANES * FD_DROP_LANES;
    env = fd_fpenv_get();
    FD_PARALLEL_FOR
    for (t = 0; t < nt; t++) {
        const fd_fpenv own = fd_fpenv_enter(env);
        int64_t q0 = t * per, q1 = q0 + per < nq ? q0 + per : nq;
        if (q0 < q1) d.range(&d, q0, q1, x, out);
        fd_fpenv_leave(own);
    }
    return FD_OK;
}

int FN(fd_dropout)(fd_ctx ctx, int64_t n, const T *x, T *out, double p, uint64_t seed)
{ return FN(fd_dropout_ex)(ctx, n, x, out, p, seed, 0, 0); }

int FN(fd_drop_plan_init)(FN(fd_drop_plan) * d, fd_ctx ctx, int64_t n, double p, uint64_t seed,
                          uint32_t c2, uint32_t tag)
{
    if (n < 0 || !(p >= 0.0 && p < 1.0)) return FD_EINVAL;
    /* the workers of the SIMD path (see "Dispatch" in fd_common.h) */
    d->tile = FD_PICK(ctx.isa, fd_dropout_tile);
    d->range = FD_PICK(ctx.isa, fd_dropout_range);
    d->n = n;
    d->seed = seed;
    /* u < p for u = k / 2^24 (k integer) <=> k < ceil(p * 2^24); exact */
    d->thr = (uint32_t)ceil(p * 16777216.0);
    d->c2 = c2;
    d->c3 = fd_rng_c3(FD_RNG_STREAM_DROPOUT, tag);
    d->scale = (T)(1.0 / (1.0 - p));
    return FD_OK;
}

#undef FN
