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
import operator
from collections import OrderedDict
from typing import List, Optional, Tuple

import numpy as np
import torch  # PyTorch (absolute import: this module is fastdigits.torch)
from torch import Tensor

from . import _dense  # the Cython binding: validates, releases the GIL
from .batches import Batches as _Batches
from .batches import batches as _np_batches

__all__ = ["Linear", "MLP", "dense", "batches", "TorchBatches", "ACTIVATIONS", "PRECISIONS"]

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


def _w_dense(w: Tensor) -> bool:
    """The weight's (out, in) memory is row- or column-major: the kernels
    read both in place, and the weight gradient takes the same layout."""
    return w.is_contiguous() or w.t().is_contiguous()


def _w_in_place(w: Tensor) -> Tensor:
    return w if _w_dense(w) else w.contiguous()


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
    y, z = _forward_kernel(x.contiguous(), _w_in_place(weight), bias, activation, precision)
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
        _w_in_place(weight),
        yz.contiguous(),
        activation,
        need_dx,
        precision,
    )
    return (dx if dx is not None else x.new_empty((0,))), dW, db


@_dense_backward_op.register_fake
def _(dy, x, weight, yz, activation, need_dx, precision="float32"):
    dx = torch.empty_like(x) if need_dx else x.new_empty((0,))
    dW = torch.empty_like(weight) if _w_dense(weight) else weight.new_empty(weight.shape)
    return dx, dW, dy.new_empty((dy.shape[1],))


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


# autograd.Function.apply is a Python wrapper (default-argument binding for
# setup_context, functorch's dead-wrapper unwrapping) over the C apply; our
# Functions have no setup_context, so without functorch transforms active the
# wrapper only costs time (a few microseconds a call): call the C apply then.
_functorch_active = getattr(torch._C, "_are_functorch_transforms_active", lambda: True)
_dense_apply = super(torch.autograd.Function, _DenseFunction).apply


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
            apply = _DenseFunction.apply if _functorch_active() else _dense_apply
            return apply(x, weight, bias, act, precision)
        return _forward_kernel(x, weight, bias, act, precision)[0]  # no graph to record
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


# --------------------------------------------------------------------------
# MLP: a whole stack of layers in one call.  Layer i computes
# act_i(h_{i-1} @ W_i.T + b_i) with h_{-1} = x; every layer but the last has
# the activation, the last is linear (as an nn.Sequential of nn.Linear with
# activations between them).  What backward needs: x, the weights, the hidden
# outputs h_0..h_{L-2} (the next layer's input, and act' for relu, sigmoid,
# tanh) and, for gelu, the pre-activations z_0..z_{L-2}.


def _mlp_forward_numpy(xn, wns, bns, act: str, precision: str):
    """(out, hs, zs) as NumPy arrays: hs the hidden outputs, zs the gelu
    pre-activations (empty for the other activations)."""
    hs, zs = [], []
    h = xn
    last = len(wns) - 1
    for i, wn in enumerate(wns):
        a = act if i < last else "identity"
        z = np.empty((h.shape[0], wn.shape[0]), h.dtype) if a == "gelu" else None
        h = _dense.dense_forward(h, wn.T, None if bns is None else bns[i], a, None, z, precision)
        if i < last:
            hs.append(h)
            if z is not None:
                zs.append(z)
    return h, hs, zs


def _mlp_backward_numpy(dyn, xn, wns, hs, zs, act: str, need_dx: bool, has_bias, precision):
    """(dx or None, [dW_0, db_0, dW_1, db_1, ...]) with dW in the weights'
    (out, in) layout (db left out without bias) as tensors."""
    last = len(wns) - 1
    grads = [None] * (len(wns) * (2 if has_bias else 1))
    dy = dyn
    for i in range(last, -1, -1):
        a = act if i < last else "identity"
        yz = None if i == last else (zs[i] if a == "gelu" else hs[i])
        dy, dW, db = _dense.dense_backward(
            dy,
            hs[i - 1] if i else xn,
            wns[i].T,
            yz,
            a,
            bool(i) or need_dx,
            None,
            None,
            None,
            False,
            "z" if a == "gelu" else "y",
            precision,
        )
        if has_bias:
            grads[2 * i] = torch.from_numpy(dW.T)
            grads[2 * i + 1] = torch.from_numpy(db)
        else:
            grads[i] = torch.from_numpy(dW.T)
    return (None if dy is None else torch.from_numpy(dy)), grads


def _np(t: Tensor):
    return t.contiguous().numpy(force=True)


def _wnp(w: Tensor):
    return _w_in_place(w).numpy(force=True)


@torch.library.custom_op("fastdigits::mlp_forward", mutates_args=())
def _mlp_forward_op(
    x: Tensor, weights: List[Tensor], biases: List[Tensor], activation: str, precision: str
) -> List[Tensor]:
    """[out, h_0, ..., h_{L-2}, (z_0, ..., z_{L-2} for gelu)] for a 2-D x;
    ``biases`` is empty for layers without bias."""
    out, hs, zs = _mlp_forward_numpy(
        _np(x), [_wnp(w) for w in weights], [_np(b) for b in biases] or None, activation, precision
    )
    return [torch.from_numpy(a) for a in [out] + hs + zs]


@_mlp_forward_op.register_fake
def _(x, weights, biases, activation, precision):
    m = x.shape[0]
    outs = [x.new_empty((m, weights[-1].shape[0]))]
    hidden = [x.new_empty((m, w.shape[0])) for w in weights[:-1]]
    return outs + hidden + ([torch.empty_like(h) for h in hidden] if activation == "gelu" else [])


@torch.library.custom_op("fastdigits::mlp_backward", mutates_args=())
def _mlp_backward_op(
    dout: Tensor,
    x: Tensor,
    weights: List[Tensor],
    saved: List[Tensor],
    activation: str,
    need_dx: bool,
    has_bias: bool,
    precision: str,
) -> List[Tensor]:
    """[dx (empty unless need_dx), dW_0, (db_0,) dW_1, ...]: ``saved`` is the
    forward's outputs after ``out``."""
    L = len(weights)
    sv = [_np(s) for s in saved]
    dx, grads = _mlp_backward_numpy(
        _np(dout),
        _np(x),
        [_wnp(w) for w in weights],
        sv[: L - 1],
        sv[L - 1 :],
        activation,
        need_dx,
        has_bias,
        precision,
    )
    return [dx if dx is not None else x.new_empty((0,))] + grads


@_mlp_backward_op.register_fake
def _(dout, x, weights, saved, activation, need_dx, has_bias, precision):
    dx = torch.empty_like(x) if need_dx else x.new_empty((0,))
    grads = []
    for w in weights:
        grads.append(torch.empty_like(w) if _w_dense(w) else w.new_empty(w.shape))
        if has_bias:
            grads.append(dout.new_empty((w.shape[0],)))
    return [dx] + grads


def _mlp_op_setup(ctx, inputs, output):
    x, weights, biases, act, precision = inputs
    ctx.act, ctx.precision, ctx.has_bias = act, precision, len(biases) > 0
    ctx.n_weights = len(weights)
    ctx.mark_non_differentiable(*output[1:])
    ctx.save_for_backward(x, *weights, *output[1:])


def _mlp_op_backward(ctx, grads):
    x, *rest = ctx.saved_tensors
    L = ctx.n_weights
    weights, saved = rest[:L], rest[L:]
    need_dx = ctx.needs_input_grad[0]
    res = torch.ops.fastdigits.mlp_backward(
        grads[0], x, weights, saved, ctx.act, need_dx, ctx.has_bias, ctx.precision
    )
    if ctx.has_bias:
        dws, dbs = res[1::2], res[2::2]
    else:
        dws, dbs = res[1:], []
    return (res[0] if need_dx else None), list(dws), list(dbs), None, None


_mlp_forward_op.register_autograd(_mlp_op_backward, setup_context=_mlp_op_setup)
_mlp_backward_op.register_autograd(
    _no_double_backward, setup_context=lambda ctx, inputs, output: None
)


class _MLPFunction(torch.autograd.Function):
    """The eager path: one forward and one backward call for the whole stack
    (inputs: x, act, precision, n_weights, has_bias, W_0, (b_0,) W_1, ...)."""

    @staticmethod
    def forward(ctx, x, act, precision, has_bias, *params):
        xn = x.detach().numpy()  # (CPU tensors: _mlp_call checked)
        pn = [p.detach().numpy() for p in params]
        wns = pn[0::2] if has_bias else pn
        out, hs, zs = _mlp_forward_numpy(xn, wns, pn[1::2] if has_bias else None, act, precision)
        saved = [torch.from_numpy(a) for a in hs + zs]
        ctx.act, ctx.precision, ctx.has_bias = act, precision, has_bias
        weights = params[0::2] if has_bias else params
        ctx.save_for_backward(x, *weights, *saved)
        # the NumPy views the backward kernels read (ctx.saved_tensors still
        # checks that none of the tensors was modified in place)
        ctx.views = (xn, wns, hs, zs)
        return torch.from_numpy(out)

    @staticmethod
    def backward(ctx, dy):
        x, *rest = ctx.saved_tensors  # (raises if one was modified in place)
        need_dx = ctx.needs_input_grad[0]
        if torch.is_grad_enabled():
            # create_graph=True: through the operator, whose own backward
            # raises the clear double-backward error if it is ever reached
            L = len(ctx.views[1])
            res = torch.ops.fastdigits.mlp_backward(
                dy, x, rest[:L], rest[L:], ctx.act, need_dx, ctx.has_bias, ctx.precision
            )
            dx, grads = (res[0] if need_dx else None), res[1:]
        else:
            xn, wns, hs, zs = ctx.views
            dx, grads = _mlp_backward_numpy(
                dy.contiguous().numpy(force=True),
                xn,
                wns,
                hs,
                zs,
                ctx.act,
                need_dx,
                ctx.has_bias,
                ctx.precision,
            )
        return (dx, None, None, None, *grads)


_mlp_apply = super(torch.autograd.Function, _MLPFunction).apply  # (see _dense_apply)


def _check_sizes(sizes) -> Tuple[int, ...]:
    try:
        out = tuple(operator.index(s) for s in sizes)
    except TypeError:
        raise TypeError(
            "sizes must be a sequence of ints (in_features, hidden..., out_features), "
            "got %r" % (sizes,)
        ) from None
    if len(out) < 2 or min(out) < 1:
        raise ValueError(
            "sizes must have at least two positive ints (in_features, ..., "
            "out_features), got %r" % (sizes,)
        )
    return out


def _param(layer, name: str):
    # a plain parameter straight from its dict (Module.__getattr__ costs a
    # microsecond); anything else (a parametrization's property, a tensor
    # attribute) through the attribute
    p = layer._parameters.get(name)
    return p if p is not None else getattr(layer, name)


def _mlp_call(x: Tensor, layers, act: str, precision: str) -> Tensor:
    mods = layers._modules.values()
    ws = [_param(layer, "weight") for layer in mods]
    bs = [_param(layer, "bias") for layer in mods]
    has_bias = bs[0] is not None
    w0 = ws[0]
    # The common eager case first (as _dense_call): a plain 2-D contiguous CPU
    # tensor of the weights' float32/float64 dtype.
    if (
        type(x) is Tensor
        and not torch.compiler.is_compiling()
        and not torch.jit.is_tracing()
        and x.dtype is w0.dtype
        and x.dtype in _DTYPES
        and x.is_cpu
        and x.dim() == 2
        and x.shape[1] == w0.shape[1]
        and x.is_contiguous()
        and all(w.is_cpu for w in ws)
        and all((b is not None) is has_bias for b in bs)
    ):
        params = [p for wb in zip(ws, bs) for p in wb] if has_bias else ws
        if torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for p in params)):
            apply = _MLPFunction.apply if _functorch_active() else _mlp_apply
            return apply(x, act, precision, has_bias, *params)
        out = _mlp_forward_numpy(
            x.numpy(force=True),
            [w.numpy(force=True) for w in ws],
            [b.numpy(force=True) for b in bs] if has_bias else None,
            act,
            precision,
        )[0]
        return torch.from_numpy(out)  # no graph to record
    _check_input(x, w0)
    last = len(layers) - 1
    if (
        x.dtype not in _DTYPES
        or not x.is_cpu
        or not all(w.is_cpu for w in ws)
        or not all((b is not None) is has_bias for b in bs)
    ):
        # PyTorch's own ops (or a layer by layer run for mixed biases)
        for i, (w, b) in enumerate(zip(ws, bs)):
            x = _dense_call(x, w, b, act if i < last else "identity", precision)
        return x
    x2 = x if x.dim() == 2 else x.reshape(-1, x.shape[-1])
    if torch.compiler.is_compiling() or torch.jit.is_tracing() or type(x) is not Tensor:
        # what compile / export / trace record: one operator for the stack
        y = _mlp_forward_op(x2, ws, bs if has_bias else [], act, precision)[0]
    else:
        y = _mlp_call(x2.contiguous(), layers, act, precision)  # the fast case above
    return y if x.dim() == 2 else y.reshape(*x.shape[:-1], ws[-1].shape[0])


class MLP(torch.nn.Module):
    """A stack of fully connected layers run by fastdigits' kernels in one call.

    ``MLP([784, 256, 10], activation="relu")`` computes what
    ``nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))``
    computes: every layer but the last is followed by ``activation``, the
    last is linear (logits).  Forward runs the whole stack in one call (one
    custom operator, ``torch.ops.fastdigits.mlp_forward``, under
    ``torch.compile`` and ``torch.export``) and backward too
    (``fastdigits::mlp_backward``), keeping the hidden outputs it needs.

    Parameters
    ----------
    sizes : sequence of int
        ``(in_features, hidden..., out_features)``, at least two.
    activation : {"relu", "sigmoid", "tanh", "gelu", "identity", None}
        Between layers; gelu is the tanh approximation.
    bias, device, dtype : as for ``torch.nn.Linear``
    precision : {"float32", "bfloat16"}
        As for :class:`Linear`.
    weight_order : {"C", "F"}
        The weights' memory order.  "C" (default): row-major, as
        ``nn.Linear``'s.  "F": the same ``(out, in)`` weights stored
        column-major (``weight.t()`` is contiguous; the gradients and the
        optimiser's buffers take that layout too), which the kernels read
        and write faster: forward reads ``weight.t()`` row by row and the
        weight gradient is written row-major.  Shapes, values, state dicts
        and initialisation are the same either way.

    The layers are :class:`Linear` modules in ``self.layers`` (an
    ``nn.ModuleList``), so the parameters are ``layers.0.weight``
    ``(hidden, in)``, ``layers.0.bias``, ``layers.1.weight``, ... laid out
    and initialised as ``nn.Linear``'s.  A state dict of
    ``nn.Sequential(nn.Linear, act, nn.Linear, ...)`` (keys ``0.weight``,
    ``2.weight``, ...) maps onto it with :meth:`state_dict_from_sequential`:
    the i-th ``nn.Linear`` becomes ``layers.i``.

    CPU float32/float64 tensors run on the fastdigits kernels; other dtypes
    and devices run layer by layer on PyTorch's ops, as :class:`Linear`.
    Double backward raises ``RuntimeError``.

    Examples
    --------
    >>> import torch
    >>> from fastdigits.torch import MLP
    >>> _ = torch.manual_seed(0)
    >>> model = MLP([784, 64, 10])
    >>> [k for k in model.state_dict()]
    ['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias']
    >>> ref = torch.nn.Sequential(torch.nn.Linear(784, 64), torch.nn.ReLU(),
    ...                           torch.nn.Linear(64, 10))
    >>> ref.load_state_dict(MLP.state_dict_to_sequential(model.state_dict()))
    <All keys matched successfully>
    >>> x = torch.randn(8, 784)
    >>> torch.allclose(model(x), ref(x), atol=1e-5)
    True
    >>> model.load_state_dict(MLP.state_dict_from_sequential(ref.state_dict()))
    <All keys matched successfully>
    """

    def __init__(
        self,
        sizes,
        activation: Optional[str] = "relu",
        bias: bool = True,
        device=None,
        dtype=None,
        precision: str = "float32",
        weight_order: str = "C",
    ) -> None:
        super().__init__()
        sizes = _check_sizes(sizes)
        _check_activation(activation)
        _check_precision(precision)
        if weight_order not in ("C", "F"):
            raise ValueError("weight_order must be 'C' or 'F', got %r" % (weight_order,))
        self.sizes = sizes
        self.activation = activation
        self.precision = precision
        self.weight_order = weight_order
        last = len(sizes) - 2
        self.layers = torch.nn.ModuleList(
            Linear(
                k,
                n,
                bias=bias,
                activation=activation if i < last else None,
                device=device,
                dtype=dtype,
                precision=precision,
            )
            for i, (k, n) in enumerate(zip(sizes[:-1], sizes[1:]))
        )
        if weight_order == "F":
            # the same values (drawn as nn.Linear draws them), column-major
            for layer in self.layers:
                layer.weight = torch.nn.Parameter(layer.weight.detach().t().contiguous().t())

    def reset_parameters(self) -> None:
        """torch.nn.Linear's initialisation, layer by layer (the same values
        for the same seed whatever ``weight_order``)."""
        for layer in self.layers:
            w = layer.weight
            if w.is_contiguous():
                layer.reset_parameters()
                continue
            tmp = torch.empty(w.shape, dtype=w.dtype, device=w.device)
            torch.nn.init.kaiming_uniform_(tmp, a=math.sqrt(5))
            with torch.no_grad():
                w.copy_(tmp)
            if layer.bias is not None:
                bound = 1 / math.sqrt(layer.in_features)
                torch.nn.init.uniform_(layer.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return _mlp_call(x, self.layers, _ACTS[self.activation], self.precision)

    def extra_repr(self) -> str:
        return "sizes=%r, activation=%r, precision=%r%s" % (
            list(self.sizes),
            self.activation,
            self.precision,
            ", weight_order='F'" if self.weight_order == "F" else "",
        )

    @staticmethod
    def state_dict_from_sequential(state_dict) -> "OrderedDict[str, Tensor]":
        """An ``nn.Sequential``'s state dict with MLP's names: the i-th
        ``<index>.weight`` / ``<index>.bias`` pair (in order of the indices)
        becomes ``layers.i.weight`` / ``layers.i.bias``."""
        prefixes = sorted(
            {k.rsplit(".", 1)[0] for k in state_dict}, key=lambda p: [int(s) for s in p.split(".")]
        )
        ren = {p: "layers.%d" % i for i, p in enumerate(prefixes)}
        return OrderedDict(
            (ren[k.rsplit(".", 1)[0]] + "." + k.rsplit(".", 1)[1], v) for k, v in state_dict.items()
        )

    @staticmethod
    def state_dict_to_sequential(state_dict, stride: int = 2) -> "OrderedDict[str, Tensor]":
        """MLP's state dict with the names of ``nn.Sequential(nn.Linear, act,
        nn.Linear, ...)``: ``layers.i.*`` becomes ``<stride*i>.*`` (stride 2:
        one activation module between the linear layers; 1 without)."""
        out = OrderedDict()
        for k, v in state_dict.items():
            _, i, name = k.split(".")
            out["%d.%s" % (stride * int(i), name)] = v
        return out


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
