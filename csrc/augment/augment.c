/* Augmentation and batch making: dispatch, threading, the portable path.
 * See augment.h for the API and the exact definition of every operation. */
#include "augment/augment.h"
#include "augment/augment_internal.h"
#include "common/fd_fpenv.h"
#include "common/fd_omp.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FD_AUG_PI 3.14159265358979323846
/* Largest sigma accepted: keeps the kernel (radius 3 sigma) cheap to build. */
#define FD_AUG_MAX_SIGMA 1000.0
/* Largest |degrees| accepted (fastdigits._augspec.MAX_DEGREES): far below
 * where deg_lo + (deg_hi - deg_lo) u overflows. */
#define FD_AUG_MAX_DEGREES 1e6
/* Images per thread below which a call stays serial. */
#define FD_AUG_GRAIN 4

/* ---- portable kernels ------------------------------------------------- */

static void fd_aug_conv_generic(int64_t n, int ntaps, const float *const *src, const float *w,
                                float *FD_RESTRICT out)
{
    int64_t j;
    int k;
    for (j = 0; j < n; j++) {
        float a = w[0] * src[0][j];
        for (k = 1; k < ntaps; k++) a = a + w[k] * src[k][j];
        out[j] = a;
    }
}

static void fd_aug_fill_generic(int64_t nblocks, uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                                uint64_t seed, float *FD_RESTRICT out)
{
    int64_t b;
    for (b = 0; b < nblocks; b++) fd_aug_fill_one(c0, c1, c2, c3 + (uint32_t)b, seed, out + 4 * b);
}

static void fd_aug_warp_generic(const float *src, int64_t h, int64_t w, const float *coef,
                                float alpha, const float *fx, int64_t fstride, int64_t foff,
                                float *FD_RESTRICT dst, float *FD_RESTRICT sx,
                                float *FD_RESTRICT sy)
{
    const int64_t S = w + 2;
    const float fw = (float)w, fh = (float)h;
    int64_t i, p;
    fd_aug_warp_coords(h, w, coef, alpha, fx, fstride, foff, sx, sy);
    for (p = 0; p < h * w; p++) sx[p] = fd_aug_sample1(src, S, fw, fh, sx[p], sy[p]);
    for (i = 0; i < h; i++) memcpy(dst + (i + 1) * S + 1, sx + i * w, sizeof(float) * (size_t)w);
}

static void fd_aug_put_u8_generic(const uint8_t *src, int64_t h, int64_t w, float *FD_RESTRICT dst)
{ fd_aug_put_u8_body(src, h, w, dst); }

static void fd_aug_out_generic(const float *res, int64_t h, int64_t w, float a, float c,
                               float *FD_RESTRICT out)
{ fd_aug_out_body(res, h, w, a, c, out); }

static void fd_aug_norm_u8_generic(int64_t n, const uint8_t *src, float a, float c,
                                   float *FD_RESTRICT out)
{ fd_aug_norm_u8_body(n, src, a, c, out); }

typedef struct {
    fd_aug_conv_fn conv;
    fd_aug_fill_fn fill;
    fd_aug_warp_fn warp;
    fd_aug_put_u8_fn put_u8;
    fd_aug_out_fn out;
    fd_aug_norm_u8_fn norm_u8;
} fd_augment_kernels_f32;

static fd_augment_kernels_f32 fd_augment_pick_f32(int isa)
{
    fd_augment_kernels_f32 k;
    k.conv = FD_PICK_NAMED(isa, fd_aug_conv);
    k.fill = FD_PICK_NAMED(isa, fd_aug_fill);
    k.warp = FD_PICK_NAMED(isa, fd_aug_warp);
    k.put_u8 = FD_PICK_NAMED(isa, fd_aug_put_u8);
    k.out = FD_PICK_NAMED(isa, fd_aug_out);
    k.norm_u8 = FD_PICK_NAMED(isa, fd_aug_norm_u8);
    return k;
}

/* ---- spec check and plan ------------------------------------------------ */

static int fd_aug_finite(double x)
{ return x == x && x - x == 0.0; }

int fd_aug_check(const fd_aug_spec *spec, int64_t h, int64_t w)
{
    int i, k, elastic = 0;
    if (h < 0 || w < 0) return FD_EINVAL;
    if (spec == NULL) return FD_OK;
    if (spec->n_ops < 0 || spec->n_ops > FD_AUG_MAX_OPS) return FD_EINVAL;
    for (i = 0; i < spec->n_ops; i++) {
        const double *p = spec->ops[i].p;
        for (k = 0; k < FD_AUG_MAX_PARAMS; k++)
            if (!fd_aug_finite(p[k])) return FD_EINVAL;
        if (spec->ops[i].kind == FD_AUG_AFFINE) {
            if (p[0] > p[1] || p[4] > p[5] || p[6] > p[7] || p[8] > p[9]) return FD_EINVAL;
            if (p[2] < 0 || p[3] < 0 || p[4] <= 0) return FD_EINVAL;
            if (!(fabs(p[0]) <= FD_AUG_MAX_DEGREES && fabs(p[1]) <= FD_AUG_MAX_DEGREES))
                return FD_EINVAL;
            for (k = 6; k < 10; k++)
                if (!(fabs(p[k]) < 90.0)) return FD_EINVAL;
        } else if (spec->ops[i].kind == FD_AUG_ELASTIC) {
            if (p[0] < 0 || p[0] > FLT_MAX || p[1] < 0 || p[1] > FD_AUG_MAX_SIGMA) return FD_EINVAL;
            elastic = 1;
        } else {
            return FD_EINVAL;
        }
    }
    /* The size limits bind only where an operation runs on some pixel. */
    if (spec->n_ops == 0 || h == 0 || w == 0) return FD_OK;
    /* coordinates are float32, exact for integers below 2^24 */
    if (h >= ((int64_t)1 << 24) || w >= ((int64_t)1 << 24)) return FD_EINVAL;
    /* padded images are indexed with 32-bit offsets by the vector paths */
    if ((h + 2) * (w + 2) >= ((int64_t)1 << 31)) return FD_EINVAL;
    if (elastic && h * w > ((int64_t)1 << 21)) return FD_EINVAL;
    return FD_OK;
}

/* Per call: the Gaussian taps of each elastic op, its radius clipped per
 * axis to the image's reach (h - 1 along columns, w - 1 along rows: taps
 * beyond it only ever meet the zero padding, so the result is the same). */
typedef struct {
    const fd_aug_spec *spec;
    int64_t h, w;
    int rv[FD_AUG_MAX_OPS], rh[FD_AUG_MAX_OPS]; /* taps used: 2*rv+1 (columns), 2*rh+1 (rows) */
    float *weights[FD_AUG_MAX_OPS]; /* 2*max(rv, rh)+1 taps, centred */
    int max_rv, max_rh, has_elastic;
    fd_augment_kernels_f32 k;
} fd_aug_plan;

static void fd_aug_plan_free(fd_aug_plan *pl)
{
    int i;
    for (i = 0; i < FD_AUG_MAX_OPS; i++) free(pl->weights[i]);
}

/* spec checked by fd_aug_check, h, w >= 1 */
static int fd_aug_plan_make(fd_aug_plan *pl, const fd_aug_spec *spec, int64_t h, int64_t w, int isa)
{
    int i;
    memset(pl, 0, sizeof *pl);
    pl->spec = spec;
    pl->h = h;
    pl->w = w;
    pl->k = fd_augment_pick_f32(isa);
    for (i = 0; spec != NULL && i < spec->n_ops; i++) {
        double sigma, den, sum = 0.0;
        int r, rv, rh, re, j;
        double *e;
        if (spec->ops[i].kind != FD_AUG_ELASTIC) continue;
        pl->has_elastic = 1;
        sigma = spec->ops[i].p[1];
        r = (int)ceil(3.0 * sigma);
        rv = (int64_t)r < h - 1 ? r : (int)(h - 1);
        rh = (int64_t)r < w - 1 ? r : (int)(w - 1);
        re = rv > rh ? rv : rh;
        e = (double *)malloc(sizeof(double) * (size_t)(2 * r + 1));
        pl->weights[i] = (float *)malloc(sizeof(float) * (size_t)(2 * re + 1));
        if (e == NULL || pl->weights[i] == NULL) {
            free(e);
            fd_aug_plan_free(pl);
            return FD_ENOMEM;
        }
        /* w_j = exp(-j^2 / (2 sigma^2)) / sum, j = -r..r, summed in order;
         * where 2 sigma^2 is 0 (sigma 0, or below ~1.1e-162) the limit
         * sigma -> 0: the centre tap alone */
        den = 2.0 * sigma * sigma;
        for (j = -r; j <= r; j++) {
            e[j + r] = den > 0 ? exp(-(double)j * (double)j / den) : (j == 0 ? 1.0 : 0.0);
            sum += e[j + r];
        }
        for (j = -re; j <= re; j++) pl->weights[i][j + re] = (float)(e[j + r] / sum);
        free(e);
        pl->rv[i] = rv;
        pl->rh[i] = rh;
        if (rv > pl->max_rv) pl->max_rv = rv;
        if (rh > pl->max_rh) pl->max_rh = rh;
    }
    return FD_OK;
}

/* ---- per-image operations ----------------------------------------------- */

static double fd_aug_u(uint32_t word)
{ return (double)fd_rng_uniform_f32(word); }

/* The float32 coefficients {ax, bx, ex, ay, by, ey} of one image's affine
 * warp (see augment.h and fd_aug_affine_coords), computed in double. */
static void fd_aug_affine_coef(const double *p, int64_t h, int64_t w, uint32_t c0, uint32_t c1,
                               uint32_t c2, uint32_t c3, uint64_t seed, float *coef)
{
    fd_rng4 r0 = fd_philox4x32_10(c0, c1, c2, c3, seed);
    fd_rng4 r1 = fd_philox4x32_10(c0, c1, c2, c3 + 1u, seed);
    double ang = p[0] + (p[1] - p[0]) * fd_aug_u(r0.v[0]);
    double tx = (2.0 * fd_aug_u(r0.v[1]) - 1.0) * p[2] * (double)w;
    double ty = (2.0 * fd_aug_u(r0.v[2]) - 1.0) * p[3] * (double)h;
    double s = p[4] + (p[5] - p[4]) * fd_aug_u(r0.v[3]);
    double shx = p[6] + (p[7] - p[6]) * fd_aug_u(r1.v[0]);
    double shy = p[8] + (p[9] - p[8]) * fd_aug_u(r1.v[1]);
    double a = ang * (FD_AUG_PI / 180.0);
    double ca = cos(a), sa = sin(a);
    double hx = tan(shx * (FD_AUG_PI / 180.0)), hy = tan(shy * (FD_AUG_PI / 180.0));
    double m00 = s * (ca + sa * hy), m01 = s * (ca * hx + sa);
    double m10 = s * (ca * hy - sa), m11 = s * (ca - sa * hx);
    double det = m00 * m11 - m01 * m10;
    double i00 = m11 / det, i01 = -m01 / det, i10 = -m10 / det, i11 = m00 / det;
    double cx = 0.5 * (double)(w - 1), cy = 0.5 * (double)(h - 1);
    coef[0] = (float)i00;
    coef[1] = (float)i01;
    coef[2] = (float)(cx - i00 * (cx + tx) - i01 * (cy + ty));
    coef[3] = (float)i10;
    coef[4] = (float)i11;
    coef[5] = (float)(cy - i10 * (cx + tx) - i11 * (cy + ty));
}

/* Scratch for one thread (sizes for the plan's largest radii rv, rh):
 *   buf[2]  two padded images, (h+2)(w+2) each, zero borders
 *   uni     2hw (+4) uniforms          vpad  hw + 2 rv w (column pass input)
 *   tmp     hw (column pass output)    hpad  h(w+rh) + 2rh (row pass input)
 *   fld     2h(w+rh): the smoothed dx then dy, row stride w + rh
 *   sx, sy  hw each (coordinates, then samples);
 *   srcs    2 max(rv, rh) + 1 row pointers */
typedef struct {
    float *buf[2], *uni, *vpad, *tmp, *hpad, *fld, *sx, *sy, *slab;
    const float **srcs;
} fd_aug_scratch;

static int fd_aug_scratch_alloc(fd_aug_scratch *s, const fd_aug_plan *pl)
{
    const size_t h = (size_t)pl->h, w = (size_t)pl->w, hw = h * w;
    const size_t rv = (size_t)pl->max_rv, rh = (size_t)pl->max_rh, r = rv > rh ? rv : rh;
    const size_t npadded = (h + 2) * (w + 2);
    const int e = pl->has_elastic;
    const size_t nuni = e ? 2 * hw + 4 : 0, nvpad = e ? hw + 2 * rv * w : 0, ntmp = e ? hw : 0;
    const size_t nhpad = e ? h * (w + rh) + 2 * rh : 0, nfld = e ? 2 * h * (w + rh) : 0;
    const size_t total = 2 * npadded + nuni + nvpad + ntmp + nhpad + nfld + 2 * hw;
    memset(s, 0, sizeof *s);
    s->slab = (float *)calloc(total, sizeof(float));
    s->srcs = (const float **)malloc(sizeof(float *) * (2 * r + 1));
    if (s->slab == NULL || s->srcs == NULL) {
        free(s->slab);
        free((void *)s->srcs);
        return FD_ENOMEM;
    }
    s->buf[0] = s->slab;
    s->buf[1] = s->buf[0] + npadded;
    s->uni = s->buf[1] + npadded;
    s->vpad = s->uni + nuni;
    s->tmp = s->vpad + nvpad;
    s->hpad = s->tmp + ntmp;
    s->fld = s->hpad + nhpad;
    s->sx = s->fld + nfld;
    s->sy = s->sx + hw;
    return FD_OK;
}

static void fd_aug_scratch_free(fd_aug_scratch *s)
{
    free(s->slab);
    free((void *)s->srcs);
}

/* Gaussian smoothing of one h x w field, zero outside, taps in order
 * (tap 0 first): along columns (radius rv) as one 1-D convolution of the
 * flat field with taps w apart (zero rows above and below), then along rows
 * (radius rh) as one 1-D convolution of the rows laid out w + rh apart with
 * rh zeros between them.  Result: row i at out + i * (w + rh). */
static void fd_aug_smooth(const fd_aug_plan *pl, int op, fd_aug_scratch *s, const float *in,
                          float *out)
{
    const int64_t h = pl->h, w = pl->w, hw = h * w;
    const int rv = pl->rv[op], rh = pl->rh[op], re = rv > rh ? rv : rh;
    const int64_t sf = w + rh;
    const float *gv = pl->weights[op] + (re - rv), *gh = pl->weights[op] + (re - rh);
    int64_t i;
    int k;
    memset(s->vpad, 0, sizeof(float) * (size_t)(rv * w));
    memcpy(s->vpad + rv * w, in, sizeof(float) * (size_t)hw);
    memset(s->vpad + rv * w + hw, 0, sizeof(float) * (size_t)(rv * w));
    for (k = 0; k <= 2 * rv; k++) s->srcs[k] = s->vpad + k * w;
    pl->k.conv(hw, 2 * rv + 1, s->srcs, gv, s->tmp);
    memset(s->hpad, 0, sizeof(float) * (size_t)(h * sf + 2 * rh));
    for (i = 0; i < h; i++)
        memcpy(s->hpad + rh + i * sf, s->tmp + i * w, sizeof(float) * (size_t)w);
    for (k = 0; k <= 2 * rh; k++) s->srcs[k] = s->hpad + k;
    pl->k.conv(h * sf, 2 * rh + 1, s->srcs, gh, out);
}

/* Runs every op on s->buf[0] (the padded image); returns the padded result. */
static const float *fd_aug_run(const fd_aug_plan *pl, fd_aug_scratch *s, int64_t id, uint64_t seed,
                               uint32_t epoch)
{
    const fd_aug_spec *spec = pl->spec;
    const int64_t h = pl->h, w = pl->w, hw = h * w;
    uint32_t c0 = (uint32_t)(uint64_t)id, c1 = (uint32_t)((uint64_t)id >> 32);
    int cur = 0, op;
    for (op = 0; op < spec->n_ops; op++) {
        uint32_t c3 = fd_rng_c3(FD_RNG_STREAM_AUGMENT, (uint32_t)op << 20);
        if (spec->ops[op].kind == FD_AUG_AFFINE) {
            float coef[6];
            fd_aug_affine_coef(spec->ops[op].p, h, w, c0, c1, epoch, c3, seed, coef);
            pl->k.warp(s->buf[cur], h, w, coef, 0.0f, NULL, 0, 0, s->buf[1 - cur], s->sx, s->sy);
        } else {
            const int64_t sf = w + pl->rh[op], foff = h * sf;
            pl->k.fill((2 * hw + 3) / 4, c0, c1, epoch, c3, seed, s->uni);
            fd_aug_smooth(pl, op, s, s->uni, s->fld);
            fd_aug_smooth(pl, op, s, s->uni + hw, s->fld + foff);
            pl->k.warp(s->buf[cur], h, w, NULL, (float)spec->ops[op].p[0], s->fld, sf, foff,
                       s->buf[1 - cur], s->sx, s->sy);
        }
        cur = 1 - cur;
    }
    return s->buf[cur];
}

/* Ask for the next image's bytes while this one is warped (a shuffled
 * batch reads images from anywhere in the data set). */
static void fd_aug_prefetch(const void *p, size_t bytes)
{
#if defined(__GNUC__) || defined(__clang__)
    size_t k;
    for (k = 0; k < bytes; k += 64) __builtin_prefetch((const char *)p + k, 0, 1);
#else
    (void)p;
    (void)bytes;
#endif
}

static void fd_aug_set_fail(int *fail)
{
    FD_OMP(atomic write)
    *fail = 1;
}

/* Per input type: T = uint8_t / float, SFX = u8 / f32. */
#define T uint8_t
#define SFX u8
#define FD_AUG_IN_U8 1
#include "augment/augment_impl.h"
#undef T
#undef SFX
#undef FD_AUG_IN_U8

#define T float
#define SFX f32
#define FD_AUG_IN_U8 0
#include "augment/augment_impl.h"
#undef FD_AUG_IN_U8
#undef T
#undef SFX

/* ---- shuffle and batches ------------------------------------------------ */

typedef struct {
    uint64_t key;
    int64_t idx;
} fd_aug_keyed;

static int fd_aug_keyed_cmp(const void *a, const void *b)
{
    const fd_aug_keyed *x = (const fd_aug_keyed *)a, *y = (const fd_aug_keyed *)b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

int fd_shuffle_order(fd_ctx ctx, int64_t n, uint64_t seed, uint32_t epoch, int64_t *order)
{
    fd_aug_keyed *kv;
    int64_t i;
    int nt;
    if (n <= 0) return FD_OK;
    kv = (fd_aug_keyed *)malloc(sizeof(fd_aug_keyed) * (size_t)n);
    if (kv == NULL) return FD_ENOMEM;
    nt = fd_threads_for(&ctx, (size_t)n, (size_t)1 << 14);
    FD_PARALLEL_FOR
    for (i = 0; i < n; i++) {
        fd_rng4 r = fd_philox4x32_10((uint32_t)(uint64_t)i, (uint32_t)((uint64_t)i >> 32), epoch,
                                     fd_rng_c3(FD_RNG_STREAM_SHUFFLE, 0), seed);
        kv[i].key = ((uint64_t)r.v[0] << 32) | r.v[1];
        kv[i].idx = i;
    }
    qsort(kv, (size_t)n, sizeof *kv, fd_aug_keyed_cmp);
    for (i = 0; i < n; i++) order[i] = kv[i].idx;
    free(kv);
    return FD_OK;
}

int fd_batch_make_f32(fd_ctx ctx, const uint8_t *images, int64_t n, int64_t h, int64_t w,
                      const int64_t *order, int64_t start, int64_t count, const fd_aug_spec *spec,
                      uint64_t seed, uint32_t epoch, double scale, double mean, double std,
                      float *out)
{
    int64_t i;
    if (start < 0 || count < 0 || start > n || count > n - start) return FD_EINVAL;
    for (i = 0; i < count; i++)
        if (order[start + i] < 0 || order[start + i] >= n) return FD_EINVAL;
    return fd_augment_u8(ctx, images, h, w, order + start, order + start, count, spec, seed, epoch,
                         scale, mean, std, out);
}

int fd_augment(fd_ctx ctx, int dtype, const void *images, int64_t h, int64_t w, const int64_t *rows,
               const int64_t *ids, int64_t count, const fd_aug_spec *spec, uint64_t seed,
               uint32_t epoch, double scale, double mean, double std, float *out)
{
    if (dtype == FD_U8)
        return fd_augment_u8(ctx, images, h, w, rows, ids, count, spec, seed, epoch, scale, mean,
                             std, out);
    if (dtype == FD_F32)
        return fd_augment_f32(ctx, images, h, w, rows, ids, count, spec, seed, epoch, scale, mean,
                              std, out);
    return FD_EINVAL;
}
