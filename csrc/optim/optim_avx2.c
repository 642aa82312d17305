/* SGD and AdamW span workers, AVX2 path (compiled with AVX2 flags). */
#include "optim/optim_internal.h"

#if FD_HAVE_X86_SIMD
#include "simd/simd_avx2.h"

#define FD_TEMPLATE "optim/optim_simd_impl.h"
#include "common/fd_template.h"

#else
FD_NO_SIMD_UNIT;
#endif
