/* Softmax cross-entropy: portable row worker and the driver that checks
 * labels, splits the batch into fixed row blocks over OpenMP threads and
 * reduces the block sums in a fixed order (results independent of the
 * thread count). */
#include "loss.h"

#include <math.h>
#include <string.h>

#include "loss_internal.h"

/* The parallel loop pragma, only in OpenMP builds (a serial -Wall build
 * would warn about an unknown pragma).  The loop's thread count is `nt`. */
#ifdef _OPENMP
#define FD_LO_PARALLEL_FOR _Pragma("omp parallel for num_threads(nt) schedule(static)")
#else
#define FD_LO_PARALLEL_FOR (void)nt;
#endif

/* exp(x) for x <= 0 (x = logit - row max), NaN propagated; the same
 * reduction and polynomial as the SIMD paths (see lossopt_avx2.h), without
 * FMA.  Bit tricks go through memcpy and unsigned arithmetic: no UB even
 * for NaN. */
static inline float fd_exp_neg_f32(float x)
{
    const float lo = -87.33f, magic = 12582912.0f;
    float xc = (lo > x) ? lo : x; /* NaN stays NaN */
    float t = xc * 1.44269504088896341f + magic;
    float n = t - magic;
    float r = xc - n * 0.693359375f;
    float z, p, s;
    uint32_t tb, eb;
    r = r - n * -2.12194440e-4f;
    z = r * r;
    p = 1.9875691500e-4f * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * z + (r + 1.0f);
    memcpy(&tb, &t, sizeof tb);
    eb = (tb - 0x4B400000u + 127u) << 23;
    memcpy(&s, &eb, sizeof s);
    p = p * s;
    return (x < lo) ? 0.0f : p;
}

static inline double fd_exp_neg_f64(double x)
{
    const double lo = -708.39, magic = 6755399441055744.0;
    double xc = (lo > x) ? lo : x;
    double t = xc * 1.4426950408889634074 + magic;
    double n = t - magic;
    double r = xc - n * 6.93147180369123816490e-01;
    double p, s;
    uint64_t tb, eb;
    r = r - n * 1.90821492927058770002e-10;
    p = 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    memcpy(&tb, &t, sizeof tb);
    eb = (tb - 0x4338000000000000ull + 1023u) << 52;
    memcpy(&s, &eb, sizeof s);
    p = p * s;
    return (x < lo) ? 0.0 : p;
}

/* Portable row worker.  The exp sum is accumulated in double for both
 * types: float rows of 1000+ classes would otherwise lose ~1e-5. */
#define FD_XENT_GENERIC(T, SFX)                                                  \
    double fd_xent_rows_##SFX##_generic(int64_t r0, int64_t r1, int64_t c,       \
                                        const T *logits, const int64_t *labels,  \
                                        T *rows, T *grad, T scale)               \
    {                                                                            \
        double total = 0.0;                                                      \
        int64_t i, j;                                                            \
        for (i = r0; i < r1; i++) {                                              \
            const T *x = logits + i * c;                                         \
            T *g = grad ? grad + i * c : NULL;                                   \
            const int64_t lab = labels[i];                                       \
            T mx = x[0];                                                         \
            double s = 0.0, li;                                                  \
            for (j = 1; j < c; j++)                                              \
                mx = (x[j] > mx || x[j] != x[j]) ? x[j] : mx;                    \
            if (g) {                                                             \
                for (j = 0; j < c; j++) {                                        \
                    T e = fd_exp_neg_##SFX(x[j] - mx);                           \
                    g[j] = e;                                                    \
                    s += e;                                                      \
                }                                                                \
            } else {                                                             \
                for (j = 0; j < c; j++) s += fd_exp_neg_##SFX(x[j] - mx);        \
            }                                                                    \
            li = ((double)mx - (double)x[lab]) + log(s);                         \
            total += li;                                                         \
            if (rows) rows[i] = (T)li;                                           \
            if (g) {                                                             \
                const T inv = (T)(scale / s);                                    \
                for (j = 0; j < c; j++) g[j] *= inv;                             \
                g[lab] -= scale;                                                 \
            }                                                                    \
        }                                                                        \
        return total;                                                            \
    }

FD_XENT_GENERIC(float, f32)
FD_XENT_GENERIC(double, f64)

/* Row blocks: at most FD_XENT_MAX_BLOCKS (their sums live on the stack), at
 * least FD_XENT_MIN_ROWS rows each; the split depends on m only. */
#define FD_XENT_MAX_BLOCKS 256
#define FD_XENT_MIN_ROWS 16
/* Logits per thread before a second thread pays off. */
#define FD_XENT_GRAIN 16384

#define FD_XENT_DRIVER(T, SFX)                                                     \
    int fd_softmax_xent_##SFX(fd_ctx ctx, int64_t m, int64_t c, const T *logits,   \
                              const int64_t *labels, int reduction, T *loss,       \
                              T *grad)                                             \
    {                                                                              \
        double partial[FD_XENT_MAX_BLOCKS], total = 0.0;                           \
        int64_t i, rows_per, nblocks, b;                                           \
        T scale;                                                                   \
        T *rows;                                                                   \
        int nt;                                                                    \
        if (m < 0 || c < 0) return FD_EINVAL;                                      \
        if (reduction != FD_REDUCE_NONE && reduction != FD_REDUCE_MEAN &&          \
            reduction != FD_REDUCE_SUM)                                            \
            return FD_EINVAL;                                                      \
        for (i = 0; i < m; i++)                                                    \
            if (labels[i] < 0 || labels[i] >= c) return FD_EINVAL;                 \
        if (m == 0) {                                                              \
            /* mean of nothing is NaN (as NumPy and PyTorch), sum is 0 */          \
            if (reduction == FD_REDUCE_MEAN) *loss = (T)NAN;                       \
            else if (reduction == FD_REDUCE_SUM) *loss = (T)0;                     \
            return FD_OK;                                                          \
        }                                                                          \
        scale = reduction == FD_REDUCE_MEAN ? (T)(1.0 / (double)m) : (T)1;         \
        rows = reduction == FD_REDUCE_NONE ? loss : NULL;                          \
        rows_per = (m + FD_XENT_MAX_BLOCKS - 1) / FD_XENT_MAX_BLOCKS;              \
        if (rows_per < FD_XENT_MIN_ROWS) rows_per = FD_XENT_MIN_ROWS;              \
        nblocks = (m + rows_per - 1) / rows_per;                                   \
        nt = fd_threads_for(&ctx, (size_t)m * (size_t)c, FD_XENT_GRAIN);           \
        if (nt > nblocks) nt = (int)nblocks;                                       \
        FD_LO_PARALLEL_FOR               \
        for (b = 0; b < nblocks; b++) {                                            \
            int64_t r0 = b * rows_per;                                             \
            int64_t r1 = r0 + rows_per < m ? r0 + rows_per : m;                    \
            double sb;                                                             \
            FD_XENT_DISPATCH(SFX, sb = , r0, r1, c, logits, labels, rows, grad,    \
                             scale);                                               \
            partial[b] = sb;                                                       \
        }                                                                          \
        for (b = 0; b < nblocks; b++) total += partial[b];                         \
        if (reduction == FD_REDUCE_MEAN) *loss = (T)(total / (double)m);           \
        else if (reduction == FD_REDUCE_SUM) *loss = (T)total;                     \
        return FD_OK;                                                              \
    }

#if FD_HAVE_X86_SIMD
#define FD_XENT_DISPATCH(SFX, ASSIGN, ...)                                       \
    do {                                                                         \
        if (ctx.isa >= FD_ISA_AVX512) ASSIGN fd_xent_rows_##SFX##_avx512(__VA_ARGS__); \
        else if (ctx.isa >= FD_ISA_AVX2) ASSIGN fd_xent_rows_##SFX##_avx2(__VA_ARGS__); \
        else ASSIGN fd_xent_rows_##SFX##_generic(__VA_ARGS__);                   \
    } while (0)
#else
#define FD_XENT_DISPATCH(SFX, ASSIGN, ...)                                       \
    do { ASSIGN fd_xent_rows_##SFX##_generic(__VA_ARGS__); } while (0)
#endif

FD_XENT_DRIVER(float, f32)
FD_XENT_DRIVER(double, f64)
