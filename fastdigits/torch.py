"""PyTorch layers backed by fastdigits' fused dense kernels (CPU tensors).

Import it explicitly (``from fastdigits.torch import Linear``); the package
never imports PyTorch by itself.

:class:`Linear` is a drop-in for ``torch.nn.Linear`` followed by an optional
activation.  Forward and backward run fastdigits' C kernels on the tensors'
memory without copies: the weight keeps PyTorch's ``(out, in)`` layout and is
handed to the kernels as its transposed ``(in, out)`` view, and the weight
gradient is written in that same layout.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch  # PyTorch (absolute import: this module is fastdigits.torch)

from . import dense as _dense

__all__ = ["Linear", "dense"]

_ACTS = {None: "identity", "identity": "identity", "relu": "relu", "sigmoid": "sigmoid",
         "tanh": "tanh", "gelu": "gelu"}
_DTYPES = (torch.float32, torch.float64)


def _np(t: torch.Tensor) -> np.ndarray:
    """A NumPy view of a CPU tensor's memory (made contiguous only if it is not)."""
    return t.detach().contiguous().numpy()


class _DenseFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, activation):
        x2 = x.reshape(-1, x.shape[-1])
        xn = _np(x2)
        W = weight.detach().numpy().T  # (in, out) view of the (out, in) weight
        b = None if bias is None else _np(bias)
        z = None
        if activation == "gelu":  # gelu's derivative needs the pre-activation
            z = np.empty((xn.shape[0], W.shape[1]), dtype=xn.dtype)
        y = torch.from_numpy(_dense.dense_forward(xn, W, b, activation, preact_out=z))
        ctx.activation = activation
        ctx.has_bias = bias is not None
        ctx.in_shape = x.shape
        saved = torch.from_numpy(z) if z is not None else y
        ctx.save_for_backward(x2, weight, saved)
        return y.reshape(*x.shape[:-1], W.shape[1])

    @staticmethod
    def backward(ctx, dy):
        x2, weight, yz = ctx.saved_tensors
        W = weight.detach().numpy().T
        dyn = _np(dy.reshape(-1, dy.shape[-1]))
        need_dx = ctx.needs_input_grad[0]
        dx, dW, db = _dense.dense_backward(dyn, _np(x2), W, _np(yz), ctx.activation,
                                           need_dx=need_dx)
        gx = torch.from_numpy(dx).reshape(ctx.in_shape) if need_dx else None
        gW = torch.from_numpy(dW.T) if ctx.needs_input_grad[1] else None  # (out, in)
        gb = torch.from_numpy(db) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return gx, gW, gb, None


def _check(x: torch.Tensor, weight: torch.Tensor, activation) -> str:
    if activation not in _ACTS:
        raise ValueError("activation must be None, 'identity', 'relu', 'sigmoid', 'tanh' "
                         "or 'gelu', got %r" % (activation,))
    if not isinstance(x, torch.Tensor):
        raise TypeError("input must be a torch.Tensor, got %s" % type(x).__name__)
    if x.device.type != "cpu":
        raise TypeError("input must be a CPU tensor, got device %s" % x.device)
    if x.dtype not in _DTYPES:
        raise TypeError("input must be float32 or float64, got %s" % x.dtype)
    if x.dtype != weight.dtype:
        raise TypeError("input dtype %s does not match the weight dtype %s"
                        % (x.dtype, weight.dtype))
    if x.dim() < 1 or x.shape[-1] != weight.shape[1]:
        raise ValueError("input must have %d features in its last dimension, got shape %s"
                         % (weight.shape[1], tuple(x.shape)))
    return _ACTS[activation]


def dense(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor] = None,
          activation: Optional[str] = None) -> torch.Tensor:
    """``act(x @ weight.T + bias)`` with autograd, like ``F.linear`` + activation."""
    act = _check(x, weight, activation)
    return _DenseFunction.apply(x, weight, bias, act)


class Linear(torch.nn.Module):
    """``torch.nn.Linear(in_features, out_features)`` + ``activation``, computed
    by fastdigits' fused kernels (CPU, float32 or float64).

    ``activation``: None (linear), "relu", "sigmoid", "tanh" or "gelu" (tanh
    approximation, like ``nn.GELU(approximate="tanh")``).  Parameters and
    their initialisation are those of ``torch.nn.Linear``.
    """

    def __init__(self, in_features: int, out_features: int, activation: Optional[str] = None,
                 bias: bool = True, dtype: Optional[torch.dtype] = None) -> None:
        super().__init__()
        if activation not in _ACTS:
            raise ValueError("activation must be None, 'relu', 'sigmoid', 'tanh' or 'gelu', "
                             "got %r" % (activation,))
        dtype = dtype or torch.get_default_dtype()
        if dtype not in _DTYPES:
            raise TypeError("dtype must be torch.float32 or torch.float64, got %s" % dtype)
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.activation = activation
        self.weight = torch.nn.Parameter(torch.empty(out_features, in_features, dtype=dtype))
        if bias:
            self.bias = torch.nn.Parameter(torch.empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch.nn.Linear's initialisation."""
        torch.nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            torch.nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dense(x, self.weight, self.bias, self.activation)

    def extra_repr(self) -> str:
        return "in_features=%d, out_features=%d, bias=%s, activation=%r" % (
            self.in_features, self.out_features, self.bias is not None, self.activation)
