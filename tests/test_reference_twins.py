"""Every public kernel has a NumPy twin in fastdigits.reference with the same
signature (parameter names, kinds and defaults), so a call can switch
between them by changing the module only."""

import inspect

import numpy as np

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


def test_twins_convert_inputs_as_the_kernels_do():
    # lists took their own dtype in the twins (float64 where the kernel
    # gives float32), crashed in dense_backward ("'list' object has no
    # attribute 'sum'") and softmax_cross_entropy, and the dropout twin
    # took seed=-1 or 1.5 and made a 0-d x 1-d (an audit against the kernels)
    from fastdigits import reference as ref

    W = np.ones((2, 3), np.float32)
    x = np.ones((4, 2), np.float32)
    dy = [[1.0, 2.0, 3.0]] * 4
    for name, call in (
        ("dense_forward", lambda m: m.dense_forward([[1.0, 2.0]], W)),
        ("matmul", lambda m: m.matmul([[1, 2]], [[3], [4]])),
        ("dense_backward", lambda m: m.dense_backward(dy, x, W, activation="relu", y=dy)),
        ("softmax_cross_entropy", lambda m: m.softmax_cross_entropy([[1, 2]], [0])),
        ("dropout", lambda m: m.dropout(np.array(2.0), 0.5, 1)),
    ):
        got, want = call(ref), call(fastdigits)
        got = got if isinstance(got, tuple) else (got,)
        want = want if isinstance(want, tuple) else (want,)
        for g, w in zip(got, want):
            g, w = np.asarray(g), np.asarray(w)
            assert g.dtype == w.dtype and g.shape == w.shape, name
            np.testing.assert_allclose(g, w, rtol=1e-6, err_msg=name)
    for bad, exc in ((-1, ValueError), (1.5, TypeError), (True, TypeError)):
        for m in (ref, fastdigits):
            with pytest.raises(exc, match="seed must be"):
                m.dropout(np.ones(4), 0.5, bad)


@pytest.mark.parametrize(
    "step, kw",
    [
        ("sgd", dict(lr=float("nan"))),
        ("sgd", dict(lr=-0.1)),
        ("sgd", dict(lr=0.1, momentum=float("inf"))),
        ("sgd", dict(lr=0.1, weight_decay=True)),
        ("sgd", dict(lr=0.1, momentum=0.5, nesterov=1)),
        ("adam", dict(lr=float("nan"), step=1)),
        ("adam", dict(lr=0.1, step=1.0)),
        ("adam", dict(lr=0.1, step=True)),
        ("adam", dict(lr=0.1, step=2**63)),
        ("adam", dict(lr=0.1, step=1, beta1=1.0)),
        ("adam", dict(lr=0.1, step=1, eps="1e-8")),
    ],
)
def test_twins_refuse_the_hyper_parameters_the_kernels_refuse(step, kw):
    # the twins took lr=nan, a float step and beta1=1 (an audit against the
    # kernels): both now check them with fastdigits._hyper
    errors = []
    for m in (fastdigits, reference):
        p, g = np.ones(3), np.ones(3)
        with pytest.raises((TypeError, ValueError)) as info:
            if step == "sgd":
                m.sgd_step(p, g, velocity=np.zeros(3), **kw)
            else:
                m.adam_step(p, g, np.zeros(3), np.zeros(3), **kw)
        errors.append((info.type, str(info.value)))
        assert np.array_equal(p, np.ones(3))  # nothing stepped
    assert errors[0] == errors[1]
