"""fastdigits.torch.native_ops: MLP's two-layer training step as one native
(C++) autograd node, built here by torch.utils.cpp_extension.  It runs the
kernels of the Python autograd.Function (_mlp_ops._MLPFunction): the same
bits, checked against it, and against nn.Sequential."""

import os
import shutil
import warnings

import pytest
import torch
from _torch_helpers import digit_like

import fastdigits
from fastdigits.torch import MLP, Linear, _native, native_ops

TOL = {torch.float32: dict(rtol=1e-5, atol=1e-5), torch.float64: dict(rtol=1e-12, atol=1e-12)}


@pytest.fixture(scope="module", autouse=True)
def built():
    assert native_ops(True) is True  # builds it (or loads it from the cache)
    native_ops(False)
    yield


@pytest.fixture
def native():
    native_ops(True)
    yield
    native_ops(False)


def _spy(monkeypatch):
    calls = []
    real = _native.mlp2

    def spy(*a):
        calls.append(a[0].shape[0])
        return real(*a)

    monkeypatch.setattr(_native, "mlp2", spy)
    return calls


def _retain_graph_adds_up(model, x):
    """A second backward needs retain_graph and adds up; a third is refused.
    Returns the first backward's gradients."""
    model.zero_grad(set_to_none=True)
    loss = model(x).square().sum()
    loss.backward(retain_graph=True)
    first = [p.grad.clone() for p in model.parameters()]
    loss.backward()
    for p, g in zip(model.parameters(), first):
        torch.testing.assert_close(p.grad, 2 * g)
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()
    return first


def _steps(model, xs, on, steps=3):
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    native_ops(on)
    try:
        for i in range(steps):
            opt.zero_grad(set_to_none=True)
            x = xs[i % len(xs)]
            torch.nn.functional.cross_entropy(model(x), torch.arange(len(x)) % 5).backward()
            opt.step()
    finally:
        native_ops(False)
    return [p.grad for p in model.parameters()]


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_same_bits_as_the_python_function(monkeypatch, dtype, bias, threads, order):
    calls = _spy(monkeypatch)
    # digit-like batches (the sparse product) and one of standard-normal rows
    # (too dense for it: the dense products), odd sizes
    xs = [digit_like(37, 61, dtype, seed=s) for s in range(2)] + [torch.randn(11, 61, dtype=dtype)]
    models = []
    for on in (True, False):
        torch.manual_seed(0)
        models.append(MLP([61, 19, 5], dtype=dtype, bias=bias, weight_order=order))
        with fastdigits.threads(threads):
            _steps(models[-1], xs, on)
    assert calls == [37, 37, 11]  # the native node ran every step, and only there
    for p, q in zip(*(m.parameters() for m in models)):
        assert torch.equal(p, q) and torch.equal(p.grad, q.grad)
        assert p.grad.stride() == p.stride()
    # and against nn.Sequential
    torch.manual_seed(0)
    ours = MLP([61, 19, 5], dtype=dtype, bias=bias, weight_order=order)
    ref = torch.nn.Sequential(
        torch.nn.Linear(61, 19, bias=bias, dtype=dtype),
        torch.nn.ReLU(),
        torch.nn.Linear(19, 5, bias=bias, dtype=dtype),
    )
    ref.load_state_dict(MLP.state_dict_to_sequential(ours.state_dict()))
    for p, q in zip(_steps(ours, xs, True), _steps(ref, xs, False)):
        torch.testing.assert_close(p, q, **TOL[dtype])


def test_same_bits_for_1_2_3_threads(native):
    x = digit_like(64, 784, torch.float32)
    grads = []
    for t in (1, 2, 3):
        torch.manual_seed(0)
        model = MLP([784, 32, 10], weight_order="F")
        with fastdigits.threads(t):
            model(x).square().sum().backward()
        grads.append([p.grad for p in model.parameters()])
    for g in grads[1:]:
        assert all(torch.equal(a, b) for a, b in zip(g, grads[0]))


def test_only_where_it_applies(monkeypatch, native):
    """Everything else takes the Python Function (or PyTorch's ops)."""
    calls = _spy(monkeypatch)
    x = digit_like(9, 30, torch.float32)
    xg = x.clone().requires_grad_(True)
    frozen = MLP([30, 8, 4], weight_order="F")
    frozen.layers[1].bias.requires_grad_(False)
    for model, inp in (
        (MLP([30, 8, 4], weight_order="F"), xg),  # dx wanted
        (MLP([30, 8, 8, 4], weight_order="F"), x),  # three layers
        (MLP([30, 8, 4], activation="tanh", weight_order="F"), x),
        (MLP([30, 8, 17], weight_order="F"), x),  # wider than SPARSE_HEAD_MAX
        (MLP([30, 8, 4], weight_order="F", precision="bfloat16"), x),
        (frozen, x),
    ):
        model(inp).sum().backward()
    with torch.no_grad():
        MLP([30, 8, 4], weight_order="F")(x)
    assert calls == []
    MLP([30, 8, 4], weight_order="F")(x).sum().backward()
    MLP([30, 8, 4])(x).sum().backward()  # row-major weights too
    assert calls == [9, 9]
    assert native_ops() is True
    native_ops(False)
    MLP([30, 8, 4], weight_order="F")(x).sum().backward()
    assert calls == [9, 9] and native_ops() is False


def test_in_place_changes_retain_graph_and_double_backward(native):
    torch.manual_seed(1)
    model = MLP([30, 8, 4], weight_order="F")
    x = digit_like(9, 30, torch.float32)
    # what backward reads (x, the weights) changed in place: autograd's error
    for change in (lambda: x.mul_(2.0), lambda: model.layers[1].weight.mul_(2.0)):
        y = model(x).sum()
        with torch.no_grad():
            change()
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.backward()
    first = _retain_graph_adds_up(model, x)
    # create_graph: first-order gradients as without it, then the clear error
    (g,) = torch.autograd.grad(model(x).square().sum(), [model.layers[0].weight], create_graph=True)
    torch.testing.assert_close(g.detach(), first[0])
    with pytest.raises(RuntimeError, match="double backward .* not supported"):
        g.sum().backward()


def test_the_build_names_no_path_of_this_checkout():
    # it compiled _native/mlp_op.cpp where the package lies, with -I to
    # that folder: each new checkout (each of CI's clones and build
    # copies) changed ninja's command lines and rebuilt it (about 30 s)
    build_dir = os.path.dirname(_native._ext.__file__)
    with open(os.path.join(build_dir, "build.ninja")) as f:
        ninja = f.read()
    assert _native._HERE not in ninja
    assert os.path.join("fastdigits_sources", os.path.basename(build_dir)) in ninja


def test_staged_sources_do_not_depend_on_the_checkout(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path / "ext"))
    first = _native._staged_sources("fastdigits_native_x")
    assert first == str(tmp_path / "ext" / "fastdigits_sources" / "fastdigits_native_x")
    cpp = os.path.join(first, "mlp_op.cpp")
    stamp = os.stat(cpp).st_mtime_ns
    other = tmp_path / "other_checkout"
    shutil.copytree(_native._HERE, other)
    monkeypatch.setattr(_native, "_HERE", str(other))
    assert _native._staged_sources("fastdigits_native_x") == first
    assert os.stat(cpp).st_mtime_ns == stamp  # the same bytes: not rewritten
    with open(cpp, "w") as f:  # a damaged copy is replaced
        f.write("junk")
    _native._staged_sources("fastdigits_native_x")
    for name in _native._SOURCES:
        with open(os.path.join(first, name), "rb") as a, open(other / name, "rb") as b:
            assert a.read() == b.read()
    assert sorted(os.listdir(first)) == sorted(_native._SOURCES)  # no temporary left


def test_a_failed_build_names_the_cause_and_keeps_the_python_path(monkeypatch):
    def no_compiler():
        raise OSError("no C++ compiler")

    monkeypatch.setattr(_native, "_ext", None)
    monkeypatch.setattr(_native, "_build", no_compiler)
    with pytest.raises(RuntimeError, match="building the native operator failed .*no C.. compiler"):
        native_ops(True)
    assert native_ops() is False
    # FASTDIGITS_TORCH_NATIVE=1: tried once at the first eligible step, a warning
    monkeypatch.setenv("FASTDIGITS_TORCH_NATIVE", "1")
    monkeypatch.setattr(_native, "_env_tried", False)
    model = MLP([30, 8, 4], weight_order="F")
    x = digit_like(9, 30, torch.float32)
    with pytest.warns(RuntimeWarning, match="no C.. compiler"):
        model(x).sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model(x).sum().backward()  # not tried again
    assert native_ops() is False


@pytest.mark.parametrize("rows", [0, 1, 2])
def test_empty_and_tiny_batches(rows):
    models, outs = [], []
    for on in (True, False):
        torch.manual_seed(0)
        model = MLP([30, 8, 4], weight_order="F")
        native_ops(on)
        try:
            y = model(digit_like(max(rows, 1), 30, torch.float32)[:rows])
            y.square().sum().backward()
        finally:
            native_ops(False)
        assert y.grad_fn is not None and ("CppFunction" in type(y.grad_fn).__name__) == on
        models.append(model)
        outs.append(y)
    assert torch.equal(outs[0], outs[1])
    for p, q in zip(*(m.parameters() for m in models)):
        assert torch.equal(p.grad, q.grad)


# --------------------------------------------------------------------------
# Linear: identity or relu, either weight order, as one native node


def _spy_linear(monkeypatch):
    calls = []
    real = _native.linear

    def spy(x, *a):
        calls.append(x.shape[0])
        return real(x, *a)

    monkeypatch.setattr(_native, "linear", spy)
    return calls


def _linear_pair(order, act, dtype, bias):
    torch.manual_seed(0)
    return torch.nn.Sequential(
        Linear(61, 19, activation=act, dtype=dtype, bias=bias, weight_order=order),
        Linear(19, 5, dtype=dtype, bias=bias, weight_order=order),
    )


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("order, act", [("C", None), ("C", "relu"), ("F", None), ("F", "relu")])
def test_linear_same_bits_as_the_python_function(monkeypatch, order, act, dtype, bias, threads):
    calls = _spy_linear(monkeypatch)
    # data (the sparse product with column-major weights), rows too dense
    # for it, and an input that needs its gradient
    xs = [digit_like(37, 61, dtype), torch.randn(11, 61, dtype=dtype)]
    grads = []
    for on in (True, False):
        model = _linear_pair(order, act, dtype, bias)
        xg = torch.randn(7, 61, dtype=dtype, requires_grad=True)
        with fastdigits.threads(threads):
            _steps(model, xs, on)
            native_ops(on)
            try:
                model(xg).square().sum().backward()
            finally:
                native_ops(False)
        grads.append([p.grad for p in model.parameters()] + [xg.grad])
        for p in model.parameters():
            assert p.grad.stride() == p.stride()
    assert calls == [37, 37, 11, 11, 37, 37, 7, 7]  # both layers, every step
    for a, b in zip(*grads):
        assert torch.equal(a, b)
    ref = torch.nn.Sequential(
        torch.nn.Linear(61, 19, bias=bias, dtype=dtype),
        torch.nn.ReLU() if act else torch.nn.Identity(),
        torch.nn.Linear(19, 5, bias=bias, dtype=dtype),
    )
    ours = _linear_pair(order, act, dtype, bias)
    ref[0].load_state_dict(ours[0].state_dict())
    ref[2].load_state_dict(ours[1].state_dict())
    for p, q in zip(_steps(ours, xs, True), _steps(ref, xs, False)):
        torch.testing.assert_close(p, q, **TOL[dtype])


def test_linear_only_where_it_applies(monkeypatch, native):
    calls = _spy_linear(monkeypatch)
    x = digit_like(9, 30, torch.float32)
    frozen = Linear(30, 8)
    frozen.weight.requires_grad_(False)
    sliced = Linear(60, 8)
    sliced.weight = torch.nn.Parameter(torch.randn(8, 60)[:, ::2])  # neither order
    for layer, inp in (
        (Linear(30, 8, activation="tanh"), x),
        (Linear(30, 8, activation="gelu", weight_order="F"), x),
        (Linear(30, 8, precision="bfloat16"), x),
        (frozen, x.clone().requires_grad_(True)),
        (sliced, x),
    ):
        layer(inp).sum().backward()
    with torch.no_grad():
        Linear(30, 8)(x)
    assert calls == []
    Linear(30, 8, activation="relu")(x).sum().backward()
    assert calls == [9]


def test_linear_saved_tensors_retain_graph_and_double_backward(native):
    torch.manual_seed(2)
    layer = Linear(30, 8, activation="relu", weight_order="F")
    x = digit_like(9, 30, torch.float32)
    xg = x.clone().requires_grad_(True)
    # what backward reads changed in place: autograd's error, as nn.Linear's
    for inp, change in (
        (x, lambda y: x.mul_(2.0)),  # read by the weight's gradient
        (xg, lambda y: layer.weight.mul_(2.0)),  # read by dx
        (x, lambda y: y.mul_(2.0)),  # relu' reads the output
    ):
        y = layer(inp * 1.0 if inp is xg else inp)
        with torch.no_grad():
            change(y)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
    # an identity layer's output is not saved: it may change (nn.ReLU(inplace=True))
    ident = Linear(30, 8)
    h = ident(x)
    torch.relu_(h)
    h.sum().backward()
    _retain_graph_adds_up(layer, x)
    # create_graph: first-order gradients as without it, then the clear error
    (gx,) = torch.autograd.grad(layer(xg).square().sum(), xg, create_graph=True)
    layer2 = Linear(30, 8, activation="relu", weight_order="F")
    layer2.load_state_dict(layer.state_dict())
    native_ops(False)
    (gx_ref,) = torch.autograd.grad(layer2(xg).square().sum(), xg)
    torch.testing.assert_close(gx.detach(), gx_ref)
    with pytest.raises(RuntimeError, match="double backward .* not supported"):
        gx.sum().backward()
