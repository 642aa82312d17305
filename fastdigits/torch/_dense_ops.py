"""The dense layer on tensors: the fastdigits kernels on the tensors' memory,
registered as the custom operators ``fastdigits::dense`` and
``fastdigits::dense_backward`` (what torch.compile, torch.export and
jit.trace record), and the eager autograd.Function over the same kernels."""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from .. import _dense, _mlp  # the Cython bindings: validate, release the GIL
from ._common import _no_double_backward, _w_dense, _w_in_place

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


def _sparse_ok(wn, act: str, precision: str) -> bool:
    """Whether a training step may take this layer's product from its input's
    kept pixels (csrc/mlp/mlp_sparse.h: the pixels that differ from the
    batch's first element, as on digit images), when its input needs no
    gradient: a relu or linear layer whose weight wn ((out, in) view) is
    contiguous in either order (row-major, nn.Linear's, or column-major,
    weight_order="F"), in the dtype's own precision.  A batch too dense for
    it takes the dense product (_mlp.sparse_forward returns None)."""
    return (act == "relu" or act == "identity") and precision == "float32" and _wn_dense(wn)


def _wn_dense(wn) -> bool:
    """_common._w_dense for the NumPy view wn of a weight."""
    return wn.flags.c_contiguous or wn.flags.f_contiguous


def _sparse_forward_numpy(xn, wn, bn, act: str, wn_next=None, bn_next=None):
    """(y, out, scratch) for the sparse product (see _sparse_ok) of the
    layer of (out, in) weight view wn and bias bn (NumPy, or None): with
    wn_next, the next, linear, layer's out = y @ wn_next.T + bn_next in the
    same call (else None); scratch what _sparse_backward_numpy reads.
    (None, None, None) when the batch is too dense for it."""
    m = xn.shape[0]
    y = np.empty((m, wn.shape[0]), xn.dtype)
    if wn_next is None:
        out, head = None, ()
    else:
        out = np.empty((m, wn_next.shape[0]), xn.dtype)
        head = (wn_next.T, bn_next, out)
    scratch = _mlp.sparse_forward(xn, wn.T, bn, act, y, *head)
    return (None, None, None) if scratch is None else (y, out, scratch)


def _sparse_backward_numpy(scratch, dyn, y, wn, wn_next=None):
    """[dweight, dbias] tensors for the _sparse_forward_numpy call that
    returned scratch and y (None for the identity; no dx: the input needed
    none), dyn the gradient of y; with wn_next (at most
    _mlp.SPARSE_HEAD_MAX outputs, either order), dyn is the next, linear,
    layer's output gradient and its [dweight, dbias] follow, computed in
    the same call."""
    dW, db = _like_weight(wn), np.empty(wn.shape[0], dyn.dtype)
    if wn_next is None:
        _mlp.sparse_backward(scratch, y, dyn, dW.T, db)
        return [torch.from_numpy(dW), torch.from_numpy(db)]
    dWn, dbn = _like_weight(wn_next), np.empty(wn_next.shape[0], dyn.dtype)
    _mlp.sparse_backward(scratch, y, None, dW.T, db, dyn, wn_next.T, dWn.T, dbn)
    return [torch.from_numpy(a) for a in (dW, db, dWn, dbn)]


def _like_weight(wn):
    """An empty gradient for the (out, in) weight view wn in its memory
    order, so that autograd accumulates it without a copy."""
    return np.empty(wn.shape, wn.dtype, order="C" if wn.flags.c_contiguous else "F")


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
    need_dx; yz is not read for the identity (any tensor, e.g. empty)."""
    return _backward_numpy(
        dy.numpy(force=True),
        x.numpy(force=True),
        weight.numpy(force=True),
        None if act == "identity" else yz.numpy(force=True),
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
        yz if activation == "identity" else yz.contiguous(),
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


def _act_input(act: str, y, z):
    """What act' is computed from: z for gelu, y for relu, sigmoid and tanh,
    nothing for the identity (so y is not saved, and may be changed in place
    after the layer, e.g. by nn.ReLU(inplace=True), as after F.linear)."""
    return None if act == "identity" else (z if act == "gelu" else y)


def _op_setup(ctx, inputs, output):
    x, weight, bias, act = inputs[:4]
    y, z = output
    ctx.act = act
    ctx.precision = inputs[4] if len(inputs) > 4 else "float32"
    ctx.has_bias = bias is not None
    ctx.save_for_backward(x, weight, _act_input(act, y, z))


def _op_backward(ctx, dy, _dz):
    x, weight, yz = ctx.saved_tensors
    need_dx = ctx.needs_input_grad[0]
    dx, dW, db = torch.ops.fastdigits.dense_backward(
        dy, x, weight, x.new_empty((0,)) if yz is None else yz, ctx.act, need_dx, ctx.precision
    )
    return (dx if need_dx else None), dW, (db if ctx.has_bias else None), None, None


_dense_op.register_autograd(_op_backward, setup_context=_op_setup)

_dense_backward_op.register_autograd(
    _no_double_backward, setup_context=lambda ctx, inputs, output: None
)


# --------------------------------------------------------------------------
# Eager path: the same kernels through a plain autograd.Function.


class _DenseFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, act, precision):
        xn, wn = x.numpy(force=True), weight.numpy(force=True)
        need_dx, need_dw = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        # The product from x's kept pixels where x needs no gradient (data)
        # and the layer allows it (_sparse_ok); scratch is what its
        # backward reads, None for the dense product.
        y = scratch = None
        if not need_dx and _sparse_ok(wn, act, precision):
            bn = None if bias is None else bias.numpy(force=True)
            y, _, scratch = _sparse_forward_numpy(xn, wn, bn, act)
        if scratch is None:
            y, z = _forward_numpy(xn, wn, bias, act, precision)
        else:
            z = None
        yt = torch.from_numpy(y)
        ctx.act = act
        ctx.precision = precision
        ctx.has_bias = bias is not None
        # Saved (so that backward raises if one was modified in place) as
        # F.linear saves them: x where the weight needs its gradient, the
        # weight where x does, y or z where act' reads it; an in-place
        # change of anything else between forward and backward is allowed,
        # as with nn.Linear.  The sparse product's scratch is saved too, as
        # a tensor, so that PyTorch frees it with the others when backward
        # is done (unless the graph is retained).  ctx.inputs: x where it
        # is not saved (a frozen weight: its gradient is computed anyway)
        # and the weight, for the create_graph path.
        zt = None if z is None else torch.from_numpy(z)
        ctx.save_for_backward(
            x if need_dw else None,
            weight if need_dx else None,
            _act_input(act, yt, zt),
            None if scratch is None else torch.from_numpy(scratch),
        )
        ctx.inputs = (None if need_dw else x, weight)
        ctx.wn = wn  # (the weight's view: the parameter's own memory)
        return yt

    @staticmethod
    def backward(ctx, dy):
        x, _, yz, scratch = ctx.saved_tensors  # (raises if one was modified in place)
        if x is None:
            x = ctx.inputs[0]
        need_dx = ctx.needs_input_grad[0]
        if torch.is_grad_enabled():
            # create_graph=True: go through the operator, whose own backward
            # raises the clear double-backward error if it is ever reached
            dx, dW, db = torch.ops.fastdigits.dense_backward(
                dy,
                x,
                ctx.inputs[1],
                x.new_empty((0,)) if yz is None else yz,
                ctx.act,
                need_dx,
                ctx.precision,
            )
        else:
            dyn = dy.contiguous().numpy(force=True)
            yzn = None if yz is None else yz.numpy(force=True)
            if scratch is not None:
                # (no dx: x needed none; y is read for relu only)
                dx = None
                dW, db = _sparse_backward_numpy(scratch.numpy(), dyn, yzn, ctx.wn)
            else:
                dx, dW, db = _backward_numpy(
                    dyn, x.numpy(force=True), ctx.wn, yzn, ctx.act, need_dx, ctx.precision
                )
        return (dx if need_dx else None), dW, (db if ctx.has_bias else None), None, None


# the C apply (see _common._functorch_active)
_dense_apply = super(torch.autograd.Function, _DenseFunction).apply
