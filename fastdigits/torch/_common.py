"""What every part of fastdigits.torch shares: the activation and precision
names, the dtypes the kernels take, the argument checks and the weight
layouts the kernels read in place."""

from __future__ import annotations

from typing import Optional, Tuple

import torch  # PyTorch (absolute import: this package is fastdigits.torch)
from torch import Tensor

_ACTS = {
    None: "identity",
    "identity": "identity",
    "relu": "relu",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "gelu": "gelu",
}
ACTIVATIONS: Tuple[Optional[str], ...] = tuple(_ACTS)
PRECISIONS: Tuple[str, ...] = ("float32", "bfloat16")
_DTYPES = (torch.float32, torch.float64)
_DOUBLE_BACKWARD = (
    "fastdigits.torch: double backward (differentiating a gradient, e.g. "
    "torch.autograd.grad(..., create_graph=True) then backward through the "
    "result) is not supported by the fastdigits kernels; use torch.nn.Linear "
    "for this model"
)


def _check_activation(activation) -> str:
    try:
        return _ACTS[activation]
    except (KeyError, TypeError):
        raise ValueError(
            "activation must be None, 'identity', 'relu', 'sigmoid', 'tanh' "
            "or 'gelu', got %r" % (activation,)
        ) from None


def _check_precision(precision) -> str:
    if precision not in PRECISIONS:
        raise ValueError(
            "precision must be one of %s, got %r"
            % (", ".join(repr(p) for p in PRECISIONS), precision)
        )
    return precision


def _w_dense(w: Tensor) -> bool:
    """The weight's (out, in) memory is row- or column-major: the kernels
    read both in place, and the weight gradient takes the same layout."""
    return w.is_contiguous() or w.t().is_contiguous()


def _w_in_place(w: Tensor) -> Tensor:
    return w if _w_dense(w) else w.contiguous()


def _no_double_backward(ctx, *grads):
    raise RuntimeError(_DOUBLE_BACKWARD)


# autograd.Function.apply is a Python wrapper (default-argument binding for
# setup_context, functorch's dead-wrapper unwrapping) over the C apply; our
# Functions have no setup_context, which the wrapper needs only under
# functorch transforms, so the layers call the C apply (a few microseconds a
# call less) and leave functorch transforms to PyTorch's own ops
# (_pytorch_ops_only).
_functorch_active = getattr(torch._C, "_are_functorch_transforms_active", lambda: True)
# a 25 ns test before is_autocast_enabled("cpu") (120 ns: it parses the name)
_any_autocast = getattr(torch._C, "_is_any_autocast_enabled", lambda: True)


def _pytorch_ops_only() -> bool:
    """The layers run PyTorch's own ops, as nn.Linear would, under
    torch.autocast (which casts their operands and results) and under
    torch.func transforms (grad, vmap, jacrev, ...: the kernels read the
    tensors' memory, which a transform's wrapped tensors do not expose).
    While torch.compile traces, autocast only (the graph records the custom
    operators, and reading functorch's state would break the graph)."""
    if torch.compiler.is_compiling():
        return torch.is_autocast_enabled("cpu")
    return (_any_autocast() and torch.is_autocast_enabled("cpu")) or _functorch_active()


def _weight_bias(layer) -> Tuple[Tensor, Optional[Tensor]]:
    """(weight, bias) of a Linear layer straight from its parameter dict
    (layer.weight goes through Module.__getattr__, a microsecond a call: the
    PyTorch loop pays it per layer per step); a parametrization's property
    (not in the dict) through the attribute.  bias=False registers None."""
    d = layer._parameters
    w = d.get("weight")
    if w is None:
        w = layer.weight
    b = d.get("bias")
    if b is None and "bias" not in d:
        b = layer.bias
    return w, b


def _check_input(x, weight: Tensor) -> None:
    """TypeError / ValueError for an input a layer whose (first) weight is
    ``weight`` (out_features, in_features) cannot take."""
    if not isinstance(x, Tensor):
        raise TypeError("input must be a torch.Tensor, got %s" % type(x).__name__)
    if x.dtype != weight.dtype:
        raise TypeError(
            "input dtype %s does not match the weight dtype %s" % (x.dtype, weight.dtype)
        )
    if not x.dtype.is_floating_point:
        raise TypeError(
            "input must be a floating-point tensor (float32 or float64 on the "
            "fastdigits kernels), got %s" % x.dtype
        )
    # (under jit.trace the sizes are traced values: comparing them only warns)
    if x.dim() < 1 or (not torch.jit.is_tracing() and x.shape[-1] != weight.shape[1]):
        raise ValueError(
            "input must have %d features in its last dimension, got shape %s"
            % (weight.shape[1], tuple(x.shape))
        )


def _torch_linear(x: Tensor, weight: Tensor, bias: Optional[Tensor], act: str) -> Tensor:
    """PyTorch's own ops, for what the kernels do not support."""
    y = torch.nn.functional.linear(x, weight, bias)
    if act == "relu":
        return torch.relu(y)
    if act == "sigmoid":
        return torch.sigmoid(y)
    if act == "tanh":
        return torch.tanh(y)
    if act == "gelu":
        return torch.nn.functional.gelu(y, approximate="tanh")
    return y
