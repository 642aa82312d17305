"""The whole MLP stack on tensors in one call each way: the custom operators
``fastdigits::mlp_forward`` / ``fastdigits::mlp_backward`` and the eager
autograd.Function, over the dense kernels."""

from __future__ import annotations

from typing import List

import numpy as np
import torch
from torch import Tensor

from .. import _dense, _mlp  # the Cython bindings: validate, release the GIL
from ._common import _no_double_backward, _w_dense, _w_in_place
from ._dense_ops import _sparse_backward_numpy, _sparse_forward_numpy, _sparse_ok, _wn_dense

# --------------------------------------------------------------------------
# MLP: a whole stack of layers in one call.  Layer i computes
# act_i(h_{i-1} @ W_i.T + b_i) with h_{-1} = x; every layer but the last has
# the activation, the last is linear (as an nn.Sequential of nn.Linear with
# activations between them).  What backward needs: x, the weights, the hidden
# outputs h_0..h_{L-2} (the next layer's input, and act' for relu, sigmoid,
# tanh) and, for gelu, the pre-activations z_0..z_{L-2}.


def _mlp_forward_numpy(xn, wns, bns, act: str, precision: str, sparse: bool = False):
    """(out, hs, zs, scratch) as NumPy arrays: hs the hidden outputs, zs the
    gelu pre-activations (empty for the other activations); sparse: the
    first layer from x's kept pixels (_mlp.sparse_forward, see
    _sparse_first; with two layers the output layer in the same call),
    scratch what its backward reads (None: dense)."""
    last = len(wns) - 1
    if sparse:
        b0 = None if bns is None else bns[0]
        if last == 1:
            b1 = None if bns is None else bns[1]
            y, out, scratch = _sparse_forward_numpy(xn, wns[0], b0, act, wns[1], b1)
            if scratch is not None:
                return out, [y], [], scratch
        else:
            y, _, scratch = _sparse_forward_numpy(xn, wns[0], b0, act)
            if scratch is not None:
                out, hs, zs, _ = _mlp_forward_numpy(y, wns[1:], bns and bns[1:], act, precision)
                return out, [y] + hs, zs, scratch
    hs, zs = [], []
    h = xn
    for i, wn in enumerate(wns):
        a = act if i < last else "identity"
        z = np.empty((h.shape[0], wn.shape[0]), h.dtype) if a == "gelu" else None
        h = _dense.dense_forward(h, wn.T, None if bns is None else bns[i], a, None, z, precision)
        if i < last:
            hs.append(h)
            if z is not None:
                zs.append(z)
    return h, hs, zs, None


def _sparse_first(wns, act: str, precision: str, need_dx: bool) -> bool:
    """Whether a training step takes the first layer from x's kept pixels
    (_dense_ops._sparse_ok): a relu stack of two or more layers whose first
    weight is contiguous, with no dx wanted (x is data)."""
    return act == "relu" and not need_dx and len(wns) > 1 and _sparse_ok(wns[0], act, precision)


def _mlp_backward_numpy(
    dyn, xn, wns, hs, zs, act: str, need_dx: bool, has_bias, precision, scratch=None
):
    """(dx or None, [dW_0, db_0, dW_1, db_1, ...]) with dW in the weights'
    (out, in) layout (db left out without bias) as tensors; scratch: the
    forward's sparse first layer (then no dx), whose backward runs the
    second layer's too when that one is the last, narrow and contiguous."""
    last = len(wns) - 1
    per = 2 if has_bias else 1
    grads = [None] * (len(wns) * per)
    fused = (
        scratch is not None
        and last == 1
        and wns[1].shape[0] <= _mlp.SPARSE_HEAD_MAX
        and _wn_dense(wns[1])
    )
    dy = dyn
    for i in range(last, -1, -1):
        if scratch is not None and (i == 0 or fused):
            break
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
        grads[per * i] = torch.from_numpy(dW.T)
        if has_bias:
            grads[per * i + 1] = torch.from_numpy(db)
    if scratch is not None:
        # [dW_0, db_0] (and [dW_1, db_1] fused), db left out without bias
        sg = _sparse_backward_numpy(scratch, dy, hs[0], wns[0], wns[1] if fused else None)
        grads[: len(sg) // 2 * per] = sg if has_bias else sg[0::2]
        dy = None
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
    out, hs, zs, _ = _mlp_forward_numpy(
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
    (inputs: x, act, precision, has_bias, W_0, (b_0,) W_1, ...)."""

    @staticmethod
    def forward(ctx, x, act, precision, has_bias, *params):
        # numpy(force=True): the memory's view, detached (CPU tensors:
        # _mlp_call checked)
        xn = x.numpy(force=True)
        pn = [p.numpy(force=True) for p in params]
        if has_bias:
            wns, bns, weights = pn[0::2], pn[1::2], params[0::2]
        else:
            wns, bns, weights = pn, None, params
        need = ctx.needs_input_grad
        out, hs, zs, scratch = _mlp_forward_numpy(
            xn, wns, bns, act, precision, _sparse_first(wns, act, precision, need[0])
        )
        # What backward reads is saved, so that it raises if one of them was
        # modified in place (or the graph was freed), as nn.Sequential of
        # nn.Linear saves it: x where the first weight needs its gradient,
        # that weight where x does, every later weight (for the hidden
        # layers' gradients).  This call's own arrays (the hidden outputs,
        # gelu's pre-activations, the sparse first layer's scratch) are
        # saved too, as tensors, so that PyTorch frees them when backward
        # is done (unless the graph is retained), as nn.Linear's saved
        # tensors.  ctx.inputs: x where it is not saved (a frozen first
        # weight: its gradient is computed anyway) and the weights, for the
        # create_graph path.
        own = hs + zs
        if scratch is not None:
            own.append(scratch)
        ctx.save_for_backward(
            x if need[4] else None,
            weights[0] if need[0] else None,
            *weights[1:],
            *map(torch.from_numpy, own),
        )
        ctx.inputs = (None if need[4] else x, weights)
        ctx.views = (wns, act, precision, has_bias, len(hs), scratch is not None)
        return torch.from_numpy(out)

    @staticmethod
    def backward(ctx, dy):
        saved = ctx.saved_tensors  # (raises if one was modified in place)
        wns, act, precision, has_bias, nh, sparse = ctx.views
        x = saved[0] if saved[0] is not None else ctx.inputs[0]
        own = saved[len(wns) + 1 :]
        need_dx = ctx.needs_input_grad[0]
        if torch.is_grad_enabled():
            # create_graph=True: through the operator, whose own backward
            # raises the clear double-backward error if it is ever reached
            res = torch.ops.fastdigits.mlp_backward(
                dy,
                x,
                ctx.inputs[1],
                list(own[: len(own) - sparse]),
                act,
                need_dx,
                has_bias,
                precision,
            )
            dx, grads = (res[0] if need_dx else None), res[1:]
        else:
            arrays = [t.numpy() for t in own]  # (they need no gradient)
            dx, grads = _mlp_backward_numpy(
                dy.contiguous().numpy(force=True),
                x.numpy(force=True),
                wns,
                arrays[:nh],
                arrays[nh : len(arrays) - sparse],
                act,
                need_dx,
                has_bias,
                precision,
                arrays[-1] if sparse else None,
            )
        return (dx, None, None, None, *grads)


_mlp_apply = super(torch.autograd.Function, _MLPFunction).apply  # (see _dense_apply)
