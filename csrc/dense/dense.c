/* Fused dense layers on top of the GEMM core (see dense.h, gemm.h).
 *
 * Forward: one GEMM whose epilogue adds the bias, keeps z and applies the
 * activation while each output tile is in registers.
 * Backward: one pass over dy computes dz = dy * act'(.) and the bias
 * gradient (fixed 64-row chunks summed in a fixed order: deterministic),
 * then dW = x^T dz and dx = dz W^T are two GEMMs reading dz, x and W through
 * strides (no transposed copies).  For the identity activation dz is dy.
 * Dropout (dense.h: fd_dense_drop) is fused into both: the forward GEMM's
 * tile hook masks each finished output tile, and the dz pass masks dy
 * (then dz is always made, also for the identity).
 */
#include "dense/dense.h"

#include <stdlib.h>
#include <string.h>

#include "act/act_simd.h"
#include "act/act.h"
#include "common/fd_omp.h"
#include "dropout/dropout.h"
#include "gemm/gemm.h"

#define FD_DB_CHUNK 64 /* rows per partial bias-gradient sum */

/* Kept out of line so its restrict-qualified loops are vectorised. */
#if defined(_MSC_VER)
#define FD_NOINLINE __declspec(noinline)
#else
#define FD_NOINLINE __attribute__((noinline))
#endif

static size_t fd_align_up(size_t v)
{ return (v + 63) & ~(size_t)63; }
static void *fd_align64(void *p)
{ return (void *)(((uintptr_t)p + 63) & ~(uintptr_t)63); }

#define FD_TEMPLATE "dense/dense_impl.h"
#include "common/fd_template.h"
