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

/* g += c * w; returns sum w^2 in FD_L2_LANES partial sums (element i in
 * lane i % FD_L2_LANES), added lane by lane at the end. */
T FD_TNAME_ISA(fd_l2_span, generic)(int64_t n, const T *w, T *g, T c)
{
    T acc[FD_L2_LANES] = {0}, sum = 0;
    int64_t i;
    int j;
    for (i = 0; i + FD_L2_LANES <= n; i += FD_L2_LANES)
        for (j = 0; j < FD_L2_LANES; j++) {
            const T wi = w[i + j];
            acc[j] += wi * wi;
            g[i + j] += c * wi;
        }
    for (j = 0; i < n; i++, j++) {
        acc[j] += w[i] * w[i];
        g[i] += c * w[i];
    }
    for (j = 0; j < FD_L2_LANES; j++) sum += acc[j];
    return sum;
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

/* Runs the path's span worker over fixed blocks of FD_OPT_BLOCK elements
 * (the last one shorter) in parallel: Adam when adam, else SGD.  s1, s2:
 * the state buffers (SGD: velocity or NULL, s2 unused; Adam: m, v); coef:
 * SGD's lr, mom, wd, or Adam's decay, b1, c1, b2, c2, inv_bc2s, eps,
 * step_size. */
static void FN(fd_opt_blocks)(fd_ctx ctx, int64_t n, int adam, T *param, const T *grad, T *s1,
                              T *s2, const T *coef, int flags)
{
    const FN(fd_optim_kernels) k = FN(fd_optim_pick)(ctx.isa);
    const int64_t nblocks = (n + FD_OPT_BLOCK - 1) / FD_OPT_BLOCK;
    const int nt = fd_threads_for(&ctx, (size_t)n, FD_OPT_GRAIN);
    const fd_fpenv env = fd_fpenv_get();
    int64_t b;
    FD_PARALLEL
    {
        const fd_fpenv own = fd_fpenv_enter(env);
        FD_FOR
        for (b = 0; b < nblocks; b++) {
            int64_t off = b * FD_OPT_BLOCK;
            int64_t len = n - off < FD_OPT_BLOCK ? n - off : FD_OPT_BLOCK;
            if (adam)
                k.adam(len, param + off, grad + off, s1 + off, s2 + off, coef[0], coef[1], coef[2],
                       coef[3], coef[4], coef[5], coef[6], coef[7]);
            else
                k.sgd(len, param + off, grad + off, s1 ? s1 + off : NULL, coef[0], coef[1], coef[2],
                      flags);
        }
        fd_fpenv_leave(own);
    }
}

/* velocity == NULL disables momentum (the header allows NULL only when
 * momentum == 0; the Python layer enforces it). */
FN(fd_sgd_consts)
FN(fd_sgd_coefs)(double lr, double momentum, int has_velocity, double weight_decay, int nesterov)
{
    FN(fd_sgd_consts) c;
    c.flags = 0;
    if (weight_decay != 0.0) c.flags |= FD_SGD_WD;
    if (momentum != 0.0 && has_velocity) {
        c.flags |= FD_SGD_MOM;
        if (nesterov) c.flags |= FD_SGD_NESTEROV;
    }
    c.coef[0] = (T)lr;
    c.coef[1] = (T)momentum;
    c.coef[2] = (T)weight_decay;
    return c;
}

void FN(fd_sgd_apply)(int isa, int64_t n, T *param, const T *grad, T *velocity,
                      const FN(fd_sgd_consts) * c)
{
    if (n > 0)
        FN(fd_optim_pick)(isa).sgd(n, param, grad, velocity, c->coef[0], c->coef[1], c->coef[2],
                                   c->flags);
}

void FN(fd_sgd_step)(fd_ctx ctx, int64_t n, T *param, const T *grad, double lr, double momentum,
                     T *velocity, double weight_decay, int nesterov)
{
    const FN(fd_sgd_consts) c =
        FN(fd_sgd_coefs)(lr, momentum, velocity != NULL, weight_decay, nesterov);
    if (n <= 0) return;
    FN(fd_opt_blocks)(ctx, n, 0, param, grad, velocity, NULL, c.coef, c.flags);
}

/* Scalars (bias corrections, step size) are computed in double once, as
 * torch.optim.AdamW does in Python.  step < 1 is treated as 1. */
FN(fd_adam_consts)
FN(fd_adam_coefs)(double lr, double beta1, double beta2, double eps, int64_t step,
                  double weight_decay)
{
    FN(fd_adam_consts) c;
    T *coef = c.coef;
    double bc1, bc2;
    if (step < 1) step = 1;
    bc1 = 1.0 - pow(beta1, (double)step);
    bc2 = 1.0 - pow(beta2, (double)step);
    coef[0] = (T)(1.0 - lr * weight_decay); /* decay */
    coef[1] = (T)beta1;
    coef[2] = (T)(1.0 - beta1);
    coef[3] = (T)beta2;
    coef[4] = (T)(1.0 - beta2);
    coef[5] = (T)(1.0 / sqrt(bc2)); /* inv_bc2s */
    coef[6] = (T)eps;
    coef[7] = (T)(lr / bc1); /* step_size */
    return c;
}

void FN(fd_adam_apply)(int isa, int64_t n, T *param, const T *grad, T *m, T *v,
                       const FN(fd_adam_consts) * c)
{
    const FN(fd_optim_kernels) k = FN(fd_optim_pick)(isa);
    const T *coef = c->coef;
    if (n > 0)
        k.adam(n, param, grad, m, v, coef[0], coef[1], coef[2], coef[3], coef[4], coef[5], coef[6],
               coef[7]);
}

T FN(fd_l2_apply)(int isa, int64_t n, const T *w, T *g, T c)
{ return n > 0 ? FD_PICK(isa, fd_l2_span)(n, w, g, c) : (T)0; }

void FN(fd_adam_step)(fd_ctx ctx, int64_t n, T *param, const T *grad, T *m, T *v, double lr,
                      double beta1, double beta2, double eps, int64_t step, double weight_decay)
{
    FN(fd_adam_consts) c;
    if (n <= 0) return;
    c = FN(fd_adam_coefs)(lr, beta1, beta2, eps, step, weight_decay);
    FN(fd_opt_blocks)(ctx, n, 1, param, grad, m, v, c.coef, 0);
}

#undef FN
