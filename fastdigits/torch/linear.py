"""``dense`` (``F.linear`` + activation) and ``Linear`` (``nn.Linear`` +
activation) on the fastdigits kernels."""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor

from ._common import (
    _ACTS,
    _DTYPES,
    _check_activation,
    _check_input,
    _check_precision,
    _pytorch_ops_only,
    _torch_linear,
    _weight_bias,
)
from . import _native
from ._dense_ops import _dense_apply, _dense_op, _forward_kernel


def dense(
    x: Tensor, weight: Tensor, bias: Optional[Tensor] = None, activation: Optional[str] = None
) -> Tensor:
    """``act(x @ weight.T + bias)`` with autograd, like ``F.linear`` + activation.

    CPU float32/float64 tensors run on the fastdigits kernels (as a custom
    operator under ``torch.compile``, ``torch.export`` and
    ``torch.jit.trace``); other dtypes and devices fall back to PyTorch's
    ``F.linear`` + activation.

    Parameters
    ----------
    x : Tensor, shape (..., in_features)
    weight : Tensor, shape (out_features, in_features)
        As in ``torch.nn.Linear``.
    bias : Tensor, shape (out_features,), optional
    activation : {None, "identity", "relu", "sigmoid", "tanh", "gelu"}
        ``None`` is linear; gelu is the tanh approximation.

    Returns
    -------
    Tensor, shape (..., out_features)

    Raises
    ------
    TypeError
        A non-tensor input, a non-floating dtype or an input/weight dtype
        mismatch.
    ValueError
        A bad activation or feature count.

    Examples
    --------
    >>> import torch
    >>> from fastdigits.torch import dense
    >>> _ = torch.manual_seed(0)
    >>> x = torch.randn(4, 3, requires_grad=True)
    >>> weight = torch.randn(2, 3, requires_grad=True)
    >>> bias = torch.zeros(2, requires_grad=True)
    >>> y = dense(x, weight, bias, activation="tanh")
    >>> y.shape
    torch.Size([4, 2])
    >>> expected = torch.tanh(torch.nn.functional.linear(x, weight, bias))
    >>> torch.allclose(y, expected, atol=1e-6)
    True

    Gradients flow through the fastdigits backward kernel:

    >>> dx_expected, = torch.autograd.grad(expected.sum(), x)
    >>> y.sum().backward()
    >>> torch.allclose(x.grad, dx_expected, atol=1e-6)
    True

    Leading dimensions are kept, as by ``F.linear``:

    >>> dense(torch.randn(2, 5, 3), weight).shape
    torch.Size([2, 5, 2])
    >>> dense(x.double(), weight)
    Traceback (most recent call last):
    ...
    TypeError: input dtype torch.float64 does not match the weight dtype torch.float32
    """
    return _dense_call(x, weight, bias, _check_activation(activation))


def _dense_call(
    x: Tensor, weight: Tensor, bias: Optional[Tensor], act: str, precision: str = "float32"
) -> Tensor:
    # The common eager case first, with as few checks as make it safe: a
    # plain 2-D contiguous CPU tensor of the weight's float32/float64 dtype.
    if (
        type(x) is Tensor
        and not torch.compiler.is_compiling()
        and not torch.jit.is_tracing()  # (before the size test: it would warn)
        and not _pytorch_ops_only()
        and x.dtype is weight.dtype
        and x.dtype in _DTYPES
        and x.is_cpu
        and weight.is_cpu
        and x.dim() == 2
        and x.shape[1] == weight.shape[1]
        and x.is_contiguous()
    ):
        if torch.is_grad_enabled() and (
            x.requires_grad or weight.requires_grad or (bias is not None and bias.requires_grad)
        ):
            if (_native.enabled or not _native._env_tried) and _native._linear_ok(
                x, weight, bias, act, precision
            ):
                return _native.linear(x, weight, bias, act)
            return _dense_apply(x, weight, bias, act, precision)
        return _forward_kernel(x, weight, bias, act, precision)[0]  # no graph to record
    if _pytorch_ops_only():
        return _torch_linear(x, weight, bias, act)  # (autocast: mixed dtypes are fine)
    _check_input(x, weight)
    if x.dtype not in _DTYPES or not x.is_cpu or not weight.is_cpu:
        return _torch_linear(x, weight, bias, act)
    x2 = x if x.dim() == 2 else x.reshape(-1, x.shape[-1])
    if torch.compiler.is_compiling() or torch.jit.is_tracing() or type(x) is not Tensor:
        y = _dense_op(x2, weight, bias, act, precision)[0]  # what compile/export/trace record
    else:
        y = _dense_call(x2.contiguous(), weight, bias, act, precision)  # the fast case above
    return y if x.dim() == 2 else y.reshape(*x.shape[:-1], weight.shape[0])


class Linear(torch.nn.Module):
    """``torch.nn.Linear`` plus an activation, computed by fastdigits' fused kernels.

    The constructor takes ``torch.nn.Linear``'s arguments ``in_features,
    out_features, bias, device, dtype`` (``device`` and ``dtype`` by
    keyword: the fourth positional argument is ``activation``) plus
    ``activation`` and ``precision``.  Parameter names (``weight``
    ``(out, in)``, ``bias``), initialisation and state dict are those of
    ``torch.nn.Linear``, so state dicts load into either.

    ``activation``: None (linear), "relu", "sigmoid", "tanh" or "gelu" (tanh
    approximation, like ``nn.GELU(approximate="tanh")``).
    ``precision``: the kernels' arithmetic: "float32" (the tensors' own
    dtype, float32 or float64) or "bfloat16" (float32 tensors: the products
    take bfloat16 operands and sum in float32, as
    ``fastdigits.dense_forward(..., precision="bfloat16")``; weights,
    gradients, bias and activation stay float32; float64 tensors raise
    TypeError); anything else is a ValueError.
    ``weight_order``: the weight's memory order.  "C" (default): row-major,
    as ``nn.Linear``'s.  "F": the same ``(out, in)`` weight stored
    column-major (``weight.t()`` is contiguous; its gradient and the
    optimiser's buffers take that layout too), which the kernels read and
    write faster: the forward reads ``weight.t()`` row by row instead of
    transposing it, and the weight gradient is written row-major.  Shape,
    values (the same for the same seed), initialisation and state dict are
    the same either way.  With no activation or relu and float32
    precision, a training step on data (an input that needs no gradient,
    as a network's first layer) computes the product and the weight
    gradient from the pixels that differ from the batch's first element,
    as ``fastdigits.MLP``'s epoch does for digit images (the same values
    within rounding; a batch too dense for it takes the dense product).
    Either weight order gives the same bits there; "C" pays a transposed
    copy of the weight and of its gradient a step (about 3% of issue
    15's 784-256-10 step at batch 64 on a Zen 3).
    Until backward, that step keeps a scratch of 1.5 MB for 784 -> 256
    at batch 64 (a copy of the weight, and the batch's kept pixels by
    group and by pixel).

    CPU float32/float64 tensors run on the fastdigits kernels; other dtypes
    (float16, bfloat16) and devices (CUDA, meta), and calls under
    ``torch.autocast`` or ``torch.func`` transforms (``grad``, ``vmap``,
    ``jacrev``, ...), fall back to PyTorch's own ``F.linear`` + activation.
    Backward keeps what ``F.linear`` keeps (``x`` for the weight gradient,
    the weight for ``dx``, the output only for relu, sigmoid and tanh), so
    in-place ops after the layer (``nn.ReLU(inplace=True)``, ``h += x``)
    work as with ``nn.Linear``.  Double backward raises ``RuntimeError``.

    Examples
    --------
    >>> import torch
    >>> from fastdigits.torch import Linear
    >>> _ = torch.manual_seed(0)
    >>> layer = Linear(784, 32, activation="relu")
    >>> layer
    Linear(in_features=784, out_features=32, bias=True, activation='relu', precision='float32')
    >>> x = torch.randn(8, 784)
    >>> y = layer(x)
    >>> y.shape
    torch.Size([8, 32])

    Its state dict loads into ``torch.nn.Linear``, which then computes the
    same outputs and gradients:

    >>> ref = torch.nn.Linear(784, 32)
    >>> ref.load_state_dict(layer.state_dict())
    <All keys matched successfully>
    >>> y_ref = torch.relu(ref(x))
    >>> torch.allclose(y, y_ref, atol=1e-5)
    True
    >>> y.sum().backward()
    >>> y_ref.sum().backward()
    >>> layer.weight.grad.shape, torch.allclose(layer.weight.grad, ref.weight.grad, atol=1e-5)
    (torch.Size([32, 784]), True)

    Column-major weights, the same values:

    >>> _ = torch.manual_seed(0)
    >>> layer_f = Linear(784, 32, activation="relu", weight_order="F")
    >>> layer_f.weight.stride(), torch.equal(layer_f.weight, layer.weight)
    ((1, 32), True)
    """

    __constants__ = ["in_features", "out_features"]

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        activation: Optional[str] = None,
        device=None,
        dtype=None,
        precision: str = "float32",
        weight_order: str = "C",
    ) -> None:
        super().__init__()
        if isinstance(bias, str):  # Linear(k, n, "relu") with the old argument order
            raise TypeError(
                "bias must be a bool, got %r; pass the activation by keyword: "
                "Linear(in_features, out_features, activation=%r)" % (bias, bias)
            )
        _check_activation(activation)
        _check_precision(precision)
        if weight_order not in ("C", "F"):
            raise ValueError("weight_order must be 'C' or 'F', got %r" % (weight_order,))
        if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise TypeError(
                "dtype must be a floating-point dtype (float32 or float64 on "
                "the fastdigits kernels), got %s" % (dtype,)
            )
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.activation = activation
        self.precision = precision
        self.weight_order = weight_order
        kw = {"device": device, "dtype": dtype}
        shape = (out_features, in_features)
        # "F": the (out, in) transpose of a row-major (in, out) block
        w = torch.empty(shape, **kw) if weight_order == "C" else torch.empty(shape[::-1], **kw).t()
        self.weight = torch.nn.Parameter(w)
        if bias:
            self.bias = torch.nn.Parameter(torch.empty(out_features, **kw))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch.nn.Linear's initialisation (the same values for the same
        seed whatever ``weight_order``: drawn row-major, then stored)."""
        w = self.weight
        if w.is_contiguous():
            torch.nn.init.kaiming_uniform_(w, a=math.sqrt(5))
        else:
            tmp = torch.empty(w.shape, dtype=w.dtype, device=w.device)
            torch.nn.init.kaiming_uniform_(tmp, a=math.sqrt(5))
            with torch.no_grad():
                w.copy_(tmp)
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            torch.nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        w, b = _weight_bias(self)
        return _dense_call(x, w, b, _ACTS[self.activation], self.precision)

    def extra_repr(self) -> str:
        return "in_features=%d, out_features=%d, bias=%s, activation=%r, precision=%r%s" % (
            self.in_features,
            self.out_features,
            self.bias is not None,
            self.activation,
            self.precision,
            # (getattr: a module pickled before weight_order existed is "C")
            ", weight_order='F'" if getattr(self, "weight_order", "C") == "F" else "",
        )
