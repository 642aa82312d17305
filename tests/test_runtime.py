"""Thread-count and SIMD-path configuration."""

import os
import subprocess
import sys
import threading

import pytest

import fastdigits
from fastdigits import _config, _runtime


def test_show_config_prints_facts(capsys):
    fastdigits.show_config()
    out = capsys.readouterr().out
    assert "fastdigits " + fastdigits.__version__ in out
    for key in ("openmp", "threads", "simd path", "numpy", "compiler"):
        assert key in out


def test_cpu_name_without_the_cpuid_brand(monkeypatch):
    # A build without the x86 code (FASTDIGITS_NO_SIMD) or another
    # architecture has no brand string: show_config printed "cpu        : ".
    from fastdigits import _info

    monkeypatch.setattr(_runtime, "cpu_brand", lambda: "")
    name = _info.cpu_name()
    assert name and name == name.strip()
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            assert name in f.read()


def test_threads_context_overrides_and_restores():
    before = fastdigits.get_num_threads()
    with fastdigits.threads(3):
        assert fastdigits.get_num_threads() == 3
        with fastdigits.threads(1):
            assert fastdigits.get_num_threads() == 1
        assert fastdigits.get_num_threads() == 3
    assert fastdigits.get_num_threads() == before


def test_threads_context_is_local_to_a_python_thread():
    seen = []
    with fastdigits.threads(5):
        t = threading.Thread(target=lambda: seen.append(fastdigits.get_num_threads()))
        t.start()
        t.join()
        assert fastdigits.get_num_threads() == 5
    assert seen[0] != 5 or _runtime.omp_max_threads() == 5


def test_set_num_threads_and_reset():
    try:
        fastdigits.set_num_threads(7)
        assert fastdigits.get_num_threads() == 7
    finally:
        fastdigits.set_num_threads(None)
    assert fastdigits.get_num_threads() == max(1, _runtime.omp_max_threads())


@pytest.mark.parametrize("bad", [0, -1])
def test_bad_thread_counts(bad):
    with pytest.raises(ValueError, match="n_threads"):
        fastdigits.set_num_threads(bad)
    with pytest.raises(ValueError, match="n_threads"):
        with fastdigits.threads(bad):
            pass


def test_thread_count_type_checked():
    with pytest.raises(TypeError, match="n_threads"):
        fastdigits.set_num_threads(2.0)


def _run(code, **env):
    full = dict(os.environ)
    full.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], env=full, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_default_honours_omp_num_threads():
    # a serial build (FASTDIGITS_NO_OPENMP) runs every kernel on one thread
    want = "3" if _runtime.openmp_enabled() else "1"
    assert (
        _run("import fastdigits; print(fastdigits.get_num_threads())", OMP_NUM_THREADS="3") == want
    )


def test_threadpoolctl_sees_and_limits_openmp():
    from threadpoolctl import threadpool_info, threadpool_limits

    import fastdigits  # noqa: F401  (loads the OpenMP runtime)

    if not _runtime.openmp_enabled():  # a serial build: one thread, whatever the limit
        with threadpool_limits(limits=2, user_api="openmp"):
            assert fastdigits.get_num_threads() == 1
        return
    apis = {info["user_api"] for info in threadpool_info()}
    assert "openmp" in apis
    with threadpool_limits(limits=1, user_api="openmp"):
        assert fastdigits.get_num_threads() == 1


def test_simd_paths_and_override():
    avail = fastdigits.available_simd()
    assert avail[0] == "generic"
    assert fastdigits.get_simd() in avail
    with fastdigits.simd("generic"):
        assert fastdigits.get_simd() == "generic"
        assert _config.kernel_context()[0] == 0
    with pytest.raises(ValueError, match="simd"):
        with fastdigits.simd("sse9"):
            pass


def test_simd_env_forces_portable_path():
    assert (
        _run("import fastdigits; print(fastdigits.get_simd())", FASTDIGITS_SIMD="generic")
        == "generic"
    )


def test_a_bad_simd_env_fails_the_first_kernel_call_not_the_import():
    """It failed ``import fastdigits``, so the command line printed a
    traceback with exit status 1 instead of its one-line error."""
    code = (
        "import numpy as np, fastdigits\n"
        "for f in (fastdigits.get_simd, lambda: fastdigits.matmul(np.eye(2), np.eye(2))):\n"
        "    try:\n"
        "        f()\n"
        "    except ValueError as e:\n"
        "        print(e)\n"
        "with fastdigits.simd('generic'):\n"
        "    print(fastdigits.matmul(np.eye(2), np.eye(2)).sum())\n"
        "fastdigits.set_simd('generic')\n"
        "print(fastdigits.get_simd())"
    )
    out = _run(code, FASTDIGITS_SIMD="sse9").splitlines()
    assert (
        out[:2]
        == ["FASTDIGITS_SIMD must be one of generic, avx2, avx512, avx512_bf16, amx, got 'sse9'"]
        * 2
    )
    assert out[2:] == ["2.0", "generic"]
    full = dict(os.environ, FASTDIGITS_SIMD="sse9")
    res = subprocess.run(
        [sys.executable, "-m", "fastdigits", "config"], env=full, capture_output=True, text=True
    )
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.splitlines() == [
        "fastdigits config: error: FASTDIGITS_SIMD must be one of generic, avx2, avx512, "
        "avx512_bf16, amx, got 'sse9'"
    ]


def test_cli_config_runs():
    out = _run("from fastdigits.cli import main; main(['config'])")
    assert "simd path" in out
