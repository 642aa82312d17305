"""A tiny OpenMP C library, built on demand with the C compiler that builds
fastdigits, for tests that need "someone else's" OpenMP parallel region:
starting libgomp's thread pool before a fork, and calling back into Python
from inside a parallel region.  It links the same OpenMP runtime as the
extension modules (both are built with -fopenmp by the same compiler).
"""

from __future__ import annotations

import ctypes
import functools
import os
import shlex
import shutil
import subprocess
import sysconfig
import tempfile

_SRC = r"""
#include <omp.h>
typedef int (*fd_test_cb)(int);

/* A parallel sum on nthreads threads (starts the OpenMP thread pool). */
double omp_sum(int nthreads, long n)
{
    double s = 0;
    long i;
    #pragma omp parallel for num_threads(nthreads) reduction(+:s) schedule(static)
    for (i = 0; i < n; i++) s += (double)(i % 7);
    return s;
}

/* Calls cb(thread id) from every thread of an nthreads team; returns how many
 * callbacks returned non-zero, and the team size in *team. */
int omp_call(int nthreads, fd_test_cb cb, int *team)
{
    int bad = 0;
    #pragma omp parallel num_threads(nthreads) reduction(+:bad)
    {
        #pragma omp single
        *team = omp_get_num_threads();
        if (cb(omp_get_thread_num()) != 0) bad++;
    }
    return bad;
}
"""

CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)


@functools.lru_cache(maxsize=None)
def library() -> ctypes.CDLL:
    cc = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    tmp = tempfile.mkdtemp(prefix="fd-omp-helper-")
    src = os.path.join(tmp, "omp_helper.c")
    lib = os.path.join(tmp, "libomp_helper.so")
    with open(src, "w") as f:
        f.write(_SRC)
    # No sanitizer flags: this is test scaffolding, not code under test.
    subprocess.run(
        cc[:1] + ["-O1", "-fPIC", "-shared", "-fopenmp", src, "-o", lib],
        check=True,
        capture_output=True,
    )
    try:
        dll = ctypes.CDLL(lib)
    finally:
        # The loaded library stays mapped: nothing needs the files any more.
        shutil.rmtree(tmp, ignore_errors=True)
    dll.build_dir = tmp
    dll.omp_sum.restype = ctypes.c_double
    dll.omp_sum.argtypes = [ctypes.c_int, ctypes.c_long]
    dll.omp_call.restype = ctypes.c_int
    dll.omp_call.argtypes = [ctypes.c_int, CALLBACK, ctypes.POINTER(ctypes.c_int)]
    return dll


def omp_sum(nthreads: int, n: int = 200_000) -> float:
    return library().omp_sum(nthreads, n)


def omp_call(nthreads: int, func) -> tuple:
    """Run func(thread_id) -> truthy on every thread of an OpenMP team (ctypes
    takes the GIL per callback).  Returns (failed callbacks, team size);
    re-raises the first exception a callback raised."""
    errors = []

    def guarded(tid):
        try:
            return 0 if func(tid) else 1
        except BaseException as exc:  # a raising callback must count as failed
            errors.append(exc)
            return 1

    team = ctypes.c_int(0)
    cb = CALLBACK(guarded)
    bad = library().omp_call(nthreads, cb, ctypes.byref(team))
    if errors:
        raise errors[0]
    return bad, team.value
