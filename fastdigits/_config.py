"""Thread count and SIMD path used by every kernel call.

Kernels never read globals in C: the Python layer resolves these two values
at call time and passes them down explicitly (see ``kernel_context``).
"""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from typing import Iterator, Optional, Tuple

import numpy as np

from . import _runtime

ISA_NAMES = _runtime.ISA_NAMES
_BEST_ISA = _runtime.best_isa()

_lock = threading.Lock()
_global_threads: Optional[int] = None  # set_num_threads(); None = follow OpenMP

# The most threads a kernel call may use: 4 per logical CPU, and at least 64
# (so oversubscription can still be measured on a small machine).  More never
# speeds a kernel up, each thread costs its own packing scratch, and a typo
# such as 100000 would ask the OS for that many threads at once.
MAX_THREADS: int = max(64, 4 * (os.cpu_count() or 1))

# Thread counts are probed (_runtime.probe_threads) before OpenMP first runs
# that many: libgomp ends the whole process when it cannot create a team
# thread.  _probed: the largest count known to work; _ceiling: what the OS
# gave when a probe fell short (kernels then use at most that).
_probed = 1
_ceiling: Optional[int] = None


class _Overrides(threading.local):
    """Per-thread stacks of ``threads(n)`` / ``simd(name)`` overrides.

    Initialised in every thread on first use, so lookups never miss (a
    missing attribute on a threading.local costs ~1 us: an exception)."""

    def __init__(self) -> None:
        self.threads: list = []
        self.isa: list = []


_local = _Overrides()


@contextlib.contextmanager
def _override(stack: list, value: int) -> Iterator[None]:
    """Push value on one of this thread's override stacks for a with block."""
    stack.append(value)
    try:
        yield
    finally:
        stack.pop()


# True in a child made by os.fork(): GNU libgomp's thread pool does not survive
# fork, so a parallel region there hangs forever once the parent has used one.
# Kernels in a forked child therefore run serially (spawn/forkserver children
# are fresh processes and are not affected).
_forked_child = False


def _after_fork_in_child() -> None:
    global _forked_child
    _forked_child = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _env_isa() -> Tuple[Optional[int], Optional[str]]:
    """The path FASTDIGITS_SIMD asks for (capped at the CPU's best), or
    (None, why) for a value that names none."""
    name = os.environ.get("FASTDIGITS_SIMD", "").strip().lower()
    if not name:
        return _BEST_ISA, None
    if name not in ISA_NAMES:
        return None, "FASTDIGITS_SIMD must be one of %s, got %r" % (", ".join(ISA_NAMES), name)
    return min(ISA_NAMES.index(name), _BEST_ISA), None


# A bad FASTDIGITS_SIMD does not fail the import (the command line reports
# it as a one-line error, env_error()): the first kernel call or get_simd()
# raises the ValueError, until set_simd() chooses a path.
_global_isa, _env_isa_error = _env_isa()


def env_error() -> Optional[str]:
    """Why the environment names no SIMD path (a bad FASTDIGITS_SIMD still
    in force), or None."""
    return _env_isa_error if _global_isa is None else None


def _process_isa() -> int:
    if _global_isa is None:
        raise ValueError(_env_isa_error)
    return _global_isa


# The float32 GEMM's row tiles on the AVX-512 path, for every kernel call
# (fd_ctx.tile): "auto" the CPU's rule, "base" 8 x 32 tiles only, "tall"
# with the 14 x 32 tiles (csrc/gemm/gemm_blocking.h) wherever the product
# reads A and B in place.  Results are the same; tests and benchmarks force
# one with _set_gemm_tile.
GEMM_TILES = ("auto", "base", "tall")
_gemm_tile = 0


def _set_gemm_tile(name: str) -> str:
    """Force the float32 GEMM's row tiles ("auto", "base" or "tall") in every
    thread; returns the previous choice.  For tests and benchmarks."""
    global _gemm_tile
    if name not in GEMM_TILES:
        raise ValueError("tile must be one of %s, got %r" % (", ".join(GEMM_TILES), name))
    before = GEMM_TILES[_gemm_tile]
    _gemm_tile = GEMM_TILES.index(name)
    return before


def _check_threads(n: int) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError("n_threads must be an int, got %s" % type(n).__name__)
    n = int(n)  # (a NumPy integer, e.g. from np.arange or a config array)
    if n < 1:
        raise ValueError("n_threads must be >= 1, got %d" % n)
    if n > MAX_THREADS:
        raise ValueError(
            "n_threads must be <= %d (fastdigits.MAX_THREADS: 4 per CPU, "
            "at least 64), got %d" % (MAX_THREADS, n)
        )
    return n


def _usable(n: int) -> int:
    """n, or fewer when the OS cannot run n threads at once (probed once
    per new high; a RuntimeWarning says so)."""
    global _probed, _ceiling
    if n <= _probed:
        return n
    with _lock:
        if _ceiling is not None:
            return min(n, _ceiling)
        if n > _probed:
            got = _runtime.probe_threads(n)
            if got < n:
                _ceiling = got
                warnings.warn(
                    "fastdigits: the OS could start only %d of %d threads; "
                    "kernels will use at most %d" % (got, n, got),
                    RuntimeWarning,
                    stacklevel=3,
                )
                return got
            _probed = n
    return n


def set_num_threads(n: Optional[int]) -> None:
    """Set the number of threads fastdigits kernels use, process-wide.

    Parameters
    ----------
    n : int or None
        Thread count in ``[1, MAX_THREADS]`` (``fastdigits.MAX_THREADS``: 4
        per logical CPU, at least 64).  An explicit count overrides
        ``OMP_NUM_THREADS`` and threadpoolctl's limits (as in scikit-learn's
        ``n_threads``).  ``None`` restores the default:
        ``omp_get_max_threads()`` at call time, which honours both.

    Raises
    ------
    TypeError
        ``n`` is not an int (or None).
    ValueError
        ``n`` is outside ``[1, MAX_THREADS]``.

    Notes
    -----
    If the OS cannot start that many threads, kernels use as many as it
    could (RuntimeWarning) instead of OpenMP ending the process.  A
    :func:`threads` block in the calling thread takes precedence.

    Examples
    --------
    >>> import fastdigits
    >>> fastdigits.set_num_threads(1)
    >>> fastdigits.get_num_threads()
    1
    >>> fastdigits.set_num_threads(None)  # back to OpenMP's default
    >>> fastdigits.get_num_threads() >= 1
    True
    >>> fastdigits.set_num_threads(0)
    Traceback (most recent call last):
    ...
    ValueError: n_threads must be >= 1, got 0
    """
    global _global_threads
    with _lock:
        _global_threads = None if n is None else _check_threads(n)


def get_num_threads() -> int:
    """Threads the next kernel call from this Python thread will use (at most).

    Always 1 inside an OpenMP parallel region (no nested parallelism) and in a
    child process created by ``fork`` (libgomp cannot run threads there).

    Examples
    --------
    >>> import fastdigits
    >>> fastdigits.get_num_threads() >= 1
    True
    >>> with fastdigits.threads(3):
    ...     print(fastdigits.get_num_threads())
    3
    """
    if _forked_child:
        return 1
    stack = _local.threads
    if stack:
        return _usable(stack[-1])
    if _global_threads is not None:
        return _usable(_global_threads)
    if _runtime.omp_in_parallel():
        return 1
    # OMP_NUM_THREADS may be set for other libraries: capped, not an error
    return _usable(min(MAX_THREADS, max(1, _runtime.omp_max_threads())))


@contextlib.contextmanager
def threads(n: int) -> Iterator[int]:
    """``with fastdigits.threads(n):`` run kernels in this block on n threads.

    The override is local to the calling Python thread, so concurrent users
    do not see each other's settings, and it takes precedence over
    :func:`set_num_threads`.  Blocks nest; leaving one restores the setting
    it replaced.

    Parameters
    ----------
    n : int
        Thread count in ``[1, MAX_THREADS]`` (TypeError for a non-int,
        ValueError out of range, as :func:`set_num_threads`).

    Yields
    ------
    int
        ``n``.

    Examples
    --------
    Kernel results do not depend on the thread count:

    >>> import numpy as np, fastdigits
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal((300, 200), dtype=np.float32)
    >>> b = rng.standard_normal((200, 100), dtype=np.float32)
    >>> with fastdigits.threads(1):
    ...     print(fastdigits.get_num_threads())
    ...     c1 = fastdigits.matmul(a, b)
    1
    >>> with fastdigits.threads(4) as n:
    ...     c4 = fastdigits.matmul(a, b)
    >>> n, np.array_equal(c1, c4)
    (4, True)
    """
    n = _check_threads(n)
    with _override(_local.threads, n):
        yield n


def get_simd() -> str:
    """Name of the SIMD path kernels run: 'amx', 'avx512_bf16', 'avx512', 'avx2' or 'generic'.

    The default is the best path the CPU and build support (or the
    ``FASTDIGITS_SIMD`` environment variable, capped at that); see
    :func:`set_simd` and :func:`simd` to change it.

    Examples
    --------
    >>> import fastdigits
    >>> fastdigits.get_simd() in fastdigits.available_simd()
    True
    >>> with fastdigits.simd("generic"):
    ...     print(fastdigits.get_simd())
    generic
    """
    stack = _local.isa
    return ISA_NAMES[stack[-1] if stack else _process_isa()]


def available_simd() -> tuple:
    """SIMD paths this CPU and build can run, slowest first.

    Returns
    -------
    tuple of str
        A prefix of ``("generic", "avx2", "avx512", "avx512_bf16", "amx")``;
        the last two differ from ``"avx512"`` only for
        ``precision="bfloat16"`` products (vdpbf16ps, AMX tiles; the other
        paths emulate them); ``"amx"`` needs the OS's tile-data permission,
        asked for at import.  The portable
        ``"generic"`` path is always there.

    Examples
    --------
    >>> import fastdigits
    >>> paths = fastdigits.available_simd()
    >>> paths[0]
    'generic'
    >>> set(paths) <= {"generic", "avx2", "avx512", "avx512_bf16", "amx"}
    True
    """
    return ISA_NAMES[: _BEST_ISA + 1]


def _isa_index(name: str) -> int:
    if name not in ISA_NAMES:
        raise ValueError("simd must be one of %s, got %r" % (", ".join(ISA_NAMES), name))
    idx = ISA_NAMES.index(name)
    if idx > _BEST_ISA:
        raise ValueError(
            "SIMD path %r is not supported by this CPU/build "
            "(best: %r)" % (name, ISA_NAMES[_BEST_ISA])
        )
    return idx


def set_simd(name: str) -> None:
    """Select the SIMD path process-wide (default: the best the CPU has).

    Parameters
    ----------
    name : str
        One of :func:`available_simd`.  A :func:`simd` block in the calling
        thread takes precedence.

    Raises
    ------
    ValueError
        An unknown name, or a path this CPU or build cannot run.

    Examples
    --------
    >>> import fastdigits
    >>> before = fastdigits.get_simd()
    >>> fastdigits.set_simd("generic")
    >>> fastdigits.get_simd()
    'generic'
    >>> fastdigits.set_simd(before)  # restore
    >>> fastdigits.set_simd("sse2")
    Traceback (most recent call last):
    ...
    ValueError: simd must be one of generic, avx2, avx512, avx512_bf16, amx, got 'sse2'
    """
    global _global_isa
    _global_isa = _isa_index(name)


@contextlib.contextmanager
def simd(name: str) -> Iterator[str]:
    """``with fastdigits.simd('generic'):`` force a SIMD path in this thread.

    The override is local to the calling Python thread and takes
    precedence over :func:`set_simd`; ``name`` is checked as there
    (ValueError).  Yields ``name``.

    Examples
    --------
    Every path computes the same product, up to float32 rounding:

    >>> import numpy as np, fastdigits
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal((64, 48), dtype=np.float32)
    >>> b = rng.standard_normal((48, 32), dtype=np.float32)
    >>> results = {}
    >>> for name in fastdigits.available_simd():
    ...     with fastdigits.simd(name):
    ...         results[name] = fastdigits.matmul(a, b)
    >>> all(np.allclose(c, a @ b, rtol=1e-4, atol=1e-4) for c in results.values())
    True
    """
    with _override(_local.isa, _isa_index(name)):
        yield name


def kernel_context() -> tuple:
    """(isa index, thread count) for a kernel call made now from this thread."""
    stack = _local.isa
    return (stack[-1] if stack else _process_isa()), get_num_threads()
