"""Every public kernel has a NumPy twin in fastdigits.reference with the same
signature (parameter names, kinds and defaults), so a call can switch
between them by changing the module only."""

import inspect

import pytest

import fastdigits
import fastdigits.reference as reference

from _specs import KERNELS


def _params(fn):
    # annotations may name module-local aliases (Source vs Any): compare what
    # a caller sees, the names, kinds and defaults
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def test_twins_are_exactly_the_kernels():
    functions = {
        n
        for n in reference.__all__
        if callable(getattr(reference, n)) and not inspect.ismodule(getattr(reference, n))
    }
    assert functions == set(KERNELS)
    assert set(KERNELS) <= set(fastdigits.__all__)


@pytest.mark.parametrize("name", KERNELS)
def test_twin_has_the_same_signature(name):
    assert _params(getattr(fastdigits, name)) == _params(getattr(reference, name))
