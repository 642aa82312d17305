"""`fastdigits info FILE`: the IDX header and statistics of the data."""

from __future__ import annotations

import math
import os
from typing import Any, Dict, List, Optional

import numpy as np

from ._view import (
    MNIST_NAMES_HELP,
    TYPE_NAMES,
    quiet_broken_pipe,
    read_array,
    read_header,
    resolve_input,
    type_code,
)

NAME = "info"
HELP = "print an IDX file's header (type, dims, sizes) and data statistics"

_CHUNK = 1 << 18  # elements per pass: keeps temporaries in cache


def add_arguments(parser):
    parser.add_argument("file", metavar="FILE", help="IDX file, raw or gzip; " + MNIST_NAMES_HELP)
    parser.add_argument("--no-stats", action="store_true", help="header only: do not read the data")


def data_stats(arr: np.ndarray) -> Dict[str, Any]:
    """count, min, max, mean, std (population), and counts of NaN, +inf and
    -inf values; exact for 8-bit data.

    min / max are over the values that are not NaN (so they may be
    infinite), mean / std over the finite ones (None when there are none).
    Vectorised and chunked: no float64 copy of the whole array is made.
    Never overflows: each chunk is scaled by a power of two below 1 before
    its sums (exact, so values that need no scaling get the same results).
    """
    x = arr.reshape(-1)
    n = int(x.size)
    out: Dict[str, Any] = {"count": n, "nan": 0, "posinf": 0, "neginf": 0}
    if n == 0:
        out.update(min=None, max=None, mean=None, std=None)
        return out
    if x.dtype.itemsize == 1 and x.dtype.kind in "iu":
        # 8-bit: integer sums are exact; squares fit 16 bits (255^2, 128^2).
        sq_t = np.uint16 if x.dtype.kind == "u" else np.int16
        s = int(x.sum(dtype=np.int64))
        sq = 0
        buf = np.empty(min(_CHUNK, n), sq_t)
        for i in range(0, n, _CHUNK):
            c = x[i : i + _CHUNK]
            b = buf[: c.size]
            np.multiply(c, c, out=b, dtype=sq_t)
            sq += int(b.sum(dtype=np.uint64))
        mean = s / n
        var = (n * sq - s * s) / (n * n)
        out.update(min=x.min().item(), max=x.max().item(), mean=mean, std=math.sqrt(max(var, 0.0)))
        return out
    # General: per chunk (scaled) mean and M2, combined (Chan et al.) once
    # the largest scale is known; NaN and inf are counted, left out.
    lo: Optional[float] = None
    hi: Optional[float] = None
    parts = []  # (count, exponent e, mean / 2**e, M2 / 4**e) per chunk
    for i in range(0, n, _CHUNK):
        c = x[i : i + _CHUNK].astype(np.float64)
        if x.dtype.kind == "f":
            nan = np.isnan(c)
            out["nan"] += int(nan.sum())
            out["posinf"] += int(np.count_nonzero(c == np.inf))
            out["neginf"] += int(np.count_nonzero(c == -np.inf))
            c = c[~nan]
            if c.size:
                cmin, cmax = c.min(), c.max()
                lo = cmin if lo is None else min(lo, cmin)
                hi = cmax if hi is None else max(hi, cmax)
            c = c[np.isfinite(c)]
        elif c.size:
            cmin, cmax = c.min(), c.max()
            lo = cmin if lo is None else min(lo, cmin)
            hi = cmax if hi is None else max(hi, cmax)
        if c.size == 0:
            continue
        e = math.frexp(float(max(-c.min(), c.max())))[1]  # |c| < 2**e
        c = np.ldexp(c, -e)
        cm = float(c.mean())
        parts.append((c.size, e, cm, float(np.square(c - cm).sum())))
    if lo is None:
        out.update(min=None, max=None, mean=None, std=None)
        return out
    if x.dtype.kind in "iu":
        out.update(min=int(lo), max=int(hi))
    else:
        out.update(min=float(lo), max=float(hi))
    if not parts:  # nothing finite
        out.update(mean=None, std=None)
        return out
    top = max(p[1] for p in parts)
    cnt, mean, m2 = 0, 0.0, 0.0
    for nb, e, cm, cm2 in parts:
        cm, cm2 = math.ldexp(cm, e - top), math.ldexp(cm2, 2 * (e - top))
        tot = cnt + nb
        delta = cm - mean
        mean += delta * nb / tot
        m2 += cm2 + delta * delta * cnt * nb / tot
        cnt = tot
    # mean and std of values below 2**top in magnitude: both scale back finite
    out.update(mean=math.ldexp(mean, top), std=math.ldexp(math.sqrt(m2 / cnt), top))
    return out


def class_counts(arr: np.ndarray) -> Optional[Dict[int, int]]:
    """value -> count for a 1-D integer array of few distinct values (labels)."""
    if arr.ndim != 1 or arr.dtype.kind not in "iu" or arr.size == 0:
        return None
    lo, hi = int(arr.min()), int(arr.max())
    if hi - lo > 1024:
        return None
    counts = np.bincount((arr.astype(np.int64) - lo), minlength=hi - lo + 1)
    return {lo + i: int(c) for i, c in enumerate(counts) if c}


def _num(v: Any) -> str:
    if isinstance(v, float):
        return "%.6g" % v
    return str(v)


def _stat(v: float) -> str:
    """A mean or std: 4 decimals, or 6 significant digits when that would
    be a wall of digits (1e308) or all zeros (1e-12)."""
    return "%.4f" % v if v == 0 or 1e-4 <= abs(v) < 1e12 else "%.6g" % v


def run(args) -> int:
    path = resolve_input(args.file)
    header = read_header(path)
    dtype = np.dtype(header.dtype)
    shape = tuple(int(d) for d in header.shape)
    code = type_code(dtype)
    rank = len(shape)
    # a pipe's size is what it gave (read whole by read_header): not os.stat's 0
    file_size = header.file_size if header.file_size >= 0 else os.path.getsize(path)
    count = math.prod(shape) if shape else 0
    data_size = count * dtype.itemsize
    magic = (code << 8) | rank
    lines: List[str] = [
        "file         : %s" % path,
        "file size    : {:,} bytes".format(file_size),
        "compressed   : %s" % ("yes (gzip)" if header.compressed else "no"),
        "magic        : 0x%08X" % magic,
        "element type : 0x%02X %s (%s)"
        % (
            code,
            TYPE_NAMES[code],
            "1 byte" if dtype.itemsize == 1 else "%d bytes, big-endian" % dtype.itemsize,
        ),
        "rank         : %d" % rank,
        "dims         : %s" % " x ".join(str(d) for d in shape),
        "data offset  : %d" % header.data_offset,
        "data size    : {:,} bytes ({:,} values)".format(data_size, count),
    ]
    if not args.no_stats:
        arr = read_array(path, header)
        st = data_stats(arr)
        if st["min"] is None:
            lines.append("statistics   : none (no %svalues)" % ("non-NaN " if st["nan"] else ""))
        else:
            lines.append("min / max    : %s / %s" % (_num(st["min"]), _num(st["max"])))
            if st["mean"] is None:
                lines.append("mean / std   : none (no finite values)")
            else:
                lines.append(
                    "mean / std   : %s / %s%s"
                    % (
                        _stat(st["mean"]),
                        _stat(st["std"]),
                        " (of the finite values)" if st["posinf"] or st["neginf"] else "",
                    )
                )
        if st["nan"]:
            lines.append("NaN values   : {:,}".format(st["nan"]))
        if st["posinf"] or st["neginf"]:
            lines.append("inf values   : {:,} +inf, {:,} -inf".format(st["posinf"], st["neginf"]))
        counts = class_counts(arr)
        if counts is not None:
            lines.append("classes      : %d" % len(counts))
            lines.append("class counts : " + "  ".join("%d:%d" % kv for kv in counts.items()))
    return quiet_broken_pipe(print, "\n".join(lines))
