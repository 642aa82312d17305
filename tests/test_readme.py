"""The README's Python code runs as written, from an empty folder."""

import os
import re
import subprocess
import sys
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def python_blocks():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_readme_has_the_tour():
    blocks = python_blocks()
    assert blocks and "fd.MLP(" in blocks[0] and "fd.read_idx(" in blocks[0]


def test_readme_python_blocks_run_in_an_empty_folder(tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("FASTDIGITS_CACHE", None)
    for i, code in enumerate(python_blocks()):
        folder = tmp_path / ("block%d" % i)
        folder.mkdir()
        proc = subprocess.run(
            [sys.executable, "-c", code],
            cwd=str(folder),
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert proc.returncode == 0, "README python block %d failed:\n%s" % (i, proc.stderr)
    # what the tour says it writes
    tour = tmp_path / "block0" / "out"
    assert sorted(os.listdir(tour)) == [
        "grid.png",
        "images-idx3-ubyte",
        "labels-idx1-ubyte.gz",
        "mlp.npz",
    ]


def test_readme_stays_short():
    """The README is the front page (what it is, set-up, a tour, one table,
    links); the rest lives in docs/ (issue 16: at most 200 lines)."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        assert len(f.read().splitlines()) <= 200
