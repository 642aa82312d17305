/* Fused pixel normalisation: dispatch, threading and the portable path.
 *
 * out = (T)in * a + c with a = (T)(scale/std), c = (T)(-mean/std): one IEEE
 * multiply then one add in the output precision T (never fused into an FMA),
 * so every SIMD path and thread count gives bit-identical results.  See
 * normalize.h for the API. */
#include "normalize.h"
#include "normalize_kernels.h"

/* Elements per thread below which a call stays serial: a thread start-up
 * (a few microseconds) costs about as much as converting this many. */
#define FD_NORM_GRAIN ((size_t)1 << 16)

/* Outputs of at least this many bytes are written with non-temporal stores:
 * they cannot stay in the cache anyway, and streaming avoids reading every
 * output line before writing it (a third of the memory traffic). */
#define FD_NORM_STREAM_BYTES ((uint64_t)16 << 20)

/* Start of thread t's range of n elements split nt ways, rounded down to the
 * next boundary head + k*lane (a 64-byte line of the output). */
static int64_t fd_norm_bound(int64_t n, int nt, int t, int64_t head, int64_t lane)
{
    int64_t b;
    if (t <= 0) return 0;
    if (t >= nt) return n;
    b = (n / nt) * t + ((n % nt) * t) / nt;
    if (b > head) b = head + ((b - head) / lane) * lane;
    return b < n ? b : n;
}

#define T float
#define SFX f32
#define KERN_T fd_norm_kern_f32
#include "normalize_impl.h"
#undef T
#undef SFX
#undef KERN_T

#define T double
#define SFX f64
#define KERN_T fd_norm_kern_f64
#include "normalize_impl.h"
#undef T
#undef SFX
#undef KERN_T
