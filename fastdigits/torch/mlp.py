"""``MLP``: a stack of fully connected layers run by the fastdigits kernels
in one call each way."""

from __future__ import annotations

import operator
from collections import OrderedDict
from typing import Optional, Tuple

import torch
from torch import Tensor

from . import _common as _c
from . import _native
from ._mlp_ops import _mlp_apply, _mlp_forward_numpy, _mlp_forward_op
from .linear import Linear, _dense_call


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


def _mlp_call(x: Tensor, layers, act: str, precision: str) -> Tensor:
    # One plain loop over the layers (no generators or comprehensions): in a
    # training loop this Python runs with cold caches after the optimiser's
    # pass over the weights, where every bytecode costs several times its
    # warm price (the checks below, written with generators and
    # comprehensions, cost 16-18 us a step in the loop of issue 15).
    params = []
    add = params.append
    cpu = True
    n_bias = n_layers = 0
    for layer in layers._modules.values():
        w, b = _c._weight_bias(layer)
        add(w)
        cpu = cpu and w.is_cpu
        n_layers += 1
        if b is not None:
            add(b)
            n_bias += 1
    has_bias = n_bias == n_layers
    w0 = params[0]
    # The common eager case first (as _dense_call): a plain 2-D contiguous CPU
    # tensor of the weights' float32/float64 dtype, every layer with a bias or
    # none.
    if (
        type(x) is Tensor
        and cpu
        and (n_bias == 0 or has_bias)
        and not torch.compiler.is_compiling()
        and not torch.jit.is_tracing()
        and not _c._pytorch_ops_only()
        and x.dtype is w0.dtype
        and x.dtype in _c._DTYPES
        and x.is_cpu
        and x.dim() == 2
        and x.shape[1] == w0.shape[1]
        and x.is_contiguous()
    ):
        if torch.is_grad_enabled() and (
            w0.requires_grad or x.requires_grad or any(p.requires_grad for p in params)
        ):
            if (_native.enabled or not _native._env_tried) and _native._mlp2_ok(
                x, params, n_layers, act, precision
            ):
                return _native.mlp2(x, params, has_bias)
            return _mlp_apply(x, act, precision, has_bias, *params)
        pn = [p.numpy(force=True) for p in params]
        out = _mlp_forward_numpy(
            x.numpy(force=True),
            pn[0::2] if has_bias else pn,
            pn[1::2] if has_bias else None,
            act,
            precision,
        )[0]
        return torch.from_numpy(out)  # no graph to record
    pytorch_only = _c._pytorch_ops_only()
    if not pytorch_only:  # (under autocast a bfloat16 x meets float32 weights)
        _c._check_input(x, w0)
    last = len(layers) - 1
    ws = [layer.weight for layer in layers]
    bs = [layer.bias for layer in layers]
    if (
        pytorch_only
        or x.dtype not in _c._DTYPES
        or not x.is_cpu
        or not cpu
        or not (n_bias == 0 or has_bias)
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
        column-major, as :class:`Linear`'s ``weight_order`` (the gradients
        and the optimiser's buffers take that layout too), which the
        kernels read and write faster.  Shapes, values, state dicts and
        initialisation are the same either way.  With relu, a training
        step on data (an input that needs no gradient) in float32
        precision computes the first layer from the pixels that differ
        from the batch's first element, as the ``fastdigits.MLP`` epoch
        does for digit images, and its weight gradient from the same
        pixels (the same values within rounding, and the same bits for
        either weight order; a batch too dense for it takes the dense
        product).  With :func:`native_ops` on, that step
        of a two-layer model runs as one native autograd node (the same
        kernels and bits, without the Python per call).

    The layers are :class:`Linear` modules in ``self.layers`` (an
    ``nn.ModuleList``), so the parameters are ``layers.0.weight``
    ``(hidden, in)``, ``layers.0.bias``, ``layers.1.weight``, ... laid out
    and initialised as ``nn.Linear``'s.  A state dict of
    ``nn.Sequential(nn.Linear, act, nn.Linear, ...)`` (keys ``0.weight``,
    ``2.weight``, ...) maps onto it with :meth:`state_dict_from_sequential`:
    the i-th ``nn.Linear`` becomes ``layers.i``.

    CPU float32/float64 tensors run on the fastdigits kernels; other dtypes
    and devices, and calls under ``torch.autocast`` or ``torch.func``
    transforms, run layer by layer on PyTorch's ops, as :class:`Linear`.
    Backward keeps the first weight only where ``x`` needs its gradient, as
    ``nn.Linear`` does.  Double backward raises ``RuntimeError``.

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
        _c._check_activation(activation)
        _c._check_precision(precision)
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
                weight_order=weight_order,
            )
            for i, (k, n) in enumerate(zip(sizes[:-1], sizes[1:]))
        )

    def reset_parameters(self) -> None:
        """torch.nn.Linear's initialisation, layer by layer (the same values
        for the same seed whatever ``weight_order``)."""
        for layer in self.layers:
            layer.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        # (_modules directly: self.layers goes through Module.__getattr__)
        return _mlp_call(x, self._modules["layers"], _c._ACTS[self.activation], self.precision)

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
