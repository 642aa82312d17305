/* Per-dtype driver for fused normalisation, instantiated by normalize.c
 * through common/fd_template.h. */
#define FN(name) FD_TNAME(name)

/* Portable range kernel: mul then add in T (contraction is off). */
static void FD_TNAME_ISA(fd_norm_kern_u8, generic)(int64_t n, const uint8_t *FD_RESTRICT in,
                                                   T *FD_RESTRICT out, T a, T c, int stream)
{
    int64_t i;
    (void)stream;
    for (i = 0; i < n; i++) out[i] = (T)in[i] * a + c;
}

/* The range kernel of one SIMD path (see "Dispatch" in fd_common.h). */
typedef struct {
    FN(fd_norm_kern) kern;
} FN(fd_normalize_kernels);

static FN(fd_normalize_kernels) FN(fd_normalize_pick)(int isa)
{
    FN(fd_normalize_kernels) k;
    k.kern = FD_PICK(isa, fd_norm_kern_u8);
    return k;
}

/* One parallel pass over n elements (in and out disjoint).  Each thread gets
 * one contiguous range whose bounds fall on 64-byte lines of `out`, so no
 * two threads share an output cache line and streaming stores stay aligned. */
static void FN(norm_run)(fd_ctx ctx, int64_t n, const uint8_t *FD_RESTRICT in, T *FD_RESTRICT out,
                         T a, T c, int store)
{
    FN(fd_norm_kern) kern = FN(fd_normalize_pick)(ctx.isa).kern;
    int stream = store == FD_NORM_STORE_STREAM ||
        (store == FD_NORM_STORE_AUTO && n > 0 && (uint64_t)n * sizeof(T) >= FD_NORM_STREAM_BYTES &&
         !fd_norm_untouched(out, (uint64_t)n * sizeof(T)));
    int nt, t;
    int64_t lane, head;
    fd_fpenv env;
    if (n <= 0) return;
    nt = fd_threads_for(&ctx, (size_t)n, FD_NORM_GRAIN);
    if (nt <= 1) {
        kern(n, in, out, a, c, stream);
        return;
    }
    lane = 64 / (int64_t)sizeof(T);
    /* First element index whose address is 64-byte aligned. */
    head = ((uintptr_t)out % sizeof(T) == 0)
        ? (int64_t)((64 - (uintptr_t)out % 64) % 64) / (int64_t)sizeof(T)
        : 0;
    env = fd_fpenv_get();
    FD_PARALLEL_FOR
    for (t = 0; t < nt; t++) {
        const fd_fpenv own = fd_fpenv_enter(env);
        int64_t lo = fd_norm_bound(n, nt, t, head, lane);
        int64_t hi = fd_norm_bound(n, nt, t + 1, head, lane);
        if (hi > lo) kern(hi - lo, in + lo, out + lo, a, c, stream);
        fd_fpenv_leave(own);
    }
}

void FD_PASTE2(FN(fd_normalize_u8), ex)(fd_ctx ctx, int64_t n, const uint8_t *in, T *out,
                                        double scale, double mean, double std, int store)
{
    const T a = (T)(scale / std), c = (T)(-mean / std);
    FN(norm_run)(ctx, n, in, out, a, c, store);
}

void FN(fd_normalize_u8)(fd_ctx ctx, int64_t n, const uint8_t *in, T *out, double scale,
                         double mean, double std)
{ FD_PASTE2(FN(fd_normalize_u8), ex)(ctx, n, in, out, scale, mean, std, FD_NORM_STORE_AUTO); }

void FD_PASTE2(FN(fd_normalize_u8), tail_inplace)(fd_ctx ctx, int64_t n, T *buf, double scale,
                                                  double mean, double std)
{
    const T a = (T)(scale / std), c = (T)(-mean / std);
    const int64_t s = (int64_t)sizeof(T);
    const int64_t off = n * (s - 1); /* byte offset of the input */
    const uint8_t *bytes = (const uint8_t *)buf;
    int64_t lo = 0;
    if (n <= 0) return;
    /* Stage [lo, hi) writes bytes [lo*s, hi*s) and reads [off+lo, off+hi):
     * with hi <= (off + lo) / s they are disjoint and no unread input is
     * overwritten.  The unprocessed count shrinks from r to ceil(r/s) per
     * stage, so there are about log_s(n) stages, all but the first few tiny
     * (and run serially by fd_threads_for). */
    while (n - lo > 1) {
        int64_t hi = (off + lo) / s;
        if (hi > n) hi = n;
        /* The first stage (most of the work) writes memory the input never
         * occupied: stream it if it is large and already touched (AUTO).
         * Later stages overwrite input bytes just read, which are cached. */
        FN(norm_run)(ctx, hi - lo, bytes + off + lo, buf + lo, a, c,
                     lo == 0 ? FD_NORM_STORE_AUTO : FD_NORM_STORE_CACHED);
        lo = hi;
    }
    /* The last element's byte is the last byte of its own output slot: read
     * it, then write. */
    if (lo < n) {
        T x = (T)bytes[off + lo];
        buf[lo] = x * a + c;
    }
}

#undef FN
