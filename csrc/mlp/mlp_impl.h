/* Per-dtype body of mlp.c, instantiated through common/fd_template.h. */

#define FN(name) FD_TNAME(name)

/* Pointers into the caller's scratch block (see layout()). */
typedef struct {
    T *h[FD_MLP_MAX_LAYERS + 1]; /* h[0] gathered batch, h[l] layer outputs */
    T *z[FD_MLP_MAX_LAYERS + 1]; /* pre-activations (gelu hidden layers only) */
    T *d[FD_MLP_MAX_LAYERS + 1]; /* dL/dh[l], l >= 1 */
    T *hd[FD_MLP_MAX_LAYERS + 1]; /* dropped copies of sigmoid / tanh hidden
                                     outputs (their act' needs the kept h) */
    int64_t *lab; /* batch labels */
    int64_t *perm; /* the batch's rows by label (sparse first layer), */
    int64_t *cnt; /* with its sizes[L] + 1 label counts */
    /* bfloat16 precision (float32 only): each W packed for its forward
     * product (gemm_bf16.h), kept by the epoch's optimiser steps; else NULL */
    uint32_t *wpk[FD_MLP_MAX_LAYERS];
    void *kwork; /* dense kernels' scratch */
    void *sparse; /* the sparse first layer's scratch (mlp_sparse.h) */
    double *li; /* the batch's row losses, and */
    unsigned char *hit; /* its rows' arg-max hits, from the sparse forward's head */
    int sparse_fwd; /* this step's first layer went through it */
    int head_fwd; /* and the output layer, its loss and accuracy too (fd_sp_head) */
    int gathered; /* h[0] holds this step's batch */
} FN(fd_mlp_bufs);

/* Lay out the scratch block; returns its size (bufs may be NULL to measure). */
static size_t FN(fd_mlp_layout)(fd_ctx ctx, const fd_mlp_shape *s, char *base,
                                FN(fd_mlp_bufs) * bufs)
{
    size_t off = 0, kw = 0, w;
    int64_t B = s->batch;
    int l, L = s->nlayers;
    int gelu = s->act == FD_ACT_GELU;
    int yact = s->act == FD_ACT_SIGMOID || s->act == FD_ACT_TANH;
#define TAKE(ptr, type, count)                                                                     \
    do {                                                                                           \
        if (bufs) ptr = (type *)(void *)(base + off);                                              \
        off = fd_mlp_align(off + (size_t)(count) * sizeof(type));                                  \
    } while (0)
    for (l = 0; l <= L; l++) {
        TAKE(bufs->h[l], T, B * s->sizes[l]);
        if (l >= 1) TAKE(bufs->d[l], T, B * s->sizes[l]);
        if (bufs) bufs->z[l] = NULL;
        if (bufs) bufs->hd[l] = NULL;
        if (gelu && l >= 1 && l < L) TAKE(bufs->z[l], T, B * s->sizes[l]);
        if (yact && l >= 1 && l < L) TAKE(bufs->hd[l], T, B * s->sizes[l]);
    }
    TAKE(bufs->lab, int64_t, B);
    TAKE(bufs->perm, int64_t, B);
    TAKE(bufs->cnt, int64_t, s->sizes[L] + 1);
    TAKE(bufs->li, double, B);
    TAKE(bufs->hit, unsigned char, B);
    for (l = 0; l < L; l++) {
        int64_t words = 0;
#if !FD_T_F64
        if (ctx.precision == FD_PREC_BF16)
            words = fd_gemm_bf16_packed_words(ctx, s->sizes[l], s->sizes[l + 1]);
#endif
        if (bufs) bufs->wpk[l] = NULL;
        if (words) TAKE(bufs->wpk[l], uint32_t, words);
    }
#undef TAKE
    for (l = 0; l < L; l++) {
        const int64_t rows[2] = {B, s->tail}; /* a full step's, the last one's (0: none) */
        int r;
        for (r = 0; r < 2 && rows[r] > 0; r++) {
            w = FN(fd_dense_forward_work_bytes)(ctx, rows[r], s->sizes[l], s->sizes[l + 1]);
            if (w > kw) kw = w;
            w = FN(fd_dense_backward_work_bytes)(ctx, rows[r], s->sizes[l], s->sizes[l + 1]);
            if (w > kw) kw = w;
        }
    }
    if (bufs) bufs->kwork = kw ? (void *)(base + off) : NULL;
    off += fd_mlp_align(kw);
    /* the sparse first layer's scratch, where fd_mlp_fwd may take it */
    w = 0;
    if (ctx.precision != FD_PREC_BF16 && (s->act == FD_ACT_RELU || L == 1))
        w = FN(fd_mlp_sparse_bytes)(B, s->sizes[0], s->sizes[1]); /* the last step's fits */
    if (bufs) bufs->sparse = w ? (void *)(base + off) : NULL;
    return off + fd_mlp_align(w) + FD_MLP_ALIGN; /* slack to align the base */
}

size_t FN(fd_mlp_work_bytes)(fd_ctx ctx, const fd_mlp_shape *shape)
{
    if (!fd_mlp_shape_ok(shape)) return 0;
    return FN(fd_mlp_layout)(ctx, shape, NULL, NULL);
}

/* g += c * w over n elements; returns sum w^2 (in double).  Fixed blocks,
 * threaded (shared by pairs of threads: fd_pair_next), whose sums are
 * added in block order: the result depends on n only, not on the thread
 * count.  With ac, Adam (moments m, v) then steps
 * each block while it is in cache: Adam is element-wise and the penalty of
 * block b reads only block b's pre-step weights, so this gives the bits of
 * the two passes, with one pass over g and w and one parallel region fewer.
 * Both go FD_MLP_L2_SUB elements at a time: a whole block of the four
 * arrays overflows L1, and Adam's reads of m and v evicted the w and g the
 * penalty had just brought in. */
static double FN(fd_mlp_l2_pass)(fd_ctx ctx, int64_t n, T *w, T *g, T c, T *m, T *v,
                                 const FN(fd_adam_consts) * ac)
{
    double part[FD_MLP_L2_CHUNK], total = 0.0;
    fd_pair_share share[FD_PAIR_MAX];
    int64_t nblocks = (n + FD_MLP_L2_BLOCK - 1) / FD_MLP_L2_BLOCK, b0, b;
    const fd_fpenv env = fd_fpenv_get();
    for (b0 = 0; b0 < nblocks; b0 += FD_MLP_L2_CHUNK) {
        int64_t nb = nblocks - b0 < FD_MLP_L2_CHUNK ? nblocks - b0 : FD_MLP_L2_CHUNK;
        int nt = fd_threads_for(&ctx, (size_t)(nb * FD_MLP_L2_BLOCK), (size_t)1 << 15);
        fd_pair_reset(share, nt);
        FD_PARALLEL
        {
            const fd_fpenv own = fd_fpenv_enter(env);
            fd_pair_iter it = fd_pair_start(share, nb, 1);
            int64_t q0, q1, i;
            while (fd_pair_next(&it, &q0, &q1))
                for (i = q0; i < q1; i++) {
                    int64_t off = (b0 + i) * FD_MLP_L2_BLOCK;
                    int64_t len = n - off < FD_MLP_L2_BLOCK ? n - off : FD_MLP_L2_BLOCK;
                    int64_t s0;
                    double sq = 0.0;
                    for (s0 = 0; s0 < len; s0 += FD_MLP_L2_SUB) {
                        const int64_t o = off + s0;
                        const int64_t sl = len - s0 < FD_MLP_L2_SUB ? len - s0 : FD_MLP_L2_SUB;
                        sq += (double)FN(fd_l2_apply)(ctx.isa, sl, w + o, g + o, c);
                        if (ac) FN(fd_adam_apply)(ctx.isa, sl, w + o, g + o, m + o, v + o, ac);
                    }
                    part[i] = sq;
                }
            fd_fpenv_leave(own);
        }
        for (b = 0; b < nb; b++) total += part[b];
    }
    return total;
}

/* the L2 gradient alone (the optimiser steps afterwards) */
static double FN(fd_mlp_l2_grad)(fd_ctx ctx, int64_t n, T *w, T *g, T c)
{ return FN(fd_mlp_l2_pass)(ctx, n, w, g, c, NULL, NULL, NULL); }

/* the L2 gradient and Adam's step in one pass; lr, eps and step (counting
 * this one) as fd_adam_step takes them */
static double FN(fd_mlp_l2_adam)(fd_ctx ctx, int64_t n, T *w, T *g, T c, T *m, T *v,
                                 const fd_mlp_optim *o, double lr, double eps, int64_t step)
{
    const FN(fd_adam_consts) ac =
        FN(fd_adam_coefs)(lr, o->beta1, o->beta2, eps, step, o->weight_decay);
    return FN(fd_mlp_l2_pass)(ctx, n, w, g, c, m, v, &ac);
}

/* The optimiser step of one weight matrix w (k x n, row-major; gradient g,
 * state s1 = SGD's velocity or Adam's m, s2 = Adam's v) in the bfloat16
 * epoch, with the packing of w for the next forward product (wpk):
 * fixed chunks of whole row pairs, threaded, each taking its L2 term
 * (coefficient c when o->l2 != 0), its step and its packing while it is in
 * cache, instead of a step pass over all of w and a packing pass over it
 * again in the forward product.  Every operation is element-wise, so the
 * weights get the bits of fd_mlp_l2_pass / fd_sgd_step / fd_adam_step.
 * Returns sum w^2 over the pre-step weights (with the L2 term; chunk
 * sums added in chunk order, so it depends on k and n only). */
static double FN(fd_mlp_w_step)(fd_ctx ctx, const fd_mlp_optim *o, int64_t k, int64_t n, T *w, T *g,
                                T *s1, T *s2, T c, double lr, double eps, uint32_t *wpk)
{
    double part[FD_MLP_L2_CHUNK], total = 0.0;
    const int64_t rows = FD_MLP_W_CHUNK / n >= 2 ? FD_MLP_W_CHUNK / n / 2 * 2 : 2;
    const int64_t nch = (k + rows - 1) / rows;
    const int adam = o->kind == FD_MLP_ADAM;
    const FN(fd_adam_consts) ac =
        FN(fd_adam_coefs)(lr, o->beta1, o->beta2, eps, o->step, o->weight_decay);
    const FN(fd_sgd_consts) sc =
        FN(fd_sgd_coefs)(lr, o->momentum, s1 != NULL, o->weight_decay, o->nesterov);
    const fd_fpenv env = fd_fpenv_get();
    int64_t c0, ch;
    for (c0 = 0; c0 < nch; c0 += FD_MLP_L2_CHUNK) {
        const int64_t nc = nch - c0 < FD_MLP_L2_CHUNK ? nch - c0 : FD_MLP_L2_CHUNK;
        const int nt = fd_threads_for(&ctx, (size_t)(nc * rows * n), (size_t)1 << 15);
        FD_PARALLEL
        {
            const fd_fpenv own = fd_fpenv_enter(env);
            FD_FOR
            for (ch = 0; ch < nc; ch++) {
                const int64_t r0 = (c0 + ch) * rows, r1 = r0 + rows < k ? r0 + rows : k;
                const int64_t off = r0 * n, len = (r1 - r0) * n;
                part[ch] = o->l2 != 0.0 ? FN(fd_l2_apply)(ctx.isa, len, w + off, g + off, c) : 0.0;
                if (adam)
                    FN(fd_adam_apply)(ctx.isa, len, w + off, g + off, s1 + off, s2 + off, &ac);
                else
                    FN(fd_sgd_apply)(ctx.isa, len, w + off, g + off, s1 ? s1 + off : NULL, &sc);
#if !FD_T_F64
                fd_gemm_bf16_pack_rows(ctx, k, n, r0, r1, w, n, wpk);
#else
                (void)wpk;
#endif
            }
            fd_fpenv_leave(own);
        }
        for (ch = 0; ch < nc; ch++) total += part[ch];
    }
    return total;
}

/* The input rows of dense layer l in training: h[l], or its dropped copy. */
static const T *FN(fd_mlp_input)(const FN(fd_mlp_bufs) * b, const fd_mlp_optim *drop, int l)
{ return (l > 0 && drop && drop->dropout > 0.0 && b->hd[l]) ? b->hd[l] : b->h[l]; }

/* The fused dropout of hidden layer l (l + 1 < L) at the step of o (see
 * mlp.h), for fd_dense_forward / fd_dense_backward. */
static fd_dense_drop FN(fd_mlp_drop)(const fd_mlp_optim *o, int l)
{
    fd_dense_drop d;
    d.p = o->dropout;
    d.seed = o->seed;
    d.c2 = (uint32_t)o->step;
    d.tag = (uint32_t)(l + 2);
    return d;
}

/* Gather the batch rows idx[0..m) of X (k long) into one block: a memcpy
 * per row, threaded from 16K elements a thread on: the rows come from all
 * over X (DRAM, not cache), so at batch 200 x 784 one thread's copy was 7%
 * of a 2-thread bfloat16 epoch with the other thread waiting. */
static void FN(fd_mlp_gather)(fd_ctx ctx, const T *X, const int64_t *idx, int64_t m, int64_t k,
                              T *dst)
{
    int64_t r;
    int nt = fd_threads_for(&ctx, (size_t)(m * k), (size_t)1 << 14);
    FD_PARALLEL_FOR
    for (r = 0; r < m; r++) memcpy(dst + r * k, X + idx[r] * k, (size_t)k * sizeof(T));
}

/* Forward m rows from x (leading dimension sizes[0]; with idx, the rows
 * idx[0..m) of x: the sparse first layer reads them where they are, other
 * layers from their copy gathered into h[0]); logits go to `out`
 * (leading dimension ldo) or, when out is NULL, to bufs->h[L].  With drop
 * (training) every hidden output gets its dropout mask (see mlp.h), fused
 * into the layer: h[l] is the dropped output, or, for sigmoid / tanh,
 * hd[l] is and h[l] keeps the un-dropped one for act'.  With head (two
 * layers only; NULL: none), a sparse first layer makes the output layer,
 * its loss and accuracy too (fd_sp_head): b->head_fwd says it did. */
static int FN(fd_mlp_fwd)(fd_ctx ctx, const fd_mlp_shape *s, T *const *params, const T *x,
                          const int64_t *idx, int64_t m, FN(fd_mlp_bufs) * b, T *out, int64_t ldo,
                          const fd_mlp_optim *drop, int packed_w, const fd_sp_head *head)
{
    int l, L = s->nlayers, rc;
    const T *in = x;
    b->sparse_fwd = 0;
    b->head_fwd = 0;
    for (l = 0; l < L; l++) {
        int64_t k = s->sizes[l], nn = s->sizes[l + 1];
        int last = l == L - 1;
        const int dropping = !last && drop && drop->dropout > 0.0;
        fd_dense_drop dd;
        T *y = (last && out) ? out : b->h[l + 1], *yk = NULL;
        int64_t ldy = (last && out) ? ldo : nn;
        if (dropping) {
            dd = FN(fd_mlp_drop)(drop, l);
            if (b->hd[l + 1]) {
                yk = y;
                y = b->hd[l + 1];
            }
        }
        /* training: the first layer on the batch's sparse pixels when it
         * has few (mlp_sparse.h; relu or linear, no dropout, float32 or
         * float64 precision) */
        if (l == 0 && drop && !dropping && !packed_w && b->sparse &&
            FN(fd_mlp_sparse_forward)(ctx, m, k, nn, in, idx, params[0], nn, 1, params[1],
                                      last ? FD_ACT_IDENTITY : s->act, y, ldy, b->sparse, head)) {
            b->sparse_fwd = 1;
            b->head_fwd = head != NULL;
            if (b->head_fwd) break; /* (the output layer too) */
            in = y;
            continue;
        }
        if (l == 0 && idx) { /* the dense product reads a block */
            FN(fd_mlp_gather)(ctx, x, idx, m, k, b->h[0]);
            b->gathered = 1;
            in = b->h[0];
        }
        rc = FN(fd_dense_forward)(ctx, m, k, nn, in, k, params[2 * l], nn, 1, params[2 * l + 1],
                                  last ? FD_ACT_IDENTITY : s->act, y, ldy,
                                  last ? NULL : b->z[l + 1], nn, dropping ? &dd : NULL, yk, nn,
                                  packed_w ? b->wpk[l] : NULL, b->kwork);
        if (rc != FD_OK) return rc;
        in = y;
    }
    return FD_OK;
}

/* The learning rate of the next step (see FD_MLP_LR_* in mlp.h). */
static double FN(fd_mlp_lr)(const fd_mlp_optim *o)
{
    const double pi = 3.14159265358979323846;
    double t = (double)(o->step - o->sched_start), tot = (double)o->sched_total;
    double wu = (double)o->sched_warmup, lr = o->lr;
    if (o->schedule == FD_MLP_LR_ONECYCLE) {
        double lo = lr / 25.0;
        if (t < wu) return lo + (lr - lo) * 0.5 * (1.0 - cos(pi * t / wu));
        if (tot <= wu) return lr;
        if (t >= tot) return 0.0;
        return lr * 0.5 * (1.0 + cos(pi * (t - wu) / (tot - wu)));
    }
    if (t < wu) return lr * (t + 1.0) / wu;
    if (o->schedule == FD_MLP_LR_LINEAR && tot > wu)
        return t >= tot ? 0.0 : lr * (tot - t) / (tot - wu);
    return lr;
}

int FN(fd_mlp_forward)(fd_ctx ctx, const fd_mlp_shape *shape, T *const *params, const T *X,
                       int64_t n, T *logits, void *work)
{
    FN(fd_mlp_bufs) b;
    int64_t r, C;
    int rc, l, packw;
    if (!fd_mlp_shape_ok(shape) || !fd_mlp_rows_ok(shape, n)) return FD_EINVAL;
    FN(fd_mlp_layout)(ctx, shape, fd_mlp_align_ptr(work), &b);
    C = shape->sizes[shape->nlayers];
    /* bfloat16: pack every W once for all the batches below (the packing
     * is deterministic, so each product is the same as when packed per
     * batch) */
    packw = n > 0 && b.wpk[0] != NULL;
#if !FD_T_F64
    for (l = 0; l < shape->nlayers && packw; l++)
        fd_gemm_bf16_pack_rows(ctx, shape->sizes[l], shape->sizes[l + 1], 0, shape->sizes[l],
                               params[2 * l], shape->sizes[l + 1], b.wpk[l]);
#else
    (void)l;
#endif
    for (r = 0; r < n; r += shape->batch) {
        int64_t m = n - r < shape->batch ? n - r : shape->batch;
        rc = FN(fd_mlp_fwd)(ctx, shape, params, X + r * shape->sizes[0], NULL, m, &b,
                            logits + r * C, C, NULL, packw, NULL);
        if (rc != FD_OK) return rc;
    }
    return FD_OK;
}

int FN(fd_mlp_epoch)(fd_ctx ctx, const fd_mlp_shape *shape, T *const *params, T *const *grads,
                     T *const *state, const T *X, int64_t n, const int64_t *labels,
                     const int64_t *order, int64_t n_order, fd_mlp_optim *opt, void *work,
                     double *loss_sum, int64_t *correct, int64_t *steps_done, fd_mlp_progress cb,
                     void *cb_user, int64_t every)
{
    FN(fd_mlp_bufs) b;
    const fd_mlp_shape *s = shape;
    int L, l, j, rc = FD_OK, fused_l2, packw, head_in_dz;
    int64_t start, steps = 0, C, k0, np2;
    double lsum = 0.0, eps, lr, sq;
    int64_t ncorrect = 0;
    *loss_sum = 0.0;
    *correct = 0;
    *steps_done = 0;
    if (!fd_mlp_shape_ok(shape) || n < 0 || !fd_mlp_rows_ok(shape, n_order)) return FD_EINVAL;
    L = s->nlayers;
    C = s->sizes[L];
    k0 = s->sizes[0];
    np2 = 2 * (int64_t)L;
    if (opt->aug_images && !fd_mlp_aug_ok(opt, k0, sizeof(T))) return FD_EINVAL;
    FN(fd_mlp_layout)(ctx, s, fd_mlp_align_ptr(work), &b);
    /* bfloat16: pack every W once; the steps below keep the packing */
    packw = b.wpk[0] != NULL;
#if !FD_T_F64
    for (l = 0; l < L && packw; l++)
        fd_gemm_bf16_pack_rows(ctx, s->sizes[l], s->sizes[l + 1], 0, s->sizes[l], params[2 * l],
                               s->sizes[l + 1], b.wpk[l]);
#endif

    for (start = 0; start < n_order; start += s->batch) {
        int64_t m = n_order - start < s->batch ? n_order - start : s->batch;
        const int64_t *idx = order + start; /* the batch's rows */
        int64_t r;
        int bad = 0, labs_ok = 1, fuse;
        T loss = 0;
        fd_sp_head head;

        for (r = 0; r < m; r++) {
            if (idx[r] < 0 || idx[r] >= n)
                bad = 1;
            else {
                b.lab[r] = labels[idx[r]];
                labs_ok &= b.lab[r] >= 0 && b.lab[r] < C;
            }
        }
        if (bad) {
            rc = FD_EINVAL;
            break;
        }
        /* the sparse first layer's groups of rows: by label, they share
         * more pixels (mlp.h).  Not with dropout, whose masks go by the
         * position in the batch; augmentation goes by the sample. */
        if (b.sparse && !packw && opt->input_dropout == 0.0 && opt->dropout == 0.0 &&
            fd_mlp_by_label(m, C, idx, labels, b.lab, b.perm, b.cnt))
            idx = b.perm;
        b.gathered = 0;
        if (opt->aug_images) { /* augmented, normalised batch (float32 only) */
            rc = fd_mlp_aug_batch(ctx, opt, idx, m, b.h[0]);
            if (rc != FD_OK) break;
            b.gathered = 1;
        }
        if (opt->input_dropout > 0.0) {
            if (!b.gathered) FN(fd_mlp_gather)(ctx, X, idx, m, k0, b.h[0]);
            rc = FN(fd_dropout_ex)(ctx, m * k0, b.h[0], b.h[0], opt->input_dropout, opt->seed,
                                   (uint32_t)opt->step, 1);
            if (rc != FD_OK) break;
            b.gathered = 1;
        }
        /* (otherwise the batch's rows are read from X through idx, and
         * gathered only where a dense product needs them) */
        /* a sparse first layer under a narrow output layer makes that
         * layer's product, loss and accuracy in its last pass (valid
         * labels only: fd_softmax_xent rejects the others below) */
        fuse = L == 2 && C <= FD_SP_NEXT_MAX && labs_ok;
        if (fuse) {
            head.wn = params[2];
            head.bn = params[3];
            head.cn = C;
            head.out = b.h[L];
            head.dout = b.d[L];
            head.lab = b.lab;
            head.li = b.li;
            head.hit = b.hit;
        }
        rc = FN(fd_mlp_fwd)(ctx, s, params, b.gathered ? b.h[0] : X, b.gathered ? NULL : idx, m, &b,
                            NULL, 0, opt, packw, fuse ? &head : NULL);
        if (rc != FD_OK) break;
        /* the next batch's labels, read at random from all of them: cache
         * misses in a row cost up to 20 us a step at batch 200 */
        for (r = start + m; r < start + m + s->batch && r < n_order; r++)
            if (order[r] >= 0 && order[r] < n) FD_PREFETCH(labels + order[r]);
        if (b.head_fwd) { /* (the same bits as the two calls below) */
            for (r = 0; r < m; r++) ncorrect += b.hit[r];
            loss = FN(fd_softmax_xent_mean)(m, b.li);
        } else {
            for (r = 0; r < m; r++) /* train accuracy */
                ncorrect += FN(fd_mlp_argmax)(b.h[L] + r * C, C) == b.lab[r];
            rc = FN(fd_softmax_xent)(ctx, m, C, b.h[L], b.lab, FD_REDUCE_MEAN, &loss, b.d[L]);
            if (rc != FD_OK) break;
        }
        lsum += (double)loss * (double)m; /* the plain cross-entropy */
        if (opt->label_smoothing != 0.0) {
            /* d/dlogits of the smoothed loss: softmax - (1 - eps) onehot -
             * eps / C, over m: the plain gradient + eps (onehot - 1/C) / m */
            const T a = (T)(opt->label_smoothing / (double)C / (double)m);
            const T c1 = (T)(opt->label_smoothing / (double)m);
            int64_t c;
            for (r = 0; r < m; r++) {
                T *g = b.d[L] + r * C;
                for (c = 0; c < C; c++) g[c] -= a;
                g[b.lab[r]] += c1;
            }
        }

        /* a sparse first layer under a narrow output layer runs that
         * layer's backward pass in its own dz pass (mlp_sparse.h) */
        head_in_dz = L == 2 && b.sparse_fwd && C <= FD_SP_NEXT_MAX;
        for (l = L - 1; l >= 0; l--) {
            int64_t k = s->sizes[l], nn = s->sizes[l + 1];
            int last = l == L - 1;
            int pre = !last && s->act == FD_ACT_GELU;
            /* dL/dh from dL/d(dropped h): dropout's backward is fused into
             * the layer's dz pass.  relu / identity outputs were dropped in
             * place: act' from the dropped h differs only where the mask
             * has zeroed dL/dh */
            fd_dense_drop dd = FN(fd_mlp_drop)(opt, l);
            const int dropping = !last && opt->dropout > 0.0;
            if (l == 1 && head_in_dz) continue;
            if (l == 0 && b.sparse_fwd) { /* dW from the forward's sparse batch */
                int done;
                /* (params[2] and grads[2..3] exist only with an output layer) */
                const int h = head_in_dz;
                rc = FN(fd_mlp_sparse_backward)(ctx, m, k, nn, h ? NULL : b.d[1], nn,
                                                h ? b.d[2] : NULL, C, h ? params[2] : NULL, C, 1,
                                                h ? grads[2] : NULL, C, 1, h ? grads[3] : NULL,
                                                b.h[1], last ? FD_ACT_IDENTITY : s->act, grads[0],
                                                nn, 1, grads[1], b.sparse, &done);
                if (rc != FD_OK || done) break;
            }
            if (l == 0 && !b.gathered) {
                FN(fd_mlp_gather)(ctx, X, idx, m, k, b.h[0]);
                b.gathered = 1;
            }
            rc = FN(fd_dense_backward)(ctx, m, k, nn, b.d[l + 1], nn, FN(fd_mlp_input)(&b, opt, l),
                                       k, params[2 * l], nn, 1, pre ? b.z[l + 1] : b.h[l + 1], nn,
                                       pre, last ? FD_ACT_IDENTITY : s->act, l > 0 ? b.d[l] : NULL,
                                       k, grads[2 * l], nn, 1, grads[2 * l + 1], 0,
                                       dropping ? &dd : NULL, b.kwork);
            if (rc != FD_OK) break;
        }
        if (rc != FD_OK) break;

        lr = FN(fd_mlp_lr)(opt);
        eps = opt->eps;
        /* eps-hat added to sqrt(v) = eps / sqrt(1 - beta2^t) added to sqrt(v_hat) */
        if (opt->kind == FD_MLP_ADAM && opt->adam_eps_hat)
            eps /= sqrt(1.0 - pow(opt->beta2, (double)(opt->step + 1)));
        /* Adam with alpha: each weight's penalty and step in one pass */
        fused_l2 = opt->l2 != 0.0 && opt->kind == FD_MLP_ADAM;
        sq = 0.0;
        if (opt->l2 != 0.0 && !packw) { /* scikit-learn's alpha, with the pre-step weights */
            for (l = 0; l < L; l++) {
                const int64_t cnt = s->sizes[l] * s->sizes[l + 1];
                const T c = (T)(opt->l2 / (double)m);
                if (fused_l2)
                    sq += FN(fd_mlp_l2_adam)(ctx, cnt, params[2 * l], grads[2 * l], c, state[2 * l],
                                             state[np2 + 2 * l], opt, lr, eps, opt->step + 1);
                else
                    sq += FN(fd_mlp_l2_grad)(ctx, cnt, params[2 * l], grads[2 * l], c);
            }
        }

        opt->step++;
        for (j = 0; j < np2; j++) {
            l = j / 2;
            int64_t cnt = (j & 1) ? s->sizes[l + 1] : s->sizes[l] * s->sizes[l + 1];
            if (packw && !(j & 1)) { /* penalty, step and packing in one pass */
                sq += FN(fd_mlp_w_step)(ctx, opt, s->sizes[l], s->sizes[l + 1], params[j], grads[j],
                                        opt->kind == FD_MLP_ADAM || opt->momentum != 0.0 ? state[j]
                                                                                         : NULL,
                                        opt->kind == FD_MLP_ADAM ? state[np2 + j] : NULL,
                                        (T)(opt->l2 / (double)m), lr, eps, b.wpk[l]);
                continue;
            }
            if (fused_l2 && !(j & 1)) continue; /* done with its penalty above */
            if (opt->kind == FD_MLP_ADAM)
                FN(fd_adam_step)(ctx, cnt, params[j], grads[j], state[j], state[np2 + j], lr,
                                 opt->beta1, opt->beta2, eps, opt->step, opt->weight_decay);
            else
                FN(fd_sgd_step)(ctx, cnt, params[j], grads[j], lr, opt->momentum,
                                opt->momentum != 0.0 ? state[j] : NULL, opt->weight_decay,
                                opt->nesterov);
        }
        if (opt->l2 != 0.0) lsum += 0.5 * opt->l2 * sq; /* alpha/(2m) * sq per row, m rows */
        steps++;
        if (cb && every > 0 && steps % every == 0) {
            const int r = cb(cb_user, steps);
            if (r & FD_MLP_STOP) break;
#if !FD_T_F64
            for (l = 0; l < L && packw && (r & FD_MLP_TOUCHED); l++)
                fd_gemm_bf16_pack_rows(ctx, s->sizes[l], s->sizes[l + 1], 0, s->sizes[l],
                                       params[2 * l], s->sizes[l + 1], b.wpk[l]);
#endif
        }
    }
    *loss_sum = lsum;
    *correct = ncorrect;
    *steps_done = steps;
    return rc;
}

#undef FN
