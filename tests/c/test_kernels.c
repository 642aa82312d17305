/* C-level tests of the loss, optimiser, augmentation and CPU kernels, without Python.
 *
 * Built by tests/test_c_api.py with the system compiler as plain C99:
 *   cc -std=c99 -Wall -Wextra -Werror -DFD_NO_SIMD -Icsrc tests/c/test_kernels.c \
 *      csrc/loss/loss.c csrc/loss/loss_avx2.c csrc/loss/loss_avx512.c \
 *      csrc/optim/optim.c csrc/optim/optim_avx2.c csrc/optim/optim_avx512.c \
 *      csrc/common/cpu.c -lz -lm
 * (optionally with -fopenmp).  Prints one line per failed check and a
 * summary; exits 0 only when every check passes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "act/act_code.h"
#include "augment/augment.h"
#include "common/cpu.h"
#include "dense/dense.h"
#include "dropout/dropout.h"
#include "common/fd_omp.h"
#include "common/fd_rng.h"
#include "gemm/gemm_bf16.h"
#include "gemm/gemm_blocking.h"
#include "idx/idx_normalize.h"
#include "loss/loss.h"
#include "mlp/mlp.h"
#include "mlp/mlp_sparse.h"
#include "normalize/normalize.h"
#include "optim/optim.h"

static int g_checks = 0, g_failed = 0;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        g_checks++;                                                                                \
        if (!(cond)) {                                                                             \
            g_failed++;                                                                            \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                                 \
        }                                                                                          \
    } while (0)

/* |a - b| <= atol + rtol * |b| */
static int close_to(double a, double b, double rtol, double atol)
{ return fabs(a - b) <= atol + rtol * fabs(b); }

static fd_ctx ctx_of(int nthreads)
{
    fd_ctx ctx;
    ctx.isa = FD_ISA_GENERIC;
    ctx.nthreads = nthreads;
    ctx.precision = FD_PREC_F32;
    ctx.tile = FD_TILE_AUTO;
    ctx.flush_denormals = 0;
    return ctx;
}

/* Cache detection (CPUID or sysfs, or the defaults) and the blocks derived
 * from it, in strict C99 without SIMD or OpenMP. */
static void test_caches(void)
{
    const fd_caches *c = fd_cpu_caches();
    fd_caches def, xeon;
    fd_gemm_blocks b;
    CHECK(c == fd_cpu_caches()); /* detected once */
    CHECK(c->l1d.size >= 4096 && c->l1d.size < c->l2.size);
    CHECK(c->l3.size == 0 || c->l3.size >= c->l2.size);
    CHECK(c->l1d.line >= 16 && (c->l1d.line & (c->l1d.line - 1)) == 0);
    CHECK(c->source >= FD_CACHES_DEFAULT && c->source <= FD_CACHES_SYSFS);
    fd_caches_default(&def);
    CHECK(def.l1d.size == 32 * 1024 && def.l2.size == 1024 * 1024 && def.l3.size == 0);
    b = fd_gemm_derive_blocks(&def, 8, 32, 4, 8, FD_GEMM_RULE_NC_BIG_L2);
    CHECK(b.kc == 896 && b.mc % 8 == 0 && b.nc % 32 == 0);
    xeon = def;
    xeon.l1d.size = 48 * 1024;
    xeon.l1d.ways = 12;
    xeon.l2.size = 2 * 1024 * 1024;
    b = fd_gemm_derive_blocks(&xeon, 8, 32, 4, 8, FD_GEMM_RULE_NC_BIG_L2);
    CHECK(b.kc == 1408 && b.mc == 184);
    CHECK(b.nc == 256); /* three quarters of the 2 MiB L2 */
    b = fd_gemm_derive_blocks(&xeon, 32, 32, 2, 32, FD_GEMM_RULE_KC_L2); /* AMX bf16 */
    CHECK(b.kc % 32 == 0 && b.kc * (32 + 32) * 2 <= xeon.l2.size / 8);
    b = fd_gemm_derive_blocks(&xeon, 32, 32, 2, 32, FD_GEMM_RULE_KC_AB_L1); /* its short panels */
    CHECK(b.kc == 288 && b.kc * (32 + 32) * 2 <= xeon.l1d.size / 4 * 3);
    b = fd_gemm_derive_blocks(NULL, 4, 8, 4, 8, 0);
    CHECK(b.kc >= FD_GEMM_KC_MIN && b.kc <= FD_GEMM_KC_MAX && b.nc >= 8 && b.mc >= 4);
}

static void test_cpu(void)
{
    const char *cv = fd_compiler_version();
    char brand[64];
#ifdef FD_NO_SIMD
    CHECK(fd_cpu_best_isa() == FD_ISA_GENERIC);
#else
    CHECK(fd_cpu_best_isa() >= FD_ISA_GENERIC && fd_cpu_best_isa() <= FD_ISA_AVX512);
#endif
#ifdef _OPENMP
    CHECK(fd_openmp_enabled() == 1);
    CHECK(fd_omp_max_threads() >= 1);
#else
    CHECK(fd_openmp_enabled() == 0);
    CHECK(fd_omp_max_threads() == 1);
#endif
    CHECK(fd_omp_in_parallel() == 0);
    CHECK(cv != NULL && strlen(cv) > 0);
    fd_cpu_brand(brand, sizeof brand);
    CHECK(strlen(brand) < sizeof brand);
}

/* Row loss with libm: log(sum exp(x - max)) + max - x[label]. */
static double row_loss(const double *x, int c, int label, double *softmax)
{
    double mx = x[0], s = 0.0;
    int j;
    for (j = 1; j < c; j++) mx = x[j] > mx ? x[j] : mx;
    for (j = 0; j < c; j++) s += exp(x[j] - mx);
    for (j = 0; j < c; j++) softmax[j] = exp(x[j] - mx) / s;
    return log(s) + mx - x[label];
}

static void test_loss_f64(void)
{
    enum { M = 3, C = 5 };
    const double x[M * C] = {1.0, 2.0, 3.0,  -1.0, 0.5, 0.0, 0.0, 0.0,
                             0.0, 0.0, 10.0, -4.0, 2.5, 7.0, 1.0};
    const int64_t y[M] = {2, 1, 3};
    double rows[M], sm[M][C], loss[M], grad[M * C], total = 0.0;
    int i, j, r;
    for (i = 0; i < M; i++) {
        rows[i] = row_loss(x + i * C, C, (int)y[i], sm[i]);
        total += rows[i];
    }
    CHECK(fd_softmax_xent_f64(ctx_of(1), M, C, x, y, FD_REDUCE_NONE, loss, grad) == FD_OK);
    for (i = 0; i < M; i++) {
        CHECK(close_to(loss[i], rows[i], 1e-13, 1e-15));
        for (j = 0; j < C; j++)
            CHECK(close_to(grad[i * C + j], sm[i][j] - (j == y[i]), 1e-13, 1e-15));
    }
    for (r = FD_REDUCE_MEAN; r <= FD_REDUCE_SUM; r++) {
        double scale = r == FD_REDUCE_MEAN ? 1.0 / M : 1.0;
        CHECK(fd_softmax_xent_f64(ctx_of(1), M, C, x, y, r, loss, grad) == FD_OK);
        CHECK(close_to(loss[0], total * scale, 1e-13, 1e-15));
        for (i = 0; i < M; i++)
            for (j = 0; j < C; j++)
                CHECK(close_to(grad[i * C + j], (sm[i][j] - (j == y[i])) * scale, 1e-13, 1e-15));
    }
    /* all classes equal: log(C) and a uniform softmax; no gradient asked */
    CHECK(fd_softmax_xent_f64(ctx_of(1), 1, C, x + C, y + 1, FD_REDUCE_SUM, loss, NULL) == FD_OK);
    CHECK(close_to(loss[0], log((double)C), 1e-14, 0.0));
}

static void test_loss_f32_extremes(void)
{
    const float x[2 * 3] = {1e4f, -1e4f, 0.0f, 3e38f, -3e38f, 1.0f};
    const int64_t y[2] = {1, 0};
    float loss[2], grad[6];
    int j;
    CHECK(fd_softmax_xent_f32(ctx_of(1), 2, 3, x, y, FD_REDUCE_NONE, loss, grad) == FD_OK);
    CHECK(close_to(loss[0], 2e4, 1e-6, 0.0));
    CHECK(loss[1] == 0.0f);
    for (j = 0; j < 6; j++) CHECK(isfinite(grad[j]));
    CHECK(grad[0] == 1.0f && grad[1] == -1.0f && grad[2] == 0.0f);
    CHECK(grad[3] == 0.0f && grad[4] == 0.0f && grad[5] == 0.0f);
}

static void test_loss_errors_write_nothing(void)
{
    const float x[2 * 4] = {0};
    int64_t y[2] = {0, 4};
    float loss[2] = {-7.0f, -7.0f}, grad[8];
    int j;
    for (j = 0; j < 8; j++) grad[j] = -7.0f;
    CHECK(fd_softmax_xent_f32(ctx_of(1), 2, 4, x, y, FD_REDUCE_MEAN, loss, grad) == FD_EINVAL);
    y[1] = -1;
    CHECK(fd_softmax_xent_f32(ctx_of(1), 2, 4, x, y, FD_REDUCE_NONE, loss, grad) == FD_EINVAL);
    y[1] = 3;
    CHECK(fd_softmax_xent_f32(ctx_of(1), 2, 4, x, y, 7, loss, grad) == FD_EINVAL);
    CHECK(loss[0] == -7.0f && loss[1] == -7.0f);
    for (j = 0; j < 8; j++) CHECK(grad[j] == -7.0f);
    /* empty batch: mean is NaN, sum is 0 */
    CHECK(fd_softmax_xent_f32(ctx_of(1), 0, 4, x, y, FD_REDUCE_MEAN, loss, grad) == FD_OK);
    CHECK(isnan(loss[0]));
    CHECK(fd_softmax_xent_f32(ctx_of(1), 0, 4, x, y, FD_REDUCE_SUM, loss, grad) == FD_OK);
    CHECK(loss[0] == 0.0f);
}

/* Results must not depend on the thread count (bit-identical). */
static void test_loss_threads_identical(void)
{
    enum { M = 3001, C = 11 };
    static float x[M * C], g1[M * C], g4[M * C];
    static int64_t y[M];
    float l1, l4;
    unsigned s = 12345u;
    int i;
    for (i = 0; i < M * C; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = (float)((s >> 8) % 20000) / 1000.0f - 10.0f;
    }
    for (i = 0; i < M; i++) y[i] = i % C;
    CHECK(fd_softmax_xent_f32(ctx_of(1), M, C, x, y, FD_REDUCE_MEAN, &l1, g1) == FD_OK);
    CHECK(fd_softmax_xent_f32(ctx_of(4), M, C, x, y, FD_REDUCE_MEAN, &l4, g4) == FD_OK);
    CHECK(memcmp(&l1, &l4, sizeof l1) == 0);
    CHECK(memcmp(g1, g4, sizeof g1) == 0);
}

static void test_sgd(void)
{
    const double p0[5] = {1.0, 2.0, -1.0, 0.5, 3.0};
    const double g[5] = {0.5, -1.0, 2.0, 0.0, -0.25};
    const double v0[5] = {0.1, 0.0, -0.2, 1.0, 0.3};
    const double lr = 0.1, mu = 0.9, wd = 0.01;
    double p[5], v[5];
    float pf[5], gf[5];
    int i, nest;
    for (nest = 0; nest <= 1; nest++) {
        memcpy(p, p0, sizeof p);
        memcpy(v, v0, sizeof v);
        fd_sgd_step_f64(ctx_of(1), 5, p, g, lr, mu, v, wd, nest);
        for (i = 0; i < 5; i++) {
            double d = g[i] + wd * p0[i], nv = mu * v0[i] + d;
            CHECK(close_to(v[i], nv, 1e-15, 1e-17));
            CHECK(close_to(p[i], p0[i] - lr * (nest ? d + mu * nv : nv), 1e-15, 1e-17));
        }
    }
    /* plain SGD: velocity may be NULL */
    for (i = 0; i < 5; i++) {
        pf[i] = (float)p0[i];
        gf[i] = (float)g[i];
    }
    fd_sgd_step_f32(ctx_of(1), 5, pf, gf, lr, 0.0, NULL, 0.0, 0);
    for (i = 0; i < 5; i++) CHECK(close_to(pf[i], p0[i] - lr * g[i], 1e-6, 1e-7));
    fd_sgd_step_f32(ctx_of(1), 0, pf, gf, lr, 0.0, NULL, 0.0, 0); /* n = 0: no-op */
}

static void test_adam(void)
{
    /* step 1 from zero moments: p <- p (1 - lr wd) - lr g / (|g| + eps) */
    const double p0[6] = {1.0, -2.0, 0.5, 4.0, -3.0, 2.5};
    const double g[6] = {0.3, -2.0, 1e-3, -5.0, 0.0, 7.0};
    const double lr = 0.01, eps = 1e-8, wd = 0.1, b1 = 0.9, b2 = 0.999;
    double p[6], m[6] = {0}, v[6] = {0};
    float pf[6], gf[6], mf[6] = {0}, vf[6] = {0};
    int i;
    memcpy(p, p0, sizeof p);
    fd_adam_step_f64(ctx_of(1), 6, p, g, m, v, lr, b1, b2, eps, 1, wd);
    for (i = 0; i < 6; i++) {
        CHECK(close_to(p[i], p0[i] * (1 - lr * wd) - lr * g[i] / (fabs(g[i]) + eps), 1e-12, 1e-15));
        CHECK(close_to(m[i], (1 - b1) * g[i], 1e-15, 0.0));
        CHECK(close_to(v[i], (1 - b2) * g[i] * g[i], 1e-15, 0.0));
    }
    /* a second step against the formula in double */
    {
        double pp[6], mm[6], vv[6];
        memcpy(pp, p, sizeof p);
        memcpy(mm, m, sizeof m);
        memcpy(vv, v, sizeof v);
        fd_adam_step_f64(ctx_of(1), 6, p, g, m, v, lr, b1, b2, eps, 2, wd);
        for (i = 0; i < 6; i++) {
            double nm = b1 * mm[i] + (1 - b1) * g[i], nv = b2 * vv[i] + (1 - b2) * g[i] * g[i];
            double want =
                pp[i] * (1 - lr * wd) - lr / (1 - b1 * b1) * nm / (sqrt(nv / (1 - b2 * b2)) + eps);
            CHECK(close_to(p[i], want, 1e-12, 1e-15));
        }
    }
    for (i = 0; i < 6; i++) {
        pf[i] = (float)p0[i];
        gf[i] = (float)g[i];
    }
    fd_adam_step_f32(ctx_of(2), 6, pf, gf, mf, vf, lr, b1, b2, eps, 1, wd);
    for (i = 0; i < 6; i++)
        CHECK(close_to(pf[i], p0[i] * (1 - lr * wd) - lr * g[i] / (fabs(g[i]) + eps), 1e-6, 1e-7));
}

/* Philox4x32-10 known answers from Random123's kat_vectors. */
static void test_philox(void)
{
    fd_rng4 r = fd_philox4x32_10(0, 0, 0, 0, 0);
    CHECK(r.v[0] == 0x6627e8d5u && r.v[1] == 0xe169c58du);
    CHECK(r.v[2] == 0xbc57ac4cu && r.v[3] == 0x9b00dbd8u);
    r = fd_philox4x32_10(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u,
                         ((uint64_t)0x299f31d0u << 32) | 0xa4093822u);
    CHECK(r.v[0] == 0xd16cfe09u && r.v[1] == 0x94fdccebu);
    CHECK(r.v[2] == 0x5001e420u && r.v[3] == 0x24126ea1u);
    CHECK(fd_rng_uniform_f32(0xFFFFFFFFu) < 1.0f && fd_rng_uniform_f32(0) == 0.0f);
    CHECK(fd_rng_c3(FD_RNG_STREAM_DROPOUT, 0x1234567u) == 0x03234567u);
}

/* Augmentation: the shuffle is a permutation, an identity spec is plain
 * normalisation, results do not depend on the thread count or on a
 * sample's place in the batch, bad arguments are refused. */
static void test_augment(void)
{
    enum { N = 37, H = 9, W = 11, HW = H * W };
    static uint8_t img[N * HW];
    static float a[N * HW], b[N * HW], one[HW];
    int64_t order[N], seen[N], rows[1];
    fd_aug_spec spec;
    int i, k, same;
    for (i = 0; i < N * HW; i++) img[i] = (uint8_t)((i * 37 + 11) % 256);
    CHECK(fd_shuffle_order(ctx_of(3), N, 42, 7, order) == FD_OK);
    for (i = 0; i < N; i++) seen[i] = 0;
    for (i = 0; i < N; i++)
        if (order[i] >= 0 && order[i] < N) seen[order[i]]++;
    for (i = 0; i < N; i++) CHECK(seen[i] == 1);

    memset(&spec, 0, sizeof spec);
    CHECK(fd_batch_make_f32(ctx_of(2), img, N, H, W, order, 0, N, &spec, 1, 0, 1.0 / 255, 0.5, 0.25,
                            a) == FD_OK);
    same = 1;
    for (k = 0; k < N; k++)
        for (i = 0; i < HW; i++)
            same &= a[k * HW + i] ==
                (float)img[order[k] * HW + i] * (float)(1.0 / 255 / 0.25) + (float)(-0.5 / 0.25);
    CHECK(same);

    spec.n_ops = 2;
    spec.ops[0].kind = FD_AUG_AFFINE;
    spec.ops[0].p[0] = -20;
    spec.ops[0].p[1] = 20;
    spec.ops[0].p[2] = spec.ops[0].p[3] = 0.1;
    spec.ops[0].p[4] = 0.9;
    spec.ops[0].p[5] = 1.1;
    spec.ops[1].kind = FD_AUG_ELASTIC;
    spec.ops[1].p[0] = 5;
    spec.ops[1].p[1] = 2;
    CHECK(fd_aug_check(&spec, H, W) == FD_OK);
    CHECK(fd_batch_make_f32(ctx_of(1), img, N, H, W, order, 0, N, &spec, 9, 3, 1, 0, 1, a) ==
          FD_OK);
    CHECK(fd_batch_make_f32(ctx_of(4), img, N, H, W, order, 0, N, &spec, 9, 3, 1, 0, 1, b) ==
          FD_OK);
    CHECK(memcmp(a, b, sizeof a) == 0);
    for (i = 0; i < N * HW; i++) CHECK(a[i] >= 0.0f && a[i] <= 255.0f);
    rows[0] = order[5];
    CHECK(fd_augment_u8(ctx_of(1), img, H, W, rows, rows, 1, &spec, 9, 3, 1, 0, 1, one) == FD_OK);
    CHECK(memcmp(one, a + 5 * HW, sizeof one) == 0);

    order[3] = N; /* out of range */
    CHECK(fd_batch_make_f32(ctx_of(1), img, N, H, W, order, 0, N, &spec, 9, 3, 1, 0, 1, a) ==
          FD_EINVAL);
    CHECK(fd_batch_make_f32(ctx_of(1), img, N, H, W, order, 4, N, &spec, 9, 3, 1, 0, 1, a) ==
          FD_EINVAL);
    spec.ops[1].p[1] = -1; /* negative sigma */
    CHECK(fd_aug_check(&spec, H, W) == FD_EINVAL);
    CHECK(fd_augment_u8(ctx_of(1), img, H, W, NULL, NULL, 1, &spec, 0, 0, 1, 0, 1, one) ==
          FD_EINVAL);
}

/* Dropout fused into the dense layers (dense.h) on the portable path: the
 * forward pass is fd_dropout_ex over the un-dropped output, stored with
 * ldy != n, bit for bit; the backward pass is the layer's backward on
 * fd_dropout_ex(dy); both the same for 1 and 3 threads. */
static float fd_test_val(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)((int)(*s >> 9) - (1 << 22)) / (float)(1 << 22);
}

static int dense_dropout_case(int64_t m, int64_t k, int64_t n, int nthreads)
{
    enum { MAXE = 200 * 160 };
    static float x[MAXE], W[MAXE], b[400], y[MAXE + 400], y2[MAXE], yk[MAXE], z[MAXE], dy[MAXE];
    static float dyd[MAXE], dW[MAXE], dW2[MAXE], db[400], db2[400], dx[MAXE], dx2[MAXE];
    const int64_t ldy = n + 3;
    fd_ctx ctx = ctx_of(nthreads);
    fd_dense_drop drop;
    uint32_t s = 12345u;
    int64_t i, j;
    int ok = 1;
    drop.p = 0.3;
    drop.seed = 0x123456789abcdefULL;
    drop.c2 = 7;
    drop.tag = 3;
    for (i = 0; i < m * k; i++) x[i] = fd_test_val(&s);
    for (i = 0; i < k * n; i++) W[i] = fd_test_val(&s);
    for (i = 0; i < n; i++) b[i] = fd_test_val(&s);
    for (i = 0; i < m * n; i++) dy[i] = dyd[i] = fd_test_val(&s);
    if (fd_dense_forward_f32(ctx, m, k, n, x, k, W, n, 1, b, FD_ACT_TANH, y, ldy, z, n, &drop, yk,
                             n, NULL, NULL) != FD_OK ||
        fd_dense_forward_f32(ctx, m, k, n, x, k, W, n, 1, b, FD_ACT_TANH, y2, n, NULL, 0, NULL,
                             NULL, 0, NULL, NULL) != FD_OK)
        return 0;
    for (i = 0; i < m * n; i++) ok &= yk[i] == y2[i];
    fd_dropout_ex_f32(ctx, m * n, y2, y2, drop.p, drop.seed, drop.c2, drop.tag);
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) ok &= y[i * ldy + j] == y2[i * n + j];
    fd_dropout_ex_f32(ctx, m * n, dyd, dyd, drop.p, drop.seed, drop.c2, drop.tag);
    if (fd_dense_backward_f32(ctx, m, k, n, dy, n, x, k, W, n, 1, yk, n, 0, FD_ACT_TANH, dx, k, dW,
                              n, 1, db, 0, &drop, NULL) != FD_OK ||
        fd_dense_backward_f32(ctx, m, k, n, dyd, n, x, k, W, n, 1, yk, n, 0, FD_ACT_TANH, dx2, k,
                              dW2, n, 1, db2, 0, NULL, NULL) != FD_OK)
        return 0;
    ok &= memcmp(dx, dx2, (size_t)(m * k) * sizeof(float)) == 0;
    ok &= memcmp(dW, dW2, (size_t)(k * n) * sizeof(float)) == 0;
    ok &= memcmp(db, db2, (size_t)n * sizeof(float)) == 0;
    return ok;
}

static void test_dense_dropout(void)
{
    fd_dense_drop bad;
    float x[6] = {1, 2, 3, 4, 5, 6}, W[6] = {1, 1, 1, 1, 1, 1}, y[4] = {9, 9, 9, 9};
    CHECK(dense_dropout_case(1, 1, 1, 1));
    CHECK(dense_dropout_case(7, 5, 13, 1));
    CHECK(dense_dropout_case(65, 17, 33, 2));
    CHECK(dense_dropout_case(200, 160, 150, 1));
    CHECK(dense_dropout_case(200, 160, 150, 3));
    bad.p = 1.0;
    bad.seed = 0;
    bad.c2 = bad.tag = 0;
    CHECK(fd_dense_forward_f32(ctx_of(1), 2, 3, 2, x, 3, W, 2, 1, NULL, FD_ACT_RELU, y, 2, NULL, 0,
                               &bad, NULL, 0, NULL, NULL) == FD_EINVAL);
    CHECK(y[0] == 9 && y[3] == 9);
}

/* The MLP epoch's sparse first layer (mlp/mlp_sparse.h): act(x @ W + b) on
 * rows that are mostly the background value x[0], against a double sum;
 * the same bits for 1, 2 and 3 threads; a batch with too few background
 * pixels, or a NaN first element, is left to the dense product (0, y not
 * written).  x: m rows of k, about `fill` of the pixels not background. */
/* x is bg outside columns [band0, band1) in every row (band1 = k: none),
 * and about `fill` of the rest is not. */
static int sparse_case(int64_t m, int64_t k, int64_t n, int act, float bg, double fill,
                       int64_t band0, int64_t band1)
{
    enum { MAXE = 64 * 100 };
    static float x[MAXE], W[MAXE], b[100], y[3][MAXE], scratch[60000];
    uint32_t s = 777u;
    int64_t i, j, r;
    int t, ok = 1;
    if (fd_mlp_sparse_bytes_f32(m, k, n) > sizeof(scratch) - 64) return 0;
    for (i = 0; i < m * k; i++) {
        const float u = fd_test_val(&s);
        const int in_band = i % k >= band0 && i % k < band1;
        x[i] = i > 0 && in_band && (u + 1.0f) * 0.5f < fill ? fd_test_val(&s) * 3.0f : bg;
    }
    for (i = 0; i < k * n; i++) W[i] = fd_test_val(&s);
    for (i = 0; i < n; i++) b[i] = fd_test_val(&s);
    for (t = 0; t < 3; t++) {
        for (i = 0; i < m * n; i++) y[t][i] = -99.0f;
        if (fd_mlp_sparse_forward_f32(ctx_of(t + 1), m, k, n, x, NULL, W, n, 1, b, act, y[t], n,
                                      scratch, NULL) != 1)
            return 0;
    }
    ok &= memcmp(y[0], y[1], (size_t)(m * n) * sizeof(float)) == 0;
    ok &= memcmp(y[0], y[2], (size_t)(m * n) * sizeof(float)) == 0;
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) {
            double z = b[j];
            for (r = 0; r < k; r++) z += (double)x[i * k + r] * W[r * n + j];
            if (act == FD_ACT_RELU && z < 0) z = 0;
            ok &= close_to(y[0][i * n + j], z, 1e-5, 1e-5);
        }
    return ok;
}

/* The L2 penalty's span (the MLP epoch's): g += c * w and the sum of w^2,
 * over lengths around the portable path's 16 lanes. */
static void test_l2_apply(void)
{
    static const int64_t lens[] = {0, 1, 15, 16, 17, 100, 257};
    float w[257], g[257], g0[257];
    double wd[257], gd[257], gd0[257];
    uint32_t s = 99u;
    size_t t;
    int64_t i;
    for (i = 0; i < 257; i++) {
        w[i] = fd_test_val(&s);
        g0[i] = fd_test_val(&s);
        wd[i] = (double)w[i];
        gd0[i] = (double)g0[i];
    }
    for (t = 0; t < sizeof lens / sizeof lens[0]; t++) {
        const int64_t n = lens[t];
        double sq = 0.0, got;
        memcpy(g, g0, sizeof g);
        memcpy(gd, gd0, sizeof gd);
        got = (double)fd_l2_apply_f32(FD_ISA_GENERIC, n, w, g, 0.25f);
        for (i = 0; i < n; i++) sq += wd[i] * wd[i];
        CHECK(close_to(got, sq, 1e-6, 1e-7));
        for (i = 0; i < 257; i++)
            CHECK(i < n ? close_to(g[i], gd0[i] + 0.25 * wd[i], 1e-6, 1e-7) : g[i] == g0[i]);
        CHECK(close_to(fd_l2_apply_f64(FD_ISA_GENERIC, n, wd, gd, 0.25), sq, 1e-14, 1e-15));
        for (i = 0; i < 257; i++)
            CHECK(i < n ? close_to(gd[i], gd0[i] + 0.25 * wd[i], 1e-15, 1e-16) : gd[i] == gd0[i]);
    }
}

static void test_mlp_sparse(void)
{
    static float x[16 * 20], W[20 * 5], y[16 * 5], scratch[4000];
    double xd[8 * 3], Wd[3 * 2], yd[8 * 2], sd[2000];
    int64_t i;
    CHECK(sparse_case(1, 1, 1, FD_ACT_RELU, 0.0f, 0.1, 0, 1));
    CHECK(sparse_case(7, 37, 19, FD_ACT_RELU, -0.4242f, 0.2, 0, 37)); /* a group of 3, tails */
    CHECK(sparse_case(64, 100, 33, FD_ACT_IDENTITY, 0.0f, 0.15, 0, 100));
    CHECK(sparse_case(9, 40, 64, FD_ACT_RELU, 1.5f, 0.05, 0, 40));
    /* every kept pixel in the first or the last pixels: the parts' split
     * (the chunk boundary that halves the kept pixels) at either end, one
     * part empty */
    CHECK(sparse_case(64, 100, 64, FD_ACT_RELU, 0.0f, 0.3, 0, 20));
    CHECK(sparse_case(64, 100, 64, FD_ACT_IDENTITY, -0.4242f, 0.3, 80, 100));
    CHECK(sparse_case(61, 100, 64, FD_ACT_RELU, 0.5f, 0.6, 99, 100));
    /* too dense, a NaN or inf background, another activation: not written */
    for (i = 0; i < 16 * 20; i++) x[i] = (float)(i % 7) - 3.0f;
    for (i = 0; i < 20 * 5; i++) W[i] = 0.5f;
    y[0] = 42.0f;
    CHECK(fd_mlp_sparse_forward_f32(ctx_of(2), 16, 20, 5, x, NULL, W, 5, 1, NULL, FD_ACT_RELU, y, 5,
                                    scratch, NULL) == 0);
    for (i = 0; i < 16 * 20; i++) x[i] = 0.0f;
    x[0] = (float)NAN;
    CHECK(fd_mlp_sparse_forward_f32(ctx_of(2), 16, 20, 5, x, NULL, W, 5, 1, NULL, FD_ACT_RELU, y, 5,
                                    scratch, NULL) == 0);
    x[0] = (float)INFINITY;
    CHECK(fd_mlp_sparse_forward_f32(ctx_of(1), 16, 20, 5, x, NULL, W, 5, 1, NULL, FD_ACT_RELU, y, 5,
                                    scratch, NULL) == 0);
    x[0] = 0.0f;
    CHECK(fd_mlp_sparse_forward_f32(ctx_of(1), 16, 20, 5, x, NULL, W, 5, 1, NULL, FD_ACT_TANH, y, 5,
                                    scratch, NULL) == 0);
    { /* an output layer of no outputs or wider than FD_SP_NEXT_MAX */
        fd_sp_head hd;
        memset(&hd, 0, sizeof hd);
        hd.wn = W;
        for (hd.cn = 0; hd.cn <= FD_SP_NEXT_MAX + 1; hd.cn += FD_SP_NEXT_MAX + 1)
            CHECK(fd_mlp_sparse_forward_f32(ctx_of(1), 16, 20, 5, x, NULL, W, 5, 1, NULL,
                                            FD_ACT_RELU, y, 5, scratch, &hd) == 0);
    }
    CHECK(y[0] == 42.0f);
    /* the first row decides alone: a finite background, at most 75% kept */
    CHECK(fd_mlp_sparse_may_f32(20, x) == 1 && fd_mlp_sparse_may_f32(0, x) == 0);
    for (i = 1; i <= 15; i++) x[i] = 1.0f; /* 15 of 20 kept: 75% */
    CHECK(fd_mlp_sparse_may_f32(20, x) == 1);
    x[16] = (float)NAN; /* a NaN pixel is kept: 16 of 20 */
    CHECK(fd_mlp_sparse_may_f32(20, x) == 0);
    CHECK(fd_mlp_sparse_forward_f32(ctx_of(2), 16, 20, 5, x, NULL, W, 5, 1, NULL, FD_ACT_RELU, y, 5,
                                    scratch, NULL) == 0);
    CHECK(y[0] == 42.0f);
    for (i = 1; i <= 16; i++) x[i] = 0.0f;
    /* an inf weight reaches every row through 0 * inf, as in x @ W; a NaN
     * pixel only its own row */
    x[5 * 20 + 3] = (float)NAN;
    W[7 * 5 + 2] = (float)INFINITY;
    CHECK(fd_mlp_sparse_forward_f32(ctx_of(2), 16, 20, 5, x, NULL, W, 5, 1, NULL, FD_ACT_IDENTITY,
                                    y, 5, scratch, NULL) == 1);
    for (i = 0; i < 16; i++) {
        CHECK(y[i * 5 + 2] != y[i * 5 + 2]);
        CHECK(i == 5 ? y[i * 5] != y[i * 5] : y[i * 5] == 0.0f);
    }
    /* float64 */
    for (i = 0; i < 8 * 3; i++) xd[i] = i % 5 == 4 ? 2.0 : -1.0;
    for (i = 0; i < 3 * 2; i++) Wd[i] = 0.25 * (double)(i + 1);
    CHECK(fd_mlp_sparse_bytes_f64(8, 3, 2) <= sizeof(sd) - 64);
    CHECK(fd_mlp_sparse_forward_f64(ctx_of(3), 8, 3, 2, xd, NULL, Wd, 2, 1, NULL, FD_ACT_IDENTITY,
                                    yd, 2, sd, NULL) == 1);
    for (i = 0; i < 8; i++) {
        const double *xr = xd + i * 3;
        CHECK(yd[i * 2] == xr[0] * 0.25 + xr[1] * 0.75 + xr[2] * 1.25);
        CHECK(yd[i * 2 + 1] == xr[0] * 0.5 + xr[1] * 1.0 + xr[2] * 1.5);
    }
}

/* The group weight gradient (fd_mlp_sparse_backward) after a sparse
 * forward pass on the same scratch: x is bg outside columns [band0, band1)
 * in every row, and about `fill` of the band is not.  dW and db must be
 * fd_dense_backward's (to rounding) with the same bits for 1-3 threads,
 * the third reading the rows through an index from a reversed copy. */
static int sparse_dw_case(int64_t m, int64_t k, int64_t n, int act, float bg, double fill,
                          int64_t band0, int64_t band1)
{
    enum { MAXM = 170, MAXK = 150, MAXN = 70 };
    static float x[MAXM * MAXK], xr[MAXM * MAXK], W[MAXK * MAXN], y[MAXM * MAXN], dy[MAXM * MAXN];
    static int64_t idx[MAXM];
    static float dW[3][MAXK * MAXN], db[3][MAXN], rW[MAXK * MAXN], rb[MAXN], scratch[160000];
    uint32_t s = 4242u;
    int64_t i, j;
    int t, ok = 1, done = -1;
    if (m > MAXM || k > MAXK || n > MAXN || fd_mlp_sparse_bytes_f32(m, k, n) > sizeof(scratch) - 64)
        return 0;
    for (i = 0; i < m * k; i++) {
        const float u = fd_test_val(&s);
        const int in_band = i % k >= band0 && i % k < band1;
        x[i] = i > 0 && in_band && (u + 1.0f) * 0.5f < fill ? fd_test_val(&s) * 3.0f : bg;
    }
    for (i = 0; i < k * n; i++) W[i] = fd_test_val(&s);
    for (i = 0; i < m * n; i++) dy[i] = fd_test_val(&s);
    for (i = 0; i < m; i++) { /* row i of x is row m - 1 - i of xr */
        idx[i] = m - 1 - i;
        memcpy(xr + (m - 1 - i) * k, x + i * k, (size_t)k * sizeof(float));
    }
    for (t = 0; t < 3; t++) {
        for (i = 0; i < k * n; i++) dW[t][i] = -99.0f;
        ok &=
            fd_mlp_sparse_forward_f32(ctx_of(t + 1), m, k, n, t == 2 ? xr : x, t == 2 ? idx : NULL,
                                      W, n, 1, NULL, act, y, n, scratch, NULL) == 1;
        ok &= fd_mlp_sparse_backward_f32(ctx_of(t + 1), m, k, n, dy, n, NULL, 0, NULL, 0, 1, NULL,
                                         0, 1, NULL, y, act, dW[t], n, 1, db[t], scratch,
                                         &done) == FD_OK;
        ok &= done == 1;
    }
    ok &= memcmp(dW[0], dW[1], (size_t)(k * n) * sizeof(float)) == 0;
    ok &= memcmp(dW[0], dW[2], (size_t)(k * n) * sizeof(float)) == 0;
    ok &= memcmp(db[0], db[2], (size_t)n * sizeof(float)) == 0;
    ok &= fd_dense_backward_f32(ctx_of(1), m, k, n, dy, n, x, k, W, n, 1, y, n, 0, act, NULL, 0, rW,
                                n, 1, rb, 0, NULL, NULL) == FD_OK;
    for (j = 0; j < n; j++) ok &= close_to(db[0][j], rb[j], 1e-5, 1e-5);
    for (i = 0; i < k * n; i++) ok &= close_to(dW[0][i], rW[i], 1e-4, 1e-4);
    return ok;
}

static void test_mlp_sparse_backward(void)
{
    enum { BIG = 2049 };
    static double xd[BIG * 3], yd[BIG * 2], dyd[BIG * 2], Wd[3 * 2], dWd[3 * 2], dbd[2];
    static double rW[3 * 2], rb[2], sd[90000];
    int64_t i, m;
    int done = -1;
    /* a band, relu and identity, backgrounds 0 and not 0, groups of 1-4
     * rows, several chunks of pixels in each half (k 150), column tails */
    CHECK(sparse_dw_case(160, 37, 19, FD_ACT_RELU, -0.4242f, 0.4, 9, 25));
    CHECK(sparse_dw_case(170, 40, 24, FD_ACT_IDENTITY, 0.0f, 0.2, 1, 33));
    CHECK(sparse_dw_case(163, 13, 5, FD_ACT_RELU, 1.5f, 0.4, 5, 6)); /* one pixel */
    CHECK(sparse_dw_case(7, 37, 19, FD_ACT_RELU, 0.0f, 0.15, 0, 37));
    CHECK(sparse_dw_case(1, 20, 7, FD_ACT_RELU, 0.0f, 0.5, 0, 20));
    CHECK(sparse_dw_case(66, 150, 70, FD_ACT_RELU, 0.5f, 0.15, 20, 140));
    CHECK(sparse_dw_case(170, 150, 70, FD_ACT_IDENTITY, 0.0f, 0.1, 0, 150));
    CHECK(sparse_dw_case(170, 150, 70, FD_ACT_RELU, 0.0f, 0.3, 0, 10)); /* split at an end */
    CHECK(sparse_dw_case(170, 150, 70, FD_ACT_RELU, 1.5f, 0.3, 140, 150));
    /* float64 on small dyadic numbers, 160 rows and a long batch: the exact
     * sums of the full product */
    for (m = 160; m <= BIG; m += BIG - 160) {
        for (i = 0; i < m * 3; i++) xd[i] = i % 3 == 1 && i % 7 < 3 ? (double)(i % 5) - 2.0 : 0.5;
        for (i = 0; i < m * 2; i++) dyd[i] = (double)(i % 9) / 8.0 - 0.5;
        for (i = 0; i < 3 * 2; i++) Wd[i] = 0.25 * (double)(i + 1);
        CHECK(fd_mlp_sparse_bytes_f64(m, 3, 2) <= sizeof(sd) - 64);
        CHECK(fd_mlp_sparse_forward_f64(ctx_of(2), m, 3, 2, xd, NULL, Wd, 2, 1, NULL,
                                        FD_ACT_IDENTITY, yd, 2, sd, NULL) == 1);
        CHECK(fd_mlp_sparse_backward_f64(ctx_of(2), m, 3, 2, dyd, 2, NULL, 0, NULL, 0, 1, NULL, 0,
                                         1, NULL, yd, FD_ACT_IDENTITY, dWd, 2, 1, dbd, sd,
                                         &done) == FD_OK);
        CHECK(done == 1);
        CHECK(fd_dense_backward_f64(ctx_of(1), m, 3, 2, dyd, 2, xd, 3, Wd, 2, 1, NULL, 0, 0,
                                    FD_ACT_IDENTITY, NULL, 0, rW, 2, 1, rb, 0, NULL,
                                    NULL) == FD_OK);
        CHECK(memcmp(dWd, rW, sizeof rW) == 0 && memcmp(dbd, rb, sizeof rb) == 0);
    }
    /* the scratch grows with the rows: the epoch sizes it for the batch */
    CHECK(fd_mlp_sparse_bytes_f64(BIG - 1, 3, 2) <= fd_mlp_sparse_bytes_f64(BIG, 3, 2));
    /* no db: the dense product's (nothing written) */
    CHECK(fd_mlp_sparse_forward_f64(ctx_of(2), 160, 3, 2, xd, NULL, Wd, 2, 1, NULL, FD_ACT_IDENTITY,
                                    yd, 2, sd, NULL) == 1);
    dWd[0] = -99.0;
    CHECK(fd_mlp_sparse_backward_f64(ctx_of(2), 160, 3, 2, dyd, 2, NULL, 0, NULL, 0, 1, NULL, 0, 1,
                                     NULL, yd, FD_ACT_IDENTITY, dWd, 2, 1, NULL, sd,
                                     &done) == FD_OK);
    CHECK(done == 0 && dWd[0] == -99.0);
    /* a forward pass that declined (a NaN background) leaves no groups */
    xd[0] = (double)NAN;
    CHECK(fd_mlp_sparse_forward_f64(ctx_of(2), 160, 3, 2, xd, NULL, Wd, 2, 1, NULL, FD_ACT_IDENTITY,
                                    yd, 2, sd, NULL) == 0);
    CHECK(fd_mlp_sparse_backward_f64(ctx_of(2), 160, 3, 2, dyd, 2, NULL, 0, NULL, 0, 1, NULL, 0, 1,
                                     NULL, yd, FD_ACT_IDENTITY, dWd, 2, 1, dbd, sd,
                                     &done) == FD_OK);
    CHECK(done == 0 && dWd[0] == -99.0);
}

/* A column-major W and dW (a PyTorch weight's transpose: w_rs 1, the
 * forward reads a transposed copy, the backward writes dW through one)
 * and a column-major next layer: the bits of the row-major calls for 1-3
 * threads; strides that are neither: the dense product (the forward
 * returns 0) or FD_EINVAL, nothing written. */
static void test_mlp_sparse_column_major(void)
{
    enum { M = 45, K = 83, N = 37, CN = 5 };
    static float x[M * K], W[K * N], Wt[N * K], b[N], y[2][M * N], dn[M * CN], Wn[N * CN],
        Wnt[CN * N], dW[2][K * N], dWt[N * K], db[2][N], dWn[2][N * CN], dWnt[CN * N], dbn[2][CN],
        scratch[160000];
    uint32_t s = 77u;
    int64_t i, j;
    int t, o, done = -1;
    CHECK(fd_mlp_sparse_bytes_f32(M, K, N) <= sizeof(scratch) - 64);
    for (i = 0; i < M * K; i++) {
        const float u = fd_test_val(&s);
        x[i] = i > 0 && u > 0.4f ? fd_test_val(&s) : -0.5f;
    }
    for (i = 0; i < K; i++)
        for (j = 0; j < N; j++) W[i * N + j] = Wt[j * K + i] = fd_test_val(&s);
    for (j = 0; j < N; j++) {
        b[j] = fd_test_val(&s);
        for (i = 0; i < CN; i++) Wn[j * CN + i] = Wnt[i * N + j] = fd_test_val(&s);
    }
    for (i = 0; i < M * CN; i++) dn[i] = fd_test_val(&s);
    for (t = 1; t <= 3; t++)
        for (o = 0; o < 2; o++) { /* o = 1: column-major W, dW, Wn, dWn */
            float *dWo = o ? dWt : dW[0], *dWno = o ? dWnt : dWn[0];
            CHECK(fd_mlp_sparse_forward_f32(ctx_of(t), M, K, N, x, NULL, o ? Wt : W, o ? 1 : N,
                                            o ? K : 1, b, FD_ACT_RELU, y[o], N, scratch,
                                            NULL) == 1);
            CHECK(fd_mlp_sparse_backward_f32(ctx_of(t), M, K, N, NULL, N, dn, CN, o ? Wnt : Wn,
                                             o ? 1 : CN, o ? N : 1, dWno, o ? 1 : CN, o ? N : 1,
                                             dbn[o], y[o], FD_ACT_RELU, dWo, o ? 1 : N, o ? K : 1,
                                             db[o], scratch, &done) == FD_OK);
            CHECK(done == 1);
            if (o) {
                for (i = 0; i < K; i++)
                    for (j = 0; j < N; j++) dW[1][i * N + j] = dWo[j * K + i];
                for (j = 0; j < N; j++)
                    for (i = 0; i < CN; i++) dWn[1][j * CN + i] = dWno[i * N + j];
                CHECK(memcmp(y[0], y[1], sizeof y[0]) == 0);
                CHECK(memcmp(dW[0], dW[1], sizeof dW[0]) == 0);
                CHECK(memcmp(db[0], db[1], sizeof db[0]) == 0);
                CHECK(memcmp(dWn[0], dWn[1], sizeof dWn[0]) == 0);
                CHECK(memcmp(dbn[0], dbn[1], sizeof dbn[0]) == 0);
            }
        }
    /* neither order: not taken, nothing written */
    y[1][0] = dW[1][0] = -99.0f;
    CHECK(fd_mlp_sparse_forward_f32(ctx_of(2), M, K, N, x, NULL, W, 2, K, b, FD_ACT_RELU, y[1], N,
                                    scratch, NULL) == 0);
    CHECK(y[1][0] == -99.0f);
    CHECK(fd_mlp_sparse_forward_f32(ctx_of(2), M, K, N, x, NULL, Wt, 1, K - 1, b, FD_ACT_RELU, y[1],
                                    N, scratch, NULL) == 0);
    CHECK(fd_mlp_sparse_forward_f32(ctx_of(2), M, K, N, x, NULL, W, N, 1, b, FD_ACT_RELU, y[1], N,
                                    scratch, NULL) == 1);
    CHECK(fd_mlp_sparse_backward_f32(ctx_of(2), M, K, N, NULL, N, dn, CN, Wn, CN, 1, dWn[1], CN, 1,
                                     dbn[1], y[1], FD_ACT_RELU, dW[1], N, 2, db[1], scratch,
                                     &done) == FD_EINVAL);
    CHECK(dW[1][0] == -99.0f);
}

/* The backward pass with the next layer's (dy NULL: a linear layer of CN
 * outputs over this relu one) in its dz pass: this layer's dW and db are
 * the bits of the same call on dy = dn @ Wn^T (each element's sum over the
 * CN terms in order, products then adds, as the test computes it); the
 * next layer's dWn = y^T dn and dbn = colsum(dn) to rounding, the same
 * bits for 1-3 threads; bad arguments write nothing. */
static void test_mlp_sparse_next_layer(void)
{
    enum { M = 150, K = 120, N = 37, CN = 10 };
    static float x[M * K], W[K * N], y[M * N], dn[M * CN], Wn[N * CN], dy[M * N];
    static float dW[4][K * N], db[4][N], dWn[4][N * CN], dbn[4][CN], scratch[160000];
    uint32_t s = 31u;
    int64_t i, j, c;
    int t, done = -1;
    CHECK(fd_mlp_sparse_bytes_f32(M, K, N) <= sizeof(scratch) - 64);
    for (i = 0; i < M * K; i++) {
        const float u = fd_test_val(&s);
        x[i] = i > 0 && u > 0.5f ? fd_test_val(&s) : 0.0f;
    }
    for (i = 0; i < K * N; i++) W[i] = fd_test_val(&s);
    for (i = 0; i < M * CN; i++) dn[i] = fd_test_val(&s);
    for (i = 0; i < N * CN; i++) Wn[i] = fd_test_val(&s);
    for (i = 0; i < M; i++)
        for (j = 0; j < N; j++) {
            float a = dn[i * CN] * Wn[j * CN];
            for (c = 1; c < CN; c++) a += dn[i * CN + c] * Wn[j * CN + c];
            dy[i * N + j] = a;
        }
    for (t = 0; t < 4; t++) {
        CHECK(fd_mlp_sparse_forward_f32(ctx_of(t ? t : 1), M, K, N, x, NULL, W, N, 1, NULL,
                                        FD_ACT_RELU, y, N, scratch, NULL) == 1);
        CHECK(fd_mlp_sparse_backward_f32(ctx_of(t ? t : 1), M, K, N, t ? NULL : dy, N, dn, CN, Wn,
                                         CN, 1, dWn[t], CN, 1, dbn[t], y, FD_ACT_RELU, dW[t], N, 1,
                                         db[t], scratch, &done) == FD_OK);
        CHECK(done == 1);
    }
    for (t = 1; t < 4; t++) {
        CHECK(memcmp(dW[0], dW[t], sizeof dW[0]) == 0);
        CHECK(memcmp(db[0], db[t], sizeof db[0]) == 0);
        CHECK(memcmp(dWn[1], dWn[t], sizeof dWn[0]) == 0);
        CHECK(memcmp(dbn[1], dbn[t], sizeof dbn[0]) == 0);
    }
    for (j = 0; j < N; j++)
        for (c = 0; c < CN; c++) {
            double want = 0.0;
            for (i = 0; i < M; i++) want += (double)y[i * N + j] * dn[i * CN + c];
            CHECK(close_to(dWn[1][j * CN + c], want, 1e-5, 1e-5));
        }
    for (c = 0; c < CN; c++) {
        double want = 0.0;
        for (i = 0; i < M; i++) want += dn[i * CN + c];
        CHECK(close_to(dbn[1][c], want, 1e-5, 1e-5));
    }
    /* too wide a next layer, none, no dWn, or not relu: FD_EINVAL, nothing
     * written */
    dW[1][0] = db[1][0] = dWn[1][0] = -99.0f;
    CHECK(fd_mlp_sparse_backward_f32(ctx_of(2), M, K, N, NULL, N, dn, FD_SP_NEXT_MAX + 1, Wn,
                                     FD_SP_NEXT_MAX + 1, 1, dWn[1], FD_SP_NEXT_MAX + 1, 1, dbn[1],
                                     y, FD_ACT_RELU, dW[1], N, 1, db[1], scratch,
                                     &done) == FD_EINVAL);
    CHECK(fd_mlp_sparse_backward_f32(ctx_of(2), M, K, N, NULL, N, dn, 0, Wn, 0, 1, dWn[1], 0, 1,
                                     dbn[1], y, FD_ACT_RELU, dW[1], N, 1, db[1], scratch,
                                     &done) == FD_EINVAL);
    CHECK(fd_mlp_sparse_backward_f32(ctx_of(2), M, K, N, NULL, N, NULL, CN, Wn, CN, 1, dWn[1], CN,
                                     1, dbn[1], y, FD_ACT_RELU, dW[1], N, 1, db[1], scratch,
                                     &done) == FD_EINVAL);
    CHECK(fd_mlp_sparse_backward_f32(ctx_of(2), M, K, N, NULL, N, dn, CN, Wn, CN, 1, NULL, CN, 1,
                                     dbn[1], y, FD_ACT_RELU, dW[1], N, 1, db[1], scratch,
                                     &done) == FD_EINVAL);
    CHECK(fd_mlp_sparse_backward_f32(ctx_of(2), M, K, N, NULL, N, dn, CN, Wn, CN, 1, dWn[1], CN, 1,
                                     dbn[1], y, FD_ACT_IDENTITY, dW[1], N, 1, db[1], scratch,
                                     &done) == FD_EINVAL);
    CHECK(dW[1][0] == -99.0f && db[1][0] == -99.0f && dWn[1][0] == -99.0f);
}

/* The dtype-dispatching entries call the dtype's instance: same bits. */
static void test_dense_dispatch(void)
{
    float xf[6] = {1, -2, 3, 4, 5, -6}, Wf[6] = {0.5f, 1, -1, 2, 0.25f, 3}, yf[4], yf2[4];
    double xd[6] = {1, -2, 3, 4, 5, -6}, Wd[6] = {0.5, 1, -1, 2, 0.25, 3}, yd[4], yd2[4];
    double dyd[4] = {1, -1, 0.5, 2}, dWd[6], dWd2[6];
    fd_ctx ctx = ctx_of(1);
    CHECK(fd_dense_forward(ctx, FD_F32, 2, 3, 2, xf, 3, Wf, 2, 1, NULL, FD_ACT_TANH, yf, 2, NULL, 0,
                           NULL, NULL, 0, NULL, NULL) == FD_OK);
    CHECK(fd_dense_forward_f32(ctx, 2, 3, 2, xf, 3, Wf, 2, 1, NULL, FD_ACT_TANH, yf2, 2, NULL, 0,
                               NULL, NULL, 0, NULL, NULL) == FD_OK);
    CHECK(memcmp(yf, yf2, sizeof yf) == 0);
    CHECK(fd_dense_matmul(ctx, FD_F64, 2, 3, 2, xd, 3, 1, Wd, 2, 1, yd, 2, 1, NULL) == FD_OK);
    CHECK(fd_dense_forward_f64(ctx, 2, 3, 2, xd, 3, Wd, 2, 1, NULL, FD_ACT_IDENTITY, yd2, 2, NULL,
                               0, NULL, NULL, 0, NULL, NULL) == FD_OK);
    CHECK(memcmp(yd, yd2, sizeof yd) == 0);
    CHECK(fd_dense_backward(ctx, FD_F64, 2, 3, 2, dyd, 2, xd, 3, Wd, 2, 1, NULL, 0, 0,
                            FD_ACT_IDENTITY, NULL, 0, dWd, 2, 1, NULL, 0, NULL, NULL) == FD_OK);
    CHECK(fd_dense_backward_f64(ctx, 2, 3, 2, dyd, 2, xd, 3, Wd, 2, 1, NULL, 0, 0, FD_ACT_IDENTITY,
                                NULL, 0, dWd2, 2, 1, NULL, 0, NULL, NULL) == FD_OK);
    CHECK(memcmp(dWd, dWd2, sizeof dWd) == 0);
    CHECK(fd_dense_work_bytes(ctx, FD_F32, FD_DENSE_BACKWARD, 5, 7, 9) ==
          fd_dense_backward_work_bytes_f32(ctx, 5, 7, 9));
    CHECK(fd_dense_work_bytes(ctx, 7, FD_DENSE_FORWARD, 5, 7, 9) == 0);
    CHECK(fd_dense_forward(ctx, 7, 2, 3, 2, xf, 3, Wf, 2, 1, NULL, FD_ACT_TANH, yf2, 2, NULL, 0,
                           NULL, NULL, 0, NULL, NULL) == FD_EINVAL);
}

/* W packed once (fd_dense_pack_weights) gives the bits of a bfloat16
 * forward that packs W itself; float32 and float64 products reject it. */
static void test_dense_packed_weights(void)
{
    enum { M = 5, K = 37, N = 19 };
    float x[M * K], W[K * N], bias[N], y[M * N], y2[M * N];
    double xd[M * K], Wd[K * N], yd[M * N];
    uint32_t *pk;
    int64_t words;
    int i, t;
    for (i = 0; i < M * K; i++) xd[i] = x[i] = (float)((i * 37 % 23) - 11) / 7.0f;
    for (i = 0; i < K * N; i++) Wd[i] = W[i] = (float)((i * 13 % 17) - 8) / 9.0f;
    for (i = 0; i < N; i++) bias[i] = (float)i / 10.0f;
    for (t = 1; t <= 3; t++) {
        fd_ctx ctx = ctx_of(t);
        CHECK(fd_dense_packed_words(ctx, K, N) == 0);
        CHECK(fd_dense_pack_weights(ctx, K, N, W, N, NULL) == FD_EINVAL);
        ctx.precision = FD_PREC_BF16;
        words = fd_dense_packed_words(ctx, K, N);
        CHECK(words >= (K + 1) / 2 * N);
        CHECK(fd_dense_packed_words(ctx, 0, N) == 0);
        pk = (uint32_t *)malloc((size_t)words * sizeof(uint32_t));
        CHECK(pk != NULL);
        if (!pk) return;
        CHECK(fd_dense_pack_weights(ctx, K, N, W, N, pk) == FD_OK);
        CHECK(fd_dense_forward(ctx, FD_F32, M, K, N, x, K, W, N, 1, bias, FD_ACT_RELU, y, N, NULL,
                               0, NULL, NULL, 0, NULL, NULL) == FD_OK);
        /* W itself is not read */
        CHECK(fd_dense_forward(ctx, FD_F32, M, K, N, x, K, NULL, N, 1, bias, FD_ACT_RELU, y2, N,
                               NULL, 0, NULL, NULL, 0, pk, NULL) == FD_OK);
        CHECK(memcmp(y, y2, sizeof y) == 0);
        CHECK(fd_dense_forward(ctx, FD_F64, M, K, N, xd, K, Wd, N, 1, NULL, FD_ACT_RELU, yd, N,
                               NULL, 0, NULL, NULL, 0, pk, NULL) == FD_EINVAL);
        ctx.precision = FD_PREC_F32;
        CHECK(fd_dense_forward(ctx, FD_F32, M, K, N, x, K, W, N, 1, bias, FD_ACT_RELU, y2, N, NULL,
                               0, NULL, NULL, 0, pk, NULL) == FD_EINVAL);
        free(pk);
    }
}

/* The same for loss, optimiser and dropout entries. */
static void test_loss_optim_dispatch(void)
{
    float x[6] = {1, -2, 3, 4, 5, -6}, lf[2], lf2[2], gf[6], gf2[6];
    double p[4] = {1, 2, 3, 4}, p2[4] = {1, 2, 3, 4}, g[4] = {0.5, -1, 2, 0.25};
    double m[4] = {0}, v[4] = {0}, m2[4] = {0}, v2[4] = {0};
    int64_t y[2] = {2, 0};
    fd_ctx ctx = ctx_of(1);
    CHECK(fd_softmax_xent(ctx, FD_F32, 2, 3, x, y, FD_REDUCE_NONE, lf, gf) == FD_OK);
    CHECK(fd_softmax_xent_f32(ctx, 2, 3, x, y, FD_REDUCE_NONE, lf2, gf2) == FD_OK);
    CHECK(memcmp(lf, lf2, sizeof lf) == 0 && memcmp(gf, gf2, sizeof gf) == 0);
    CHECK(fd_softmax_xent(ctx, 9, 2, 3, x, y, FD_REDUCE_NONE, lf, gf) == FD_EINVAL);
    CHECK(fd_dropout(ctx, FD_F32, 6, x, gf, 0.5, 7) == FD_OK);
    CHECK(fd_dropout_f32(ctx, 6, x, gf2, 0.5, 7) == FD_OK);
    CHECK(memcmp(gf, gf2, sizeof gf) == 0);
    CHECK(fd_dropout(ctx, 9, 6, x, gf, 0.5, 7) == FD_EINVAL);
    fd_sgd_step(ctx, FD_F64, 4, p, g, 0.1, 0.0, NULL, 0.01, 0);
    fd_sgd_step_f64(ctx, 4, p2, g, 0.1, 0.0, NULL, 0.01, 0);
    CHECK(memcmp(p, p2, sizeof p) == 0 && p[0] != 1.0);
    fd_adam_step(ctx, FD_F64, 4, p, g, m, v, 0.1, 0.9, 0.999, 1e-8, 1, 0.01);
    fd_adam_step_f64(ctx, 4, p2, g, m2, v2, 0.1, 0.9, 0.999, 1e-8, 1, 0.01);
    CHECK(memcmp(p, p2, sizeof p) == 0 && memcmp(v, v2, sizeof v) == 0);
}

/* The same for the normalisation entries (plain and in place). */
static void test_normalize_dispatch(void)
{
    const uint8_t px[5] = {0, 1, 127, 200, 255};
    float of[5], of2[5], tf[5], tf2[5];
    double od[5], od2[5], td[5], td2[5];
    fd_ctx ctx = ctx_of(1);
    CHECK(fd_normalize_u8_ex(ctx, FD_F32, 5, px, of, 1.0 / 255, 0.1307, 0.3081,
                             FD_NORM_STORE_AUTO) == FD_OK);
    fd_normalize_u8_f32_ex(ctx, 5, px, of2, 1.0 / 255, 0.1307, 0.3081, FD_NORM_STORE_AUTO);
    CHECK(memcmp(of, of2, sizeof of) == 0 && of[4] != 0.0f);
    CHECK(fd_normalize_u8_ex(ctx, FD_F64, 5, px, od, 1.0 / 255, 0.5, 0.25, FD_NORM_STORE_STREAM) ==
          FD_OK);
    fd_normalize_u8_f64_ex(ctx, 5, px, od2, 1.0 / 255, 0.5, 0.25, FD_NORM_STORE_STREAM);
    CHECK(memcmp(od, od2, sizeof od) == 0 && od[0] == -2.0);
    /* in place: the pixels sit in the last 5 bytes of the buffer */
    memcpy((uint8_t *)tf + sizeof tf - 5, px, 5);
    memcpy((uint8_t *)tf2 + sizeof tf2 - 5, px, 5);
    CHECK(fd_normalize_u8_tail_inplace(ctx, FD_F32, 5, tf, 2.0, 1.0, 0.5) == FD_OK);
    fd_normalize_u8_f32_tail_inplace(ctx, 5, tf2, 2.0, 1.0, 0.5);
    CHECK(memcmp(tf, tf2, sizeof tf) == 0 && tf[1] == 2.0f);
    memcpy((uint8_t *)td + sizeof td - 5, px, 5);
    memcpy((uint8_t *)td2 + sizeof td2 - 5, px, 5);
    CHECK(fd_normalize_u8_tail_inplace(ctx, FD_F64, 5, td, 2.0, 1.0, 0.5) == FD_OK);
    fd_normalize_u8_f64_tail_inplace(ctx, 5, td2, 2.0, 1.0, 0.5);
    CHECK(memcmp(td, td2, sizeof td) == 0 && td[4] == 1018.0);
    /* an unknown dtype: FD_EINVAL, nothing written */
    memcpy(of2, of, sizeof of);
    CHECK(fd_normalize_u8_ex(ctx, 9, 5, px, of, 1.0, 0.0, 1.0, FD_NORM_STORE_AUTO) == FD_EINVAL);
    CHECK(fd_normalize_u8_tail_inplace(ctx, 9, 5, of, 1.0, 0.0, 1.0) == FD_EINVAL);
    CHECK(memcmp(of, of2, sizeof of) == 0);
}

/* The same for the IDX decode + normalise entries: a gzip file of one
 * stored deflate block holding an 8-byte IDX header and 5 pixels. */
static void test_idx_normalize_dispatch(void)
{
    const uint8_t raw[13] = {0, 0, 8, 1, 0, 0, 0, 5, 0, 1, 127, 200, 255};
    uint8_t gz[10 + 5 + 13 + 8] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1, 13, 0, 0xf2, 0xff};
    uLong crc = crc32(0L, raw, 13);
    float of[5], of2[5], tf[5], tf2[5];
    double od[5], od2[5], td[5], td2[5];
    fd_idx_error err;
    fd_ctx ctx = ctx_of(1);
    int k;
    memcpy(gz + 15, raw, 13);
    for (k = 0; k < 4; k++) {
        gz[28 + k] = (uint8_t)(crc >> (8 * k));
        gz[32 + k] = (uint8_t)(13u >> (8 * k));
    }
    CHECK(fd_gz_normalize(ctx, FD_F32, gz, sizeof gz, 8, 5, of, 1.0 / 255, 0.1307, 0.3081, NULL,
                          &err) == FD_OK);
    CHECK(fd_gz_normalize_f32(ctx, gz, sizeof gz, 8, 5, of2, 1.0 / 255, 0.1307, 0.3081, NULL,
                              &err) == FD_OK);
    CHECK(memcmp(of, of2, sizeof of) == 0 && of[4] != 0.0f);
    CHECK(fd_gz_normalize(ctx, FD_F64, gz, sizeof gz, 8, 5, od, 1.0 / 255, 0.5, 0.25, NULL, &err) ==
          FD_OK);
    CHECK(fd_gz_normalize_f64(ctx, gz, sizeof gz, 8, 5, od2, 1.0 / 255, 0.5, 0.25, NULL, &err) ==
          FD_OK);
    CHECK(memcmp(od, od2, sizeof od) == 0 && od[0] == -2.0);
    memcpy((uint8_t *)tf + sizeof tf - 5, raw + 8, 5);
    memcpy((uint8_t *)tf2 + sizeof tf2 - 5, raw + 8, 5);
    CHECK(fd_normalize_tail_polled(ctx, FD_F32, 5, tf, 2.0, 1.0, 0.5, NULL) == FD_OK);
    CHECK(fd_normalize_tail_polled_f32(ctx, 5, tf2, 2.0, 1.0, 0.5, NULL) == FD_OK);
    CHECK(memcmp(tf, tf2, sizeof tf) == 0 && tf[1] == 2.0f);
    memcpy((uint8_t *)td + sizeof td - 5, raw + 8, 5);
    memcpy((uint8_t *)td2 + sizeof td2 - 5, raw + 8, 5);
    CHECK(fd_normalize_tail_polled(ctx, FD_F64, 5, td, 2.0, 1.0, 0.5, NULL) == FD_OK);
    CHECK(fd_normalize_tail_polled_f64(ctx, 5, td2, 2.0, 1.0, 0.5, NULL) == FD_OK);
    CHECK(memcmp(td, td2, sizeof td) == 0 && td[4] == 1018.0);
    /* an unknown dtype: FD_EINVAL, nothing written */
    memcpy(of2, of, sizeof of);
    CHECK(fd_gz_normalize(ctx, 9, gz, sizeof gz, 8, 5, of, 1.0, 0.0, 1.0, NULL, &err) == FD_EINVAL);
    CHECK(fd_normalize_tail_polled(ctx, 9, 5, of, 1.0, 0.0, 1.0, NULL) == FD_EINVAL);
    CHECK(memcmp(of, of2, sizeof of) == 0);
}

/* The same for the augmentation entry (uint8 and float32 images). */
static void test_augment_dispatch(void)
{
    enum { N = 3, H = 5, W = 6, HW = H * W };
    static uint8_t img[N * HW];
    static float imf[N * HW], a[2 * HW], b[2 * HW];
    int64_t rows[2] = {2, 0}, ids[2] = {7, 1};
    fd_aug_spec spec;
    fd_ctx ctx = ctx_of(2);
    int i;
    for (i = 0; i < N * HW; i++) {
        img[i] = (uint8_t)((i * 53 + 5) % 256);
        imf[i] = (float)img[i] * 0.5f;
    }
    memset(&spec, 0, sizeof spec);
    spec.n_ops = 1;
    spec.ops[0].kind = FD_AUG_ELASTIC;
    spec.ops[0].p[0] = 3;
    spec.ops[0].p[1] = 1;
    CHECK(fd_augment(ctx, FD_U8, img, H, W, rows, ids, 2, &spec, 5, 1, 1.0 / 255, 0.5, 0.25, a) ==
          FD_OK);
    CHECK(fd_augment_u8(ctx, img, H, W, rows, ids, 2, &spec, 5, 1, 1.0 / 255, 0.5, 0.25, b) ==
          FD_OK);
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(fd_augment(ctx, FD_F32, imf, H, W, rows, ids, 2, &spec, 5, 1, 1.0, 0.0, 1.0, a) == FD_OK);
    CHECK(fd_augment_f32(ctx, imf, H, W, rows, ids, 2, &spec, 5, 1, 1.0, 0.0, 1.0, b) == FD_OK);
    CHECK(memcmp(a, b, sizeof a) == 0 && memcmp(a, b + HW, sizeof b / 2) != 0);
    /* an unknown dtype (float64 images have no instance): FD_EINVAL, nothing written */
    CHECK(fd_augment(ctx, FD_F64, imf, H, W, rows, ids, 2, &spec, 5, 1, 1.0, 0.0, 1.0, a) ==
          FD_EINVAL);
    CHECK(fd_augment(ctx, 9, img, H, W, rows, ids, 2, &spec, 5, 1, 1.0, 0.0, 1.0, a) == FD_EINVAL);
    CHECK(memcmp(a, b, sizeof a) == 0);
}

/* The MLP epoch / inference entries: a 4-5-3 model trained with Adam on 5
 * rows in batches of 2, once through the entry (tables of void *) and once
 * through the dtype's instance, on copies of the same buffers. */
enum { MLP_P = 4 * 5 + 5 + 5 * 3 + 3, MLP_N = 4 * MLP_P + 5 * 4 + 5 * 3 };

static void mlp_tables(char *base, size_t elem, void **tab)
{
    static const int off[4] = {0, 20, 25, 40}; /* W0 (4, 5), b0, W1 (5, 3), b1 */
    int t, j;
    for (t = 0; t < 4; t++) /* params, grads, first moments, second moments */
        for (j = 0; j < 4; j++) tab[4 * t + j] = base + (size_t)(t * MLP_P + off[j]) * elem;
}

static void mlp_dispatch_case(int dtype, int precision)
{
    static double a[MLP_N], b[MLP_N]; /* float or double elements */
    const int64_t sizes[3] = {4, 5, 3}, labels[5] = {2, 0, 1, 1, 0}, order[5] = {3, 0, 4, 1, 2};
    const size_t elem = dtype == FD_F64 ? sizeof(double) : sizeof(float);
    void *ta[16], *tb[16], *work;
    float *fb[16];
    double *db[16];
    char *xa = (char *)a + 4 * MLP_P * elem, *xb = (char *)b + 4 * MLP_P * elem;
    double la = 0, lb = 0;
    int64_t ca = 0, cb = 0, sa = 0, sb = 0;
    fd_mlp_shape shape = {2, sizes, FD_ACT_TANH, 2, 1}; /* 5 rows: a last step of 1 */
    fd_mlp_optim oa, ob;
    fd_ctx ctx = ctx_of(2);
    size_t wb;
    int i, rc;
    ctx.precision = precision;
    memset(a, 0, sizeof a);
    for (i = 0; i < MLP_P + 5 * 4; i++) { /* the params, then X after the state */
        double v = (double)((i * 37 + 11) % 29) / 29.0 - 0.5;
        int at = i < MLP_P ? i : i + 3 * MLP_P;
        if (dtype == FD_F64)
            a[at] = v;
        else
            ((float *)a)[at] = (float)v;
    }
    memcpy(b, a, sizeof a);
    mlp_tables((char *)a, elem, ta);
    mlp_tables((char *)b, elem, tb);
    for (i = 0; i < 16; i++) {
        fb[i] = (float *)tb[i];
        db[i] = (double *)tb[i];
    }
    memset(&oa, 0, sizeof oa);
    oa.kind = FD_MLP_ADAM;
    oa.lr = 0.05;
    oa.beta1 = 0.9;
    oa.beta2 = 0.999;
    oa.eps = 1e-8;
    oa.l2 = 1e-3;
    ob = oa;
    wb = fd_mlp_work_bytes(ctx, dtype, &shape);
    CHECK(wb > 0 &&
          wb ==
              (dtype == FD_F64 ? fd_mlp_work_bytes_f64(ctx, &shape)
                               : fd_mlp_work_bytes_f32(ctx, &shape)));
    work = malloc(wb);
    CHECK(work != NULL);
    if (!work) return;
    CHECK(fd_mlp_epoch(ctx, dtype, &shape, ta, ta + 4, ta + 8, xa, 5, labels, order, 5, &oa, work,
                       &la, &ca, &sa, NULL, NULL, 0) == FD_OK);
    if (dtype == FD_F64)
        rc = fd_mlp_epoch_f64(ctx, &shape, db, db + 4, db + 8, (const double *)xb, 5, labels, order,
                              5, &ob, work, &lb, &cb, &sb, NULL, NULL, 0);
    else
        rc = fd_mlp_epoch_f32(ctx, &shape, fb, fb + 4, fb + 8, (const float *)xb, 5, labels, order,
                              5, &ob, work, &lb, &cb, &sb, NULL, NULL, 0);
    CHECK(rc == FD_OK);
    CHECK(memcmp(a, b, sizeof a) == 0 && la == lb && la > 0 && ca == cb && sa == sb && sa == 3);
    CHECK(oa.step == 3 && ob.step == 3);
    CHECK(fd_mlp_forward(ctx, dtype, &shape, ta, xa, 5, xa + 5 * 4 * elem, work) == FD_OK);
    if (dtype == FD_F64)
        rc = fd_mlp_forward_f64(ctx, &shape, db, (const double *)xb, 5,
                                (double *)(xb + 5 * 4 * elem), work);
    else
        rc = fd_mlp_forward_f32(ctx, &shape, fb, (const float *)xb, 5, (float *)(xb + 5 * 4 * elem),
                                work);
    CHECK(rc == FD_OK && memcmp(a, b, sizeof a) == 0);
    /* an unknown dtype: 0 bytes, FD_EINVAL, nothing written */
    CHECK(fd_mlp_work_bytes(ctx, 9, &shape) == 0);
    CHECK(fd_mlp_epoch(ctx, 9, &shape, ta, ta + 4, ta + 8, xa, 5, labels, order, 5, &oa, work, &la,
                       &ca, &sa, NULL, NULL, 0) == FD_EINVAL);
    CHECK(fd_mlp_forward(ctx, 9, &shape, ta, xa, 5, xa + 5 * 4 * elem, work) == FD_EINVAL);
    CHECK(memcmp(a, b, sizeof a) == 0 && oa.step == 3 && la == lb && sa == sb);
    /* row counts whose last step is not the one the work was sized for (4
     * rows: none; 3: 1 row, the sized one) and a tail of a whole batch */
    CHECK(fd_mlp_epoch(ctx, dtype, &shape, ta, ta + 4, ta + 8, xa, 5, labels, order, 4, &oa, work,
                       &la, &ca, &sa, NULL, NULL, 0) == FD_OK);
    shape.tail = 0;
    CHECK(fd_mlp_epoch(ctx, dtype, &shape, ta, ta + 4, ta + 8, xa, 5, labels, order, 5, &oa, work,
                       &la, &ca, &sa, NULL, NULL, 0) == FD_EINVAL);
    CHECK(fd_mlp_forward(ctx, dtype, &shape, ta, xa, 3, xa + 5 * 4 * elem, work) == FD_EINVAL);
    shape.tail = 2;
    CHECK(fd_mlp_work_bytes(ctx, dtype, &shape) == 0);
    CHECK(fd_mlp_forward(ctx, dtype, &shape, ta, xa, 4, xa + 5 * 4 * elem, work) == FD_EINVAL);
    shape.tail = 1;
    free(work);
}

static void test_mlp_dispatch(void)
{
    mlp_dispatch_case(FD_F32, FD_PREC_F32);
    mlp_dispatch_case(FD_F64, FD_PREC_F32);
    mlp_dispatch_case(FD_F32, FD_PREC_BF16); /* the bfloat16-precision epoch */
}

/* A B packed beforehand (epi.b_packed) is for bfloat16 products with a
 * row-major C only: float32 and float64 products, and a column-major C,
 * are refused rather than reading the words as floats. */
static void test_gemm_packed_b_only_bf16(void)
{
    float a[4 * 6], b[6 * 5], c[4 * 5];
    double ad[4 * 6], bd[6 * 5], cd[4 * 5];
    uint32_t pk[64];
    fd_gemm_epi_f32 e;
    fd_gemm_epi_f64 ed;
    fd_ctx bf = ctx_of(1);
    int i;
    for (i = 0; i < 24; i++) a[i] = (float)(ad[i] = i * 0.25);
    for (i = 0; i < 30; i++) b[i] = (float)(bd[i] = 1.0 - i * 0.125);
    memset(&e, 0, sizeof e);
    memset(&ed, 0, sizeof ed);
    bf.precision = FD_PREC_BF16;
    CHECK(fd_gemm_bf16_packed_words(bf, 6, 5) <= 64);
    fd_gemm_bf16_pack_rows(bf, 6, 5, 0, 6, b, 5, pk);
    e.b_packed = pk;
    ed.b_packed = pk;
    CHECK(fd_gemm_f32(ctx_of(1), 4, 6, 5, a, 6, 1, b, 5, 1, c, 5, 1, &e, NULL) == FD_EINVAL);
    CHECK(fd_gemm_f64(ctx_of(1), 4, 6, 5, ad, 6, 1, bd, 5, 1, cd, 5, 1, &ed, NULL) == FD_EINVAL);
    CHECK(fd_gemm_f32(bf, 4, 6, 5, a, 6, 1, b, 5, 1, c, 1, 4, &e, NULL) == FD_EINVAL);
    CHECK(fd_gemm_f32(bf, 4, 6, 5, a, 6, 1, b, 5, 1, c, 5, 1, &e, NULL) == FD_OK);
}

/* Paired work sharing (common/fd_omp.h), its claims played out in one
 * thread: teams of every shape, threads called in a random order with one
 * of them slow (called rarely), so that its mate takes over its items.
 * Every item is claimed exactly once; a pair's first thread claims
 * adjacent items up from its range's start, the second down from its end;
 * a thread outside the pairs takes its range whole, once. */
static void test_pair_claims(void)
{
    static const int teams[] = {1, 2, 3, 4, 5, 8, 2 * FD_PAIR_MAX + 3};
    static const int64_t counts[] = {0, 1, 2, 3, 7, 100, 401};
    fd_pair_share share[FD_PAIR_MAX];
    fd_pair_iter it[2 * FD_PAIR_MAX + 3];
    int64_t front[2 * FD_PAIR_MAX + 3], back[2 * FD_PAIR_MAX + 3], q0, q1, q;
    unsigned char seen[401], done[2 * FD_PAIR_MAX + 3];
    uint64_t rng = 12345;
    size_t ti, ci;
    int least, slow, stole = 0;
    for (ti = 0; ti < sizeof teams / sizeof teams[0]; ti++)
        for (ci = 0; ci < sizeof counts / sizeof counts[0]; ci++)
            for (least = 1; least <= 4; least += 3)
                for (slow = 0; slow < 2; slow++) {
                    const int team = teams[ti];
                    const int64_t count = counts[ci];
                    int t, left = team, ok = 1, whole_twice = 0;
                    fd_pair_reset(share, team);
                    memset(seen, 0, sizeof seen);
                    memset(done, 0, sizeof done);
                    for (t = 0; t < team; t++) {
                        it[t] = fd_pair_start_as(share, count, least, t, team);
                        front[t] = it[t].lo;
                        back[t] = it[t].hi;
                    }
                    while (left > 0) {
                        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
                        t = (int)((rng >> 33) % (uint64_t)team);
                        /* thread `slow` gets one call in 8 */
                        if (t == slow && team > 1 && (rng >> 20) % 8) continue;
                        if (done[t]) continue;
                        if (!fd_pair_next(&it[t], &q0, &q1)) {
                            done[t] = 1;
                            left--;
                            continue;
                        }
                        if (it[t].whole) {
                            whole_twice |= front[t] != q0 || back[t] != q1;
                            front[t] = back[t] + 1; /* a second claim fails the check */
                        } else if (it[t].back) {
                            ok &= q1 == back[t] && q0 < q1;
                            back[t] = q0;
                        } else {
                            ok &= q0 == front[t] && q0 < q1;
                            front[t] = q1;
                        }
                        for (q = q0; q < q1; q++) {
                            ok &= q >= 0 && q < count && !seen[q];
                            if (q >= 0 && q < count) seen[q] = 1;
                            /* the slow thread's own range, taken by its mate */
                            stole |= t != slow && q >= count * slow / team &&
                                q < count * (slow + 1) / team;
                        }
                    }
                    for (q = 0; q < count; q++) ok &= seen[q];
                    CHECK(ok && !whole_twice);
                }
    CHECK(stole); /* the mates did take over */
}

int main(void)
{
    test_cpu();
    test_gemm_packed_b_only_bf16();
    test_caches();
    test_philox();
    test_loss_f64();
    test_loss_f32_extremes();
    test_loss_errors_write_nothing();
    test_loss_threads_identical();
    test_sgd();
    test_adam();
    test_l2_apply();
    test_augment();
    test_dense_dropout();
    test_dense_dispatch();
    test_dense_packed_weights();
    test_loss_optim_dispatch();
    test_normalize_dispatch();
    test_idx_normalize_dispatch();
    test_augment_dispatch();
    test_mlp_dispatch();
    test_mlp_sparse();
    test_mlp_sparse_backward();
    test_mlp_sparse_next_layer();
    test_mlp_sparse_column_major();
    test_pair_claims();
    printf("%d checks, %d failed\n", g_checks, g_failed);
    return g_failed ? 1 : 0;
}
