"""fastdigits.sklearn.MLPClassifier vs scikit-learn's MLPClassifier on MNIST:
784-256-10, adam, batch 200, 5 epochs (max_iter=5), the same parameters and
random_state, both on the same number of threads (default 2: fastdigits'
kernels, and OpenBLAS under scikit-learn through threadpoolctl).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_sklearn.py --rounds 3
    ... bench_sklearn.py --precision bfloat16   # fastdigits' bfloat16 products
    pytest benchmarks/bench_sklearn.py --benchmark-only

Timing follows fastdigits.bench.timing (interleaved rounds in rotating order,
a pause after each contender, one untimed warm-up fit each, medians); the
fit's input validation is inside the clock for both.  On a busy machine
(more runnable tasks than cores) libgomp's spin-waiting makes 2-thread fits
erratic: ``OMP_WAIT_POLICY=passive`` and ``--quiet-wait S`` help.  Data: the bundled
MNIST from ``fastdigits.load_mnist(normalize=True, flatten=True)`` (float32),
test accuracy on the 10,000 test images.  Accuracy of each random_state in
``--seeds`` comes from one extra fit per seed and contender (not timed).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

import fastdigits
from fastdigits.bench.machine import blas_summary
from fastdigits.bench.timing import Bench, time_contenders
from fastdigits.commands.bench import add_wait_idle_option

HIDDEN, BATCH, EPOCHS = 256, 200, 5
PAUSE = 0.3  # OpenBLAS threads spin ~0.1 s after a call


def mnist():
    Xtr, ytr = fastdigits.load_mnist("train", normalize=True, flatten=True)
    Xte, yte = fastdigits.load_mnist("test", normalize=True, flatten=True)
    return Xtr, ytr.astype(np.int64), Xte, yte.astype(np.int64)


def estimators():
    from sklearn.neural_network import MLPClassifier as Sk

    from fastdigits.sklearn import MLPClassifier as Fd

    return {"fastdigits": Fd, "sklearn": Sk}


def make_bench(cls, X, y, seed=0, epochs=EPOCHS, **extra) -> Bench:
    box = {}

    def reset():
        box["m"] = cls(
            hidden_layer_sizes=(HIDDEN,),
            solver="adam",
            batch_size=BATCH,
            max_iter=epochs,
            random_state=seed,
            **extra,
        )

    def run():
        with warnings.catch_warnings():  # 5 epochs end with a ConvergenceWarning
            warnings.simplefilter("ignore")
            return box["m"].fit(X, y)

    return Bench(run, reset=reset, repeatable=False)


# ------------------------------------------------------------- pytest-benchmark
_DATA = None


def _data():
    global _DATA
    if _DATA is None:
        _DATA = mnist()
    return _DATA


def _pedantic(benchmark, name):
    from threadpoolctl import threadpool_limits

    threads = int(os.environ.get("FASTDIGITS_BENCH_THREADS", "2"))
    Xtr, ytr, _, _ = _data()
    b = make_bench(estimators()[name], Xtr, ytr)

    def setup():
        time.sleep(PAUSE)
        b.reset()

    with fastdigits.threads(threads), threadpool_limits(limits=threads, user_api="blas"):
        benchmark.pedantic(b.fn, setup=setup, rounds=2, iterations=1, warmup_rounds=0)


def test_fit_fastdigits(benchmark):
    _pedantic(benchmark, "fastdigits")


def test_fit_sklearn(benchmark):
    _pedantic(benchmark, "sklearn")


# --------------------------------------------------------------------- script
def main(argv=None) -> int:
    from threadpoolctl import threadpool_limits

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, default=EPOCHS, help="max_iter of each fit")
    add_wait_idle_option(p, "--quiet-wait", before="each timed fit")
    p.add_argument(
        "--precision",
        choices=("float32", "bfloat16"),
        default="float32",
        help="fastdigits' precision= (bfloat16: bfloat16 matrix products, float32 model)",
    )
    p.add_argument(
        "--seeds",
        default="0",
        help="comma-separated random_state values "
        "whose test accuracy is reported (the first one is timed)",
    )
    args = p.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s]
    Xtr, ytr, Xte, yte = mnist()
    ests = estimators()
    extra = {"fastdigits": {"precision": args.precision}, "sklearn": {}}
    with fastdigits.threads(args.threads), threadpool_limits(limits=args.threads, user_api="blas"):
        import sklearn

        print(
            "fastdigits %s (simd %s, %d threads); scikit-learn %s on %s; "
            "784-%d-10 adam, batch %d, %d epochs, %s; fastdigits precision=%s"
            % (
                fastdigits.__version__,
                fastdigits.get_simd(),
                fastdigits.get_num_threads(),
                sklearn.__version__,
                blas_summary(),
                HIDDEN,
                BATCH,
                args.epochs,
                Xtr.dtype,
                args.precision,
            )
        )
        benches = {
            n: make_bench(c, Xtr, ytr, seeds[0], args.epochs, **extra[n]) for n, c in ests.items()
        }
        t = time_contenders(
            benches,
            rounds=args.rounds,
            min_sample_s=0.0,
            pause_s=PAUSE,
            warmup=1,
            wait_idle_s=args.quiet_wait,
        )
        acc = {n: [] for n in ests}
        for n in ests:
            acc[n].append(t[n].first_result.score(Xte, yte))
        for seed in seeds[1:]:
            for n, c in ests.items():
                b = make_bench(c, Xtr, ytr, seed, args.epochs, **extra[n])
                b.reset()
                acc[n].append(b.fn().score(Xte, yte))
    for n in ests:
        s = t[n].samples
        print(
            "%-10s fit median %.3f s (min %.3f, max %.3f, %d rounds: %s)  test accuracy %s"
            % (
                n,
                t[n].median,
                t[n].min,
                t[n].max,
                len(s),
                " ".join("%.3f" % v for v in s),
                " ".join("%.2f%%" % (100 * a) for a in acc[n]),
            )
        )
    print(
        "speed-up: %.2fx; accuracy difference (fastdigits - sklearn, mean over seeds): "
        "%+.2f points"
        % (
            t["sklearn"].median / t["fastdigits"].median,
            100 * (np.mean(acc["fastdigits"]) - np.mean(acc["sklearn"])),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
