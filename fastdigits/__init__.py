"""fastdigits: a fast CPU data path and fused dense-layer kernels for digit images.

C kernels (csrc/) bound with Cython, parallelised with OpenMP, with a run-time
chosen SIMD path.  Every kernel has a plain NumPy twin in
:mod:`fastdigits.reference` with the same signature.
"""

import os as _os
import sys as _sys

# `fastdigits train` on a busy machine (1-minute load average >= half the
# cores, read before libgomp starts): OpenMP threads that sleep at barriers
# instead of spinning, unless OMP_WAIT_POLICY / GOMP_SPINCOUNT say
# otherwise.  A spinning thread holds a core its descheduled team mate
# needs: `train --recipe speedrun` took 18-30 s at load 5-6 on 2 cores
# instead of 2.7-3.0 s, and 10.8 s once at load 1.95 (1.1-1.5 s quiet).
# Only that command's own process; a library user's is left alone.
if (
    _sys.argv[1:2] == ["train"]
    and _os.path.basename(_sys.argv[0]) in ("fastdigits", "-m", "__main__.py")
    and not {"OMP_WAIT_POLICY", "GOMP_SPINCOUNT"} & set(_os.environ)
    and hasattr(_os, "getloadavg")
    and 2 * _os.getloadavg()[0] >= (_os.cpu_count() or 1)
):
    _os.environ["OMP_WAIT_POLICY"] = "passive"

from ._config import (
    MAX_THREADS,
    available_simd,
    get_num_threads,
    get_simd,
    set_num_threads,
    set_simd,
    simd,
    threads,
)
from ._info import show_config
from .dense import PackedWeights, dense_backward, dense_forward, matmul, pack_weights
from .normalize import normalize
from .augment import Affine, Compose, Elastic
from .batches import batches
from .dropout import dropout
from .loss import softmax_cross_entropy
from .optim import adam_step, sgd_step
from .datasets import MNIST_MEAN, MNIST_STD, load_mnist, mnist_path
from .idx import IDXError, IDXHeader, read_idx, read_idx_header, read_idx_normalized, write_idx
from . import nn
from .nn import MLP
from ._version import __version__
from .png import to_png
from .viz import Digits, render, show, to_uint8

__all__ = [
    "__version__",
    "Affine",
    "Compose",
    "Digits",
    "Elastic",
    "IDXError",
    "IDXHeader",
    "MAX_THREADS",
    "MLP",
    "MNIST_MEAN",
    "MNIST_STD",
    "PackedWeights",
    "adam_step",
    "load_mnist",
    "mnist_path",
    "read_idx",
    "read_idx_header",
    "read_idx_normalized",
    "write_idx",
    "available_simd",
    "batches",
    "dense_backward",
    "dense_forward",
    "dropout",
    "get_num_threads",
    "get_simd",
    "matmul",
    "nn",
    "normalize",
    "pack_weights",
    "render",
    "set_num_threads",
    "set_simd",
    "sgd_step",
    "show",
    "show_config",
    "simd",
    "softmax_cross_entropy",
    "threads",
    "to_png",
    "to_uint8",
]
