/* GEMM driver: packing, cache blocking, threading, dispatch to the
 * micro-kernel of ctx.isa.  See gemm.h. */
#include "gemm/gemm.h"

#include <stdlib.h>

#include "act/act.h"
#include "act/act_simd.h"
#include "common/fd_omp.h"
#include "gemm/gemm_bf16.h"

/* Blocking: gemm_blocking.h. */
#define FD_TEMPLATE "gemm/gemm_impl.h"
#include "common/fd_template.h"
