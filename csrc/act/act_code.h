/* The activation codes every kernel takes (and fastdigits._binding.act_code
 * maps names to): its own header so the dense, GEMM and MLP kernels and the
 * bindings share one enum without pulling in the activation functions. */
#ifndef FD_ACT_CODE_H
#define FD_ACT_CODE_H

typedef enum {
    FD_ACT_IDENTITY = 0,
    FD_ACT_RELU = 1,
    FD_ACT_SIGMOID = 2,
    FD_ACT_TANH = 3,
    FD_ACT_GELU = 4 /* tanh approximation */
} fd_activation;

#endif /* FD_ACT_CODE_H */
