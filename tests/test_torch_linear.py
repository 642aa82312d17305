"""fastdigits.torch.Linear against torch.nn.Linear (+ activation)."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from _torch_helpers import (
    assert_backward_frees,
    assert_double_backward_raises,
    digit_like,
    forbid_kernels,
    spy_sparse,
)

import fastdigits
from fastdigits import _dense as fd_binding
from fastdigits import dense as fd_dense
from fastdigits.torch import Linear

ACTS = {
    None: torch.nn.Identity(),
    "relu": torch.nn.ReLU(),
    "sigmoid": torch.nn.Sigmoid(),
    "tanh": torch.nn.Tanh(),
    "gelu": torch.nn.GELU(approximate="tanh"),
}
# the parity bounds: float32 within 1e-5, float64 within 1e-14
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-5), torch.float64: dict(rtol=1e-14, atol=1e-14)}


def _twins(n_in, n_out, act, dtype, seed=0):
    torch.manual_seed(seed)
    ours = Linear(n_in, n_out, activation=act, dtype=dtype)
    ref = torch.nn.Linear(n_in, n_out, dtype=dtype)
    with torch.no_grad():
        ref.weight.copy_(ours.weight)
        ref.bias.copy_(ours.bias)
    return ours, ref


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("act", list(ACTS))
def test_forward_and_gradients_match_torch(act, dtype, threads):
    ours, ref = _twins(23, 17, act, dtype)
    x = torch.randn(11, 23, dtype=dtype)
    x1 = x.clone().requires_grad_(True)
    x2 = x.clone().requires_grad_(True)
    with fastdigits.threads(threads):
        y1 = ours(x1)
        y2 = ACTS[act](ref(x2))
        torch.testing.assert_close(y1, y2, **TOL[dtype])
        g = torch.randn_like(y1)
        y1.backward(g)
        y2.backward(g)
    torch.testing.assert_close(x1.grad, x2.grad, **TOL[dtype])
    torch.testing.assert_close(ours.weight.grad, ref.weight.grad, **TOL[dtype])
    torch.testing.assert_close(ours.bias.grad, ref.bias.grad, **TOL[dtype])
    assert ours.weight.grad.shape == (17, 23) and ours.weight.grad.is_contiguous()


def test_gradcheck_float64():
    for act in ACTS:
        lin = Linear(5, 4, activation=act, dtype=torch.float64)
        x = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(
            lambda x, w, b, act=act: fastdigits.torch.dense(x, w, b, act), (x, lin.weight, lin.bias)
        )


def test_no_bias_batched_input_and_frozen_input():
    ours, ref = _twins(6, 3, "tanh", torch.float64)
    ours_nb = Linear(6, 3, activation="tanh", bias=False, dtype=torch.float64)
    with torch.no_grad():
        ours_nb.weight.copy_(ours.weight)
    x = torch.randn(2, 4, 6, dtype=torch.float64)
    torch.testing.assert_close(ours(x), torch.tanh(ref(x)))
    torch.testing.assert_close(ours_nb(x), torch.tanh(x @ ours.weight.T))
    out = ours(x)  # input needs no grad: only parameter gradients
    out.sum().backward()
    assert ours.weight.grad is not None and ours.bias.grad is not None


def test_kernels_see_the_tensors_memory_without_copies(monkeypatch):
    seen = {}
    real_fwd, real_bwd = fd_binding.dense_forward, fd_binding.dense_backward

    def fwd(x, W, b, *args):
        seen["fwd"] = (x, W, b)
        return real_fwd(x, W, b, *args)

    def bwd(dy, x, W, *args):
        seen["bwd"] = (x, W)
        out = real_bwd(dy, x, W, *args)
        seen["dW"] = out[1]
        return out

    # fastdigits.torch calls the binding (fastdigits._dense) directly
    monkeypatch.setattr(fd_binding, "dense_forward", fwd)
    monkeypatch.setattr(fd_binding, "dense_backward", bwd)
    lin = Linear(8, 5, activation="relu")
    x = torch.randn(4, 8, requires_grad=True)
    y = lin(x)
    y.sum().backward()
    wnp = lin.weight.detach().numpy()
    x_arg, W_arg, b_arg = seen["fwd"]
    assert np.shares_memory(x_arg, x.detach().numpy())
    assert np.shares_memory(W_arg, wnp) and W_arg.shape == (8, 5) and W_arg.flags.f_contiguous
    assert np.shares_memory(b_arg, lin.bias.detach().numpy())
    assert np.shares_memory(seen["bwd"][1], wnp)
    assert seen["dW"].flags.f_contiguous  # so dW.T is the (out, in) gradient, no copy


def test_small_model_trains_like_torch():
    torch.manual_seed(0)
    X = torch.randn(64, 12)
    y = torch.randint(0, 3, (64,))
    l1, r1 = _twins(12, 16, "relu", torch.float32, seed=1)
    l2, r2 = _twins(16, 3, None, torch.float32, seed=2)
    ours = torch.nn.Sequential(l1, l2)
    ref = torch.nn.Sequential(r1, torch.nn.ReLU(), r2)
    opt1 = torch.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    opt2 = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    lossf = torch.nn.CrossEntropyLoss()
    for step in range(20):
        for model, opt in ((ours, opt1), (ref, opt2)):
            opt.zero_grad()
            loss = lossf(model(X[step % 4 * 16 :][:16]), y[step % 4 * 16 :][:16])
            loss.backward()
            opt.step()
    torch.testing.assert_close(l1.weight, r1.weight, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(l2.bias, r2.bias, rtol=1e-4, atol=1e-5)
    with torch.no_grad():
        final = lossf(ours(X), y).item()
    assert final < 0.9 * np.log(3)  # it learned something


def test_same_on_every_simd_path_and_thread_count(isa, threads):
    lin = Linear(40, 30, activation="gelu", dtype=torch.float64)
    x = torch.randn(70, 40, dtype=torch.float64)
    with fastdigits.simd("generic"), fastdigits.threads(1):
        base = lin(x).detach()
    with fastdigits.simd(isa), fastdigits.threads(threads):
        torch.testing.assert_close(lin(x).detach(), base, rtol=1e-12, atol=1e-12)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="activation"):
        Linear(3, 2, activation="swish")
    with pytest.raises(TypeError, match="floating-point dtype"):
        Linear(3, 2, dtype=torch.int32)
    with pytest.raises(TypeError, match="activation='relu'"):
        Linear(3, 2, "relu")  # the old argument order must not silently drop it
    with pytest.raises(ValueError, match="precision must be one of 'float32', 'bfloat16'"):
        Linear(3, 2, precision="float16")
    lin = Linear(3, 2)
    with pytest.raises(TypeError, match="does not match"):
        lin(torch.zeros(2, 3, dtype=torch.int64))
    with pytest.raises(TypeError, match="floating-point"):
        fastdigits.torch.dense(
            torch.zeros(2, 3, dtype=torch.int64), torch.zeros(2, 3, dtype=torch.int64)
        )
    with pytest.raises(TypeError, match="does not match"):
        lin(torch.zeros(2, 3, dtype=torch.float64))
    with pytest.raises(TypeError, match="torch.Tensor"):
        lin([[0.0, 1.0, 2.0]])
    with pytest.raises(ValueError, match="3 features"):
        lin(torch.zeros(2, 4))


def test_fastdigits_does_not_import_torch():
    code = "import sys, fastdigits, fastdigits.nn; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "False"


def test_constructor_matches_nn_linear():
    import inspect

    ours = list(inspect.signature(Linear.__init__).parameters)
    theirs = list(inspect.signature(torch.nn.Linear.__init__).parameters)
    # the signature: nn.Linear's (in, out, bias) first, every nn.Linear name
    assert ours == [
        "self",
        "in_features",
        "out_features",
        "bias",
        "activation",
        "device",
        "dtype",
        "precision",
        "weight_order",
    ]
    assert set(theirs) <= set(ours) and ours[:4] == theirs[:4]
    lin = Linear(4, 3, False, device="cpu", dtype=torch.float64)
    assert lin.bias is None and lin.weight.dtype == torch.float64
    lin = Linear(4, 3, device=torch.device("cpu"))
    assert lin.weight.shape == (3, 4) and lin.bias.shape == (3,)
    assert "precision='float32'" in repr(lin)


@pytest.mark.parametrize("bias", [True, False])
def test_state_dict_loads_both_ways(bias):
    torch.manual_seed(3)
    ref = torch.nn.Linear(9, 4, bias=bias)
    ours = Linear(9, 4, bias=bias, activation="tanh")
    assert list(ours.state_dict()) == list(ref.state_dict())
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(5, 9)
    torch.testing.assert_close(ours(x), torch.tanh(ref(x)), rtol=1e-5, atol=1e-6)
    back = torch.nn.Linear(9, 4, bias=bias)
    ours2 = Linear(9, 4, bias=bias)
    back.load_state_dict(ours2.state_dict())
    torch.testing.assert_close(back(x), ours2(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_column_major_weight(dtype):
    """weight_order="F": the values nn.Linear draws for the seed, stored
    column-major; the gradient and SGD's momentum keep that layout, and
    training steps match nn.Linear's; the state dict loads both ways."""
    torch.manual_seed(0)
    ours_c = Linear(13, 9, activation="tanh", dtype=dtype)
    torch.manual_seed(0)
    ours = Linear(13, 9, activation="tanh", dtype=dtype, weight_order="F")
    assert "weight_order='F'" in repr(ours) and "weight_order" not in repr(ours_c)
    assert ours.weight.shape == (9, 13) and ours.weight.stride() == (1, 9)
    assert torch.equal(ours.weight, ours_c.weight) and torch.equal(ours.bias, ours_c.bias)
    ref = torch.nn.Linear(13, 9, dtype=dtype)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(6, 13, dtype=dtype)
    opts = [torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9) for m in (ours, ref)]
    for _ in range(3):
        for m, opt in zip((ours, ref), opts):
            opt.zero_grad(set_to_none=True)
            y = m(x)
            (y if m is ours else torch.tanh(y)).square().mean().backward()
            opt.step()
    assert ours.weight.stride() == ours.weight.grad.stride() == (1, 9)
    assert opts[0].state[ours.weight]["momentum_buffer"].stride() == (1, 9)
    torch.testing.assert_close(ours.weight.grad, ref.weight.grad, **TOL[dtype])
    torch.testing.assert_close(ours.weight, ref.weight, **TOL[dtype])
    # nn.Linear's state dict into a column-major layer keeps its layout
    back = Linear(13, 9, dtype=dtype, weight_order="F")
    back.load_state_dict(torch.nn.Linear(13, 9, dtype=dtype).state_dict())
    assert back.weight.stride() == (1, 9)
    with pytest.raises(ValueError, match="weight_order must be 'C' or 'F'"):
        Linear(4, 3, weight_order="K")


def test_save_load_no_grad_inference_mode(tmp_path):
    lin = Linear(6, 5, activation="gelu", dtype=torch.float64)
    x = torch.randn(3, 6, dtype=torch.float64)
    ref = lin(x).detach()
    torch.save(lin, tmp_path / "m.pt")
    again = torch.load(tmp_path / "m.pt", weights_only=False)
    torch.testing.assert_close(again(x).detach(), ref, rtol=0, atol=0)
    with torch.no_grad():
        y = lin(x)
    assert not y.requires_grad and torch.equal(y, ref)
    with torch.inference_mode():
        y = lin(x)
    assert y.is_inference() and torch.equal(y, ref)


@pytest.mark.parametrize("act", ["relu", "gelu"])
def test_double_backward_raises_a_clear_error(act):
    lin = Linear(4, 3, activation=act, dtype=torch.float64)
    ref = torch.nn.Linear(4, 3, dtype=torch.float64)
    ref.load_state_dict(lin.state_dict())
    x = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    assert_double_backward_raises(lin, lambda v: ACTS[act](ref(v)), x)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_other_dtypes_fall_back_to_torch_ops(dtype, monkeypatch):
    forbid_kernels(monkeypatch, dtype)
    torch.manual_seed(0)
    ours = Linear(8, 5, activation="sigmoid", dtype=dtype)
    ref = torch.nn.Linear(8, 5, dtype=dtype)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(4, 8, dtype=dtype, requires_grad=True)
    y = ours(x)
    assert y.dtype == dtype
    torch.testing.assert_close(y, torch.sigmoid(ref(x)), rtol=0, atol=0)
    y.sum().backward()
    assert ours.weight.grad.dtype == dtype and x.grad is not None


def test_meta_device_falls_back_to_torch_ops():
    lin = Linear(8, 5, activation="relu", device="meta")
    y = lin(torch.empty(3, 8, device="meta"))
    assert y.device.type == "meta" and y.shape == (3, 5)


def test_one_dim_and_empty_batches():
    ours, ref = _twins(5, 2, "relu", torch.float64)
    x = torch.randn(5, dtype=torch.float64)
    torch.testing.assert_close(ours(x), torch.relu(ref(x)))
    e = torch.zeros(0, 5, dtype=torch.float64, requires_grad=True)
    y = ours(e)
    assert y.shape == (0, 2)
    y.sum().backward()
    assert torch.equal(ours.weight.grad, torch.zeros(2, 5, dtype=torch.float64))


@pytest.mark.parametrize("act", ["relu", "gelu"])
def test_bfloat16_precision_matches_the_dense_kernels(act):
    """precision="bfloat16": outputs and gradients are the bf16 dense kernels'
    (float32 tensors in and out), eager and through the custom operator."""
    torch.manual_seed(0)
    lin = Linear(50, 33, activation=act, precision="bfloat16")
    assert "precision='bfloat16'" in repr(lin)
    x = torch.randn(17, 50, requires_grad=True)
    y = lin(x)
    assert y.dtype == torch.float32
    xn, W, b = x.detach().numpy(), lin.weight.detach().numpy().T, lin.bias.detach().numpy()
    z = np.empty((17, 33), np.float32)
    y_fd = fd_dense.dense_forward(xn, W, b, act, preact_out=z, precision="bfloat16")
    np.testing.assert_array_equal(y.detach().numpy(), y_fd)
    dy = torch.randn(17, 33)
    y.backward(dy)
    yz = {"z": z} if act == "gelu" else {"y": y_fd}
    dx, dW, db = fd_dense.dense_backward(
        dy.numpy(), xn, W, activation=act, precision="bfloat16", **yz
    )
    np.testing.assert_array_equal(x.grad.numpy(), dx)
    np.testing.assert_array_equal(lin.weight.grad.numpy(), dW.T)
    np.testing.assert_array_equal(lin.bias.grad.numpy(), db)
    y_op = torch.ops.fastdigits.dense(
        x.detach(), lin.weight.detach(), lin.bias.detach(), act, "bfloat16"
    )[0]
    np.testing.assert_array_equal(y_op.numpy(), y_fd)
    with pytest.raises(TypeError, match="bfloat16"):
        Linear(5, 3, dtype=torch.float64, precision="bfloat16")(
            torch.randn(2, 5, dtype=torch.float64)
        )


@pytest.mark.parametrize("name", ["weight", "bias"])
def test_parametrized_parameter_is_read_through_the_attribute(name):
    """torch.nn.utils.parametrize turns a parameter into a property (it
    leaves the layer's parameter dict): forward reads the parametrized
    value, and the gradient reaches the original."""

    class Double(torch.nn.Module):
        def forward(self, w):
            return 2 * w

    ours, ref = _twins(6, 4, "tanh", torch.float64)
    torch.nn.utils.parametrize.register_parametrization(ours, name, Double())
    with torch.no_grad():
        getattr(ref, name).mul_(2)
    x = torch.randn(3, 6, dtype=torch.float64)
    y1, y2 = ours(x), torch.tanh(ref(x))
    torch.testing.assert_close(y1, y2, **TOL[torch.float64])
    y1.sum().backward()
    y2.sum().backward()
    orig = getattr(ours.parametrizations, name).original
    torch.testing.assert_close(orig.grad, 2 * getattr(ref, name).grad, **TOL[torch.float64])


def test_bias_false_and_bias_removed_later():
    """bias=False registers None (no bias added); a bias set to None after
    construction is dropped the same way."""
    torch.manual_seed(0)
    x = torch.randn(3, 5, dtype=torch.float64)
    ours = Linear(5, 4, bias=False, activation="relu", dtype=torch.float64)
    torch.testing.assert_close(ours(x), torch.relu(x @ ours.weight.T), **TOL[torch.float64])
    ours2, _ = _twins(5, 4, "relu", torch.float64)
    ours2.bias = None
    torch.testing.assert_close(ours2(x), torch.relu(x @ ours2.weight.T), **TOL[torch.float64])


# --------------------------------------------------------------------------
# What the layer saves for backward, as F.linear saves it (an audit found
# each of these failing where nn.Linear works).


@pytest.mark.parametrize("weight_order", ["C", "F"])
def test_output_may_change_in_place_after_a_linear_layer(weight_order):
    # Linear(...) + nn.ReLU(inplace=True) (torchvision's VGG heads) and a
    # residual h += x: the identity layer saved its output, so backward
    # raised "modified by an inplace operation"
    torch.manual_seed(0)
    ours = Linear(6, 6, weight_order=weight_order)
    ref = torch.nn.Linear(6, 6)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(5, 6)
    grads = []
    for layer in (ours, ref):
        xi = x.clone().requires_grad_(True)
        h = layer(xi)
        h += xi  # residual, in place
        torch.relu_(h)
        h.square().sum().backward()
        grads.append((xi.grad, layer.weight.grad, layer.bias.grad))
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)
    seq = torch.nn.Sequential(Linear(6, 3), torch.nn.ReLU(inplace=True))
    seq(x).sum().backward()
    assert seq[0].weight.grad is not None


def test_weights_backward_does_not_read_may_change_before_it():
    # x needs no gradient: backward never reads the weight (nn.Linear does
    # not save it then), so an optimiser-style update in between is allowed
    torch.manual_seed(0)
    ours = Linear(5, 3, activation="tanh")
    ref = torch.nn.Linear(5, 3)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(4, 5)
    y1, y2 = ours(x), torch.tanh(ref(x))
    with torch.no_grad():
        ours.weight.mul_(0.5)
        ref.weight.mul_(0.5)
    y1.sum().backward()
    y2.sum().backward()
    torch.testing.assert_close(ours.weight.grad, ref.weight.grad)
    torch.testing.assert_close(ours.bias.grad, ref.bias.grad)
    # ... but where dx needs the weight, both refuse the changed one
    for layer in (ours, ref):
        xg = x.clone().requires_grad_(True)
        y = layer(xg)
        with torch.no_grad():
            layer.weight.add_(1.0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


# --------------------------------------------------------------------------
# The sparse product: a relu or linear layer (either weight order) whose
# input is data (no dx) computes its product from the pixels that differ
# from the batch's first element (csrc/mlp/mlp_sparse.h), as MLP's first
# layer does.


@pytest.mark.parametrize("weight_order", ["C", "F"])
@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("act", ["relu", None])
def test_sparse_product_where_the_input_is_data(monkeypatch, act, dtype, threads, weight_order):
    calls = spy_sparse(monkeypatch)
    torch.manual_seed(3)
    ours = Linear(61, 19, activation=act, dtype=dtype, weight_order=weight_order)
    ref = torch.nn.Linear(61, 19, dtype=dtype)
    ref.load_state_dict(ours.state_dict())
    x = digit_like(37, 61, dtype)
    opts = [torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9) for m in (ours, ref)]
    with fastdigits.threads(threads):
        for _ in range(3):
            for m, opt in zip((ours, ref), opts):
                opt.zero_grad(set_to_none=True)
                y = m(x) if m is ours else ACTS[act](m(x))
                y.square().mean().backward()
                opt.step()
    assert calls == ["f", "b"] * 3
    # the gradient in the weight's own layout (no copy in autograd)
    want = (61, 1) if weight_order == "C" else (1, 19)
    assert ours.weight.grad.stride() == ours.weight.stride() == want
    for p, q in zip(ours.parameters(), ref.parameters()):
        torch.testing.assert_close(p.grad, q.grad, **TOL[dtype])
        torch.testing.assert_close(p, q, **TOL[dtype])
    # the same bits for any thread count, with and without bias
    grads = []
    for t in (1, 2, 3):
        ours.zero_grad(set_to_none=True)
        with fastdigits.threads(t):
            ours(x).square().sum().backward()
        grads.append((ours.weight.grad, ours.bias.grad))
    assert all(torch.equal(g[0], grads[0][0]) and torch.equal(g[1], grads[0][1]) for g in grads)
    nb = Linear(61, 19, bias=False, activation=act, dtype=dtype, weight_order=weight_order)
    rb = torch.nn.Linear(61, 19, bias=False, dtype=dtype)
    rb.load_state_dict(nb.state_dict())
    nb(x).square().sum().backward()
    ACTS[act](rb(x)).square().sum().backward()
    torch.testing.assert_close(nb.weight.grad, rb.weight.grad, **TOL[dtype])


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("isa", fastdigits.available_simd())
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sparse_product_same_bits_for_either_weight_order(monkeypatch, dtype, isa, threads):
    # a row-major weight is read through a transposed copy and its gradient
    # written through one (mlp_sparse.h): the same sums as column-major
    calls = spy_sparse(monkeypatch)
    torch.manual_seed(6)
    layers = [Linear(83, 37, activation="relu", dtype=dtype, weight_order=o) for o in "CF"]
    layers[1].load_state_dict(layers[0].state_dict())
    x = digit_like(45, 83, dtype)
    with fastdigits.simd(isa), fastdigits.threads(threads):
        for layer in layers:
            layer(x).square().sum().backward()
    assert calls == ["f", "b"] * 2
    for p, q in zip(*(layer.parameters() for layer in layers)):
        assert torch.equal(p.grad, q.grad)


def test_sparse_product_only_where_it_applies(monkeypatch):
    """Dense rows, an input that needs its gradient, another activation,
    bfloat16 precision, no gradient at all: the dense products, with the
    same results as nn.Linear."""
    calls = spy_sparse(monkeypatch)
    torch.manual_seed(4)
    x = torch.randn(9, 30)  # no background
    ours = Linear(30, 8, activation="relu", weight_order="F")
    ref = torch.nn.Linear(30, 8)
    ref.load_state_dict(ours.state_dict())
    ours(x).sum().backward()
    torch.relu(ref(x)).sum().backward()
    assert calls == ["dense"]
    torch.testing.assert_close(ours.weight.grad, ref.weight.grad)
    xs = digit_like(9, 30, torch.float32)
    xg, xr = xs.clone().requires_grad_(True), xs.clone().requires_grad_(True)
    ours(xg).sum().backward()  # dx wanted
    torch.relu(ref(xr)).sum().backward()
    torch.testing.assert_close(xg.grad, xr.grad)
    for layer in (
        Linear(30, 8, activation="tanh", weight_order="F"),
        Linear(30, 8, activation="relu", weight_order="F", precision="bfloat16"),
    ):
        layer(xs).sum().backward()
    with torch.no_grad():
        ours(xs)
    assert calls == ["dense"]


def test_sparse_product_output_may_change_in_place():
    # the identity layer's backward reads neither its output nor its
    # weight, as nn.Linear's: h += r and relu_(h) after it, and an
    # optimiser-style update of the weight before backward, are allowed
    torch.manual_seed(5)
    ours = Linear(30, 8, weight_order="F")
    ref = torch.nn.Linear(30, 8)
    ref.load_state_dict(ours.state_dict())
    x, r = digit_like(9, 30, torch.float32), torch.randn(9, 8)
    for layer in (ours, ref):
        h = layer(x)
        h += r
        torch.relu_(h)
        with torch.no_grad():
            layer.weight.mul_(0.5)
        h.square().sum().backward()
    torch.testing.assert_close(ours.weight.grad, ref.weight.grad)
    torch.testing.assert_close(ours.bias.grad, ref.bias.grad)
    # where relu' reads the output, a change of it is refused, as by nn.ReLU
    layer = Linear(30, 8, activation="relu", weight_order="F")
    h = layer(x)
    h.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        h.sum().backward()


@pytest.mark.parametrize("act, weight_order", [("gelu", "C"), ("relu", "F"), (None, "F")])
def test_backward_frees_what_the_forward_kept(act, weight_order):
    # beyond the output: gelu's pre-activation, the sparse product's scratch
    torch.manual_seed(0)
    layer = Linear(784, 256, activation=act, weight_order=weight_order)
    held = assert_backward_frees(layer, digit_like(2048, 784, torch.float32))
    assert held >= 2 * 2048 * 256 * 4  # y, and z or the scratch, were there


def test_torch_func_transforms_run_pytorch_ops():
    # per-sample gradients (vmap of grad) and vmap without grad: the
    # kernels read tensors' memory, which functorch's wrapped tensors do not
    # expose; the layer ran into "must override the setup_context
    # staticmethod" / "Cannot access data pointer" before
    from torch.func import functional_call, grad, vmap

    torch.manual_seed(0)
    ours = Linear(5, 3, activation="relu")
    ref = torch.nn.Sequential(torch.nn.Linear(5, 3), torch.nn.ReLU())
    ref[0].load_state_dict(ours.state_dict())
    x = torch.randn(4, 5)

    def per_sample(model, params):
        def loss(p, xi):
            return functional_call(model, p, (xi,)).square().sum()

        return vmap(grad(loss), in_dims=(None, 0))(params, x)

    got = per_sample(ours, {k: v.detach() for k, v in ours.named_parameters()})
    want = per_sample(ref, {k: v.detach() for k, v in ref.named_parameters()})
    torch.testing.assert_close(got["weight"], want["0.weight"])
    torch.testing.assert_close(got["bias"], want["0.bias"])
    with torch.no_grad():
        torch.testing.assert_close(vmap(ours)(x.reshape(2, 2, 5)), ref(x).reshape(2, 2, 3))


def test_autocast_runs_pytorch_ops(monkeypatch):
    # under torch.autocast the layer is nn.Linear's ops (bfloat16 results),
    # not float32 kernels
    forbid_kernels(monkeypatch, "autocast")
    torch.manual_seed(0)
    ours = Linear(8, 5, activation="gelu")
    ref = torch.nn.Linear(8, 5)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(4, 8, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = ours(x)
        want = torch.nn.functional.gelu(ref(x), approximate="tanh")
    assert y.dtype == torch.bfloat16
    torch.testing.assert_close(y, want, rtol=0, atol=0)
    y.float().sum().backward()
    assert ours.weight.grad.dtype == torch.float32
