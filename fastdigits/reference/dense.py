"""Plain NumPy twins of :mod:`fastdigits.dense` (same signatures)."""

from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from .._activation import ACTIVATIONS, activation_name, backward_input
from .._args import anchor_dtype, as_array
from .._hyper import check_rate, check_seed
from .dropout import dropout_apply

_GELU_C = np.sqrt(2.0 / np.pi)
_GELU_A = 0.044715


def _inputs(**named: Any) -> list:
    """The call's read-only inputs as the kernels convert them
    (fastdigits._args): arrays as they are, array-likes as NumPy arrays,
    Python numbers in the dtype of the call's first float array (float64
    when there is none); None stays None."""
    anchor = anchor_dtype(*named.values())
    return [
        v if v is None or isinstance(v, np.ndarray) else as_array(v, k, anchor)
        for k, v in named.items()
    ]


def _act(name: Optional[str], z: np.ndarray) -> np.ndarray:
    name = activation_name(name)
    if name == "identity":
        return z
    if name == "relu":
        return np.maximum(z, 0)
    if name == "sigmoid":
        # stable for large |z|: exp of a non-positive number only
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(z.dtype, copy=False)
    if name == "tanh":
        return np.tanh(z)
    if name == "gelu":
        c = z.dtype.type(_GELU_C)
        a = z.dtype.type(_GELU_A)
        return z.dtype.type(0.5) * z * (1 + np.tanh(c * (z + a * z * z * z)))
    raise ValueError("activation must be one of %s, got %r" % (", ".join(ACTIVATIONS), name))


def _act_grad(name: str, yz: np.ndarray) -> np.ndarray:
    """act'(.) from y (identity, relu, sigmoid, tanh) or from z (gelu)."""
    if name == "identity":
        return np.ones_like(yz)
    if name == "relu":
        # 1 where y > 0, 0 where y <= 0, NaN where y is NaN (NaN propagates)
        return np.where(np.isnan(yz), yz, yz > 0).astype(yz.dtype)
    if name == "sigmoid":
        return yz * (1 - yz)
    if name == "tanh":
        return 1 - yz * yz
    if name == "gelu":
        t = yz.dtype.type
        z2 = yz * yz
        th = np.tanh(t(_GELU_C) * (yz + t(_GELU_A) * z2 * yz))
        return t(0.5) * (1 + th) + t(0.5) * yz * (1 - th * th) * t(_GELU_C) * (
            1 + t(3 * _GELU_A) * z2
        )
    raise ValueError("activation must be one of %s, got %r" % (", ".join(ACTIVATIONS), name))


def _check_rate(dropout: Any, seed: Any) -> float:
    """dropout= as a float in [0, 1) and seed= an int in [0, 2**64)."""
    check_seed(seed)
    return check_rate(dropout, "dropout")


def to_bfloat16(a: Any) -> np.ndarray:
    """float32 values rounded to bfloat16 (nearest even; NaN stays NaN),
    returned as float32 (the low 16 bits zero)."""
    a = np.asarray(a, dtype=np.float32)
    u = a.view(np.uint32).astype(np.uint64)
    nan = np.isnan(a)
    r = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
    r = np.where(nan, (u | 0x400000) & 0xFFFF0000, r)
    return r.astype(np.uint32).view(np.float32).reshape(a.shape)


def _check_precision(precision: str, *arrays: Any) -> bool:
    """True for bfloat16 (float32 arrays only), False for float32."""
    if precision == "float32":
        return False
    if precision != "bfloat16":
        raise ValueError('precision must be "float32" or "bfloat16", got %r' % (precision,))
    for a in arrays:
        if isinstance(a, np.ndarray) and a.dtype != np.float32:
            raise TypeError('precision="bfloat16" needs float32 arrays, got %s' % a.dtype)
    return True


def _mm_bf16(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """bf16 operands, products and sums in float64, result float32."""
    a64 = to_bfloat16(a).astype(np.float64)
    b64 = to_bfloat16(b).astype(np.float64)
    return (a64 @ b64).astype(np.float32)


class PackedWeights:
    """Twin of :class:`fastdigits.PackedWeights`: ``W`` rounded to bfloat16
    (a read-only float32 array, ``.weights``), what the reference
    :func:`dense_forward` multiplies by.  A snapshot, as the fast one: pack
    again after ``W`` changes.  No SIMD path (``.path`` is "numpy"), so
    it works under any ``fastdigits.simd(...)``."""

    __slots__ = ("weights",)

    def __init__(self, weights: np.ndarray) -> None:
        weights.flags.writeable = False
        object.__setattr__(self, "weights", weights)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("PackedWeights is immutable")

    shape = property(lambda self: self.weights.shape)
    precision = property(lambda self: "bfloat16")
    path = property(lambda self: "numpy")
    nbytes = property(lambda self: self.weights.nbytes)
    dtype = property(lambda self: np.dtype(np.float32))

    def __repr__(self) -> str:
        return "PackedWeights(shape=%r, precision='bfloat16', path='numpy', nbytes=%d)" % (
            self.shape,
            self.nbytes,
        )

    def __reduce__(self):
        raise TypeError("PackedWeights cannot be pickled; pickle W and pack it after loading")


def pack_weights(W: np.ndarray, *, precision: str = "bfloat16") -> PackedWeights:
    """``W`` (float32, 2-D) rounded to bfloat16 once, for bfloat16
    :func:`dense_forward` calls (see :func:`fastdigits.pack_weights`)."""
    if precision != "bfloat16":
        raise ValueError(
            'pack_weights packs W for precision="bfloat16" products only, got precision=%r'
            % (precision,)
        )
    # plain Python data (lists) becomes float32, as in fastdigits.pack_weights
    W = np.asarray(W) if hasattr(W, "dtype") else np.asarray(W, dtype=np.float32)
    if W.dtype != np.float32:
        raise TypeError('pack_weights needs a float32 W (precision="bfloat16"), got %s' % W.dtype)
    if W.ndim != 2:
        raise ValueError("W must be 2-D, got %d-D with shape %s" % (W.ndim, W.shape))
    return PackedWeights(np.ascontiguousarray(to_bfloat16(W)))


def matmul(
    a: np.ndarray,
    b: np.ndarray,
    *,
    out: Optional[np.ndarray] = None,
    precision: str = "float32",
) -> np.ndarray:
    """``a @ b`` for 2-D float arrays (bfloat16: operands rounded to bf16,
    computed in float64, cast to float32)."""
    a, b = _inputs(a=a, b=b)
    if _check_precision(precision, a, b):
        r = _mm_bf16(a, b)
        if out is not None:
            out[...] = r
            return out
        return r
    return np.matmul(a, b, out=out)


def dense_forward(
    x: np.ndarray,
    W: Any,
    b: Optional[np.ndarray] = None,
    activation: Optional[str] = None,
    *,
    out: Optional[np.ndarray] = None,
    preact_out: Optional[np.ndarray] = None,
    precision: str = "float32",
    dropout: float = 0.0,
    seed: int = 0,
    act_out: Optional[np.ndarray] = None,
) -> np.ndarray:
    """``act(x @ W + b)``; ``preact_out`` receives ``x @ W + b``
    (bfloat16: ``x @ W`` as :func:`matmul`, bias and activation float32);
    with ``dropout``, :func:`~fastdigits.reference.dropout` of it, and
    ``act_out`` the un-dropped ``act(x @ W + b)``."""
    activation = activation_name(activation)
    p = _check_rate(dropout, seed)
    if isinstance(W, PackedWeights):
        x, b = _inputs(x=x, b=b, _=W.weights)[:2]
    else:
        x, W, b = _inputs(x=x, W=W, b=b)
    if isinstance(W, PackedWeights):
        if precision != "bfloat16":
            raise ValueError(
                'W is PackedWeights (packed for precision="bfloat16"), but precision=%r'
                % (precision,)
            )
        if x.shape[1] != W.shape[0]:
            raise ValueError(
                "W must have shape (in_features, out_features) = (%d, n); got PackedWeights of"
                " shape %s" % (x.shape[1], W.shape)
            )
        W = W.weights  # already bf16 values: rounding them again changes nothing
    z = _mm_bf16(x, W) if _check_precision(precision, x, W) else x @ W
    if b is not None:
        z += b
    if preact_out is not None:
        preact_out[...] = z
    y = _act(activation, z)
    if act_out is not None:
        act_out[...] = y
    if p > 0:
        y = dropout_apply(np.ascontiguousarray(y), p, int(seed))
    if out is not None:
        out[...] = y
        return out
    return y


def dense_backward(
    dy: np.ndarray,
    x: np.ndarray,
    W: np.ndarray,
    y_or_z: Any = None,
    activation: Optional[str] = None,
    *,
    y: Optional[np.ndarray] = None,
    z: Optional[np.ndarray] = None,
    need_dx: bool = True,
    dx_out: Optional[np.ndarray] = None,
    dW_out: Optional[np.ndarray] = None,
    db_out: Optional[np.ndarray] = None,
    accumulate: bool = False,
    precision: str = "float32",
    dropout: float = 0.0,
    seed: int = 0,
) -> Tuple[Optional[np.ndarray], np.ndarray, np.ndarray]:
    """Gradients of ``y = act(x @ W + b)``: returns ``(dx, dW, db)``.

    relu/sigmoid/tanh take the output ``y=``, gelu the pre-activation ``z=``
    (see :func:`fastdigits.dense_backward`); bfloat16: the ``dW`` and
    ``dx`` products as :func:`matmul`, ``dz`` and ``db`` float32; with
    ``dropout``, ``dy`` first goes through the forward pass's mask."""
    p = _check_rate(dropout, seed)
    dy, x, W, y_or_z, y, z = _inputs(dy=dy, x=x, W=W, y_or_z=y_or_z, y=y, z=z)
    bf16 = _check_precision(precision, dy, x, W)
    mm = _mm_bf16 if bf16 else np.matmul
    activation, yz, _ = backward_input(activation, y_or_z, y, z)
    if accumulate and dx_out is None and dW_out is None and db_out is None:
        raise ValueError(
            "accumulate=True needs at least one of dx_out, dW_out, db_out (the buffers to add into)"
        )
    if p > 0:
        dy = dropout_apply(np.ascontiguousarray(dy), p, int(seed))
    dz = dy if activation == "identity" else dy * _act_grad(activation, yz)
    dW = mm(x.T, dz)
    db = dz.sum(axis=0)
    dx = mm(dz, W.T) if need_dx else None
    results = []
    for val, buf in ((dx, dx_out), (dW, dW_out), (db, db_out)):
        if buf is not None and val is not None:
            if accumulate:
                buf += val
            else:
                buf[...] = val
            val = buf
        results.append(val)
    return results[0], results[1], results[2]
