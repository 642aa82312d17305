"""Docstring sections that several public functions share, written once.

A docstring line that holds only ``%(name)s`` is replaced, at import, by the
fragment ``name`` below, indented as that line was (as scipy's
``_lib.doccer`` does).  The substituted ``__doc__`` is what ``help()``,
Sphinx and the doctests read, so each function still shows its full text.
"""

from __future__ import annotations

import re
import textwrap
from typing import Callable, TypeVar

__all__ = ["fill_doc"]

F = TypeVar("F", bound=Callable)

FRAGMENTS = {
    # the in-place optimiser steps (fastdigits.optim)
    "step_param_grad": """\
param : ndarray
    Writeable, C-contiguous float32/float64 array, updated in place.
grad : array_like
    Gradient of ``param``'s shape and dtype (only read).""",
    "step_raises": """\
Raises
------
TypeError, ValueError
    For any unusable argument (no two arrays may share memory), before
    anything is written.""",
    # the examples of the fused dense layer (dense_forward, dense_backward)
    "dense_example_layer": """\
>>> import numpy as np, fastdigits
>>> rng = np.random.default_rng(0)
>>> x = rng.standard_normal((8, 5), dtype=np.float32)
>>> W = rng.standard_normal((5, 3), dtype=np.float32)
>>> b = rng.standard_normal(3, dtype=np.float32)""",
    # the atomic file writers (write_idx, to_png)
    "returns_path": """\
Returns
-------
path
    The ``path`` argument.""",
}

_PLACEHOLDER = re.compile(r"^( *)%\((\w+)\)s$", re.MULTILINE)


def fill_doc(func: F) -> F:
    """Substitute the shared fragments into ``func.__doc__`` (a decorator).

    An unknown name raises KeyError at import, so a typo cannot ship.
    Under ``python -OO`` (no docstrings) it does nothing.
    """
    if func.__doc__:
        func.__doc__ = _PLACEHOLDER.sub(
            lambda m: textwrap.indent(FRAGMENTS[m.group(2)], m.group(1)), func.__doc__
        )
    return func
