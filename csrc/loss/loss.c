/* Softmax cross-entropy: portable row worker and the driver that checks
 * labels, splits the batch into fixed row blocks over OpenMP threads and
 * reduces the block sums in a fixed order (results independent of the
 * thread count). */
#include "loss/loss.h"

#include <math.h>
#include <string.h>

#include "common/fd_omp.h"
#include "loss/loss_internal.h"

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
    under = 0u - (uint64_t)((xb > lob) & ((xb & 0x7fffffffffffffffull) <= 0x7ff0000000000000ull));
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

/* Partial maxima and sums per row in the portable worker (loss_impl.h). */
#define FD_LANES 8

/* Row blocks: at most FD_XENT_MAX_BLOCKS (their sums live on the stack), at
 * least FD_XENT_MIN_ROWS rows each; the split depends on m only. */
#define FD_XENT_MAX_BLOCKS 256
#define FD_XENT_MIN_ROWS 16
/* Logits per thread before a second thread pays off. */
#define FD_XENT_GRAIN 16384

#define FD_TEMPLATE "loss/loss_impl.h"
#include "common/fd_template.h"
