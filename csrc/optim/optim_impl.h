/* Per-dtype body of optim.c: instantiated through common/fd_template.h; see
 * optim.h. */

#define FN(name) FD_TNAME(name)

/* Portable span workers. */
void FD_TNAME_ISA(fd_sgd_span, generic)(int64_t n, T *p, const T *g, T *v, T lr, T mom, T wd,
                                        int flags)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        T gi = g[i];
        if (flags & FD_SGD_WD) gi = gi + wd * p[i];
        if (flags & FD_SGD_MOM) {
            T vi = mom * v[i] + gi;
            v[i] = vi;
            gi = (flags & FD_SGD_NESTEROV) ? gi + mom * vi : vi;
        }
        p[i] = p[i] - lr * gi;
    }
}

void FD_TNAME_ISA(fd_adam_span, generic)(int64_t n, T *p, const T *g, T *m, T *v, T decay, T b1,
                                         T c1, T b2, T c2, T inv_bc2s, T eps, T step_size)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        const T gi = g[i];
        const T mi = b1 * m[i] + c1 * gi;
        const T vi = b2 * v[i] + (c2 * gi) * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * decay - step_size * (mi / (FD_TMATH(sqrt)(vi) * inv_bc2s + eps));
    }
}

/* The span workers of one SIMD path (see "Dispatch" in fd_common.h). */
typedef struct {
    void (*sgd)(int64_t n, T *p, const T *g, T *v, T lr, T mom, T wd, int flags);
    void (*adam)(int64_t n, T *p, const T *g, T *m, T *v, T decay, T b1, T c1, T b2, T c2,
                 T inv_bc2s, T eps, T step_size);
} FN(fd_optim_kernels);

static FN(fd_optim_kernels) FN(fd_optim_pick)(int isa)
{
    FN(fd_optim_kernels) k;
    k.sgd = FD_PICK(isa, fd_sgd_span);
    k.adam = FD_PICK(isa, fd_adam_span);
    return k;
}

/* velocity == NULL disables momentum (the header allows NULL only when
 * momentum == 0; the Python layer enforces it). */
void FN(fd_sgd_step)(fd_ctx ctx, int64_t n, T *param, const T *grad, double lr, double momentum,
                     T *velocity, double weight_decay, int nesterov)
{
    int flags = 0, nt;
    int64_t nblocks, b;
    FN(fd_optim_kernels) k;
    if (n <= 0) return;
    if (weight_decay != 0.0) flags |= FD_SGD_WD;
    if (momentum != 0.0 && velocity != NULL) {
        flags |= FD_SGD_MOM;
        if (nesterov) flags |= FD_SGD_NESTEROV;
    }
    k = FN(fd_optim_pick)(ctx.isa);
    nblocks = (n + FD_OPT_BLOCK - 1) / FD_OPT_BLOCK;
    nt = fd_threads_for(&ctx, (size_t)n, FD_OPT_GRAIN);
    FD_PARALLEL_FOR
    for (b = 0; b < nblocks; b++) {
        int64_t off = b * FD_OPT_BLOCK;
        int64_t len = n - off < FD_OPT_BLOCK ? n - off : FD_OPT_BLOCK;
        k.sgd(len, param + off, grad + off, velocity ? velocity + off : NULL, (T)lr, (T)momentum,
              (T)weight_decay, flags);
    }
}

/* Scalars (bias corrections, step size) are computed in double once, as
 * torch.optim.AdamW does in Python.  step < 1 is treated as 1. */
void FN(fd_adam_step)(fd_ctx ctx, int64_t n, T *param, const T *grad, T *m, T *v, double lr,
                      double beta1, double beta2, double eps, int64_t step, double weight_decay)
{
    double bc1, bc2;
    T decay, b1, c1, b2, c2, inv_bc2s, teps, step_size;
    int nt;
    int64_t nblocks, b;
    FN(fd_optim_kernels) k;
    if (n <= 0) return;
    if (step < 1) step = 1;
    bc1 = 1.0 - pow(beta1, (double)step);
    bc2 = 1.0 - pow(beta2, (double)step);
    decay = (T)(1.0 - lr * weight_decay);
    b1 = (T)beta1;
    c1 = (T)(1.0 - beta1);
    b2 = (T)beta2;
    c2 = (T)(1.0 - beta2);
    inv_bc2s = (T)(1.0 / sqrt(bc2));
    teps = (T)eps;
    step_size = (T)(lr / bc1);
    k = FN(fd_optim_pick)(ctx.isa);
    nblocks = (n + FD_OPT_BLOCK - 1) / FD_OPT_BLOCK;
    nt = fd_threads_for(&ctx, (size_t)n, FD_OPT_GRAIN);
    FD_PARALLEL_FOR
    for (b = 0; b < nblocks; b++) {
        int64_t off = b * FD_OPT_BLOCK;
        int64_t len = n - off < FD_OPT_BLOCK ? n - off : FD_OPT_BLOCK;
        k.adam(len, param + off, grad + off, m + off, v + off, decay, b1, c1, b2, c2, inv_bc2s,
               teps, step_size);
    }
}

#undef FN
