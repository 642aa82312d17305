/* fd_drop_plan_<sfx>: the per-dtype tile plan declared in dropout.h
 * (a declaration template, instantiated there through common/fd_template.h;
 * no include guard). */
typedef struct FD_TNAME(fd_drop_plan) FD_TNAME(fd_drop_plan);
struct FD_TNAME(fd_drop_plan) {
    void (*tile)(const FD_TNAME(fd_drop_plan) * d, int64_t i0, int64_t j0, int64_t rows,
                 int64_t cols, const T *src, int64_t lds, T *dst, int64_t ldd, T *keep,
                 int64_t ldk);
    /* fd_dropout_ex's worker: the Philox blocks q0 <= q < q1 of n elements */
    void (*range)(const FD_TNAME(fd_drop_plan) * d, int64_t q0, int64_t q1, const T *x, T *out);
    int64_t n; /* logical row length */
    uint64_t seed;
    uint32_t thr, c2, c3; /* drop where (w >> 8) < thr */
    T scale; /* (T)(1 / (1 - p)) */
};
int FD_TNAME(fd_drop_plan_init)(FD_TNAME(fd_drop_plan) * d, fd_ctx ctx, int64_t n, double p,
                                uint64_t seed, uint32_t c2, uint32_t tag);
