"""Concurrent use: Python threads, thread pools, OpenMP regions and fork.

Every kernel is called from 8 Python threads at once on shared read-only
inputs (private outputs) and must give exactly the single-threaded results;
calls from inside someone else's thread pool or OpenMP region must not
multiply threads; a child made by fork() after the parent used OpenMP must
still run every kernel (GNU libgomp's pool does not survive fork).
"""

import os
import random
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import fastdigits
import _omp_helper
import _specs

HERE = os.path.dirname(os.path.abspath(__file__))
# Children import the same fastdigits this process imported.
PKG_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(fastdigits.__file__)))
CASES = _specs.cases()
N_THREADS = 8
# A serial build (FASTDIGITS_NO_OPENMP) starts no thread of its own.
OPENMP = fastdigits._runtime.openmp_enabled()


def _shared(spec, dtype, tmp_path, seed=0, scale=None):
    """Inputs at spec.par_scale by default: big enough for an OpenMP team."""
    rng = np.random.default_rng(seed)
    if scale is None:
        scale = max(1, spec.par_scale)
    return _specs.freeze(spec.make(dtype, rng, scale, tmp_path))


def _os_threads():
    return len(os.listdir("/proc/self/task"))


def _settled_os_threads():
    """Thread count once threads of earlier tests have finished exiting."""
    last = _os_threads()
    for _ in range(100):
        time.sleep(0.01)
        now = _os_threads()
        if now == last:
            return now
        last = now
    return last


@pytest.mark.parametrize("case", CASES, ids=_specs.case_id)
def test_parallel_inputs_really_start_an_openmp_team(case, tmp_path):
    """The inputs the concurrency tests use make the kernel run on 2 OpenMP
    threads (so races in the parallel code would show): a fresh Python thread
    has no OpenMP pool yet, so a team of 2 adds exactly one OS thread (none
    in a serial build)."""
    spec, dtype = case
    shared = _shared(spec, dtype, tmp_path)
    want = 1 if spec.par_scale and OPENMP else 0
    seen = []

    def work():
        before = _settled_os_threads()
        with fastdigits.threads(2):
            spec.call(spec.fast(), shared, tmp_path)
        seen.append(_os_threads() - before)

    # Threads of earlier tests may still be exiting and skew one measurement;
    # a kernel that never (or always) starts a team gives the same count
    # every time.
    for _ in range(5):
        t = threading.Thread(target=work)
        t.start()
        t.join()
        if seen[-1] == want:
            break
    assert seen[-1] == want, seen


@pytest.mark.parametrize("case", CASES, ids=_specs.case_id)
def test_results_do_not_depend_on_openmp_threads(case, tmp_path):
    spec, dtype = case
    shared = _shared(spec, dtype, tmp_path)
    with fastdigits.threads(1):
        one = spec.call(spec.fast(), shared, tmp_path)
    with fastdigits.threads(2):
        two = spec.call(spec.fast(), shared, tmp_path)
    assert one, "the spec returned no results"
    assert _specs.same(one, two)


@pytest.mark.parametrize("case", CASES, ids=_specs.case_id)
def test_eight_threads_same_kernel(case, tmp_path):
    spec, dtype = case
    shared = _shared(spec, dtype, tmp_path)
    expected = spec.call(spec.fast(), shared, tmp_path)
    barrier = threading.Barrier(N_THREADS)

    def work(i):
        barrier.wait()
        got = []
        with fastdigits.threads(1 + i % 2):
            for _ in range(3):
                got.append(spec.call(spec.fast(), shared, tmp_path))
        return got

    with ThreadPoolExecutor(N_THREADS) as ex:
        results = list(ex.map(work, range(N_THREADS)))
    for per_thread in results:
        for r in per_thread:
            assert _specs.same(r, expected)
    # Inputs are shared and read-only: nobody may have touched them.
    assert _specs.same(
        _specs.flatten([v for v in shared.values() if isinstance(v, np.ndarray)]),
        _specs.flatten(
            [v for v in _shared(spec, dtype, tmp_path).values() if isinstance(v, np.ndarray)]
        ),
    )


def test_eight_threads_every_kernel_and_simd_path_at_once(tmp_path):
    """All kernels, all dtypes and every SIMD path interleaved across 8 threads:
    thread-local settings must not leak and results must not depend on what
    the other threads run."""
    assert CASES, "no kernels available"
    isas = fastdigits.available_simd()
    shared = {}
    expected = {}
    for key, (spec, dtype) in enumerate(CASES):
        shared[key] = _shared(spec, dtype, tmp_path, seed=key, scale=4)
        for isa in isas:
            with fastdigits.simd(isa):
                expected[key, isa] = spec.call(spec.fast(), shared[key], tmp_path)
    barrier = threading.Barrier(N_THREADS)

    def work(i):
        order = [(key, isa) for key in range(len(CASES)) for isa in isas] * 2
        random.Random(i).shuffle(order)
        barrier.wait()
        bad = []
        for key, isa in order:
            spec = CASES[key][0]
            with fastdigits.simd(isa), fastdigits.threads(1 + i % 2):
                assert fastdigits.get_simd() == isa
                got = spec.call(spec.fast(), shared[key], tmp_path)
            if not _specs.same(got, expected[key, isa]):
                bad.append((_specs.case_id(CASES[key]), isa))
        return bad

    with ThreadPoolExecutor(N_THREADS) as ex:
        bad = [b for r in ex.map(work, range(N_THREADS)) for b in r]
    assert not bad, "results differ under concurrency: %s" % bad[:10]


def test_no_nested_parallelism_inside_an_openmp_region(tmp_path):
    """Called from the threads of another library's OpenMP team, kernels run
    serially and still compute the right results (_omp_helper is built with
    OpenMP also when fastdigits is not)."""
    cases = [(s, d, _shared(s, d, tmp_path, seed=i, scale=4)) for i, (s, d) in enumerate(CASES)]
    expected = [s.call(s.fast(), sh, tmp_path) for s, d, sh in cases]

    def inside(tid):
        if fastdigits.get_num_threads() != 1:
            return False
        return all(
            _specs.same(s.call(s.fast(), sh, tmp_path), e) for (s, d, sh), e in zip(cases, expected)
        )

    bad, team = _omp_helper.omp_call(2, inside)
    assert team == 2 and bad == 0


def _run_script(code, tmp_path, timeout=120):
    """Run code in a fresh interpreter; its temporary files (tempfile's) go
    under tmp_path, which pytest removes."""
    env = dict(os.environ)
    env["TMPDIR"] = str(tmp_path)
    env["PYTHONPATH"] = os.pathsep.join(
        [HERE, PKG_PARENT] + env.get("PYTHONPATH", "").split(os.pathsep)
    )
    env.pop("OMP_NUM_THREADS", None)
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_helpers_leave_no_temporary_files(tmp_path):
    """The scripts' tempfile folders land in tmp_path, and the OpenMP test
    library's build folder is gone once it is loaded (both were left in
    the system's temporary folder, a few MB a test run)."""
    out = _run_script("import tempfile; print(tempfile.mkdtemp())", tmp_path)
    assert os.path.dirname(out.strip()) == str(tmp_path)
    assert not os.path.exists(_omp_helper.library().build_dir)


THREAD_COUNT = """
import os
def os_threads():
    return len(os.listdir("/proc/self/task"))
"""


def test_thread_pool_with_threads_1_starts_no_openmp_threads(tmp_path):
    """8 pool workers each limited with fastdigits.threads(1) (or
    set_num_threads(1)) add no OpenMP threads; the control run with 2 threads
    per call shows the count would have grown."""
    out = _run_script(
        THREAD_COUNT
        + textwrap.dedent("""
        import tempfile, threading, numpy as np, fastdigits, _specs
        from concurrent.futures import ThreadPoolExecutor
        tmp = tempfile.mkdtemp()
        cases = [(s, d, _specs.freeze(s.make(d, np.random.default_rng(0), max(1, s.par_scale), tmp)))
                 for s, d in _specs.cases()]
        def run(limit):
            barrier = threading.Barrier(8)  # all 8 workers exist at once
            def work(i):
                barrier.wait()
                if limit is None:
                    for s, d, sh in cases:
                        s.call(s.fast(), sh, tmp)
                else:
                    with fastdigits.threads(limit):
                        for s, d, sh in cases:
                            s.call(s.fast(), sh, tmp)
            with ThreadPoolExecutor(8) as ex:
                list(ex.map(work, range(8)))
                return os_threads()   # workers (and their OpenMP teams) alive
        base = os_threads()
        local_cap = run(1)            # fastdigits.threads(1) in each worker
        fastdigits.set_num_threads(1)
        global_cap = run(None)        # process-wide cap
        fastdigits.set_num_threads(None)
        print(base, local_cap, global_cap, run(2))
    """),
        tmp_path,
    )
    base, local_cap, global_cap, uncapped = map(int, out.split())
    assert local_cap == base + 8 and global_cap == base + 8
    if OPENMP:
        assert uncapped > base + 8, "control run started no OpenMP threads: inputs too small?"
    else:
        assert uncapped == base + 8


FORK_SCRIPT = """
import os, sys, time, traceback, tempfile, multiprocessing
import numpy as np
import fastdigits, _omp_helper, _specs

tmp = tempfile.mkdtemp()
cases = [(s, d, _specs.freeze(s.make(d, np.random.default_rng(0), max(1, s.par_scale), tmp)))
         for s, d in _specs.cases()]

# The parent uses OpenMP teams of 2: libgomp now has a thread pool, which the
# child does not inherit.
_omp_helper.omp_sum(2)
with fastdigits.threads(2):
    expected = [s.call(s.fast(), sh, tmp) for s, d, sh in cases]


def child_work(k):
    s, d, sh = cases[k]
    with fastdigits.threads(2):
        return fastdigits.get_num_threads(), s.call(s.fast(), sh, tmp)


def wait(pid, timeout=60):
    t0 = time.time()
    while time.time() - t0 < timeout:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return "hang"


pid = os.fork()
if pid == 0:
    code = 0
    try:
        if fastdigits.get_num_threads() != 1:
            code = 3
        for k in range(len(cases)):
            n, got = child_work(k)
            if n != 1 or not _specs.same(got, expected[k]):
                code = 4
    except BaseException:
        traceback.print_exc()
        code = 5
    os._exit(code)
print("fork:", wait(pid))

ctx = multiprocessing.get_context("fork")
with ctx.Pool(2) as pool:
    res = pool.map_async(child_work, range(len(cases)))
    try:
        got = res.get(timeout=60)
        ok = all(n == 1 and _specs.same(g, e) for (n, g), e in zip(got, expected))
        print("pool:", 0 if ok else "wrong")
    except multiprocessing.TimeoutError:
        print("pool: hang")
        pool.terminate()
# The parent itself keeps its threads.
with fastdigits.threads(2):
    print("parent:", fastdigits.get_num_threads(), _omp_helper.omp_sum(2) > 0)
"""


def test_forked_child_can_use_the_kernels(tmp_path):
    out = _run_script(FORK_SCRIPT, tmp_path, timeout=200)
    assert "fork: 0" in out and "pool: 0" in out and "parent: 2 True" in out, out
