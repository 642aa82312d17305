"""Plain NumPy implementations of every public fastdigits kernel.

Each function has the same signature and semantics as its fast twin in
:mod:`fastdigits`.  The tests compare against these; the benchmarks time them
as the NumPy baseline.
"""

from .batches import batches
from .dropout import dropout
from .dense import dense_backward, dense_forward, matmul, pack_weights
from .dense import PackedWeights  # noqa: F401  (pack_weights' result; not a kernel)
from .idx import read_idx, read_idx_header, read_idx_normalized, write_idx
from .loss import softmax_cross_entropy
from .normalize import normalize
from .optim import adam_step, sgd_step
from . import nn  # the NumPy MLP backend (fastdigits.reference.nn)
from . import augment  # twin of fastdigits.augment (apply, shuffle_order)

__all__ = [
    "adam_step",
    "augment",
    "batches",
    "dense_backward",
    "dense_forward",
    "dropout",
    "matmul",
    "nn",
    "normalize",
    "pack_weights",
    "read_idx",
    "read_idx_header",
    "read_idx_normalized",
    "sgd_step",
    "softmax_cross_entropy",
    "write_idx",
]
