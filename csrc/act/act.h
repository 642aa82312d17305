/* Scalar activations and their derivatives, float and double.
 *
 * Used by the GEMM epilogue (edge tiles and the transcendental activations)
 * and by the backward pass.  gelu is the tanh approximation
 *   gelu(z) = 0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))).
 * Derivatives of identity/relu/sigmoid/tanh are written in terms of the
 * output y; gelu's needs the pre-activation z.
 */
#ifndef FD_ACTIVATIONS_H
#define FD_ACTIVATIONS_H

#include <math.h>

#include "act/act_code.h"
#include "common/fd_common.h"

#define FD_GELU_C 0.7978845608028654 /* sqrt(2/pi) */
#define FD_GELU_A 0.044715

#define FD_TEMPLATE "act/act_impl.h"
#include "common/fd_template.h"

#endif /* FD_ACTIVATIONS_H */
