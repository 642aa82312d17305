/* Per-dtype body of idx_normalize.c: the polled in-place normalisation of
 * a tail layout, instantiated through common/fd_template.h. */

#define FN(name) FD_TNAME(name)

int FN(fd_normalize_tail_polled)(fd_ctx ctx, int64_t n, T *buf, double scale, double mean,
                                 double std, fd_idx_poll *poll)
{
    const int64_t s = (int64_t)sizeof(T), off = n * (s - 1);
    const uint8_t *bytes = (const uint8_t *)buf;
    int64_t lo = 0, slice = FD_NORM_POLL_SLICE;
    while (n > FD_NORM_POLL_MIN && n - lo > slice) {
        int64_t hi = (off + lo) / s;
        double t0 = fd_idx_now(), dt;
        if (hi > lo + slice) hi = lo + slice;
        /* Output below the input region: memory the input never held. */
        FD_TNAME_ISA(fd_normalize_u8,
                     ex)(ctx, hi - lo, bytes + off + lo, buf + lo, scale, mean, std,
                         hi * s <= off ? FD_NORM_STORE_AUTO : FD_NORM_STORE_CACHED);
        lo = hi;
        if (fd_idx_poll_stop(poll)) return FD_IDX_STOPPED;
        dt = fd_idx_now() - t0;
        if (dt >= 0.0 && dt < 0.5 * FD_IDX_POLL_SEC && slice < FD_NORM_POLL_SLICE_MAX)
            slice *= 2;
        else if (dt > 2.0 * FD_IDX_POLL_SEC && slice > FD_NORM_POLL_SLICE)
            slice /= 2;
    }
    FD_TNAME_ISA(fd_normalize_u8, tail_inplace)(ctx, n - lo, buf + lo, scale, mean, std);
    return FD_OK;
}

#undef FN
