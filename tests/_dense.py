"""Shared by the fused dense-layer tests (test_dense_dropout.py,
test_dense_worder.py): the activations, the tolerances against the float64
reference, one table of the layer shapes that reach different code, and a
layer's random inputs."""

import numpy as np

ACTS = ("identity", "relu", "sigmoid", "tanh", "gelu")
TOL = {np.float32: 2e-5, np.float64: 1e-12}
# (m, k, n): 1x1; odd sizes with n % 4 != 0 (Philox blocks straddle rows and
# tiles); whole register tiles; narrow outputs (n <= 16: AVX-512's small-n
# path, the unpacked kernel through a copy of an F-order W^T); n > one tile
# with a ragged edge; no inputs (k = 0); no rows; more odd sizes; a 10-class
# layer at batch 64 and n = 16; K longer than one panel (no copy: packed
# product); wider outputs with ragged tiles; the 784->256 layer at batch 64.
SHAPES = (
    (1, 1, 1),
    (7, 5, 13),
    (65, 17, 33),
    (64, 96, 256),
    (130, 40, 10),
    (9, 3, 70),
    (6, 0, 7),
    (0, 4, 5),
    (7, 13, 9),
    (64, 256, 10),
    (13, 5, 16),
    (3, 17, 2),
    (9, 1000, 7),
    (7, 13, 40),
    (5, 30, 33),
    (64, 784, 256),
)


def layer(rng, m, k, n, dtype, order="C"):
    """x (m, k), W (k, n) in memory order `order` and b (n,), of dtype, drawn
    from rng in that order."""
    x = rng.standard_normal((m, k)).astype(dtype)
    W = (rng.standard_normal((k, n)) / np.sqrt(max(k, 1))).astype(dtype)
    b = rng.standard_normal(n).astype(dtype)
    return x, np.asarray(W, order=order), b
