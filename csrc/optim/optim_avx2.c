/* SGD and AdamW span workers, AVX2 path (compiled with AVX2 flags). */
#include "optim/optim_internal.h"

#if FD_HAVE_X86_SIMD
#include "simd/simd_avx2.h"

#define ISA avx2

#define T float
#define SFX f32
#define VP(name) v8f_##name
#include "optim/optim_simd_impl.h"
#undef T
#undef SFX
#undef VP

#define T double
#define SFX f64
#define VP(name) v4d_##name
#include "optim/optim_simd_impl.h"
#undef T
#undef SFX
#undef VP

#else
FD_NO_SIMD_UNIT;
#endif
