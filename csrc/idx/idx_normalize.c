/* Chunked zlib decode + normalise (see idx_normalize.h). */
#include "idx/idx_normalize.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/fd_fpenv.h"
#include "common/fd_omp.h"
#include "idx/idx_stream.h"
#include "normalize/normalize.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Decompressed bytes per step.  Each step ends in a barrier, which costs
 * milliseconds when the machine is oversubscribed (a thread waits for the
 * other to be scheduled), so steps are few and large: 23 for MNIST train. */
#define FD_GZN_CHUNK ((int64_t)1 << 21)

static int gzn_err(fd_idx_error *err, int64_t off, const char *msg, long long a, long long b)
{
    err->offset = off;
    snprintf(err->msg, sizeof(err->msg), msg, a, b);
    return FD_IDX_ERR;
}

/* Inflate step k's chunk (exactly its size) into buf; FD_OK or an error. */
static int gzn_fill(fd_gz_stream *s, uint8_t *buf, int64_t len, int64_t header_len, int64_t total,
                    fd_idx_error *err)
{
    size_t got = 0;
    int rc = fd_gzs_read(s, buf, (size_t)len, &got, err);
    if (rc != FD_OK) return rc;
    if ((int64_t)got < len)
        return gzn_err(err, s->out_pos,
                       "IDX data shorter than the header says: the decompressed "
                       "stream ends at byte offset %lld, the header implies %lld "
                       "bytes in all",
                       (long long)s->out_pos, (long long)total);
    (void)header_len;
    return FD_OK;
}

static int gzn_finish(fd_gz_stream *s, int64_t total, fd_idx_error *err)
{
    uint8_t extra[64];
    size_t more = 0;
    int rc = fd_gzs_read(s, extra, sizeof(extra), &more, err);
    if (rc != FD_OK) return rc;
    if (more > 0)
        return gzn_err(err, total,
                       "IDX data longer than the header says: decompressed data "
                       "continues past byte offset %lld (the header implies %lld "
                       "bytes in all)",
                       (long long)total, (long long)total);
    return FD_OK;
}

static void gzn_norm(fd_ctx c, int is64, int64_t len, const uint8_t *src, void *out, int64_t lo,
                     double scale, double mean, double std)
{
    if (is64)
        fd_normalize_u8_f64(c, len, src, (double *)out + lo, scale, mean, std);
    else
        fd_normalize_u8_f32(c, len, src, (float *)out + lo, scale, mean, std);
}

static int64_t gzn_len(int64_t count, int64_t k)
{
    int64_t lo = k * FD_GZN_CHUNK;
    return count - lo < FD_GZN_CHUNK ? count - lo : FD_GZN_CHUNK;
}

static int gzn_run(fd_ctx ctx, int is64, const uint8_t *in, size_t n, int64_t header_len,
                   int64_t count, void *out, double scale, double mean, double std,
                   fd_idx_poll *poll, fd_idx_error *err)
{
    fd_gz_stream s;
    uint8_t *bufs;
    int64_t nchunks = (count + FD_GZN_CHUNK - 1) / FD_GZN_CHUNK;
    int64_t total = header_len + count;
    int rc, failed = FD_OK;
    int st[2] = {FD_OK, FD_OK};
    fd_ctx one = ctx;
    one.nthreads = 1;
    rc = fd_gzs_init(&s, in, n, 1);
    if (rc != FD_OK) return rc;
    /* Only thread 0, the caller's thread, reads the stream and so polls. */
    s.poll = poll;
    bufs = (uint8_t *)malloc(2 * (size_t)FD_GZN_CHUNK);
    if (!bufs) {
        fd_gzs_end(&s);
        return FD_ENOMEM;
    }
    /* The header was validated by the caller; skip it. */
    rc = gzn_fill(&s, bufs, header_len, header_len, total, err);
    if (rc == FD_OK && (ctx.nthreads < 2 || nchunks < 2)) {
        int64_t k;
        for (k = 0; k < nchunks && rc == FD_OK; k++) {
            int64_t len = gzn_len(count, k);
            rc = gzn_fill(&s, bufs, len, header_len, total, err);
            if (rc == FD_OK)
                gzn_norm(ctx, is64, len, bufs, out, k * FD_GZN_CHUNK, scale, mean, std);
        }
    } else if (rc == FD_OK) {
        /* Lock step: in step k thread 0 inflates chunk k into half k&1 of
         * bufs while thread 1 normalises chunk k-1 from the other half.  Only
         * thread 0 touches the stream, `failed` and `err`; st[k&1] passes
         * chunk k's status to thread 1 across the barrier. */
        const fd_fpenv env = fd_fpenv_get(); /* gzn_norm's, in both threads */
        FD_OMP(parallel num_threads(2))
        {
            const fd_fpenv own = fd_fpenv_enter(env);
            int tid = 0, team = 1;
            int64_t k;
#ifdef _OPENMP
            tid = omp_get_thread_num();
            team = omp_get_num_threads();
#endif
            for (k = 0; k <= nchunks; k++) {
                if ((tid == 0) && k < nchunks) {
                    if (failed == FD_OK)
                        failed = gzn_fill(&s, bufs + (k & 1) * FD_GZN_CHUNK, gzn_len(count, k),
                                          header_len, total, err);
                    st[k & 1] = failed;
                }
                if ((tid == 1 || team == 1) && k > 0 && st[(k - 1) & 1] == FD_OK)
                    gzn_norm(one, is64, gzn_len(count, k - 1), bufs + ((k - 1) & 1) * FD_GZN_CHUNK,
                             out, (k - 1) * FD_GZN_CHUNK, scale, mean, std);
                FD_OMP(barrier)
                /* Stop both threads at once after a failure or a stop
                 * request (slot k&1 is next written in step k+2, after
                 * the next barrier, so both read the same value). */
                if (k < nchunks && st[k & 1] != FD_OK) break;
            }
            fd_fpenv_leave(own);
        }
        rc = failed;
    }
    if (rc == FD_OK) rc = gzn_finish(&s, total, err);
    fd_gzs_end(&s);
    free(bufs);
    return rc;
}

int fd_gz_normalize_f32(fd_ctx ctx, const uint8_t *in, size_t n, int64_t header_len, int64_t count,
                        float *out, double scale, double mean, double std, fd_idx_poll *poll,
                        fd_idx_error *err)
{ return gzn_run(ctx, 0, in, n, header_len, count, out, scale, mean, std, poll, err); }

int fd_gz_normalize_f64(fd_ctx ctx, const uint8_t *in, size_t n, int64_t header_len, int64_t count,
                        double *out, double scale, double mean, double std, fd_idx_poll *poll,
                        fd_idx_error *err)
{ return gzn_run(ctx, 1, in, n, header_len, count, out, scale, mean, std, poll, err); }

/* Slice [lo, hi) reads input bytes [off+lo, off+hi) and writes output bytes
 * [lo*s, hi*s): with hi <= (off + lo) / s no unread input is overwritten
 * (the staging argument of fd_normalize_u8_*_tail_inplace).  Once at most
 * a slice is left, elements [lo, n) are again a tail layout of n - lo
 * elements starting at buf + lo, finished by the unpolled function. */
#define FD_TEMPLATE "idx/idx_normalize_impl.h"
#include "common/fd_template.h"

int fd_gz_normalize(fd_ctx ctx, int dtype, const uint8_t *in, size_t n, int64_t header_len,
                    int64_t count, void *out, double scale, double mean, double std,
                    fd_idx_poll *poll, fd_idx_error *err)
{
    if (dtype == FD_F32)
        return fd_gz_normalize_f32(ctx, in, n, header_len, count, out, scale, mean, std, poll, err);
    if (dtype == FD_F64)
        return fd_gz_normalize_f64(ctx, in, n, header_len, count, out, scale, mean, std, poll, err);
    return FD_EINVAL;
}

int fd_normalize_tail_polled(fd_ctx ctx, int dtype, int64_t n, void *buf, double scale, double mean,
                             double std, fd_idx_poll *poll)
{
    if (dtype == FD_F32) return fd_normalize_tail_polled_f32(ctx, n, buf, scale, mean, std, poll);
    if (dtype == FD_F64) return fd_normalize_tail_polled_f64(ctx, n, buf, scale, mean, std, poll);
    return FD_EINVAL;
}
