"""examples/mnist_walkthrough.ipynb is stored without outputs and runs from
top to bottom: its pictures appear and the labels are MNIST's."""

import os

import nbformat
from nbclient import NotebookClient
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(ROOT, "examples", "mnist_walkthrough.ipynb")


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def _text(cell):
    return "".join(
        o.get("data", {}).get("text/plain", "") + o.get("text", "") for o in cell.outputs
    )


def test_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert _code_cells(nb)
    for cell in _code_cells(nb):
        assert cell.outputs == [] and cell.execution_count is None, cell.source


def test_notebook_runs_and_shows_the_digits(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # ipykernel's native kernel spec runs this interpreter, so the kernel
    # imports the fastdigits under test.
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()

    cells = _code_cells(nb)
    by_source = {c.source.strip().splitlines()[-1]: c for c in cells}  # by last line
    pictures = [c for c in cells if any("image/png" in o.get("data", {}) for o in c.outputs)]
    # The first image, the second, the first twenty, the mistakes.
    assert len(pictures) == 4
    assert by_source["fd.Digits(images[0])"] in pictures
    assert "5, 0, 4, 1, 9, 2, 1, 3, 1, 4" in _text(by_source["labels[:10]"])
    raw = _text(by_source["images[0]"])
    assert raw.startswith("array([[  0,") and "dtype=uint8" in raw and raw.count("[") == 29
    accuracy = next(_text(c) for c in cells if "test accuracy:" in _text(c))
    assert float(accuracy.split("test accuracy:")[1].strip().rstrip("%")) > 95.0
