/* Softmax cross-entropy row workers, AVX512 path (compiled with AVX512 flags). */
#include "loss/loss_internal.h"

#if FD_HAVE_X86_SIMD
#include <math.h>

#include "simd/simd_avx512.h"

#define ISA avx512

#define T float
#define SFX f32
#define VP(name) v16f_##name
#include "loss/loss_simd_impl.h"
#undef T
#undef SFX
#undef VP

#define T double
#define SFX f64
#define VP(name) v8d_##name
#include "loss/loss_simd_impl.h"
#undef T
#undef SFX
#undef VP

#else
FD_NO_SIMD_UNIT;
#endif
