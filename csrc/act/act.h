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

#define FD_DEFINE_ACT(T, SFX, EXP, TANH)                                      \
    static inline T fd_act_##SFX(int act, T v)                               \
    {                                                                         \
        switch (act) {                                                        \
        case FD_ACT_RELU: /* NaN (unordered) kept, as the vector kernels */ \
            return v < (T)0 ? (T)0 : v;                                       \
        case FD_ACT_SIGMOID:                                                  \
            /* never exp of a large positive number: no overflow */           \
            if (v >= (T)0) return (T)1 / ((T)1 + EXP(-v));                    \
            {                                                                 \
                T e = EXP(v);                                                 \
                return e / ((T)1 + e);                                        \
            }                                                                 \
        case FD_ACT_TANH:                                                     \
            return TANH(v);                                                   \
        case FD_ACT_GELU:                                                     \
            return (T)0.5 * v *                                               \
                   ((T)1 + TANH((T)FD_GELU_C * (v + (T)FD_GELU_A * v * v * v))); \
        default:                                                              \
            return v;                                                         \
        }                                                                     \
    }                                                                         \
    /* act'(.) from y (identity, relu, sigmoid, tanh) or from z (gelu). */   \
    static inline T fd_act_grad_##SFX(int act, T yz)                          \
    {                                                                         \
        switch (act) {                                                        \
        case FD_ACT_RELU: /* NaN where y is NaN: NaN propagates */          \
            return yz > (T)0 ? (T)1 : yz <= (T)0 ? (T)0 : yz;                 \
        case FD_ACT_SIGMOID:                                                  \
            return yz * ((T)1 - yz);                                          \
        case FD_ACT_TANH:                                                     \
            return (T)1 - yz * yz;                                            \
        case FD_ACT_GELU: {                                                   \
            T z2 = yz * yz;                                                   \
            T t = TANH((T)FD_GELU_C * (yz + (T)FD_GELU_A * z2 * yz));         \
            return (T)0.5 * ((T)1 + t) +                                      \
                   (T)0.5 * yz * ((T)1 - t * t) * (T)FD_GELU_C *              \
                       ((T)1 + (T)(3.0 * FD_GELU_A) * z2);                    \
        }                                                                     \
        default:                                                              \
            return (T)1;                                                      \
        }                                                                     \
    }

FD_DEFINE_ACT(float, f32, expf, tanhf)
FD_DEFINE_ACT(double, f64, exp, tanh)

#endif /* FD_ACTIVATIONS_H */
