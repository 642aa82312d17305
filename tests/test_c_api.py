"""The C layer alone: tests/c/test_kernels.c compiled with the system C
compiler as strict C99 (-Wall -Wextra -Werror -pedantic), without SIMD
(-DFD_NO_SIMD), with and without OpenMP, and run.  Proves the loss,
optimiser and CPU kernels are testable and portable without Python."""

import os
import shutil
import subprocess
import sys
import sysconfig

import pytest

from fastdigits import _runtime

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The kernels under test, with their sources taken from the build's own list.
KERNELS = "common loss optim augment act gemm dense dropout normalize idx mlp".split()


def manifest_sources():
    """csrc/manifest.txt, as setup.py reads it."""
    with open(os.path.join(ROOT, "csrc", "manifest.txt")) as f:
        lines = (line.split("#", 1)[0].strip() for line in f)
        return [line for line in lines if line]


# (the GEMM with its cache-block derivation, the dense layers and dropout)
SOURCES = ["tests/c/test_kernels.c"] + [s for s in manifest_sources() if s.split("/")[1] in KERNELS]
FLAGS = ["-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-O2", "-DFD_NO_SIMD", "-Icsrc"]


def c_compiler():
    cc = os.environ.get("CC") or shutil.which("cc") or sysconfig.get_config_var("CC")
    assert cc, "a C compiler (cc) is needed to build fastdigits and to run this test"
    return cc.split()


def build_and_run(tmp_path, extra):
    exe = str(tmp_path / "test_kernels")
    cmd = c_compiler() + FLAGS + extra + SOURCES + ["-lz", "-lm", "-o", exe]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, "compile failed:\n%s\n%s" % (" ".join(cmd), res.stderr)
    run = subprocess.run(
        [exe], capture_output=True, text=True, timeout=60, env=dict(os.environ, OMP_NUM_THREADS="4")
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert ", 0 failed" in run.stdout
    checks = int(run.stdout.strip().splitlines()[-1].split()[0])
    assert checks >= 100
    return run.stdout


# Serial always; with OpenMP where the package itself was built with GCC-style
# -fopenmp (Linux), so the thread-count checks in the C test run threaded.
VARIANTS = {"serial": []}
if sys.platform.startswith("linux") and _runtime.openmp_enabled():
    VARIANTS["openmp"] = ["-fopenmp"]
if sys.platform.startswith("linux") and "gcc" in _runtime.compiler_version():
    # undefined behaviour (shifts, overflow, bad casts) and any out-of-bounds
    # access in the portable kernels abort the run
    VARIANTS["sanitize"] = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-g"]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_c_kernels_build_and_pass(tmp_path, variant):
    out = build_and_run(tmp_path, VARIANTS[variant])
    assert "FAIL" not in out
