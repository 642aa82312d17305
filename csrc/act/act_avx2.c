/* Vector sigmoid / tanh / gelu, AVX2+FMA path (this file is compiled with
 * -mavx2 -mfma): act_simd_impl.h instantiated for float and double. */
#include "act/act_simd.h"

#if FD_HAVE_X86_SIMD
#include <immintrin.h>

#include "act/act.h"
#include "simd/simd_avx2.h"

#define FD_TEMPLATE "act/act_simd_impl.h"
#include "common/fd_template.h"

#else
FD_NO_SIMD_UNIT;
#endif
