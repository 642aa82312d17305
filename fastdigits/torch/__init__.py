"""PyTorch layers backed by fastdigits' fused dense kernels (CPU tensors).

Import it explicitly (``from fastdigits.torch import Linear``); the package
never imports PyTorch by itself.

:class:`Linear` is a drop-in for ``torch.nn.Linear`` followed by an optional
activation: same constructor, parameter names, initialisation and state dict
(a state dict loads into either).  Forward and backward run fastdigits' C
kernels on the tensors' memory without copies: the weight keeps PyTorch's
``(out, in)`` layout and is handed to the kernels as its transposed
``(in, out)`` view, and the weight gradient is written in that same layout.

The kernels are registered as PyTorch custom operators
(``torch.ops.fastdigits.dense`` and ``torch.ops.fastdigits.dense_backward``,
with fake implementations and autograd), so ``torch.compile`` (also
``fullgraph=True``), ``torch.export`` and ``torch.jit.trace`` see one
operator per layer instead of a graph break.  In eager mode the same kernels
run through a plain ``torch.autograd.Function``, which costs less Python per
call than the custom-operator dispatcher.

Supported by the kernels: CPU tensors of dtype float32 or float64.  Anything
else (float16, bfloat16, CUDA or meta tensors, and calls under
``torch.autocast`` or ``torch.func`` transforms) falls back to PyTorch's own
``F.linear`` + activation, with the same results as ``torch.nn.Linear``.
Double backward (differentiating a gradient) raises ``RuntimeError``.

:func:`native_ops` (opt-in) builds C++ operators that run the eager
training step of a relu or linear ``Linear`` and of a two-layer relu ``MLP``
each as one native autograd node: the same kernels and bits, without the
Python per call.
"""

from __future__ import annotations

from ._common import ACTIVATIONS, PRECISIONS
from .data import TorchBatches, batches
from .linear import Linear, dense
from ._native import native_ops
from .mlp import MLP

__all__ = [
    "Linear",
    "MLP",
    "dense",
    "batches",
    "TorchBatches",
    "native_ops",
    "ACTIVATIONS",
    "PRECISIONS",
]

# The public names report this package as their home (as NumPy's set_module
# does), so reprs, docs and pickled modules keep saying fastdigits.torch.X
# whichever file of the package defines them.
for _obj in (Linear, MLP, dense, batches, TorchBatches, native_ops):
    _obj.__module__ = __name__
del _obj
