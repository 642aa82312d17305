"""A PyTorch training loop (784-256-10, ReLU, CrossEntropyLoss, SGD momentum
0.9, batch 64) with ``fastdigits.torch.Linear`` layers and with the fused
``fastdigits.torch.MLP`` against the same loop with ``nn.Linear`` +
``nn.ReLU``, all three in one interleaved run: time per step, eager and under
``torch.compile`` (inductor), both on the same thread count
(``torch.set_num_threads`` and ``fastdigits.set_num_threads``, read back and
printed).

    python benchmarks/bench_torch_loop.py --rounds 9 --threads 2
    python benchmarks/bench_torch_loop.py --no-compile --colmajor --bf16
    python benchmarks/bench_torch_loop.py --no-compile --colmajor --native
    python benchmarks/bench_torch_loop.py --batch 256 --no-compile

The steps are the ``torch_loop`` cases of ``fastdigits bench`` (see
fastdigits/bench/cases.py; ``pytest benchmarks/bench_cases.py -k torch_loop``
runs them under pytest-benchmark), timed by fastdigits.bench.timing: warm-up
outside the clock, then rounds in which every contender runs once, in an
order rotated and reversed from round to round, with a pause between
contenders; a sample is as many steps as fill ``--min-sample`` seconds;
medians with min-max.  On a busy machine ``OMP_WAIT_POLICY=passive`` and
``--wait-idle S`` steady the figures (both contenders run on OpenMP).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

import numpy as np
import torch

import fastdigits
from fastdigits.bench import cases as C
from fastdigits.bench.timing import Bench, time_contenders
from fastdigits.commands.bench import add_wait_idle_option


# The optional rows: flag -> (MLP row name, Linear-layers row name or None,
# the keywords of both, what --help says).
_VARIANTS = {
    "colmajor": (
        "MLP F",
        "Linear F",
        {"weight_order": "F"},
        'weight_order="F" (column-major weights), for the MLP and the Linear layers',
    ),
    "bf16": (
        "MLP bf16",
        None,
        {"precision": "bfloat16"},
        'precision="bfloat16" for the MLP (and nn.Linear under torch.autocast(bfloat16))',
    ),
}


def _step_maker(data, B: int, compiled: bool, new_model, bf16: bool = False):
    """A maker for the loop's step on new_model() (seeded as the cases' models),
    forward and loss under torch.autocast(bfloat16) when bf16."""

    def make():
        X, y = data.mnist_rows(max(B, min(60000 // B, 16) * B), np.dtype(np.float32))
        X, y = torch.from_numpy(X.reshape(-1, B, 784)), torch.from_numpy(y.reshape(-1, B))
        torch.manual_seed(0)
        model = new_model()
        opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
        run_model = torch.compile(model) if compiled else model
        lossf = torch.nn.CrossEntropyLoss()
        box = {"i": 0}

        def step():
            i = box["i"] = (box["i"] + 1) % len(X)
            return C.torch_train_step(run_model, opt, lossf, X[i], y[i], bf16=bf16)

        return Bench(step)

    return make


def _mlp_variant(prof, data, B: int, compiled: bool, **kw):
    """A maker for the same step with MLP(..., **kw)."""

    def new_model():
        from fastdigits.torch import MLP

        return MLP((784, prof.hidden, 10), **kw)

    return _step_maker(data, B, compiled, new_model)


def _linear_variant(prof, data, B: int, compiled: bool, **kw):
    """A maker for the same step with fastdigits.torch.Linear(..., **kw) layers."""
    sizes = (784, prof.hidden, 10)
    return _step_maker(data, B, compiled, lambda: C.fd_torch_linears(sizes, **kw))


def _torch_autocast(prof, data, B: int, compiled: bool):
    """A maker for the nn.Linear step with forward and loss under
    torch.autocast(bfloat16): PyTorch's own mixed precision, the fair
    contender of MLP(precision="bfloat16")."""
    return _step_maker(data, B, compiled, lambda: C.torch_mlp((784, prof.hidden, 10)), bf16=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=9)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--min-sample", type=float, default=0.1, help="seconds per sample")
    p.add_argument("--pause", type=float, default=0.05, help="seconds between contenders")
    add_wait_idle_option(p)
    p.add_argument("--no-compile", action="store_true", help="eager rows only")
    p.add_argument(
        "--native",
        action="store_true",
        help='also weight_order="F" rows through fastdigits.torch.native_ops (eager)',
    )
    for flag, (_, _, _, what) in _VARIANTS.items():
        p.add_argument("--" + flag, action="store_true", help="also rows with %s" % what)
    args = p.parse_args(argv)

    fastdigits.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    print(
        "threads: fastdigits %d, torch %d; torch %s; simd %s"
        % (
            fastdigits.get_num_threads(),
            torch.get_num_threads(),
            torch.__version__,
            fastdigits.get_simd(),
        )
    )
    prof = dataclasses.replace(C.PROFILES["full"], epoch_batches=(args.batch,), hidden=args.hidden)
    data = C.Data(prof)
    try:
        cases = C._torch_loop_cases(prof, np.dtype(np.float32), data)
        by_name = {c.name: c for c in cases}
        for mode in ("eager",) if args.no_compile else ("eager", "compiled"):
            name = "torch_loop/%s/b%d" % (mode, args.batch)
            linear, mlp = by_name[name], by_name[name.replace("/" + mode, "/mlp_" + mode)]
            native = {
                "Linear F native": by_name.get(name.replace("/" + mode, "/%s_native" % mode)),
                "MLP F native": by_name.get(name.replace("/" + mode, "/mlp_%s_native" % mode)),
            }
            # all three in one interleaved run: Linear layers, the fused MLP, nn.Linear
            makers = {
                "Linear": linear.contenders["fastdigits"],
                "MLP": mlp.contenders["fastdigits"],
                "nn.Linear": linear.contenders["torch"],
            }
            compiled = mode == "compiled"
            for flag, (mlp_row, linear_row, kw, _) in _VARIANTS.items():
                if getattr(args, flag):
                    makers[mlp_row] = _mlp_variant(prof, data, args.batch, compiled, **kw)
                    if linear_row:
                        makers[linear_row] = _linear_variant(prof, data, args.batch, compiled, **kw)
            for row, case in native.items():
                if args.native and case is not None:
                    makers[row] = case.contenders["fastdigits"]
            if args.bf16:
                makers["nn.Linear bf16 autocast"] = _torch_autocast(
                    prof, data, args.batch, compiled
                )
            benches = {who: make() for who, make in makers.items()}
            t = time_contenders(
                benches,
                rounds=args.rounds,
                min_sample_s=args.min_sample,
                pause_s=args.pause,
                warmup=3,
                wait_idle_s=args.wait_idle,
            )
            theirs = t["nn.Linear"]
            print(
                "%s (784-%d-10, batch %d), ms per step: median [min-max]"
                % (mode, args.hidden, args.batch)
            )
            for who, tm in t.items():
                print(
                    "  %-26s %.3f [%.3f-%.3f]   vs nn.Linear %.2fx (median), %.2fx (min)"
                    % (
                        "fastdigits.torch." + who if who in ("Linear", "MLP") else who,
                        1e3 * tm.median,
                        1e3 * tm.min,
                        1e3 * tm.max,
                        theirs.median / tm.median,
                        theirs.min / tm.min,
                    )
                )
            sys.stdout.flush()
    finally:
        data.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
