"""Plain NumPy twin of the fastdigits MLP training kernels (``backend="numpy"``).

Same maths as the C epoch in ``csrc/mlp/mlp.c``: the same batch gathering from a
given sample order, fused dense layers ``act(x @ W + b)`` with W stored
(in, out), mean softmax cross-entropy, PyTorch-style SGD (momentum, coupled
weight decay) and AdamW (decoupled weight decay).  Parameters are a flat list
``[W0, b0, W1, b1, ...]`` updated in place.
"""

from __future__ import annotations

import math
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

from .._activation import ACTIVATIONS  # noqa: F401 (re-exported)
from .._mlp_init import OPTIMIZERS, init_params  # noqa: F401 (re-exported)
from .dropout import dropout_apply

#: per-step learning-rate schedules (csrc/mlp/mlp.h, FD_MLP_LR_*)
STEP_SCHEDULES = ("constant", "linear", "onecycle")

_GELU_C = math.sqrt(2.0 / math.pi)


def _act(z: np.ndarray, activation: str) -> np.ndarray:
    if activation == "identity":
        return z
    if activation == "relu":
        return np.maximum(z, 0)
    if activation == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if activation == "tanh":
        return np.tanh(z)
    if activation == "gelu":
        return 0.5 * z * (1 + np.tanh(_GELU_C * (z + 0.044715 * z**3)))
    raise ValueError("activation must be one of %s, got %r" % (ACTIVATIONS, activation))


def _act_grad(dy: np.ndarray, y: np.ndarray, z: np.ndarray, activation: str) -> np.ndarray:
    """dL/dz from dL/dy; y = act(z)."""
    if activation == "identity":
        return dy
    if activation == "relu":
        return dy * (y > 0)
    if activation == "sigmoid":
        return dy * y * (1 - y)
    if activation == "tanh":
        return dy * (1 - y * y)
    if activation == "gelu":
        u = _GELU_C * (z + 0.044715 * z**3)
        t = np.tanh(u)
        du = _GELU_C * (1 + 3 * 0.044715 * z * z)
        return dy * (0.5 * (1 + t) + 0.5 * z * (1 - t * t) * du)
    raise ValueError("activation must be one of %s, got %r" % (ACTIVATIONS, activation))


def _layer_acts(n_layers: int, activation: str) -> List[str]:
    return [activation] * (n_layers - 1) + ["identity"]


def forward(
    params: Sequence[np.ndarray],
    x: np.ndarray,
    activation: str = "relu",
    keep: bool = False,
    *,
    dropout: float = 0.0,
    seed: int = 0,
    step: int = 0,
):
    """Logits for rows of x; with keep=True also the per-layer (inputs, z, y).

    ``dropout`` > 0 (training): each hidden output y of layer i is followed
    by its dropout mask (counter words c2 = step, tag = i + 2, key = seed,
    as the C epoch: csrc/mlp/mlp.h); the cache keeps y before the mask."""
    n_layers = len(params) // 2
    acts = _layer_acts(n_layers, activation)
    h = x
    cache = []
    for i in range(n_layers):
        W, b = params[2 * i], params[2 * i + 1]
        z = h @ W + b
        y = _act(z, acts[i])
        cache.append((h, z, y))
        h = y
        if dropout and i < n_layers - 1:
            h = dropout_apply(y, dropout, seed, step & 0xFFFFFFFF, i + 2)
    return (h, cache) if keep else h


def softmax_xent(logits: np.ndarray, labels: np.ndarray):
    """(mean loss as float, dlogits of the mean loss), numerically stable."""
    m = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    s = e.sum(axis=1, keepdims=True)
    logp = shifted - np.log(s)
    rows = np.arange(m)
    loss = float(-logp[rows, labels].astype(np.float64).sum() / m)
    grad = e / s
    grad[rows, labels] -= 1
    grad /= m
    return loss, grad.astype(logits.dtype, copy=False)


def backward(
    params: Sequence[np.ndarray],
    cache,
    dlogits: np.ndarray,
    activation: str,
    grads: Sequence[np.ndarray],
    *,
    dropout: float = 0.0,
    seed: int = 0,
    step: int = 0,
) -> None:
    """Write dL/dW and dL/db into ``grads`` (same layout as params); with
    ``dropout``, the masks of :func:`forward` with the same seed and step."""
    n_layers = len(params) // 2
    acts = _layer_acts(n_layers, activation)
    dy = dlogits
    for i in range(n_layers - 1, -1, -1):
        h, z, y = cache[i]
        if dropout and i < n_layers - 1:
            dy = dropout_apply(np.ascontiguousarray(dy), dropout, seed, step & 0xFFFFFFFF, i + 2)
        dz = _act_grad(dy, y, z, acts[i])
        grads[2 * i][...] = h.T @ dz
        grads[2 * i + 1][...] = dz.sum(axis=0)
        if i > 0:
            dy = dz @ params[2 * i].T


def sgd_update(
    p: np.ndarray,
    g: np.ndarray,
    lr: float,
    momentum: float,
    velocity: Optional[np.ndarray],
    weight_decay: float,
    nesterov: bool = False,
) -> None:
    """PyTorch's SGD, in place."""
    d = g + p.dtype.type(weight_decay) * p if weight_decay else g
    if momentum:
        velocity *= p.dtype.type(momentum)
        velocity += d
        d = d + p.dtype.type(momentum) * velocity if nesterov else velocity
    p -= p.dtype.type(lr) * d


def adam_update(p, g, m, v, lr, beta1, beta2, eps, step, weight_decay) -> None:
    """AdamW, in place; step counts from 1."""
    t = p.dtype.type
    if weight_decay:
        p -= t(lr * weight_decay) * p
    m *= t(beta1)
    m += t(1 - beta1) * g
    v *= t(beta2)
    v += t(1 - beta2) * g * g
    mhat = m / t(1 - beta1**step)
    vhat = v / t(1 - beta2**step)
    p -= t(lr) * mhat / (np.sqrt(vhat) + t(eps))


def step_lr(lr: float, schedule: str, t: int, total: int, warmup: int) -> float:
    """The learning rate of step t (from 0) of a fit of ``total`` steps with
    ``warmup`` warm-up steps (the C epoch's FD_MLP_LR_*, csrc/mlp/mlp.h)."""
    if schedule == "onecycle":
        lo = lr / 25.0
        if t < warmup:
            return lo + (lr - lo) * 0.5 * (1.0 - math.cos(math.pi * t / warmup))
        if total <= warmup:
            return lr
        if t >= total:
            return 0.0
        return lr * 0.5 * (1.0 + math.cos(math.pi * (t - warmup) / (total - warmup)))
    if t < warmup:
        return lr * (t + 1.0) / warmup
    if schedule == "linear" and total > warmup:
        return 0.0 if t >= total else lr * (total - t) / (total - warmup)
    return lr


def _augment_batch(X, idx, rows, seed, epoch, normalization) -> np.ndarray:
    """The augmented, normalised float32 batch (m, h*w) of images X[idx]."""
    from .augment import _augment

    scale, mean, std = normalization
    xb = _augment(X[idx], rows, np.asarray(idx, dtype=np.int64), seed, epoch)
    a, c = np.float32(scale / std), np.float32(-mean / std)
    return (xb * a + c).astype(np.float32).reshape(idx.shape[0], -1)


def train_epoch(
    params: List[np.ndarray],
    grads: List[np.ndarray],
    state: List[np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    order: np.ndarray,
    *,
    activation: str,
    batch_size: int,
    optimizer: str,
    lr: float,
    momentum: float,
    weight_decay: float,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    step: int = 0,
    callback: Optional[Callable[[int], object]] = None,
    callback_every: int = 0,
    l2: float = 0.0,
    nesterov: bool = False,
    adam_eps_hat: bool = False,
    dropout: float = 0.0,
    input_dropout: float = 0.0,
    dropout_seed: int = 0,
    label_smoothing: float = 0.0,
    schedule: str = "constant",
    schedule_start: int = 0,
    schedule_total: int = 0,
    warmup: int = 0,
    augment: Optional[list] = None,
    augment_seed: int = 0,
    augment_epoch: int = 0,
    normalization: Optional[Tuple[float, float, float]] = None,
) -> Tuple[float, int, int]:
    """One epoch over ``X[order]`` in batches; updates params in place.

    ``state``: velocities (SGD with momentum, one per param), or the Adam
    first moments followed by the second moments; ``step``: optimiser steps
    taken before this epoch.  ``callback(steps_done)`` runs every
    ``callback_every`` steps.  Returns (sum of per-sample losses, correct
    train predictions, optimiser steps taken after the epoch).

    scikit-learn's MLP semantics: ``l2`` (its ``alpha``) adds
    ``l2 / (2 m) * sum ||W||^2`` (weights only, m rows in the batch) to each
    batch loss and ``l2 / m * W`` to the weight gradients; ``nesterov``:
    Nesterov momentum; ``adam_eps_hat``: eps added to sqrt(v) before the
    bias correction (Kingma & Ba's eps-hat), i.e. ``eps / sqrt(1 - beta2**t)``
    added to sqrt(v_hat).

    Issue 14: ``dropout`` / ``input_dropout`` (hidden outputs / input rows,
    masks keyed by ``dropout_seed`` and the global step, see
    csrc/mlp/mlp.h), ``label_smoothing`` (gradient only: the loss returned
    stays the plain cross-entropy) and the per-step ``schedule``
    (:func:`step_lr` with t = step - schedule_start, ``schedule_total``
    steps, ``warmup`` warm-up steps; ``lr`` is the peak rate).
    ``augment`` (operation rows of fastdigits._augspec.ops): X is the uint8
    images (n, h, w); each batch is augmented with
    :func:`fastdigits.reference.augment` (sample ids = the batch's indices,
    key ``augment_seed``, epoch ``augment_epoch``) and normalised as
    ``x * float32(scale / std) + float32(-mean / std)`` with
    ``normalization = (scale, mean, std)``, as the C epoch does.
    """
    if schedule not in STEP_SCHEDULES:
        raise ValueError("schedule must be one of %s, got %r" % (STEP_SCHEDULES, schedule))
    if schedule != "constant":
        warmup = min(warmup, schedule_total)
    n = order.shape[0]
    loss_sum = 0.0
    correct = 0
    n_params = len(params)
    done = 0
    for start in range(0, n, batch_size):
        idx = order[start : start + batch_size]
        if augment is not None:
            xb = _augment_batch(X, idx, augment, augment_seed, augment_epoch, normalization)
        else:
            xb = X[idx]
        yb = y[idx]
        drop = dict(dropout=dropout, seed=dropout_seed, step=step)
        if input_dropout:
            xb = dropout_apply(xb, input_dropout, dropout_seed, step & 0xFFFFFFFF, 1)
        logits, cache = forward(params, xb, activation, keep=True, **drop)
        loss, dlogits = softmax_xent(logits, yb)
        loss_sum += loss * idx.shape[0]
        correct += int((logits.argmax(axis=1) == yb).sum())
        if label_smoothing:
            m, c = logits.shape
            dlogits -= dlogits.dtype.type(label_smoothing / c / m)
            dlogits[np.arange(m), yb] += dlogits.dtype.type(label_smoothing / m)
        backward(params, cache, dlogits, activation, grads, **drop)
        if l2:
            m = idx.shape[0]
            for W, gW in zip(params[0::2], grads[0::2]):
                loss_sum += (
                    0.5
                    * l2
                    * float(np.dot(W.ravel().astype(np.float64), W.ravel().astype(np.float64)))
                )
                gW += W.dtype.type(l2 / m) * W
        lr_t = step_lr(lr, schedule, step - schedule_start, schedule_total, warmup)
        step += 1
        eps_t = eps / math.sqrt(1.0 - beta2**step) if adam_eps_hat else eps
        for j in range(n_params):
            if optimizer == "sgd":
                sgd_update(
                    params[j],
                    grads[j],
                    lr_t,
                    momentum,
                    state[j] if momentum else None,
                    weight_decay,
                    nesterov,
                )
            else:
                adam_update(
                    params[j],
                    grads[j],
                    state[j],
                    state[n_params + j],
                    lr_t,
                    beta1,
                    beta2,
                    eps_t,
                    step,
                    weight_decay,
                )
        done += 1
        if callback is not None and callback_every and done % callback_every == 0:
            callback(done)
    return loss_sum, correct, step


def predict_logits(
    params: Sequence[np.ndarray], X: np.ndarray, activation: str, chunk: int = 8192
) -> np.ndarray:
    """Logits for every row of X, computed in chunks."""
    n_out = params[-1].shape[0]
    out = np.empty((X.shape[0], n_out), dtype=params[0].dtype)
    for s in range(0, X.shape[0], chunk):
        out[s : s + chunk] = forward(params, X[s : s + chunk], activation)
    return out
