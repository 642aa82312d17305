/* GEMM driver template, included by gemm.c once per dtype with T, SFX,
 * GENERIC_MR, GENERIC_NR defined. */
#define FN(name) FD_CAT(name, SFX)
#define UKR_T FD_CAT(fd_ukr_, SFX)

typedef struct {
    int mr, nr;
    int64_t mc, kc, nc; /* cache blocks: mc % mr == 0, nc % nr == 0 */
    UKR_T ukr;
} FN(blk_);

/* Portable micro-kernel: plain loops the compiler can vectorise. */
static void FN(ukr_generic_)(int64_t kc, const T *FD_RESTRICT Ap,
                             const T *FD_RESTRICT Bp, T *FD_RESTRICT C,
                             int64_t ldc, int beta, const T *FD_RESTRICT bias,
                             T *FD_RESTRICT z, int64_t ldz, int act)
{
    T c[GENERIC_MR][GENERIC_NR];
    int64_t p;
    int r, j;
    for (r = 0; r < GENERIC_MR; r++)
        for (j = 0; j < GENERIC_NR; j++) c[r][j] = (T)0;
    for (p = 0; p < kc; p++) {
        for (r = 0; r < GENERIC_MR; r++) {
            T a = Ap[r];
            for (j = 0; j < GENERIC_NR; j++) c[r][j] += a * Bp[j];
        }
        Ap += GENERIC_MR;
        Bp += GENERIC_NR;
    }
    for (r = 0; r < GENERIC_MR; r++)
        for (j = 0; j < GENERIC_NR; j++) {
            T v = c[r][j];
            if (beta) v += C[r * ldc + j];
            if (bias) v += bias[j];
            if (z) z[r * ldz + j] = v;
            C[r * ldc + j] = FN(fd_act_)(act, v);
        }
}

static void FN(get_blk_)(int isa, FN(blk_) *b)
{
#if FD_HAVE_X86_SIMD
    if (isa >= FD_ISA_AVX512) {
        b->mr = FD_CAT(FD_AVX512_MR_, FD_CAT(F, SFX_UP));
        b->nr = FD_CAT(FD_AVX512_NR_, FD_CAT(F, SFX_UP));
        b->ukr = FD_CAT(fd_ukr_avx512_, SFX);
        b->kc = KC_512;
        b->mc = MC_512;
        b->nc = NC_512;
        return;
    }
    if (isa >= FD_ISA_AVX2) {
        b->mr = FD_CAT(FD_AVX2_MR_, FD_CAT(F, SFX_UP));
        b->nr = FD_CAT(FD_AVX2_NR_, FD_CAT(F, SFX_UP));
        b->ukr = FD_CAT(fd_ukr_avx2_, SFX);
        b->kc = KC_AVX2;
        b->mc = MC_AVX2;
        b->nc = NC_AVX2;
        return;
    }
#else
    (void)isa;
#endif
    b->mr = GENERIC_MR;
    b->nr = GENERIC_NR;
    b->ukr = FN(ukr_generic_);
    b->kc = 256;
    b->mc = 128;
    b->nc = 2048;
}

static int64_t FN(round_up_)(int64_t a, int64_t b) { return (a + b - 1) / b * b; }
static int64_t FN(min_)(int64_t a, int64_t b) { return a < b ? a : b; }

/* Block sizes actually used for an m x k x n problem. */
static void FN(plan_)(int isa, int64_t m, int64_t k, int64_t n, FN(blk_) *b,
                      int64_t *kc_eff)
{
    int64_t nk;
    FN(get_blk_)(isa, b);
    b->mc = FN(min_)(b->mc, FN(round_up_)(m, b->mr));
    b->nc = FN(min_)(b->nc, FN(round_up_)(n, b->nr));
    /* Split K into equal panels: fewer C reloads than a short tail panel. */
    nk = (k + b->kc - 1) / b->kc;
    if (nk < 1) nk = 1;
    *kc_eff = (k + nk - 1) / nk;
}

size_t FN(fd_gemm_work_bytes_)(fd_ctx ctx, int64_t m, int64_t k, int64_t n)
{
    FN(blk_) b;
    int64_t kc;
    if (m <= 0 || n <= 0 || k <= 0) return 0;
    FN(plan_)(ctx.isa, m, k, n, &b, &kc);
    return (size_t)(b.mc * kc + kc * b.nc) * sizeof(T) + 2 * FD_ALIGN;
}

/* Scalar epilogue for one element; same operation order as the kernels. */
#define EPI_STORE(v, addc, Cp, zp, bj)           \
    do {                                         \
        T v_ = (v);                              \
        if (addc) v_ += *(Cp);                   \
        if (bias) v_ += (bj);                    \
        if (z) *(zp) = v_;                       \
        *(Cp) = FN(fd_act_)(act, v_);            \
    } while (0)

int FN(fd_gemm_)(fd_ctx ctx, int64_t m, int64_t k, int64_t n,
                 const T *A, int64_t a_rs, int64_t a_cs,
                 const T *B, int64_t b_rs, int64_t b_cs,
                 T *C, int64_t c_rs, int64_t c_cs,
                 const FN(fd_gemm_epi_) *epi, void *work)
{
    const T *bias = epi ? epi->bias : NULL;
    T *z = epi ? epi->z : NULL;
    int64_t ldz = epi ? epi->ldz : 0;
    int act = epi ? epi->act : FD_ACT_IDENTITY;
    int beta = epi ? epi->beta : 0;
    FN(blk_) b;
    int64_t kc_eff;
    T *Bpack, *Apack;
    void *owned = NULL;
    int nt;
    int64_t ntiles_max;

    if (m <= 0 || n <= 0) return FD_OK;
    if ((bias || z || act != FD_ACT_IDENTITY) && c_cs != 1) return FD_EINVAL;
    if (k <= 0) {
        int64_t i, j;
        for (i = 0; i < m; i++)
            for (j = 0; j < n; j++)
                EPI_STORE((T)0, beta, C + i * c_rs + j * c_cs, z ? z + i * ldz + j : NULL,
                          bias ? bias[j] : (T)0);
        return FD_OK;
    }
    if (c_cs != 1 && c_rs == 1) {
        /* Column-major C: compute C^T = B^T A^T, which is row-major. */
        return FN(fd_gemm_)(ctx, n, k, m, B, b_cs, b_rs, A, a_cs, a_rs, C,
                            c_cs, 1, epi, work);
    }
    FN(plan_)(ctx.isa, m, k, n, &b, &kc_eff);
    if (work == NULL) {
        size_t bytes = FN(fd_gemm_work_bytes_)(ctx, m, k, n);
        owned = malloc(bytes);
        if (!owned) return FD_ENOMEM;
        work = owned;
    }
    Bpack = (T *)fd_align_ptr(work);
    Apack = (T *)fd_align_ptr(Bpack + kc_eff * b.nc);

    /* Threads only when each gets >= ~1M multiply-adds, and never more
     * than there are tiles in one block. */
    ntiles_max = (b.mc / b.mr) * (b.nc / b.nr);
    nt = fd_threads_for(&ctx, (size_t)m * (size_t)n * (size_t)k,
                        (size_t)1 << 20);
    if ((int64_t)nt > ntiles_max) nt = (int)ntiles_max;

#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int64_t jc, pc, ic;
        T tilebuf[FD_TILE_MAX] __attribute__((aligned(64)));
        for (jc = 0; jc < n; jc += b.nc) {
            int64_t nc = FN(min_)(b.nc, n - jc);
            int64_t njp = (nc + b.nr - 1) / b.nr;
            for (pc = 0; pc < k; pc += kc_eff) {
                int64_t kc = FN(min_)(kc_eff, k - pc);
                int last = pc + kc >= k;
                int bt = beta || pc > 0;
                int64_t jp;
#pragma omp for schedule(static)
                for (jp = 0; jp < njp; jp++) {
                    int64_t j0 = jc + jp * b.nr, p, c;
                    int64_t cols = FN(min_)(b.nr, n - j0);
                    T *dst = Bpack + jp * kc * b.nr;
                    const T *src = B + pc * b_rs + j0 * b_cs;
                    if (b_cs == 1) {
                        for (p = 0; p < kc; p++) {
                            for (c = 0; c < cols; c++) dst[p * b.nr + c] = src[p * b_rs + c];
                            for (; c < b.nr; c++) dst[p * b.nr + c] = (T)0;
                        }
                    } else {
                        for (c = 0; c < cols; c++)
                            for (p = 0; p < kc; p++)
                                dst[p * b.nr + c] = src[p * b_rs + c * b_cs];
                        for (; c < b.nr; c++)
                            for (p = 0; p < kc; p++) dst[p * b.nr + c] = (T)0;
                    }
                }
                for (ic = 0; ic < m; ic += b.mc) {
                    int64_t mc = FN(min_)(b.mc, m - ic);
                    int64_t nip = (mc + b.mr - 1) / b.mr;
                    int64_t ip, t;
#pragma omp for schedule(static)
                    for (ip = 0; ip < nip; ip++) {
                        int64_t i0 = ic + ip * b.mr, p, r;
                        int64_t rows = FN(min_)(b.mr, m - i0);
                        T *dst = Apack + ip * kc * b.mr;
                        const T *src = A + i0 * a_rs + pc * a_cs;
                        if (a_rs == 1) {
                            for (p = 0; p < kc; p++) {
                                for (r = 0; r < rows; r++) dst[p * b.mr + r] = src[p * a_cs + r];
                                for (; r < b.mr; r++) dst[p * b.mr + r] = (T)0;
                            }
                        } else {
                            for (r = 0; r < rows; r++)
                                for (p = 0; p < kc; p++)
                                    dst[p * b.mr + r] = src[r * a_rs + p * a_cs];
                            for (; r < b.mr; r++)
                                for (p = 0; p < kc; p++) dst[p * b.mr + r] = (T)0;
                        }
                    }
                    /* Tiles ordered column panel first, so a thread's
                     * contiguous share reuses its B micro-panels. */
#pragma omp for schedule(static)
                    for (t = 0; t < njp * nip; t++) {
                        int64_t jp2 = t / nip, ip2 = t % nip;
                        int64_t i0 = ic + ip2 * b.mr, j0 = jc + jp2 * b.nr;
                        int64_t rows = FN(min_)(b.mr, m - i0);
                        int64_t cols = FN(min_)(b.nr, n - j0);
                        const T *ap = Apack + ip2 * kc * b.mr;
                        const T *bp = Bpack + jp2 * kc * b.nr;
                        T *cp = C + i0 * c_rs + j0 * c_cs;
                        if (rows == b.mr && cols == b.nr && c_cs == 1) {
                            if (last)
                                b.ukr(kc, ap, bp, cp, c_rs, bt, bias ? bias + j0 : NULL,
                                      z ? z + i0 * ldz + j0 : NULL, ldz, act);
                            else
                                b.ukr(kc, ap, bp, cp, c_rs, bt, NULL, NULL, 0,
                                      FD_ACT_IDENTITY);
                        } else {
                            /* Edge tile (or strided C): full tile into a
                             * buffer, then only the valid part is stored. */
                            int64_t r, c;
                            b.ukr(kc, ap, bp, tilebuf, b.nr, 0, NULL, NULL, 0,
                                  FD_ACT_IDENTITY);
                            for (r = 0; r < rows; r++)
                                for (c = 0; c < cols; c++) {
                                    T *cel = cp + r * c_rs + c * c_cs;
                                    T v = tilebuf[r * b.nr + c];
                                    if (last) {
                                        EPI_STORE(v, bt, cel, z ? z + (i0 + r) * ldz + j0 + c : NULL,
                                                  bias ? bias[j0 + c] : (T)0);
                                    } else {
                                        *cel = bt ? *cel + v : v;
                                    }
                                }
                        }
                    }
                }
            }
        }
    }
    free(owned);
    return FD_OK;
}

#undef EPI_STORE
#undef FN
#undef UKR_T
