/* AVX2 range workers for dropout (built with -mavx2 -mfma): the portable
 * body, vectorised by the compiler for this instruction set. */
#include "dropout/dropout_internal.h"

#if FD_HAVE_X86_SIMD
#include "simd/simd_avx2.h"

#define FD_TEMPLATE "dropout/dropout_simd_impl.h"
#include "common/fd_template.h"
#else
FD_NO_SIMD_UNIT;
#endif
