"""Epoch helpers shared by the MLP tests."""

import numpy as np

from fastdigits.reference import nn as ref


def epoch_whole_and_cut(sizes, dtype, n, batch, precision="float32"):
    """Params after one epoch call over n rows (full steps then a short last
    one), and after two calls: the full steps, then the last step alone."""
    from fastdigits import _mlp

    rng = np.random.default_rng(7)
    X = rng.standard_normal((n, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], n)
    order = np.random.default_rng(3).permutation(n).astype(np.int64)
    kw = dict(activation="relu", batch_size=batch, optimizer="sgd", lr=0.05, momentum=0.9)
    kw.update(weight_decay=0.0, precision=precision)
    start = ref.init_params(sizes, "relu", dtype, 5)
    out = []
    for cuts in ([0, n], [0, n - n % batch, n]):
        P = [p.copy() for p in start]
        G = [np.empty_like(p) for p in P]
        S = [np.zeros_like(p) for p in P]
        step = 0
        for a, b in zip(cuts[:-1], cuts[1:]):
            step = _mlp.train_epoch(P, G, S, X, y, order[a:b], step=step, **kw)[2]
        out.append(P)
    return out
