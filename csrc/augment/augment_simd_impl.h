/* Template for the per-ISA augmentation kernels (see augment_internal.h),
 * included by augment_avx2.c / augment_avx512.c with:
 *   CONV_FN, FILL_FN, WARP_FN   the function names
 *   VP(name)   the simd/ vocabulary for float (v8f_, v16f_): vec, W, set1,
 *              load, mul, add, store
 *   LANES      Philox blocks computed side by side in FILL_FN
 * and augment/augment_vec.h (the gather-based bilinear sample).  Every
 * result is computed with the portable path's float32 operations in the
 * same order (contraction off), so all paths agree bit for bit. */

void CONV_FN(int64_t n, int ntaps, const float *const *src, const float *w, float *FD_RESTRICT out)
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
void FILL_FN(int64_t nblocks, uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint64_t seed,
             float *FD_RESTRICT out)
{
    int64_t b = 0;
    for (; b + LANES <= nblocks; b += LANES) {
        float o0[LANES], o1[LANES], o2[LANES], o3[LANES];
        int l;
        for (l = 0; l < LANES; l++) {
            fd_rng4 r = fd_philox4x32_10(c0, c1, c2, c3 + (uint32_t)(b + l), seed);
            o0[l] = (float)(r.v[0] >> 8) * (1.0f / 8388608.0f) - 1.0f;
            o1[l] = (float)(r.v[1] >> 8) * (1.0f / 8388608.0f) - 1.0f;
            o2[l] = (float)(r.v[2] >> 8) * (1.0f / 8388608.0f) - 1.0f;
            o3[l] = (float)(r.v[3] >> 8) * (1.0f / 8388608.0f) - 1.0f;
        }
        for (l = 0; l < LANES; l++) {
            out[4 * (b + l)] = o0[l];
            out[4 * (b + l) + 1] = o1[l];
            out[4 * (b + l) + 2] = o2[l];
            out[4 * (b + l) + 3] = o3[l];
        }
    }
    for (; b < nblocks; b++) fd_aug_fill_one(c0, c1, c2, c3 + (uint32_t)b, seed, out + 4 * b);
}

void WARP_FN(const float *src, int64_t h, int64_t w, const float *coef, float alpha,
             const float *fx, int64_t fstride, int64_t foff, float *FD_RESTRICT dst,
             float *FD_RESTRICT sx, float *FD_RESTRICT sy)
{
    const int64_t S = w + 2;
    const float fw = (float)w, fh = (float)h;
    int64_t i, p;
    for (i = 0; i < h; i++) {
        if (fx == NULL)
            fd_aug_affine_coords(w, (float)i, coef, sx + i * w, sy + i * w);
        else
            fd_aug_elastic_coords(w, (float)i, alpha, fx + i * fstride, fx + foff + i * fstride,
                                  sx + i * w, sy + i * w);
    }
    /* all h*w samples in one flat loop (no per-row tails), in place in sx */
    for (p = 0; p + AUG_W <= h * w; p += AUG_W)
        aug_store(sx + p,
                  aug_sample_vec(src, (int32_t)S, fw, fh, aug_load(sx + p), aug_load(sy + p)));
    for (; p < h * w; p++) sx[p] = fd_aug_sample1(src, S, fw, fh, sx[p], sy[p]);
    for (i = 0; i < h; i++) memcpy(dst + (i + 1) * S + 1, sx + i * w, sizeof(float) * (size_t)w);
}
