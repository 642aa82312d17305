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

#include "dense/dense.h"

#define FD_GELU_C 0.7978845608028654 /* sqrt(2/pi) */
#define FD_GELU_A 0.044715

#if defined(T) || defined(SFX)
#error "act/act.h instantiates a template with T and SFX: include it first"
#endif

#define T float
#define SFX f32
#define FD_EXP expf
#define FD_TANH tanhf
#include "act/act_impl.h"
#undef T
#undef SFX
#undef FD_EXP
#undef FD_TANH

#define T double
#define SFX f64
#define FD_EXP exp
#define FD_TANH tanh
#include "act/act_impl.h"
#undef T
#undef SFX
#undef FD_EXP
#undef FD_TANH

#endif /* FD_ACTIVATIONS_H */
