/* AVX-512 range workers for dropout (built with -mavx512f/bw/dq/vl): the portable
 * body, vectorised by the compiler for this instruction set. */
#include "dropout/dropout_internal.h"

#if FD_HAVE_X86_SIMD
#define FD_DROP_WIDE /* 64-bit generator lanes: see dropout_simd_impl.h */
#define T float
#define FN fd_dropout_range_f32_avx512
#include "dropout/dropout_simd_impl.h"
#undef T
#undef FN

#define T double
#define FN fd_dropout_range_f64_avx512
#include "dropout/dropout_simd_impl.h"
#undef T
#undef FN
#else
FD_NO_SIMD_UNIT;
#endif
