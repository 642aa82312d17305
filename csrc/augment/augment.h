/* Data augmentation and batch making for digit images (28x28 MNIST and any
 * other h x w): random affine warps and elastic distortions (Simard et al.
 * 2003), fused with the gather of a shuffled batch, the cast to float32 and
 * the normalisation, in one pass per batch (OpenMP over images).
 *
 * Determinism: every random number comes from Philox4x32-10
 * (common/fd_rng.h) keyed by the user's seed, with the counter
 *     c0 = sample id, low 32 bits     c1 = sample id, high 32 bits
 *     c2 = epoch (32 bits)
 *     c3 = FD_RNG_STREAM_AUGMENT << 24 | op position << 20 | block (20 bits)
 * where the sample id is the image's index in the data set (or what the
 * caller passes as ids) and `op position` is the operation's place in the
 * spec (0..15).  So an image's augmentation depends on (seed, epoch, sample
 * id, spec) only: not on its place in a batch, the batch size, the thread
 * count or the SIMD path (results are bit-identical across all of them).
 *
 * The shuffle order of an epoch: keys k[i] = v0 << 32 | v1 of Philox at
 * counter (i low, i high, epoch, FD_RNG_STREAM_SHUFFLE << 24); the order
 * sorts i by (k[i], i).
 *
 * Operations, applied in order, each resampling the previous result:
 *   FD_AUG_AFFINE  p = {deg_lo, deg_hi, tx, ty, scale_lo, scale_hi,
 *                       shx_lo, shx_hi, shy_lo, shy_hi}
 *       angle ~ U(deg_lo, deg_hi) degrees (counter-clockwise as displayed),
 *       translation ~ U(-tx*w, tx*w), U(-ty*h, ty*h) pixels (not rounded),
 *       scale ~ U(scale_lo, scale_hi), shears ~ U(shx_lo, shx_hi) and
 *       U(shy_lo, shy_hi) degrees; block 0 words 0..3 give angle, tx, ty,
 *       scale, block 1 words 0..1 the two shears.  The forward map about the
 *       centre c = ((w-1)/2, (h-1)/2) is p' = s R(angle) Sh p + t with
 *       Sh = [[1, tan shx], [tan shy, 1]]; each output pixel samples the
 *       input at the inverse image of its centre.
 *   FD_AUG_ELASTIC p = {alpha, sigma}
 *       per pixel uniforms in [-1, 1] (dx: uniform index y*w + x, dy:
 *       h*w + y*w + x; uniform k is word k%4 of block k/4), each field
 *       smoothed by a Gaussian of std sigma truncated at radius
 *       ceil(3 sigma) (weights normalised to sum 1; the field is zero
 *       outside the image), first along columns then along rows, then
 *       scaled by alpha (pixels, as a float32); pixel (x, y) samples
 *       (x + dx, y + dy).  Where 2 sigma^2 is 0 in double (sigma 0, or
 *       below ~1.1e-162) the Gaussian is its limit: the centre tap alone.
 * Sampling is bilinear; input pixels outside the image are 0 (MNIST's
 * black background).  Values keep the input's scale (uint8 in: 0..255).
 */
#ifndef FD_AUGMENT_H
#define FD_AUGMENT_H

#include "common/fd_common.h"

#define FD_AUG_MAX_OPS 16
#define FD_AUG_MAX_PARAMS 10

enum { FD_AUG_AFFINE = 1, FD_AUG_ELASTIC = 2 };

typedef struct {
    int kind; /* FD_AUG_* */
    double p[FD_AUG_MAX_PARAMS]; /* see above */
} fd_aug_op;

typedef struct {
    int n_ops; /* 0..FD_AUG_MAX_OPS; 0 = no augmentation */
    fd_aug_op ops[FD_AUG_MAX_OPS];
} fd_aug_spec;

/* FD_OK when spec is usable on h x w images, else FD_EINVAL (h or w < 0,
 * an unknown kind, a non-finite value, lo > hi, |degrees| > 1e6, scale <= 0,
 * |shear| >= 90, a negative alpha or sigma, alpha > FLT_MAX, sigma > 1000).
 * Where an operation runs on some pixel (n_ops > 0, h, w >= 1), also h or
 * w >= 2^24, (h+2)(w+2) >= 2^31 and an elastic field of more than 2^21
 * pixels.  No operations (or empty images): any h, w >= 0. */
int fd_aug_check(const fd_aug_spec *spec, int64_t h, int64_t w);

/* Augment and normalise `count` images of h x w into out (count*h*w floats):
 *   image i is images[rows ? rows[i] : i] (rows index the images array),
 *   its sample id is ids ? ids[i] : i,
 *   out[i] = augmented * a + c with a = (float)(scale/std),
 *   c = (float)(-mean/std) (one multiply then one add in float32; with
 *   scale = std = 1, mean = 0 the augmented values are returned exactly).
 * The caller checks rows are in range and that images and out do not
 * overlap.  Returns FD_OK, FD_EINVAL (fd_aug_check) or FD_ENOMEM (per-thread
 * scratch, about 7 h*w floats, could not be allocated). */
int fd_augment_u8(fd_ctx ctx, const uint8_t *images, int64_t h, int64_t w, const int64_t *rows,
                  const int64_t *ids, int64_t count, const fd_aug_spec *spec, uint64_t seed,
                  uint32_t epoch, double scale, double mean, double std, float *out);
int fd_augment_f32(fd_ctx ctx, const float *images, int64_t h, int64_t w, const int64_t *rows,
                   const int64_t *ids, int64_t count, const fd_aug_spec *spec, uint64_t seed,
                   uint32_t epoch, double scale, double mean, double std, float *out);

/* The permutation of 0..n-1 for (seed, epoch) described above, into
 * order[n].  Returns FD_OK or FD_ENOMEM. */
int fd_shuffle_order(fd_ctx ctx, int64_t n, uint64_t seed, uint32_t epoch, int64_t *order);

/* One training batch, the entry point for other kernels (the MLP's epoch
 * loop): images order[start .. start+count) of the uint8 data set images
 * (n images of h x w), augmented with spec (NULL or n_ops == 0: none; the
 * sample id of each image is its index in the data set, order[k]) and
 * normalised as fd_augment_u8 does, into out (count*h*w floats, row-major,
 * so also the (count, h*w) matrix of a flattened batch).  Returns FD_OK,
 * FD_EINVAL (bad spec, or an order entry outside [0, n), or start/count
 * out of range) or FD_ENOMEM. */
int fd_batch_make_f32(fd_ctx ctx, const uint8_t *images, int64_t n, int64_t h, int64_t w,
                      const int64_t *order, int64_t start, int64_t count, const fd_aug_spec *spec,
                      uint64_t seed, uint32_t epoch, double scale, double mean, double std,
                      float *out);

/* fd_augment_u8 / fd_augment_f32 for dtype FD_U8 / FD_F32 (common/fd_common.h;
 * images points to uint8 or float): the binding's one entry.  FD_EINVAL
 * (nothing written) for any other dtype. */
int fd_augment(fd_ctx ctx, int dtype, const void *images, int64_t h, int64_t w, const int64_t *rows,
               const int64_t *ids, int64_t count, const fd_aug_spec *spec, uint64_t seed,
               uint32_t epoch, double scale, double mean, double std, float *out);

#endif
