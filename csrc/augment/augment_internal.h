/* Private to augment*.c: the per-ISA kernels behind fd_augment_*.
 *
 * Every float operation is an IEEE multiply or add in float32, in a fixed
 * order (contraction off in every file), so the portable, AVX2 and AVX-512
 * paths agree bit for bit. */
#ifndef FD_AUGMENT_INTERNAL_H
#define FD_AUGMENT_INTERNAL_H

#include "common/fd_common.h"
#include "common/fd_rng.h"

#include <math.h>
#include <string.h>

#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

/* out[j] = (...((w[0]*src[0][j] + w[1]*src[1][j]) + w[2]*src[2][j]) ...)
 * for j < n: one tap of a separable convolution per source row. */
typedef void (*fd_aug_conv_fn)(int64_t n, int ntaps, const float *const *src, const float *w,
                               float *FD_RESTRICT out);

/* Uniforms in [-1, 1): out[4*b + k] = word k of Philox at counter
 * (c0, c1, c2, c3 + b) mapped to (float)(word >> 8) * 2^-23 - 1, for b < nblocks. */
typedef void (*fd_aug_fill_fn)(int64_t nblocks, uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                               uint64_t seed, float *FD_RESTRICT out);

/* One block of Philox mapped to [-1, 1): shared by every path. */
static inline void fd_aug_fill_one(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                                   uint64_t seed, float *FD_RESTRICT out)
{
    fd_rng4 r = fd_philox4x32_10(c0, c1, c2, c3, seed);
    int k;
    for (k = 0; k < 4; k++) out[k] = (float)(r.v[k] >> 8) * (1.0f / 8388608.0f) - 1.0f;
}

/* Images between operations are kept with a one-pixel zero border: an h x w
 * image is an (h+2) x (w+2) buffer, row stride S = w + 2, pixel (x, y) at
 * pad[(y + 1) * S + x + 1].  Then a bilinear sample needs no bounds checks. */

/* Bilinear sample of the padded image at (x, y); 0 unless -1 < x < w and
 * -1 < y < h (outside pixels are 0).  Branch-free; the vector paths do the
 * same operations lane by lane. */
static inline float fd_aug_sample1(const float *pad, int64_t S, float fw, float fh, float x,
                                   float y)
{
    int in = (x > -1.0f) & (x < fw) & (y > -1.0f) & (y < fh);
    float xc = in ? x : -1.0f, yc = in ? y : -1.0f;
    float x0 = floorf(xc), y0 = floorf(yc);
    float fx = xc - x0, fy = yc - y0, gx = 1.0f - fx, gy = 1.0f - fy;
    int64_t b = ((int64_t)y0 + 1) * S + (int64_t)x0 + 1;
    float v0 = pad[b] * gx + pad[b + 1] * fx;
    float v1 = pad[b + S] * gx + pad[b + S + 1] * fx;
    float v = v0 * gy + v1 * fy;
    return in ? v : 0.0f;
}

/* Source coordinates of output row yi of an affine warp, coefficients
 * c = {ax, bx, ex, ay, by, ey}: sx = (ax*x + bx*yi) + ex, likewise sy. */
static inline void fd_aug_affine_coords(int64_t w, float yi, const float *c, float *FD_RESTRICT sx,
                                        float *FD_RESTRICT sy)
{
    const float bxy = c[1] * yi, byy = c[4] * yi;
    int64_t j;
    for (j = 0; j < w; j++) {
        float xj = (float)j;
        sx[j] = (c[0] * xj + bxy) + c[2];
        sy[j] = (c[3] * xj + byy) + c[5];
    }
}

/* Source coordinates of row yi of an elastic warp: (x + alpha*fx, yi + alpha*fy). */
static inline void fd_aug_elastic_coords(int64_t w, float yi, float alpha, const float *fx,
                                         const float *fy, float *FD_RESTRICT sx,
                                         float *FD_RESTRICT sy)
{
    int64_t j;
    for (j = 0; j < w; j++) {
        sx[j] = (float)j + alpha * fx[j];
        sy[j] = yi + alpha * fy[j];
    }
}

/* Source coordinates of all h rows of a warp (fd_aug_warp_fn below), row i
 * at sx + i * w, sy + i * w: every path computes them with these loops. */
static inline void fd_aug_warp_coords(int64_t h, int64_t w, const float *coef, float alpha,
                                      const float *fx, int64_t fstride, int64_t foff,
                                      float *FD_RESTRICT sx, float *FD_RESTRICT sy)
{
    int64_t i;
    for (i = 0; i < h; i++) {
        if (fx == NULL)
            fd_aug_affine_coords(w, (float)i, coef, sx + i * w, sy + i * w);
        else
            fd_aug_elastic_coords(w, (float)i, alpha, fx + i * fstride, fx + foff + i * fstride,
                                  sx + i * w, sy + i * w);
    }
}

/* Resample a padded h x w image into the interior of dst (padded too):
 *   affine  (field == 0): coordinates from fd_aug_affine_coords(coef)
 *   elastic (field != 0): from fd_aug_elastic_coords(alpha, fx, fy), with
 *           the fields' row i at fx + i * fstride (likewise fy = fx + foff).
 * sx, sy: h*w floats of scratch each. */
typedef void (*fd_aug_warp_fn)(const float *src, int64_t h, int64_t w, const float *coef,
                               float alpha, const float *fx, int64_t fstride, int64_t foff,
                               float *FD_RESTRICT dst, float *FD_RESTRICT sx,
                               float *FD_RESTRICT sy);

/* Image in: the interior of padded dst = (float)src (h x w uint8). */
typedef void (*fd_aug_put_u8_fn)(const uint8_t *src, int64_t h, int64_t w, float *FD_RESTRICT dst);
/* Image out: out[y*w + x] = res[(y+1)*(w+2) + x+1] * a + c. */
typedef void (*fd_aug_out_fn)(const float *res, int64_t h, int64_t w, float a, float c,
                              float *FD_RESTRICT out);
/* No augmentation: out[p] = (float)src[p] * a + c for p < n. */
typedef void (*fd_aug_norm_u8_fn)(int64_t n, const uint8_t *src, float a, float c,
                                  float *FD_RESTRICT out);

/* The bodies of the three above, shared by every path (plain loops the
 * compiler vectorises with the unit's instruction set). */
static inline void fd_aug_put_u8_body(const uint8_t *src, int64_t h, int64_t w,
                                      float *FD_RESTRICT dst)
{
    int64_t y, x;
    for (y = 0; y < h; y++) {
        float *d = dst + (y + 1) * (w + 2) + 1;
        const uint8_t *q = src + y * w;
        for (x = 0; x < w; x++) d[x] = (float)q[x];
    }
}

static inline void fd_aug_out_body(const float *res, int64_t h, int64_t w, float a, float c,
                                   float *FD_RESTRICT out)
{
    int64_t y, x;
    for (y = 0; y < h; y++) {
        const float *q = res + (y + 1) * (w + 2) + 1;
        float *o = out + y * w;
        for (x = 0; x < w; x++) o[x] = q[x] * a + c;
    }
}

static inline void fd_aug_norm_u8_body(int64_t n, const uint8_t *src, float a, float c,
                                       float *FD_RESTRICT out)
{
    int64_t p;
    for (p = 0; p < n; p++) out[p] = (float)src[p] * a + c;
}

#if FD_HAVE_X86_SIMD
void fd_aug_put_u8_avx2(const uint8_t *src, int64_t h, int64_t w, float *FD_RESTRICT dst);
void fd_aug_put_u8_avx512(const uint8_t *src, int64_t h, int64_t w, float *FD_RESTRICT dst);
void fd_aug_out_avx2(const float *res, int64_t h, int64_t w, float a, float c,
                     float *FD_RESTRICT out);
void fd_aug_out_avx512(const float *res, int64_t h, int64_t w, float a, float c,
                       float *FD_RESTRICT out);
void fd_aug_norm_u8_avx2(int64_t n, const uint8_t *src, float a, float c, float *FD_RESTRICT out);
void fd_aug_norm_u8_avx512(int64_t n, const uint8_t *src, float a, float c, float *FD_RESTRICT out);
#endif

#if FD_HAVE_X86_SIMD
void fd_aug_warp_avx2(const float *src, int64_t h, int64_t w, const float *coef, float alpha,
                      const float *fx, int64_t fstride, int64_t foff, float *FD_RESTRICT dst,
                      float *FD_RESTRICT sx, float *FD_RESTRICT sy);
void fd_aug_warp_avx512(const float *src, int64_t h, int64_t w, const float *coef, float alpha,
                        const float *fx, int64_t fstride, int64_t foff, float *FD_RESTRICT dst,
                        float *FD_RESTRICT sx, float *FD_RESTRICT sy);
void fd_aug_conv_avx2(int64_t n, int ntaps, const float *const *src, const float *w,
                      float *FD_RESTRICT out);
void fd_aug_conv_avx512(int64_t n, int ntaps, const float *const *src, const float *w,
                        float *FD_RESTRICT out);
void fd_aug_fill_avx2(int64_t nblocks, uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                      uint64_t seed, float *FD_RESTRICT out);
void fd_aug_fill_avx512(int64_t nblocks, uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                        uint64_t seed, float *FD_RESTRICT out);
#endif

#endif
