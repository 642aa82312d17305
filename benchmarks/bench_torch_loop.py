"""A PyTorch training loop (784-256-10, ReLU, CrossEntropyLoss, SGD momentum
0.9, batch 64) with ``fastdigits.torch.Linear`` layers against the same loop
with ``nn.Linear`` + ``nn.ReLU``: time per step, eager and under
``torch.compile`` (inductor), both on the same thread count
(``torch.set_num_threads`` and ``fastdigits.set_num_threads``, read back and
printed).

    python benchmarks/bench_torch_loop.py --rounds 9 --threads 2
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
from fastdigits.bench.timing import time_contenders


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=9)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--min-sample", type=float, default=0.1, help="seconds per sample")
    p.add_argument("--pause", type=float, default=0.05, help="seconds between contenders")
    p.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        help="wait up to S seconds for an idle run queue before each sample",
    )
    p.add_argument("--no-compile", action="store_true", help="eager rows only")
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
        for case in C._torch_loop_cases(prof, np.dtype(np.float32), data):
            if args.no_compile and case.params["mode"] == "compiled":
                continue
            benches = {who: make() for who, make in case.contenders.items() if make}
            t = time_contenders(
                benches,
                rounds=args.rounds,
                min_sample_s=args.min_sample,
                pause_s=args.pause,
                warmup=3,
                wait_idle_s=args.wait_idle,
            )
            ours, theirs = t["fastdigits"], t["torch"]
            print(
                "%-24s fastdigits.torch %.3f ms [%.3f-%.3f]   nn.Linear %.3f ms [%.3f-%.3f]"
                "   speed-up %.2fx (median), %.2fx (min)"
                % (
                    case.name,
                    1e3 * ours.median,
                    1e3 * ours.min,
                    1e3 * ours.max,
                    1e3 * theirs.median,
                    1e3 * theirs.min,
                    1e3 * theirs.max,
                    theirs.median / ours.median,
                    theirs.min / ours.min,
                )
            )
            sys.stdout.flush()
    finally:
        data.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
