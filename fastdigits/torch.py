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
else (float16, bfloat16, CUDA or meta tensors) falls back to PyTorch's own
``F.linear`` + activation, with the same results as ``torch.nn.Linear``.
Double backward (differentiating a gradient) raises ``RuntimeError``.
"""

from __future__ import annotations

import math
from typing import Optional, Tuple

import numpy as np
import torch  # PyTorch (absolute import: this module is fastdigits.torch)
from torch import Tensor

from . import _dense  # the Cython binding: validates, releases the GIL
from .batches import Batches as _Batches
from .batches import batches as _np_batches

__all__ = ["Linear", "dense", "batches", "TorchBatches", "ACTIVATIONS", "PRECISIONS"]

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


# --------------------------------------------------------------------------
# The kernels on tensors: x (m, k) C-contiguous, weight (n, k) C-contiguous
# (nn.Linear's layout; the kernels read weight.T, an F-contiguous (k, n) view).


def _forward_kernel(
    x: Tensor, weight: Tensor, bias: Optional[Tensor], act: str, precision: str = "float32"
) -> Tuple[Tensor, Optional[Tensor]]:
    """(y, z): z is the pre-activation when act is gelu (its derivative needs
    it), else None."""
    # numpy(force=True): a view of the memory (these are CPU tensors), detached.
    # Results are NumPy arrays the kernels allocate, wrapped by from_numpy:
    # cheaper per call than torch.empty + .numpy().
    y, z = _forward_numpy(x.numpy(force=True), weight.numpy(force=True), bias, act, precision)
    return torch.from_numpy(y), (None if z is None else torch.from_numpy(z))


def _forward_numpy(xn, wn, bias: Optional[Tensor], act: str, precision: str):
    """(y, z) as NumPy arrays, for the NumPy views xn of x and wn of weight."""
    z = np.empty((xn.shape[0], wn.shape[0]), xn.dtype) if act == "gelu" else None
    bn = None if bias is None else bias.numpy(force=True)
    y = _dense.dense_forward(xn, wn.T, bn, act, None, z, precision)
    return y, z


def _backward_numpy(dyn, xn, wn, yzn, act: str, need_dx: bool, precision: str):
    """(dx, dweight, dbias) tensors from NumPy views: dyn, xn (m, k), wn the
    weight's (n, k) view, yzn y (or z for gelu)."""
    # act' comes from the output y, or from the pre-activation z for gelu
    dx, dW, db = _dense.dense_backward(
        dyn,
        xn,
        wn.T,
        yzn,
        act,
        need_dx,
        None,
        None,
        None,
        False,
        "z" if act == "gelu" else "y",
        precision,
    )
    # dW has W's (in, out) F-layout, so dW.T is weight's C-contiguous (out, in)
    return (
        (None if dx is None else torch.from_numpy(dx)),
        torch.from_numpy(dW.T),
        torch.from_numpy(db),
    )


def _backward_kernel(
    dy: Tensor,
    x: Tensor,
    weight: Tensor,
    yz: Tensor,
    act: str,
    need_dx: bool,
    precision: str = "float32",
) -> Tuple[Optional[Tensor], Tensor, Tensor]:
    """(dx, dweight, dbias): dweight in weight's (n, k) layout, dx None unless
    need_dx."""
    return _backward_numpy(
        dy.numpy(force=True),
        x.numpy(force=True),
        weight.numpy(force=True),
        yz.numpy(force=True),
        act,
        need_dx,
        precision,
    )


# --------------------------------------------------------------------------
# Custom operators: what torch.compile, torch.export and jit.trace record.


@torch.library.custom_op("fastdigits::dense", mutates_args=())
def _dense_op(
    x: Tensor,
    weight: Tensor,
    bias: Optional[Tensor],
    activation: str,
    precision: str = "float32",
) -> Tuple[Tensor, Tensor]:
    """(y, z) for a 2-D x; z is the gelu pre-activation, empty for the others
    (an operator cannot return None, nor an alias of y)."""
    y, z = _forward_kernel(x.contiguous(), weight.contiguous(), bias, activation, precision)
    return y, (z if z is not None else x.new_empty((0,)))


@_dense_op.register_fake
def _(x, weight, bias, activation, precision="float32"):
    y = x.new_empty((x.shape[0], weight.shape[0]))
    return y, (torch.empty_like(y) if activation == "gelu" else x.new_empty((0,)))


@torch.library.custom_op("fastdigits::dense_backward", mutates_args=())
def _dense_backward_op(
    dy: Tensor,
    x: Tensor,
    weight: Tensor,
    yz: Tensor,
    activation: str,
    need_dx: bool,
    precision: str = "float32",
) -> Tuple[Tensor, Tensor, Tensor]:
    """(dx, dweight, dbias); dx is empty when need_dx is False."""
    dx, dW, db = _backward_kernel(
        dy.contiguous(),
        x.contiguous(),
        weight.contiguous(),
        yz.contiguous(),
        activation,
        need_dx,
        precision,
    )
    return (dx if dx is not None else x.new_empty((0,))), dW, db


@_dense_backward_op.register_fake
def _(dy, x, weight, yz, activation, need_dx, precision="float32"):
    dx = torch.empty_like(x) if need_dx else x.new_empty((0,))
    return dx, torch.empty_like(weight), dy.new_empty((dy.shape[1],))


def _op_setup(ctx, inputs, output):
    x, weight, bias, act = inputs[:4]
    y, z = output
    ctx.act = act
    ctx.precision = inputs[4] if len(inputs) > 4 else "float32"
    ctx.has_bias = bias is not None
    ctx.save_for_backward(x, weight, z if act == "gelu" else y)


def _op_backward(ctx, dy, _dz):
    x, weight, yz = ctx.saved_tensors
    need_dx = ctx.needs_input_grad[0]
    dx, dW, db = torch.ops.fastdigits.dense_backward(
        dy, x, weight, yz, ctx.act, need_dx, ctx.precision
    )
    return (dx if need_dx else None), dW, (db if ctx.has_bias else None), None, None


_dense_op.register_autograd(_op_backward, setup_context=_op_setup)


def _no_double_backward(ctx, *grads):
    raise RuntimeError(_DOUBLE_BACKWARD)


_dense_backward_op.register_autograd(
    _no_double_backward, setup_context=lambda ctx, inputs, output: None
)


# --------------------------------------------------------------------------
# Eager path: the same kernels through a plain autograd.Function.


class _DenseFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, act, precision):
        xn, wn = x.numpy(force=True), weight.numpy(force=True)
        y, z = _forward_numpy(xn, wn, bias, act, precision)
        yt = torch.from_numpy(y)
        zt = None if z is None else torch.from_numpy(z)
        ctx.act = act
        ctx.precision = precision
        ctx.has_bias = bias is not None
        ctx.save_for_backward(x, weight, yt if zt is None else zt)
        # The NumPy views the backward kernel reads, kept so it need not
        # convert the saved tensors again (ctx.saved_tensors still checks
        # that none of them was modified in place).
        ctx.views = (xn, wn, y if z is None else z)
        return yt

    @staticmethod
    def backward(ctx, dy):
        x, weight, yz = ctx.saved_tensors  # (raises if one was modified in place)
        need_dx = ctx.needs_input_grad[0]
        if torch.is_grad_enabled():
            # create_graph=True: go through the operator, whose own backward
            # raises the clear double-backward error if it is ever reached
            dx, dW, db = torch.ops.fastdigits.dense_backward(
                dy, x, weight, yz, ctx.act, need_dx, ctx.precision
            )
        else:
            xn, wn, yzn = ctx.views
            dx, dW, db = _backward_numpy(
                dy.contiguous().numpy(force=True), xn, wn, yzn, ctx.act, need_dx, ctx.precision
            )
        return (dx if need_dx else None), dW, (db if ctx.has_bias else None), None, None


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
            return _DenseFunction.apply(x, weight, bias, act, precision)
        return _forward_kernel(x, weight, bias, act, precision)[0]  # no graph to record
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

    CPU float32/float64 tensors run on the fastdigits kernels; other dtypes
    (float16, bfloat16) and devices (CUDA, meta) fall back to PyTorch's own
    ``F.linear`` + activation.  Double backward raises ``RuntimeError``.

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
    ) -> None:
        super().__init__()
        if isinstance(bias, str):  # Linear(k, n, "relu") with the old argument order
            raise TypeError(
                "bias must be a bool, got %r; pass the activation by keyword: "
                "Linear(in_features, out_features, activation=%r)" % (bias, bias)
            )
        _check_activation(activation)
        _check_precision(precision)
        if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise TypeError(
                "dtype must be a floating-point dtype (float32 or float64 on "
                "the fastdigits kernels), got %s" % (dtype,)
            )
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.activation = activation
        self.precision = precision
        kw = {"device": device, "dtype": dtype}
        self.weight = torch.nn.Parameter(torch.empty((out_features, in_features), **kw))
        if bias:
            self.bias = torch.nn.Parameter(torch.empty(out_features, **kw))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch.nn.Linear's initialisation."""
        torch.nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            torch.nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return _dense_call(x, self.weight, self.bias, _ACTS[self.activation], self.precision)

    def extra_repr(self) -> str:
        return "in_features=%d, out_features=%d, bias=%s, activation=%r, precision=%r" % (
            self.in_features,
            self.out_features,
            self.bias is not None,
            self.activation,
            self.precision,
        )


class TorchBatches:
    """Iterator of ``(X, y)`` CPU tensors over :class:`fastdigits.batches.Batches`.

    ``X`` wraps the NumPy batch with ``torch.from_numpy`` (no copy); ``len()``,
    ``close()`` and ``with`` behave as for the NumPy iterator.
    """

    def __init__(self, inner: _Batches, label_dtype: Optional[torch.dtype]) -> None:
        self._inner = inner
        self._label_dtype = label_dtype

    def __len__(self) -> int:
        return len(self._inner)

    def __iter__(self) -> "TorchBatches":
        return self

    def __next__(self) -> Tuple[Tensor, Tensor]:
        x, y = next(self._inner)
        ty = torch.from_numpy(y)
        if self._label_dtype is not None:
            ty = ty.to(self._label_dtype)
        return torch.from_numpy(x), ty

    def __enter__(self) -> "TorchBatches":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the background thread (see :meth:`fastdigits.batches.Batches.close`)."""
        self._inner.close()


def batches(
    images, labels, batch_size: int = 64, *, label_dtype: Optional[torch.dtype] = torch.int64, **kw
) -> TorchBatches:
    """:func:`fastdigits.batches` yielding torch tensors.

    Same arguments (``images`` may be a CPU tensor), plus ``label_dtype``:
    the labels' tensor dtype (int64 by default, what
    ``torch.nn.functional.cross_entropy`` takes; None keeps theirs).  ``X``
    shares the memory of the fresh NumPy batch (``torch.from_numpy``).

    Examples
    --------
    >>> import torch, fastdigits
    >>> from fastdigits.torch import batches
    >>> images, labels = fastdigits.load_mnist("test")
    >>> with batches(images, labels, 128, augment=fastdigits.Affine(degrees=10)) as it:
    ...     X, y = next(it)
    >>> X.shape, X.dtype, y.dtype
    (torch.Size([128, 784]), torch.float32, torch.int64)
    """
    if isinstance(images, Tensor):
        images = images.detach().cpu().numpy()
    if isinstance(labels, Tensor):
        labels = labels.detach().cpu().numpy()
    return TorchBatches(_np_batches(images, labels, batch_size, **kw), label_dtype)
