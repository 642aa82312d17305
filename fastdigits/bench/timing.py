"""Fair timing of several contenders on one case.

Rules (see the module docstring of :mod:`fastdigits.bench`): every contender
is set up outside the clock, warmed up, then timed in rounds; each round runs
every contender once, in an order rotated from round to round, with a pause
between contenders so thread pools that spin after a call (OpenBLAS, libgomp)
do not steal the cores from the next one.  Each sample starts with one
untimed wake-up (see ``_sample``).  A sample is ``calls`` calls
averaged, with ``calls`` chosen per contender so a sample lasts about
``min_sample_s``.  We report the median, min and max of the samples.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence


@dataclass
class Bench:
    """One contender ready to run: ``fn()`` is timed, ``reset()`` (untimed)
    runs before every sample when a call consumes its state (e.g. a fresh
    model for a training epoch)."""

    fn: Callable[[], Any]
    reset: Optional[Callable[[], None]] = None
    repeatable: bool = True  # False: one call per sample (calls consume state)


@dataclass
class Timing:
    """Per-call seconds of one contender."""

    samples: List[float] = field(default_factory=list)
    calls: int = 1
    first_result: Any = None

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def max(self) -> float:
        return max(self.samples)


# Untimed calls that start every sample (see _sample).
WAKE_S = 0.005


def _sample(bench: Bench, calls: int, clock: Callable[[], float] = time.perf_counter) -> float:
    if bench.reset is not None:
        bench.reset()
    fn = bench.fn
    if bench.repeatable:
        # Untimed calls first: after the pause between contenders, thread
        # pools (libgomp, PyTorch's, OpenBLAS's) have gone to sleep, and on a
        # virtual machine waking them (and the idle vCPU under them) costs
        # milliseconds, sometimes over two calls - a cost a training loop
        # calling back to back never pays.  Every contender gets the same:
        # one call, then more until WAKE_S has passed (at most ``calls``).
        t0, woke = time.perf_counter(), 0
        while True:
            fn()
            woke += 1
            if woke >= calls or time.perf_counter() - t0 >= WAKE_S:
                break
    t0 = clock()
    for _ in range(calls):
        fn()
    return (clock() - t0) / calls


def time_contenders(
    benches: Dict[str, Bench],
    *,
    rounds: int,
    min_sample_s: float,
    pause_s: float,
    warmup: int = 1,
    pause_after: Optional[Dict[str, float]] = None,
    wait_idle_s: float = 0.0,
    on_error: Optional[Callable[[str, BaseException], None]] = None,
    clock: Callable[[], float] = time.perf_counter,
) -> Dict[str, Timing]:
    """Time each contender of ``benches`` (name -> Bench) as described above.

    ``pause_after`` overrides the pause after given contenders (OpenBLAS
    spins ~0.1 s after a call, libgomp and PyTorch's pool only a few ms).
    ``wait_idle_s`` > 0: before each sample also wait up to that long for
    the machine's run queue to drain (see wait_for_idle).

    ``clock`` times the samples (``time.process_time``: process CPU time, for
    one thread on a machine other jobs keep busy).

    A contender whose call raises is dropped (``on_error(name, exc)`` is told)
    and the others carry on.  Returns name -> Timing for those that ran.
    """
    names: List[str] = list(benches)
    out: Dict[str, Timing] = {}
    # Warm-up (also keeps the first result for the parity check) and choice
    # of calls per sample: a repeatable call is warmed up until `warmup` calls
    # and min_sample_s have passed, and the fastest call sets the count (a
    # single call inflated by a busy machine would give too few).
    pauses = dict.fromkeys(names, pause_s)
    pauses.update(pause_after or {})
    for name in names:
        bench = benches[name]
        try:
            result, single, spent, done = None, float("inf"), 0.0, 0
            while True:
                if bench.reset is not None:
                    bench.reset()
                t0 = time.perf_counter()
                r = bench.fn()
                el = time.perf_counter() - t0
                if done == 0:
                    result = r
                single, spent, done = min(single, el), spent + el, done + 1
                if not bench.repeatable:  # costly, state-consuming calls: one warm-up
                    break
                if done >= max(1, warmup) and (spent >= min_sample_s or done >= 1000):
                    break
        except Exception as exc:  # a broken contender must not stop the run
            if on_error is not None:
                on_error(name, exc)
            continue
        calls = 1
        if bench.repeatable and 0 < single < min_sample_s:
            calls = max(1, min(100000, int(min_sample_s / single)))
        out[name] = Timing(calls=calls, first_result=result)
        # the same pause as between samples: a contender's spinning pool
        # (OpenBLAS: ~0.1 s) must not slow the next one's warm-up, nor the
        # first sample of round 0
        _pause(pauses[name])
    live = [n for n in names if n in out]
    for r in range(rounds):
        k = len(live)
        order = [live[(i + r) % k] for i in range(k)] if k else []
        if r % 2 == 1:
            order.reverse()
        for name in order:
            if name not in out:
                continue
            if wait_idle_s > 0:
                wait_for_idle(wait_idle_s)
            try:
                out[name].samples.append(_sample(benches[name], out[name].calls, clock))
            except Exception as exc:
                if on_error is not None:
                    on_error(name, exc)
                del out[name]
            _pause(pauses[name])
    return {n: t for n, t in out.items() if t.samples}


def _pause(seconds: float) -> None:
    if seconds > 0:
        time.sleep(seconds)


def runnable_tasks() -> Optional[int]:
    """Tasks runnable on the machine now (Linux /proc/loadavg), or None."""
    try:
        with open("/proc/loadavg") as f:
            return int(f.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return None


def wait_for_idle(limit_s: float) -> bool:
    """Sleep until this process is the only runnable task, or limit_s pass.
    True when the machine was idle (or the count is unknown)."""
    end = time.monotonic() + limit_s
    while True:
        n = runnable_tasks()
        if n is None or n <= 1:
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(0.02)


def median_min_max(values: Sequence[float]) -> tuple:
    return statistics.median(values), min(values), max(values)
