"""bfloat16 vs float32 dense layers and MLP epoch: one interleaved run.

    python benchmarks/bench_bf16.py [--threads 2] [--rounds 15]

Contenders, each timed round by round in rotated order (the minimum and
median of `--rounds` samples are printed; on a shared machine the minimum
is the steadier figure): fastdigits precision="bfloat16", fastdigits
float32, PyTorch bf16 (``F.linear`` on bfloat16 tensors; backward: autograd
on them).  Shapes: dense_forward relu 784->256 at batch 64 and 1024,
dense_backward at 1024, and a training epoch of MLP 784-256-10 at batch 64
on 10000 MNIST rows (PyTorch: the same model and SGD under
``torch.autocast("cpu", dtype=torch.bfloat16)``); then dense_forward at
batch 64 and 1024 with W pre-packed (``fastdigits.pack_weights`` outside
the clock, as PyTorch's bf16 tensors are made outside it; the bf16 call
that packs W per call is timed alongside and printed below the table).  `--cpu-time` times one
thread by process CPU time (immune to other processes' load; needs
--threads 1).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import fastdigits
from fastdigits._info import bf16_path
from fastdigits.bench.cases import torch_epoch, torch_mlp
from fastdigits.nn import DEFAULT_LR
from fastdigits.bench.timing import Bench, time_contenders

try:
    import torch
except ImportError:
    torch = None

from bench_dense import _bf16_contenders  # benchmarks/ is the script's folder


def layer_fns(kind, m, k=784, n=256):
    """bench_dense's bf16 contenders (fastdigits bf16, fastdigits fp32 in the
    "numpy" slot, torch bf16) for one layer shape, and its flop count."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((m, k), dtype=np.float32)
    W = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    b = rng.standard_normal(n, dtype=np.float32)
    y = np.maximum(x @ W + b, 0)
    dy = rng.standard_normal((m, n), dtype=np.float32)
    out, dx, dW, db = (
        np.empty((m, n), np.float32),
        np.empty_like(x),
        np.empty_like(W),
        np.empty_like(b),
    )
    prepacked = kind == "forward_prepacked"
    fns = _bf16_contenders("forward" if prepacked else kind, x, W, b, dy, y, out, dx, dW, db)
    names = {"fastdigits": "fd_bf16", "numpy": "fd_fp32", "torch": "torch_bf16"}
    fns = {names[k]: f for k, f in fns.items()}
    if prepacked:
        # W packed outside the clock, as torch's bf16 tensors are made outside
        # it; the bf16 call packing W per call is timed alongside
        Wp = fastdigits.pack_weights(W)
        fns["fd_bf16_per_call"] = fns["fd_bf16"]
        fns["fd_bf16"] = lambda: fastdigits.dense_forward(
            x, Wp, b, "relu", out=out, precision="bfloat16"
        )
    return fns, (4 if kind == "backward" else 2) * m * k * n


def torch_autocast_epoch(X, y, batch=64):
    """The same epoch in PyTorch (fastdigits.bench.cases' torch_epoch):
    nn.Linear 784-256-10 with ReLU, SGD with fastdigits' defaults (lr 0.05,
    momentum 0.9), a fresh permutation per epoch, forward and loss under
    torch.autocast("cpu", dtype=torch.bfloat16)."""
    torch.manual_seed(0)
    model = torch_mlp((784, 256, 10))
    opt = torch.optim.SGD(model.parameters(), lr=DEFAULT_LR["sgd"], momentum=0.9)
    lossf = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    return lambda: torch_epoch(model, opt, lossf, Xt, yt, torch.randperm(len(Xt)), batch, bf16=True)


def epoch_fns(rows=10000):
    X, y = fastdigits.load_mnist("train", normalize=True)
    X, y = X.reshape(len(X), -1)[:rows], y[:rows]
    models = {
        "fd_bf16": fastdigits.MLP((784, 256, 10), seed=0, precision="bfloat16"),
        "fd_fp32": fastdigits.MLP((784, 256, 10), seed=0),
    }
    fns = {k: (lambda m=m: m.fit(X, y, epochs=1, batch_size=64)) for k, m in models.items()}
    if torch is not None:
        fns["torch_bf16"] = torch_autocast_epoch(X, y)
    return fns, 6 * rows * (784 * 256 + 256 * 10)


def run(fns, rounds, clock, min_s=0.05):
    """name -> per-call seconds of every sample (fastdigits.bench.timing)."""
    res = time_contenders(
        {k: Bench(f) for k, f in fns.items()},
        rounds=rounds,
        min_sample_s=min_s,
        pause_s=0.0,
        wait_idle_s=0.5,
        clock=clock,
    )
    return {k: t.samples for k, t in res.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--cpu-time", action="store_true")
    args = ap.parse_args()
    clock = time.perf_counter
    if args.cpu_time:
        assert args.threads == 1, "--cpu-time needs --threads 1"
        clock = time.process_time
    if torch is not None:
        torch.set_num_threads(args.threads)
    print(
        "fastdigits simd=%s, bf16 path: %s; %d thread(s); clock: %s; torch %s"
        % (
            fastdigits.get_simd(),
            bf16_path(fastdigits.get_simd()),
            args.threads,
            "process CPU time" if args.cpu_time else "wall",
            torch.__version__ if torch else "-",
        )
    )
    print(
        "| case | fd bf16 min (med) | fd fp32 min (med) | torch bf16 min (med) "
        "| bf16/fp32 (min, med) | bf16 vs torch (min, med) |"
    )
    print("|---|---|---|---|---|---|")
    cases = [
        ("dense_forward relu 784->256 b64", lambda: layer_fns("forward", 64)),
        ("dense_forward relu 784->256 b1024", lambda: layer_fns("forward", 1024)),
        ("dense_backward relu 784->256 b1024", lambda: layer_fns("backward", 1024)),
        ("MLP epoch 784-256-10 b64 (10k rows)", epoch_fns),
        (
            "dense_forward relu 784->256 b64, W pre-packed",
            lambda: layer_fns("forward_prepacked", 64),
        ),
        (
            "dense_forward relu 784->256 b1024, W pre-packed",
            lambda: layer_fns("forward_prepacked", 1024),
        ),
    ]
    per_call = []
    with fastdigits.threads(args.threads):
        for label, make in cases:
            fns, flops = make()
            rounds = args.rounds if "epoch" not in label else max(3, args.rounds // 3)
            res = run(fns, rounds, clock)
            mn = {k: min(v) for k, v in res.items()}
            md = {k: statistics.median(v) for k, v in res.items()}

            def cell(k, mn=mn, md=md, flops=flops):
                if k not in mn:
                    return "-"
                return "%.3g ms (%.3g) %.0f GF/s" % (mn[k] * 1e3, md[k] * 1e3, flops / mn[k] / 1e9)

            def ratio(a, b, mn=mn, md=md):
                if b not in mn:
                    return "-"
                return "%.2fx, %.2fx" % (mn[b] / mn[a], md[b] / md[a])

            print(
                "| %s | %s | %s | %s | %s | %s |"
                % (
                    label,
                    cell("fd_bf16"),
                    cell("fd_fp32"),
                    cell("torch_bf16"),
                    ratio("fd_bf16", "fd_fp32"),
                    ratio("fd_bf16", "torch_bf16"),
                ),
                flush=True,
            )
            if "fd_bf16_per_call" in mn:
                per_call.append(
                    "%s: fd bf16 packing W per call %.3g ms (%.3g), pre-packed %s faster"
                    % (
                        label,
                        mn["fd_bf16_per_call"] * 1e3,
                        md["fd_bf16_per_call"] * 1e3,
                        ratio("fd_bf16", "fd_bf16_per_call"),
                    )
                )
    for line in per_call:
        print("\n" + line if line is per_call[0] else line)


if __name__ == "__main__":
    main()
