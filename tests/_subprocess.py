"""Run Python in a fresh process that imports this checkout's fastdigits
(its folder first on PYTHONPATH), as the command-line and example tests do."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def checkout_env():
    """os.environ with this checkout first on PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_python(*args, cwd=None, timeout=300):
    """``python ARGS...`` to completion; the CompletedProcess, text output captured."""
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env=checkout_env(),
        cwd=cwd,
        timeout=timeout,
    )


def run_fastdigits(*argv, cwd=None, timeout=300):
    """``python -m fastdigits ARGV...`` (see run_python)."""
    return run_python("-m", "fastdigits", *argv, cwd=cwd, timeout=timeout)
