/* Softmax cross-entropy row workers, AVX2 path (compiled with AVX2 flags). */
#include "loss/loss_internal.h"

#if FD_HAVE_X86_SIMD
#include <math.h>

#include "simd/simd_avx2.h"

#define FD_TEMPLATE "loss/loss_simd_impl.h"
#include "common/fd_template.h"

#else
FD_NO_SIMD_UNIT;
#endif
