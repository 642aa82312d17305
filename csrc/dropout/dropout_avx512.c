/* AVX-512 range workers for dropout (built with -mavx512f/bw/dq/vl): the portable
 * body, vectorised by the compiler for this instruction set. */
#include "dropout/dropout_internal.h"

#if FD_HAVE_X86_SIMD
#include "simd/simd_avx512.h"

#define FD_DROP_WIDE /* 64-bit generator lanes: see dropout_simd_impl.h */
#define FD_TEMPLATE "dropout/dropout_simd_impl.h"
#include "common/fd_template.h"
#else
FD_NO_SIMD_UNIT;
#endif
