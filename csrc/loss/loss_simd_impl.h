/* Row-block worker for softmax cross-entropy, written once over the vector
 * operations of simd/simd_avx2.h / simd/simd_avx512.h, instantiated by
 * loss_avx2.c / loss_avx512.c through common/fd_template.h.
 * Per row: max, e = exp(x - max) (stored into grad when wanted) and their
 * sum, loss = (max - x[label]) + log(sum), grad = e * scale/sum - scale at
 * the label.  Tails use masked loads/stores: nothing outside the row is
 * touched. */

/* Rows go in groups of FD_XENT_GROUP through three phases (max/exp/sum,
 * then the logs, then loss and gradient scaling): the phases of different
 * rows are independent, so short rows (10 classes) overlap instead of
 * waiting on one long max -> exp -> sum -> log chain per row. */
#ifndef FD_XENT_GROUP
#define FD_XENT_GROUP 8
#endif

double FD_TNAME_ISA(fd_xent_rows, ISA)(int64_t r0, int64_t r1, int64_t c, const T *logits,
                                       const int64_t *labels, T *rows, T *grad, T scale)
{
    const int64_t W = VP(W);
    const int64_t cv = c - c % W; /* full vectors per row */
    const VP(vec) ninf = VP(set1)((T)-INFINITY);
    VP(mask) tail = VP(tailmask)(c % W ? c % W : 1);
    double total = 0.0;
    int64_t i0, j;

    for (i0 = r0; i0 < r1; i0 += FD_XENT_GROUP) {
        const int gn = (int)(r1 - i0 < FD_XENT_GROUP ? r1 - i0 : FD_XENT_GROUP);
        T mxs[FD_XENT_GROUP], ss[FD_XENT_GROUP];
        double ls[FD_XENT_GROUP];
        int r;

        for (r = 0; r < gn; r++) {
            const T *x = logits + (i0 + r) * c;
            T *g = grad ? grad + (i0 + r) * c : NULL;
            VP(vec) m0 = ninf, m1 = ninf, vmx, s0, s1;
            T mx;

            /* row max; two accumulators hide the max latency on long rows */
            for (j = 0; j + 2 * W <= cv; j += 2 * W) {
                m0 = VP(max)(m0, VP(load)(x + j));
                m1 = VP(max)(m1, VP(load)(x + j + W));
            }
            if (j < cv) m0 = VP(max)(m0, VP(load)(x + j));
            if (cv < c) m1 = VP(max)(m1, VP(mload)(x + cv, tail, ninf));
            mx = VP(hmax)(VP(max)(m0, m1));

            /* e = exp(x - max) (kept in grad when wanted) and its sum */
            vmx = VP(set1)(mx);
            s0 = VP(set1)((T)0);
            s1 = s0;
            if (g) {
                for (j = 0; j + 2 * W <= cv; j += 2 * W) {
                    VP(vec) e0 = VP(exp_neg)(VP(sub)(VP(load)(x + j), vmx));
                    VP(vec) e1 = VP(exp_neg)(VP(sub)(VP(load)(x + j + W), vmx));
                    VP(store)(g + j, e0);
                    VP(store)(g + j + W, e1);
                    s0 = VP(add)(s0, e0);
                    s1 = VP(add)(s1, e1);
                }
                if (j < cv) {
                    VP(vec) e0 = VP(exp_neg)(VP(sub)(VP(load)(x + j), vmx));
                    VP(store)(g + j, e0);
                    s0 = VP(add)(s0, e0);
                }
                if (cv < c) {
                    VP(vec) e1 = VP(exp_neg)(VP(sub)(VP(mload)(x + cv, tail, vmx), vmx));
                    e1 = VP(mzero)(tail, e1);
                    VP(mstore)(g + cv, tail, e1);
                    s1 = VP(add)(s1, e1);
                }
            } else {
                for (j = 0; j + 2 * W <= cv; j += 2 * W) {
                    s0 = VP(add)(s0, VP(exp_neg)(VP(sub)(VP(load)(x + j), vmx)));
                    s1 = VP(add)(s1, VP(exp_neg)(VP(sub)(VP(load)(x + j + W), vmx)));
                }
                if (j < cv) s0 = VP(add)(s0, VP(exp_neg)(VP(sub)(VP(load)(x + j), vmx)));
                if (cv < c) {
                    VP(vec) e1 = VP(exp_neg)(VP(sub)(VP(mload)(x + cv, tail, vmx), vmx));
                    s1 = VP(add)(s1, VP(mzero)(tail, e1));
                }
            }
            mxs[r] = mx;
            ss[r] = VP(hsum)(VP(add)(s0, s1));
        }

        for (r = 0; r < gn; r++) ls[r] = log((double)ss[r]);

        for (r = 0; r < gn; r++) {
            const int64_t i = i0 + r, lab = labels[i];
            /* (max - x[label]) is exact in double for either T: no
             * cancellation against a large log-sum-exp */
            const double li = ((double)mxs[r] - (double)logits[i * c + lab]) + ls[r];
            total += li;
            if (rows) rows[i] = (T)li;
            if (grad) {
                T *g = grad + i * c;
                const VP(vec) vinv = VP(set1)(scale / ss[r]);
                for (j = 0; j < cv; j += W) VP(store)(g + j, VP(mul)(VP(load)(g + j), vinv));
                if (cv < c) VP(mstore)(g + cv, tail, VP(mul)(VP(mload)(g + cv, tail, vinv), vinv));
                g[lab] -= scale;
            }
        }
    }
    return total;
}
