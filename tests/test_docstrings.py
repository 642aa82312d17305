"""Shared docstring fragments (fastdigits._docstrings) reach the docstrings
that help(), Sphinx and the doctests read."""

import re

import pytest

import fastdigits
from fastdigits._docstrings import FRAGMENTS, fill_doc


def test_no_public_docstring_keeps_a_placeholder():
    for name in fastdigits.__all__:
        doc = getattr(getattr(fastdigits, name), "__doc__", None) or ""
        assert not re.search(r"^ *%\(\w+\)s$", doc, re.MULTILINE), name


@pytest.mark.parametrize(
    "func, fragment",
    [
        (fastdigits.sgd_step, "step_param_grad"),
        (fastdigits.adam_step, "step_raises"),
        (fastdigits.write_idx, "returns_path"),
        (fastdigits.to_png, "returns_path"),
    ],
)
def test_fragment_is_in_the_docstring_indented(func, fragment):
    assert "\n".join("    " + ln for ln in FRAGMENTS[fragment].splitlines()) in func.__doc__


def test_fill_doc_indents_like_the_placeholder_line():
    def f():
        """Summary.

        %(returns_path)s
        """

    fill_doc(f)
    assert (
        f.__doc__ == "Summary.\n\n        Returns\n        -------\n        path\n"
        "            The ``path`` argument.\n        "
    )


def test_unknown_fragment_fails_at_decoration():
    def f():
        """%(no_such_fragment)s"""

    with pytest.raises(KeyError):
        fill_doc(f)
