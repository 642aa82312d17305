/* Per-dtype body of act.h: the scalar activations and their derivatives,
 * instantiated through common/fd_template.h. */

#define FN(name) FD_TNAME(name)

static inline T FN(fd_act)(int act, T v)
{
    switch (act) {
    case FD_ACT_RELU: /* NaN (unordered) kept, as the vector kernels */ return v < (T)0 ? (T)0 : v;
    case FD_ACT_SIGMOID:
        /* never exp of a large positive number: no overflow */
        if (v >= (T)0) return (T)1 / ((T)1 + FD_TMATH(exp)(-v));
        {
            T e = FD_TMATH(exp)(v);
            return e / ((T)1 + e);
        }
    case FD_ACT_TANH: return FD_TMATH(tanh)(v);
    case FD_ACT_GELU:
        return (T)0.5 * v * ((T)1 + FD_TMATH(tanh)((T)FD_GELU_C * (v + (T)FD_GELU_A * v * v * v)));
    default: return v;
    }
}

/* act'(.) from y (identity, relu, sigmoid, tanh) or from z (gelu). */
static inline T FN(fd_act_grad)(int act, T yz)
{
    switch (act) {
    case FD_ACT_RELU: /* NaN where y is NaN: NaN propagates */
        return yz > (T)0 ? (T)1 : yz <= (T)0 ? (T)0 : yz;
    case FD_ACT_SIGMOID: return yz * ((T)1 - yz);
    case FD_ACT_TANH: return (T)1 - yz * yz;
    case FD_ACT_GELU: {
        T z2 = yz * yz;
        T t = FD_TMATH(tanh)((T)FD_GELU_C * (yz + (T)FD_GELU_A * z2 * yz));
        return (T)0.5 * ((T)1 + t) +
            (T)0.5 * yz * ((T)1 - t * t) * (T)FD_GELU_C * ((T)1 + (T)(3.0 * FD_GELU_A) * z2);
    }
    default: return (T)1;
    }
}

#undef FN
