"""Every script in examples/ runs and learns (on a subset, to stay quick)."""

import os
import re

import pytest

from _subprocess import ROOT, run_python

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]

EXAMPLES = os.path.join(ROOT, "examples")


def _run(script, *args):
    proc = run_python(os.path.join(EXAMPLES, script), *args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_examples_are_all_tested():
    scripts = sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".py"))
    assert scripts == ["numpy_training_loop.py", "pytorch_linear.py", "train_mlp.py"]


@pytest.mark.parametrize(
    "script, args",
    [
        ("numpy_training_loop.py", ["--epochs", "1", "--limit", "3000"]),
        ("pytorch_linear.py", ["--epochs", "1", "--limit", "3000"]),
        ("train_mlp.py", ["--epochs", "1", "--limit", "3000"]),
    ],
)
def test_example_learns(script, args, tmp_path):
    if script == "train_mlp.py":
        args = args + ["--save", str(tmp_path / "m.npz")]
    out = _run(script, *args)
    acc = float(re.findall(r"test accuracy ([\d.]+)%", out)[-1])
    assert acc > 80.0, out
    if script == "train_mlp.py":
        assert (tmp_path / "m.npz").exists()
