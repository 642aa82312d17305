/* Vector sigmoid / tanh / gelu, AVX-512 path (this file is compiled with
 * AVX-512 flags): act_simd_impl.h instantiated for float and double. */
#include "act/act_simd.h"

#if FD_HAVE_X86_SIMD
#include <immintrin.h>

#include "act/act.h"
#include "simd/simd_avx512.h"

#define FD_TEMPLATE "act/act_simd_impl.h"
#include "common/fd_template.h"

#else
FD_NO_SIMD_UNIT;
#endif
