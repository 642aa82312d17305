/* The sparse first layer's group forward, AVX2 path (compiled with AVX2
 * flags): a register tile of FD_SP_G rows x 2 vectors. */
#include "mlp/mlp_sparse.h"

#if FD_HAVE_X86_SIMD
#include "simd/simd_avx2.h"

#define FD_SP_WNV 8
#define FD_SP_NV 2
#define FD_TEMPLATE "mlp/mlp_sparse_simd_impl.h"
#include "common/fd_template.h"
#else
FD_NO_SIMD_UNIT;
#endif
