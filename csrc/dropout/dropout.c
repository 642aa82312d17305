/* Inverted dropout: dispatch, threading and the portable path (dropout.h). */
#include "dropout/dropout.h"

#include <math.h>
#include <string.h>

#include "common/fd_omp.h"
#include "common/fd_rng.h"
#include "dropout/dropout_internal.h"

/* Elements per thread below which a call stays serial. */
#define FD_DROPOUT_GRAIN ((size_t)1 << 14)
#define FD_DROP_LANES 16

#define T float
#define FN fd_dropout_range_f32_generic
#include "dropout/dropout_simd_impl.h"
#undef T
#undef FN

#define T double
#define FN fd_dropout_range_f64_generic
#include "dropout/dropout_simd_impl.h"
#undef T
#undef FN

#define T float
#define SFX f32
#include "dropout/dropout_impl.h"
#undef T
#undef SFX

#define T double
#define SFX f64
#include "dropout/dropout_impl.h"
#undef T
#undef SFX
