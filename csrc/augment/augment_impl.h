/* Per-input-type driver, included by augment.c with T (uint8_t or float)
 * and SFX (u8 or f32): fd_augment_u8 / fd_augment_f32 (see augment.h). */

int FD_TNAME(fd_augment)(fd_ctx ctx, const T *images, int64_t h, int64_t w, const int64_t *rows,
                         const int64_t *ids, int64_t count, const fd_aug_spec *spec, uint64_t seed,
                         uint32_t epoch, double scale, double mean, double std, float *out)
{
    const float a = (float)(scale / std), c = (float)(-mean / std);
    const int64_t hw = h * w;
    fd_aug_plan pl;
    int nt, t, fail = 0, st;
    fd_fpenv env;
    const int augment = spec != NULL && spec->n_ops > 0;
    if (count <= 0) return FD_OK;
    if (fd_aug_check(spec, h, w) != FD_OK) return FD_EINVAL;
    if (hw == 0) return FD_OK; /* empty images: nothing to write */
    st = fd_aug_plan_make(&pl, augment ? spec : NULL, h, w, ctx.isa);
    if (st != FD_OK) return st;
    nt = fd_threads_for(&ctx, (size_t)count,
                        augment ? FD_AUG_GRAIN : (size_t)(((int64_t)1 << 16) / hw + 1));
    env = fd_fpenv_get();
    FD_PARALLEL
    {
        const fd_fpenv own = fd_fpenv_enter(env);
        FD_FOR
        for (t = 0; t < nt; t++) {
            int64_t lo = count / nt * t + (count % nt) * t / nt;
            int64_t hi = count / nt * (t + 1) + (count % nt) * (t + 1) / nt;
            int64_t i;
            fd_aug_scratch s;
            if (!augment) {
                for (i = lo; i < hi; i++) {
                    const T *src = images + (rows ? rows[i] : i) * hw;
                    float *dst = out + i * hw;
#if FD_AUG_IN_U8
                    pl.k.norm_u8(hw, src, a, c, dst);
#else
                    int64_t p;
                    for (p = 0; p < hw; p++) dst[p] = (float)src[p] * a + c;
#endif
                }
                continue;
            }
            if (fd_aug_scratch_alloc(&s, &pl) != FD_OK) {
                fd_aug_set_fail(&fail);
                continue;
            }
            for (i = lo; i < hi; i++) {
                const T *src = images + (rows ? rows[i] : i) * hw;
                float *dst = out + i * hw;
                const float *res;
                if (i + 1 < hi)
                    fd_aug_prefetch(images + (rows ? rows[i + 1] : i + 1) * hw, hw * sizeof(T));
#if FD_AUG_IN_U8
                pl.k.put_u8(src, h, w, s.buf[0]);
#else
                int64_t p;
                for (p = 0; p < h; p++)
                    memcpy(s.buf[0] + (p + 1) * (w + 2) + 1, src + p * w,
                           sizeof(float) * (size_t)w);
#endif
                res = fd_aug_run(&pl, &s, ids ? ids[i] : i, seed, epoch);
                pl.k.out(res, h, w, a, c, dst);
            }
            fd_aug_scratch_free(&s);
        }
        fd_fpenv_leave(own);
    }
    fd_aug_plan_free(&pl);
    return fail ? FD_ENOMEM : FD_OK;
}
