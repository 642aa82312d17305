/* In-place SGD and AdamW steps: portable span workers and the drivers that
 * split the flat buffer into fixed blocks over OpenMP threads.  Block
 * boundaries depend on n only and each element is updated by itself, so
 * results do not depend on the thread count. */
#include "optim/optim.h"

#include <math.h>

#include "common/fd_omp.h"
#include "optim/optim_internal.h"

/* Elements per block: a multiple of every vector width, large enough to
 * amortise the dispatch, small enough to balance threads. */
#define FD_OPT_BLOCK 4096
/* Elements per thread before a second thread pays off. */
#define FD_OPT_GRAIN 32768

#define FD_TEMPLATE "optim/optim_impl.h"
#include "common/fd_template.h"
