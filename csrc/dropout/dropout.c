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

/* The portable range worker, then the per-dtype driver. */
#define FD_TEMPLATE "dropout/dropout_simd_impl.h"
#include "common/fd_template.h"

#define FD_TEMPLATE "dropout/dropout_impl.h"
#include "common/fd_template.h"
