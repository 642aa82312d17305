/* Softmax cross-entropy: portable row worker and the driver that checks
 * labels, splits the batch into fixed row blocks over OpenMP threads and
 * reduces the block sums in a fixed order (results independent of the
 * thread count). */
#include "loss/loss.h"

#include <math.h>
#include <string.h>

#include "loss/loss_internal.h"

/* The parallel loop pragma, only in OpenMP builds (a serial -Wall build
 * would warn about an unknown pragma); MSVC spells _Pragma __pragma.
 * The loop's thread count is `nt`. */
#if defined(_OPENMP) && defined(_MSC_VER)
#define FD_LO_PARALLEL_FOR __pragma(omp parallel for num_threads(nt) schedule(static))
#elif defined(_OPENMP)
#define FD_LO_PARALLEL_FOR _Pragma("omp parallel for num_threads(nt) schedule(static)")
#else
#define FD_LO_PARALLEL_FOR (void)nt;
#endif

/* exp(x) for x <= 0 (x = logit - row max), NaN propagated; the same
 * reduction and polynomial as the SIMD paths (see simd/simd_avx2.h), without
 * FMA.  The clamp below ln(FLT_MIN) (result flushed to 0) is decided on the
 * bits: integer selects keep the function branch-free, so loops calling it
 * vectorise (float compares may trap, which blocks if-conversion), and
 * memcpy plus unsigned arithmetic keep it free of UB even for NaN. */
static inline float fd_exp_neg_f32(float x)
{
    const float lo = -87.33f, magic = 12582912.0f; /* 1.5 * 2^23 */
    float xc, t, n, r, z, p, s;
    uint32_t xb, lob, under, tb, eb, pb;
    memcpy(&xb, &x, sizeof xb);
    memcpy(&lob, &lo, sizeof lob);
    /* x < lo: a negative float below lo has larger bits; NaN is not under */
    under = 0u - (uint32_t)((xb > lob) & ((xb & 0x7fffffffu) <= 0x7f800000u));
    xb = (xb & ~under) | (lob & under);
    memcpy(&xc, &xb, sizeof xc);
    t = xc * 1.44269504088896341f + magic; /* round(x / ln2) in the low bits */
    n = t - magic;
    r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    z = r * r;
    p = 1.9875691500e-4f * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * z + (r + 1.0f);
    memcpy(&tb, &t, sizeof tb);
    eb = (tb - 0x4B400000u + 127u) << 23; /* 2^n */
    memcpy(&s, &eb, sizeof s);
    p = p * s;
    memcpy(&pb, &p, sizeof pb);
    pb &= ~under;
    memcpy(&p, &pb, sizeof p);
    return p;
}

static inline double fd_exp_neg_f64(double x)
{
    const double lo = -708.39, magic = 6755399441055744.0; /* 1.5 * 2^52 */
    double xc, t, n, r, p, s;
    uint64_t xb, lob, under, tb, eb, pb;
    memcpy(&xb, &x, sizeof xb);
    memcpy(&lob, &lo, sizeof lob);
    under = 0u - (uint64_t)((xb > lob) &
                            ((xb & 0x7fffffffffffffffull) <= 0x7ff0000000000000ull));
    xb = (xb & ~under) | (lob & under);
    memcpy(&xc, &xb, sizeof xc);
    t = xc * 1.4426950408889634074 + magic;
    n = t - magic;
    r = xc - n * 6.93147180369123816490e-01;
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
    memcpy(&pb, &p, sizeof pb);
    pb &= ~under;
    memcpy(&p, &pb, sizeof p);
    return p;
}

/* Portable row worker.  Max and sum run over FD_LANES independent
 * partial results and exp is branch-free, so compilers can vectorise the
 * inner loops for any target (SSE2, NEON, ...) without reassociating. */
#define FD_LANES 8
#define FD_XENT_GENERIC(T, SFX)                                                  \
    double fd_xent_rows_##SFX##_generic(int64_t r0, int64_t r1, int64_t c,       \
                                        const T *logits, const int64_t *labels,  \
                                        T *rows, T *grad, T scale)               \
    {                                                                            \
        double total = 0.0;                                                      \
        int64_t i, j;                                                            \
        int k;                                                                   \
        for (i = r0; i < r1; i++) {                                              \
            const T *x = logits + i * c;                                         \
            T *g = grad ? grad + i * c : NULL;                                   \
            const int64_t lab = labels[i];                                       \
            T ml[FD_LANES], sl[FD_LANES], mx;                                    \
            double s = 0.0, li;                                                  \
            for (k = 0; k < FD_LANES; k++) {                                     \
                ml[k] = (T)-INFINITY;                                            \
                sl[k] = (T)0;                                                    \
            }                                                                    \
            /* a NaN need not win the max: exp(NaN - max) spreads it */          \
            for (j = 0; j + FD_LANES <= c; j += FD_LANES)                        \
                for (k = 0; k < FD_LANES; k++)                                   \
                    ml[k] = x[j + k] > ml[k] ? x[j + k] : ml[k];                 \
            for (; j < c; j++) ml[0] = x[j] > ml[0] ? x[j] : ml[0];              \
            mx = ml[0];                                                          \
            for (k = 1; k < FD_LANES; k++) mx = ml[k] > mx ? ml[k] : mx;         \
            if (g) {                                                             \
                for (j = 0; j < c; j++) g[j] = fd_exp_neg_##SFX(x[j] - mx);      \
                for (j = 0; j + FD_LANES <= c; j += FD_LANES)                    \
                    for (k = 0; k < FD_LANES; k++) sl[k] += g[j + k];            \
                for (; j < c; j++) sl[0] += g[j];                                \
            } else {                                                             \
                for (j = 0; j + FD_LANES <= c; j += FD_LANES)                    \
                    for (k = 0; k < FD_LANES; k++)                               \
                        sl[k] += fd_exp_neg_##SFX(x[j + k] - mx);                \
                for (; j < c; j++) sl[0] += fd_exp_neg_##SFX(x[j] - mx);         \
            }                                                                    \
            for (k = 0; k < FD_LANES; k++) s += sl[k];                           \
            li = ((double)mx - (double)x[lab]) + log(s);                         \
            total += li;                                                         \
            if (rows) rows[i] = (T)li;                                           \
            if (g) {                                                             \
                const T inv = (T)((double)scale / s);                            \
                for (j = 0; j < c; j++) g[j] *= inv;                             \
                g[lab] -= scale;                                                 \
            }                                                                    \
        }                                                                        \
        return total;                                                            \
    }

FD_XENT_GENERIC(float, f32)
FD_XENT_GENERIC(double, f64)

/* The row worker for the SIMD path in ctx.isa (the caller checked the CPU
 * supports it; builds without x86 SIMD always run the portable one). */
#if FD_HAVE_X86_SIMD
#define FD_XENT_PICK(T, SFX)                                                        \
    static double fd_xent_rows_##SFX(int isa, int64_t r0, int64_t r1, int64_t c,    \
                                     const T *logits, const int64_t *labels,        \
                                     T *rows, T *grad, T scale)                     \
    {                                                                               \
        if (isa >= FD_ISA_AVX512)                                                   \
            return fd_xent_rows_##SFX##_avx512(r0, r1, c, logits, labels, rows,     \
                                               grad, scale);                        \
        if (isa >= FD_ISA_AVX2)                                                     \
            return fd_xent_rows_##SFX##_avx2(r0, r1, c, logits, labels, rows, grad, \
                                             scale);                                \
        return fd_xent_rows_##SFX##_generic(r0, r1, c, logits, labels, rows, grad,  \
                                            scale);                                 \
    }
#else
#define FD_XENT_PICK(T, SFX)                                                        \
    static double fd_xent_rows_##SFX(int isa, int64_t r0, int64_t r1, int64_t c,    \
                                     const T *logits, const int64_t *labels,        \
                                     T *rows, T *grad, T scale)                     \
    {                                                                               \
        (void)isa;                                                                  \
        return fd_xent_rows_##SFX##_generic(r0, r1, c, logits, labels, rows, grad,  \
                                            scale);                                 \
    }
#endif
FD_XENT_PICK(float, f32)
FD_XENT_PICK(double, f64)

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
        FD_LO_PARALLEL_FOR                                                         \
        for (b = 0; b < nblocks; b++) {                                            \
            int64_t r0 = b * rows_per;                                             \
            int64_t r1 = r0 + rows_per < m ? r0 + rows_per : m;                    \
            partial[b] = fd_xent_rows_##SFX(ctx.isa, r0, r1, c, logits, labels,    \
                                            rows, grad, scale);                    \
        }                                                                          \
        for (b = 0; b < nblocks; b++) total += partial[b];                         \
        if (reduction == FD_REDUCE_MEAN) *loss = (T)(total / (double)m);           \
        else if (reduction == FD_REDUCE_SUM) *loss = (T)total;                     \
        return FD_OK;                                                              \
    }

FD_XENT_DRIVER(float, f32)
FD_XENT_DRIVER(double, f64)
