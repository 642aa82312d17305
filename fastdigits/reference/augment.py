"""NumPy twin of :mod:`fastdigits.augment` (csrc/augment/): the same Philox
draws (:mod:`fastdigits.reference.rng`), the same parameter maps and the
same float32 operations in the same order, so results agree with the C
kernel to float32 rounding (in practice bit for bit)."""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from .._augspec import (
    AFFINE,
    Spec,
    check_epoch,
    check_images,
    check_indices,
    check_seed,
    check_size,
    ops,
)
from . import rng

__all__ = ["apply", "shuffle_order"]

_F = np.float32


def _words(ids: np.ndarray, epoch: int, c3: Any, seed: int):
    ids = ids.astype(np.uint64)
    c0 = ids & np.uint64(0xFFFFFFFF)
    c1 = ids >> np.uint64(32)
    return rng.philox4x32_10(c0, c1, epoch, c3, seed)


def _sample(src: np.ndarray, sx: np.ndarray, sy: np.ndarray) -> np.ndarray:
    """Bilinear samples of src (n, h, w) at (sx, sy) (n, h, w); 0 outside."""
    n, h, w = src.shape
    inside = (sx > _F(-1)) & (sx < _F(w)) & (sy > _F(-1)) & (sy < _F(h))
    sx = np.where(inside, sx, _F(0))
    sy = np.where(inside, sy, _F(0))
    x0, y0 = np.floor(sx), np.floor(sy)
    fx, fy = sx - x0, sy - y0
    ix = x0.astype(np.int64) + 1
    iy = y0.astype(np.int64) + 1
    pad = np.zeros((n, h + 2, w + 2), _F)
    pad[:, 1:-1, 1:-1] = src
    k = np.arange(n)[:, None, None]
    p00, p01 = pad[k, iy, ix], pad[k, iy, ix + 1]
    p10, p11 = pad[k, iy + 1, ix], pad[k, iy + 1, ix + 1]
    gx, gy = _F(1) - fx, _F(1) - fy
    v0 = p00 * gx + p01 * fx
    v1 = p10 * gx + p11 * fx
    return np.where(inside, v0 * gy + v1 * fy, _F(0)).astype(_F)


def _div(a: float, b: float) -> float:
    """a / b in IEEE double as the C computes it: +-inf or nan where b is 0
    (a singular map: a scale so small that det underflows, or shears with
    tan(shx) tan(shy) = 1), where Python raises ZeroDivisionError."""
    if b != 0.0:
        return a / b
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(a) / np.float64(b))


def _affine(x, p, ids, seed, epoch, op):
    n, h, w = x.shape
    c3 = rng.rng_c3(rng.STREAM_AUGMENT, op << 20)
    r0 = _words(ids, epoch, c3, seed)
    r1 = _words(ids, epoch, c3 + np.uint64(1), seed)
    u = [rng.uniform_f32(r) for r in r0 + r1]
    coef = np.empty((n, 6), _F)
    cx, cy = 0.5 * (w - 1), 0.5 * (h - 1)
    for i in range(n):
        ang = p[0] + (p[1] - p[0]) * float(u[0][i])
        tx = (2.0 * float(u[1][i]) - 1.0) * p[2] * float(w)
        ty = (2.0 * float(u[2][i]) - 1.0) * p[3] * float(h)
        s = p[4] + (p[5] - p[4]) * float(u[3][i])
        shx = p[6] + (p[7] - p[6]) * float(u[4][i])
        shy = p[8] + (p[9] - p[8]) * float(u[5][i])
        a = ang * (math.pi / 180.0)
        ca, sa = math.cos(a), math.sin(a)
        hx, hy = math.tan(shx * (math.pi / 180.0)), math.tan(shy * (math.pi / 180.0))
        m00, m01 = s * (ca + sa * hy), s * (ca * hx + sa)
        m10, m11 = s * (ca * hy - sa), s * (ca - sa * hx)
        det = m00 * m11 - m01 * m10
        i00, i01, i10, i11 = _div(m11, det), _div(-m01, det), _div(-m10, det), _div(m00, det)
        # a near-singular map's coefficients may overflow float32 (inf): as in C,
        # its coordinates are then inf or nan and every sample 0
        with np.errstate(over="ignore", invalid="ignore"):
            coef[i] = (
                i00,
                i01,
                cx - i00 * (cx + tx) - i01 * (cy + ty),
                i10,
                i11,
                cy - i10 * (cx + tx) - i11 * (cy + ty),
            )
    xj = np.arange(w, dtype=_F)[None, None, :]
    yi = np.arange(h, dtype=_F)[None, :, None]
    c = [coef[:, k, None, None] for k in range(6)]
    with np.errstate(over="ignore", invalid="ignore"):
        sx = (c[0] * xj + c[1] * yi) + c[2]
        sy = (c[3] * xj + c[4] * yi) + c[5]
    return _sample(x, sx, sy)


def gaussian_taps(sigma: float, reach: int) -> np.ndarray:
    """float32 weights of the Gaussian truncated at ceil(3 sigma), normalised
    over that radius, then clipped to radius min(ceil(3 sigma), reach) (the
    image's reach along the axis, h - 1 or w - 1: taps beyond it only meet
    the zero padding).  Where 2 sigma**2 is 0 (sigma 0 or below ~1.1e-162)
    the limit sigma -> 0: the centre tap alone."""
    r = math.ceil(3.0 * sigma)
    den = 2.0 * sigma * sigma
    e = [
        math.exp(-float(j) * float(j) / den) if den > 0 else (1.0 if j == 0 else 0.0)
        for j in range(-r, r + 1)
    ]
    total = 0.0
    for v in e:
        total += v
    re = min(r, reach)
    return np.array([v / total for v in e[r - re : r + re + 1]], dtype=_F)


def _smooth(f: np.ndarray, gv: np.ndarray, gh: np.ndarray) -> np.ndarray:
    """Zero-padded separable convolution, tap by tap: columns with gv, then
    rows with gh."""
    n, h, w = f.shape
    r = (gv.size - 1) // 2
    pad = np.zeros((n, h + 2 * r, w), _F)
    pad[:, r : r + h] = f
    acc = np.zeros((n, h, w), _F)
    for k in range(2 * r + 1):
        acc = acc + gv[k] * pad[:, k : k + h]
    r = (gh.size - 1) // 2
    pad = np.zeros((n, h, w + 2 * r), _F)
    pad[:, :, r : r + w] = acc
    out = gh[0] * pad[:, :, 0:w]
    for k in range(1, 2 * r + 1):
        out = out + gh[k] * pad[:, :, k : k + w]
    return out


def _elastic(x, p, ids, seed, epoch, op):
    n, h, w = x.shape
    hw = h * w
    nb = (2 * hw + 3) // 4
    c3 = rng.rng_c3(rng.STREAM_AUGMENT, op << 20) + np.arange(nb, dtype=np.uint64)
    words = _words(ids[:, None], epoch, c3[None, :], seed)
    u = np.stack(words, axis=-1).reshape(n, 4 * nb)[:, : 2 * hw]
    u = (u >> np.uint32(8)).astype(_F) * _F(1.0 / 8388608.0) - _F(1)
    gv, gh = gaussian_taps(p[1], h - 1), gaussian_taps(p[1], w - 1)
    fx = _smooth(u[:, :hw].reshape(n, h, w), gv, gh)
    fy = _smooth(u[:, hw:].reshape(n, h, w), gv, gh)
    alpha = _F(p[0])
    xj = np.arange(w, dtype=_F)[None, None, :]
    yi = np.arange(h, dtype=_F)[None, :, None]
    return _sample(x, xj + alpha * fx, yi + alpha * fy)


def _augment(x: np.ndarray, rows, ids: np.ndarray, seed: int, epoch: int) -> np.ndarray:
    x = x.astype(_F)
    for op, (kind, p) in enumerate(rows):
        if x.size == 0:  # no image, or empty ones: nothing to resample
            break
        fn = _affine if kind == AFFINE else _elastic
        x = fn(x, p, ids, seed, epoch, op)
    return x


def apply(
    images: Any,
    spec: Spec,
    seed: int,
    *,
    epoch: int = 0,
    indices: Any = None,
    out: Optional[np.ndarray] = None,
) -> np.ndarray:
    """NumPy twin of :func:`fastdigits.augment.apply` (same arguments)."""
    a = check_images(images, (np.uint8, np.float32))
    rows = ops(spec)
    check_size(rows, a.shape[1], a.shape[2])
    seed = check_seed(seed)
    epoch = check_epoch(epoch)
    idx = check_indices(indices, a.shape[0])
    if idx is None:
        idx = np.arange(a.shape[0], dtype=np.int64)
    res = _augment(a, rows, idx, seed, epoch)
    if out is None:
        return res
    out[...] = res
    return out


def shuffle_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The permutation of range(n) for (seed, epoch): indices sorted by their
    64-bit Philox keys (stream SHUFFLE), ties by index."""
    i = np.arange(n, dtype=np.int64)
    w = _words(i, epoch, rng.rng_c3(rng.STREAM_SHUFFLE, 0), seed)
    keys = (w[0].astype(np.uint64) << np.uint64(32)) | w[1].astype(np.uint64)
    return np.argsort(keys, kind="stable").astype(np.int64)
