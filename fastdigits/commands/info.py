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
    """count, min, max, mean, std (population), nan count; exact for 8-bit data.

    Vectorised and chunked: no float64 copy of the whole array is made.
    """
    x = arr.reshape(-1)
    n = int(x.size)
    out: Dict[str, Any] = {"count": n, "nan": 0}
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
    # General: per chunk mean and M2, combined (Chan et al.); NaNs counted, skipped.
    cnt, mean, m2 = 0, 0.0, 0.0
    lo: Optional[float] = None
    hi: Optional[float] = None
    nan = 0
    for i in range(0, n, _CHUNK):
        c = x[i : i + _CHUNK].astype(np.float64)
        if x.dtype.kind == "f":
            bad = np.isnan(c)
            k = int(bad.sum())
            if k:
                nan += k
                c = c[~bad]
        if c.size == 0:
            continue
        cmin, cmax = c.min(), c.max()
        lo = cmin if lo is None else min(lo, cmin)
        hi = cmax if hi is None else max(hi, cmax)
        cm = float(c.mean())
        cm2 = float(np.square(c - cm).sum())
        nb = c.size
        tot = cnt + nb
        delta = cm - mean
        mean += delta * nb / tot
        m2 += cm2 + delta * delta * cnt * nb / tot
        cnt = tot
    out["nan"] = nan
    if cnt == 0:
        out.update(min=None, max=None, mean=None, std=None)
        return out
    if x.dtype.kind in "iu":
        lo, hi = int(lo), int(hi)
    else:
        lo, hi = float(lo), float(hi)
    out.update(min=lo, max=hi, mean=mean, std=math.sqrt(m2 / cnt))
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


def run(args) -> int:
    path = resolve_input(args.file)
    header = read_header(path)
    dtype = np.dtype(header.dtype)
    shape = tuple(int(d) for d in header.shape)
    code = type_code(dtype)
    rank = len(shape)
    file_size = os.path.getsize(path)
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
            lines.append("statistics   : none (no values)")
        else:
            lines.append("min / max    : %s / %s" % (_num(st["min"]), _num(st["max"])))
            lines.append("mean / std   : %.4f / %.4f" % (st["mean"], st["std"]))
            if st["nan"]:
                lines.append("NaN values   : {:,}".format(st["nan"]))
        counts = class_counts(arr)
        if counts is not None:
            lines.append("classes      : %d" % len(counts))
            lines.append("class counts : " + "  ".join("%d:%d" % kv for kv in counts.items()))
    return quiet_broken_pipe(print, "\n".join(lines))
