"""Machine facts and measured limits for the header of `fastdigits bench`."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import time
from typing import Any, Dict, Iterator, List, Optional

import numpy as np

from .. import _config, _info, _runtime

#: Variables that make OpenBLAS pick a slower kernel or blocking on this
#: machine when set (some images export them globally).
OPENBLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
#: Thread-pool settings reported as facts (they change how pools wait).
THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OMP_WAIT_POLICY",
    "GOMP_SPINCOUNT",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
)
UNSET_HINT = "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE fastdigits bench"


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def physical_cores() -> Optional[int]:
    """Physical cores from /proc/cpuinfo (Linux), else None."""
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
    except OSError:
        return None
    pairs = set()
    phys = core = None
    for line in text.splitlines() + [""]:
        if not line.strip():
            if phys is not None or core is not None:
                pairs.add((phys, core))
            phys = core = None
        elif line.startswith("physical id"):
            phys = line.split(":", 1)[1].strip()
        elif line.startswith("core id"):
            core = line.split(":", 1)[1].strip()
    return len(pairs) or None


def blas_info() -> List[Dict[str, Any]]:
    """NumPy's BLAS libraries as threadpoolctl reports them."""
    from threadpoolctl import threadpool_info

    keys = (
        "user_api",
        "internal_api",
        "version",
        "architecture",
        "threading_layer",
        "num_threads",
        "prefix",
    )
    return [
        {k: info.get(k) for k in keys}
        for info in threadpool_info()
        if info.get("user_api") == "blas"
    ]


def blas_summary() -> str:
    """blas_info() on one line: ``openblas 0.3.27 (Zen kernel, 2 threads)``."""
    return ", ".join(
        "%s %s (%s kernel, %d threads)"
        % (i["internal_api"], i["version"], i["architecture"], i["num_threads"])
        for i in blas_info()
    )


def facts(use_torch: bool) -> Dict[str, Any]:
    """CPU, cores, SIMD path, OpenMP, compiler, BLAS, torch, environment."""
    cfg = _info.config_dict()
    env = {name: os.environ.get(name) for name in OPENBLAS_ENV + THREAD_ENV}
    warnings = []
    if any(env[k] is not None for k in OPENBLAS_ENV):
        set_vars = ", ".join("%s=%s" % (k, env[k]) for k in OPENBLAS_ENV if env[k] is not None)
        warnings.append(
            "%s is set: it can make NumPy's OpenBLAS pick a slower kernel; "
            "for a fair run use: %s" % (set_vars, UNSET_HINT)
        )
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        load = None
    ncpu = os.cpu_count() or 1
    if load is not None and load[0] > 0.5 * ncpu:
        warnings.append(
            "the machine is busy (load average %.1f on %d logical cores): "
            "timings will be noisy; rerun when it is idle" % (load[0], ncpu)
        )
    torch_version = None
    if use_torch:
        import torch

        torch_version = torch.__version__
    return {
        "cpu": cfg["cpu"] or "unknown",
        "logical_cores": ncpu,
        "physical_cores": physical_cores(),
        "simd": cfg["simd"],
        "simd_available": cfg["simd_available"],
        "openmp": bool(cfg["openmp"]),
        "omp_max_threads": int(cfg["threads"]),
        "compiler": cfg["compiler"],
        "python": cfg["python"],
        "platform": cfg["platform"],
        "fastdigits": cfg["fastdigits"],
        "numpy": np.__version__,
        "blas": blas_info(),
        "torch": torch_version,
        "env": env,
        "load_average": load,
        "warnings": warnings,
    }


# --------------------------------------------------------------------------
# Thread counts: set for every contender, then checked.


@contextlib.contextmanager
def same_threads(n: int, use_torch: bool) -> Iterator[Dict[str, Dict[str, Any]]]:
    """Run the block with n threads for fastdigits, NumPy's BLAS and torch.

    Yields what each one reports inside the block (requested and observed);
    restores everything on exit.
    """
    import fastdigits
    from threadpoolctl import threadpool_limits

    report: Dict[str, Dict[str, Any]] = {}
    with fastdigits.threads(n), threadpool_limits(limits=n, user_api="blas"):
        report["fastdigits"] = {"requested": n, "observed": fastdigits.get_num_threads()}
        blas = blas_info()
        report["numpy_blas"] = {
            "requested": n,
            "observed": blas[0]["num_threads"] if blas else None,
            "note": None if blas else "no BLAS found by threadpoolctl",
        }
        old_torch = None
        if use_torch:
            import torch

            old_torch = torch.get_num_threads()
            torch.set_num_threads(n)
            report["torch"] = {"requested": n, "observed": torch.get_num_threads()}
        try:
            yield report
        finally:
            if old_torch is not None:
                import torch

                torch.set_num_threads(old_torch)


# --------------------------------------------------------------------------
# Limits: calibrated FMA peak and memory-copy rate.


def _cpu_clock(threads: int):
    """A clock that advances like the wall clock while `threads` threads of
    this process run, but stops while they are descheduled: CPU time / threads.

    The probes use it so a busy machine (other processes on the cores) does
    not make the measured peak look lower than what a core does when it
    runs.  Idle, it matches the wall clock.
    """
    if threads == 1:
        return time.thread_time  # the loop runs on the calling thread
    return lambda: time.process_time() / threads


def _rate(run, target_s: float, reps: int, clock=time.perf_counter) -> float:
    """Best work/second of `run(units) -> work` over reps, units grown until a
    call lasts target_s (by `clock`)."""
    units = 256
    run(units)  # warm-up: starts the thread pool, wakes the SIMD units
    while True:
        t0 = clock()
        run(units)
        el = clock() - t0
        if el >= target_s or units > (1 << 34):
            break
        units *= 2 if el < target_s / 8 else max(2, int(target_s / max(el, 1e-9)) + 1)
    best = 0.0
    for _ in range(reps):
        t0 = clock()
        work = run(units)
        el = clock() - t0
        if el > 0:
            best = max(best, work / el)
    return best


def fma_peak(threads: int, *, target_s: float = 0.02, reps: int = 3) -> Dict[str, Any]:
    """Measured FMA throughput (GFLOP/s) for float32 and float64 on the widest
    SIMD path this machine and build have.

    ``per_core`` is the best one-thread rate; ``peak`` = per_core x threads is
    the ceiling every matrix row is compared with; ``measured_all_threads`` is
    the rate with all threads at once (lower when the clock drops with more
    active cores).  Both are timed on CPU time (see _cpu_clock), so other
    processes on the machine do not lower them.
    """
    from .. import _peak

    isa = _config.available_simd()[-1]
    out: Dict[str, Any] = {}
    for dt in ("float32", "float64"):

        def run_on(nt, dt=dt):
            def run(units):
                with _config.simd(isa), _config.threads(nt):
                    flops, _used, _sink = _peak.fma_loop(dt, units)
                return flops

            return run

        per_core = _rate(run_on(1), target_s, reps, _cpu_clock(1)) / 1e9
        if threads > 1:
            with _config.simd(isa), _config.threads(threads):
                used = _peak.fma_loop(dt, 1)[1]
            all_threads = _rate(run_on(threads), target_s, reps, _cpu_clock(used)) / 1e9
        else:
            used, all_threads = 1, per_core
        out[dt] = {
            "simd": isa,
            "per_core_gflops": per_core,
            "threads": used,
            "peak_gflops": per_core * used,
            "measured_all_threads_gflops": all_threads,
        }
    return out


def copy_buffer_bytes() -> int:
    """Bytes per buffer for `copy_rate`: twice the last-level cache, so the
    copy streams from memory, within [64 MiB, 1 GiB]."""
    caches = _runtime.cache_info()
    llc = max(caches[level]["size"] for level in ("l1d", "l2", "l3"))
    return int(min(max(2 * llc, 64 << 20), 1 << 30))


def copy_rate(threads: int, *, nbytes: Optional[int] = None, reps: int = 3) -> Dict[str, Any]:
    """Memory-copy rate (GB/s, bytes read + bytes written) on `threads`
    threads over a buffer of `nbytes` (default `copy_buffer_bytes()`: larger
    than the last-level cache).

    Timed on the wall clock, best of `reps`: a busy machine can only lower
    it.  CPU time would raise it instead: team mates that wait for a
    descheduled thread sleep, and their sleep is not CPU time (16 threads on
    a loaded 16-core VM read 2785 GB/s that way).
    """
    from .. import _peak

    if nbytes is None:
        nbytes = copy_buffer_bytes()
    src = np.full(nbytes, 7, dtype=np.uint8)
    dst = np.empty_like(src)
    best = 0.0
    with _config.threads(threads):
        _peak.copy_bytes(dst, src)  # first touch of dst: page faults not timed
        for _ in range(reps):
            t0 = time.perf_counter()
            _peak.copy_bytes(dst, src)
            el = time.perf_counter() - t0
            if el > 0:
                best = max(best, 2.0 * nbytes / el)
    return {"gbps": best / 1e9, "threads": threads, "buffer_bytes": nbytes}
