"""setup.py compiles in parallel when the command line gives no -j (as under
pip): FASTDIGITS_BUILD_JOBS, else the CPUs the build may run on."""

import ast
import os
from pathlib import Path

import pytest

SETUP = Path(__file__).resolve().parents[1] / "setup.py"


def _from_setup(name, **names):
    """setup.py's top-level function or class `name`, compiled alone with
    `names` as its globals (importing setup.py would run setup())."""
    tree = ast.parse(SETUP.read_text(), str(SETUP))
    node = next(n for n in tree.body if getattr(n, "name", None) == name)
    ns = {"os": os, **names}
    exec(compile(ast.Module(body=[node], type_ignores=[]), str(SETUP), "exec"), ns)
    return ns[name]


def _build_jobs():
    return _from_setup("build_jobs")


def test_default_is_the_cpus_the_build_may_use(monkeypatch):
    monkeypatch.delenv("FASTDIGITS_BUILD_JOBS", raising=False)
    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert _build_jobs()() == expected


@pytest.mark.parametrize("value, jobs", [("1", 1), ("3", 3), (" 16 ", 16)])
def test_env_sets_the_jobs(monkeypatch, value, jobs):
    monkeypatch.setenv("FASTDIGITS_BUILD_JOBS", value)
    assert _build_jobs()() == jobs


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_a_bad_env_value_stops_the_build_with_its_name(monkeypatch, value):
    monkeypatch.setenv("FASTDIGITS_BUILD_JOBS", value)
    with pytest.raises(SystemExit, match="FASTDIGITS_BUILD_JOBS must be a positive integer"):
        _build_jobs()()


@pytest.mark.parametrize("given, expected", [(None, 7), ("2", 2), (1, 1)])
def test_build_ext_takes_them_only_without_a_command_line_value(given, expected):
    """BuildExt.finalize_options: -j N (parallel) wins; without it, build_jobs()."""
    from setuptools import Distribution
    from setuptools.command.build_ext import build_ext

    BuildExt = _from_setup("BuildExt", build_ext=build_ext, build_jobs=lambda: 7)
    cmd = BuildExt(Distribution({"name": "x", "ext_modules": []}))
    cmd.initialize_options()
    cmd.parallel = given
    cmd.finalize_options()
    assert cmd.parallel == expected
