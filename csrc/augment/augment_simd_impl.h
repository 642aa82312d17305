/* Template for the per-ISA augmentation kernels fd_aug_<kernel>_<isa> (see
 * augment_internal.h; float32 only), included by augment_avx2.c /
 * augment_avx512.c after their simd/ header: it uses the float vocabulary
 * (vec, W, set1, load, load_u8, mul, add, store, bilinear_pad) and computes
 * W Philox blocks side by side in the fill.  Every
 * result is computed with the portable path's float32 operations in the
 * same order (contraction off), so all paths agree bit for bit. */

#define AUG_NAME(name) FD_PASTE2(name, FD_SIMD_ISA)
#define VP(name) FD_PASTE2(FD_SIMD_VEC_f32, name)

void AUG_NAME(fd_aug_conv)(int64_t n, int ntaps, const float *const *src, const float *w,
                           float *FD_RESTRICT out)
{
    int64_t j = 0;
    int k;
    for (; j + 2 * VP(W) <= n; j += 2 * VP(W)) {
        VP(vec) wk = VP(set1)(w[0]);
        VP(vec) a0 = VP(mul)(wk, VP(load)(src[0] + j));
        VP(vec) a1 = VP(mul)(wk, VP(load)(src[0] + j + VP(W)));
        for (k = 1; k < ntaps; k++) {
            wk = VP(set1)(w[k]);
            a0 = VP(add)(a0, VP(mul)(wk, VP(load)(src[k] + j)));
            a1 = VP(add)(a1, VP(mul)(wk, VP(load)(src[k] + j + VP(W))));
        }
        VP(store)(out + j, a0);
        VP(store)(out + j + VP(W), a1);
    }
    for (; j + VP(W) <= n; j += VP(W)) {
        VP(vec) a0 = VP(mul)(VP(set1)(w[0]), VP(load)(src[0] + j));
        for (k = 1; k < ntaps; k++) a0 = VP(add)(a0, VP(mul)(VP(set1)(w[k]), VP(load)(src[k] + j)));
        VP(store)(out + j, a0);
    }
    for (; j < n; j++) {
        float a = w[0] * src[0][j];
        for (k = 1; k < ntaps; k++) a = a + w[k] * src[k][j];
        out[j] = a;
    }
}

/* Lanes side by side, the ten rounds inside the lane loop (fully unrolled
 * by the compiler), so the lane loop vectorises (32x32->64 multiplies). */
void AUG_NAME(fd_aug_fill)(int64_t nblocks, uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                           uint64_t seed, float *FD_RESTRICT out)
{
    int64_t b = 0;
    for (; b + VP(W) <= nblocks; b += VP(W)) {
        float o0[VP(W)], o1[VP(W)], o2[VP(W)], o3[VP(W)];
        int l;
        for (l = 0; l < VP(W); l++) {
            fd_rng4 r = fd_philox4x32_10(c0, c1, c2, c3 + (uint32_t)(b + l), seed);
            o0[l] = (float)(r.v[0] >> 8) * (1.0f / 8388608.0f) - 1.0f;
            o1[l] = (float)(r.v[1] >> 8) * (1.0f / 8388608.0f) - 1.0f;
            o2[l] = (float)(r.v[2] >> 8) * (1.0f / 8388608.0f) - 1.0f;
            o3[l] = (float)(r.v[3] >> 8) * (1.0f / 8388608.0f) - 1.0f;
        }
        for (l = 0; l < VP(W); l++) {
            out[4 * (b + l)] = o0[l];
            out[4 * (b + l) + 1] = o1[l];
            out[4 * (b + l) + 2] = o2[l];
            out[4 * (b + l) + 3] = o3[l];
        }
    }
    for (; b < nblocks; b++) fd_aug_fill_one(c0, c1, c2, c3 + (uint32_t)b, seed, out + 4 * b);
}

void AUG_NAME(fd_aug_warp)(const float *src, int64_t h, int64_t w, const float *coef, float alpha,
                           const float *fx, int64_t fstride, int64_t foff, float *FD_RESTRICT dst,
                           float *FD_RESTRICT sx, float *FD_RESTRICT sy)
{
    const int64_t S = w + 2;
    const float fw = (float)w, fh = (float)h;
    int64_t i, p;
    fd_aug_warp_coords(h, w, coef, alpha, fx, fstride, foff, sx, sy);
    /* all h*w samples in one flat loop (no per-row tails), in place in sx */
    for (p = 0; p + VP(W) <= h * w; p += VP(W))
        VP(store)(sx + p,
                  VP(bilinear_pad)(src, (int32_t)S, fw, fh, VP(load)(sx + p), VP(load)(sy + p)));
    for (; p < h * w; p++) sx[p] = fd_aug_sample1(src, S, fw, fh, sx[p], sy[p]);
    for (i = 0; i < h; i++) memcpy(dst + (i + 1) * S + 1, sx + i * w, sizeof(float) * (size_t)w);
}

/* Rows of w >= W values: whole vectors, then one last vector ending at the
 * row's end (overlapping the previous one: it rewrites the same values). */
void AUG_NAME(fd_aug_put_u8)(const uint8_t *src, int64_t h, int64_t w, float *FD_RESTRICT dst)
{
    int64_t y, x;
    if (w < VP(W)) {
        fd_aug_put_u8_body(src, h, w, dst);
        return;
    }
    for (y = 0; y < h; y++) {
        float *d = dst + (y + 1) * (w + 2) + 1;
        const uint8_t *q = src + y * w;
        for (x = 0; x + VP(W) <= w; x += VP(W)) VP(store)(d + x, VP(load_u8)(q + x));
        if (x < w) VP(store)(d + w - VP(W), VP(load_u8)(q + w - VP(W)));
    }
}

void AUG_NAME(fd_aug_out)(const float *res, int64_t h, int64_t w, float a, float c,
                          float *FD_RESTRICT out)
{
    const VP(vec) va = VP(set1)(a), vc = VP(set1)(c);
    int64_t y, x;
    if (w < VP(W)) {
        fd_aug_out_body(res, h, w, a, c, out);
        return;
    }
    for (y = 0; y < h; y++) {
        const float *q = res + (y + 1) * (w + 2) + 1;
        float *o = out + y * w;
        for (x = 0; x + VP(W) <= w; x += VP(W))
            VP(store)(o + x, VP(add)(VP(mul)(VP(load)(q + x), va), vc));
        if (x < w) VP(store)(o + w - VP(W), VP(add)(VP(mul)(VP(load)(q + w - VP(W)), va), vc));
    }
}

void AUG_NAME(fd_aug_norm_u8)(int64_t n, const uint8_t *src, float a, float c,
                              float *FD_RESTRICT out)
{
    const VP(vec) va = VP(set1)(a), vc = VP(set1)(c);
    int64_t p;
    if (n < VP(W)) {
        fd_aug_norm_u8_body(n, src, a, c, out);
        return;
    }
    for (p = 0; p + VP(W) <= n; p += VP(W))
        VP(store)(out + p, VP(add)(VP(mul)(VP(load_u8)(src + p), va), vc));
    if (p < n) VP(store)(out + n - VP(W), VP(add)(VP(mul)(VP(load_u8)(src + n - VP(W)), va), vc));
}

#undef AUG_NAME
#undef VP
