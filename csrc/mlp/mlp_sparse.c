/* The training epoch's first layer on sparse input (see mlp_sparse.h):
 * compression into row groups, the portable group forward and the driver.
 * One template, two dtypes. */
#include "mlp/mlp_sparse.h"

#include <stdint.h>
#include <string.h>

#include "act/act_code.h"
#include "common/cpu.h"
#include "common/fd_fpenv.h"
#include "common/fd_omp.h"
#include "dense/dense.h"
#include "gemm/gemm.h"
#include "loss/loss.h"

static void *fd_align64(void *p)
{
    uintptr_t u = (uintptr_t)p;
    return (char *)p + ((64 - (u & 63)) & 63);
}

#define FD_TEMPLATE "mlp/mlp_sparse_impl.h"
#include "common/fd_template.h"
