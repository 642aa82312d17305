"""fastdigits.torch.MLP (the whole stack in one call) against the same
nn.Sequential of nn.Linear + activations, and under torch.compile / export."""

import numpy as np
import pytest
import torch

from _torch_helpers import (
    assert_backward_frees,
    assert_compiled_grads_match,
    assert_double_backward_raises,
    assert_one_compiled_graph,
    digit_like,
    forbid_kernels,
    spy_sparse,
)

import fastdigits
import fastdigits.torch as fdt
from fastdigits import _dense as fd_binding
from fastdigits.torch import MLP, Linear

ACTS = {
    "identity": torch.nn.Identity,
    "relu": torch.nn.ReLU,
    "sigmoid": torch.nn.Sigmoid,
    "tanh": torch.nn.Tanh,
    "gelu": lambda: torch.nn.GELU(approximate="tanh"),
}
# the task's parity bounds for gradients: float32 1e-5, float64 1e-12
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-5), torch.float64: dict(rtol=1e-12, atol=1e-12)}
SIZES = [13, 9, 7, 4]


def _sequential(sizes, act, bias=True, dtype=None):
    layers = []
    for i, (k, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        if i:
            layers.append(ACTS[act]())
        layers.append(torch.nn.Linear(k, n, bias=bias, dtype=dtype))
    return torch.nn.Sequential(*layers)


def _twins(sizes, act, dtype, bias=True, seed=0):
    torch.manual_seed(seed)
    ours = MLP(sizes, activation=act, bias=bias, dtype=dtype)
    ref = _sequential(sizes, act, bias, dtype)
    ref.load_state_dict(MLP.state_dict_to_sequential(ours.state_dict()))
    return ours, ref


def _grads(model):
    return [p.grad for p in model.parameters()]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("act", list(ACTS))
def test_forward_and_gradients_match_sequential(act, dtype, bias, threads):
    ours, ref = _twins(SIZES, act, dtype, bias)
    x = torch.randn(11, SIZES[0], dtype=dtype)
    x1, x2 = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    with fastdigits.threads(threads):
        y1, y2 = ours(x1), ref(x2)
        torch.testing.assert_close(y1, y2, **TOL[dtype])
        g = torch.randn_like(y1)
        y1.backward(g)
        y2.backward(g)
    torch.testing.assert_close(x1.grad, x2.grad, **TOL[dtype])
    for a, b in zip(_grads(ours), _grads(ref)):
        assert a.shape == b.shape and a.is_contiguous()
        torch.testing.assert_close(a, b, **TOL[dtype])


def test_same_bits_for_1_2_3_threads_and_as_linear_layers():
    """The fused stack runs the same kernels as a Sequential of fastdigits
    Linear layers: the same bits, whatever the thread count."""
    torch.manual_seed(1)
    mlp = MLP([30, 20, 10, 5], activation="gelu", dtype=torch.float64)
    seq = torch.nn.Sequential(
        *[
            Linear(k, n, activation=lay.activation, dtype=torch.float64)
            for k, n, lay in zip([30, 20, 10], [20, 10, 5], mlp.layers)
        ]
    )
    seq.load_state_dict(MLP.state_dict_to_sequential(mlp.state_dict(), stride=1))
    x = torch.randn(17, 30, dtype=torch.float64)
    results = []
    for n in (1, 2, 3):
        with fastdigits.threads(n):
            for model in (mlp, seq):
                model.zero_grad(set_to_none=True)
                model(x).square().sum().backward()
                results.append([model(x)] + _grads(model))
    for r in results[1:]:
        for a, b in zip(r, results[0]):
            assert torch.equal(a, b)


def test_gradcheck_float64():
    for act in ACTS:
        torch.manual_seed(0)
        mlp = MLP([5, 4, 3, 2], activation=act, dtype=torch.float64)
        x = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(mlp, (x,))
        params = [p.detach().requires_grad_(True) for p in mlp.parameters()]

        def op(x, *p, act=act):
            return torch.ops.fastdigits.mlp_forward(
                x, list(p[0::2]), list(p[1::2]), act, "float32"
            )[0]

        assert torch.autograd.gradcheck(op, (x, *params))


def test_state_dict_names_and_mapping_both_ways():
    torch.manual_seed(0)
    mlp = MLP([8, 6, 5, 3], activation="tanh")
    assert list(mlp.state_dict()) == [
        "layers.%d.%s" % (i, n) for i in range(3) for n in ("weight", "bias")
    ]
    assert mlp.layers[0].weight.shape == (6, 8) and mlp.layers[2].bias.shape == (3,)
    ref = _sequential([8, 6, 5, 3], "tanh")
    assert list(MLP.state_dict_from_sequential(ref.state_dict())) == list(mlp.state_dict())
    mlp.load_state_dict(MLP.state_dict_from_sequential(ref.state_dict()))
    x = torch.randn(4, 8)
    torch.testing.assert_close(mlp(x), ref(x), rtol=1e-5, atol=1e-6)
    ref2 = _sequential([8, 6, 5, 3], "tanh")
    ref2.load_state_dict(MLP.state_dict_to_sequential(MLP([8, 6, 5, 3]).state_dict()))
    # a Sequential without activation modules between its layers: stride 1
    plain = torch.nn.Sequential(torch.nn.Linear(8, 6), torch.nn.Linear(6, 3))
    MLP([8, 6, 3], activation=None).load_state_dict(
        MLP.state_dict_from_sequential(plain.state_dict())
    )
    sd = MLP([8, 6, 3]).state_dict()
    plain.load_state_dict(MLP.state_dict_to_sequential(sd, stride=1))
    assert torch.equal(plain[1].weight, sd["layers.1.weight"])


def test_constructor_repr_and_bad_arguments():
    mlp = MLP((784, 32, 10), bias=False, dtype=torch.float64)
    assert repr(mlp).startswith("MLP(\n  sizes=[784, 32, 10], activation='relu'")
    assert [lay.activation for lay in mlp.layers] == ["relu", None]
    assert all(lay.bias is None for lay in mlp.layers)
    assert mlp.layers[0].weight.dtype == torch.float64
    with pytest.raises(ValueError, match="sizes"):
        MLP([784])
    with pytest.raises(ValueError, match="sizes"):
        MLP([784, 0, 10])
    with pytest.raises(TypeError, match="sizes"):
        MLP([784, 2.5, 10])
    with pytest.raises(TypeError, match="sizes"):
        MLP(784)
    with pytest.raises(ValueError, match="activation"):
        MLP([4, 3], activation="softmax")
    with pytest.raises(ValueError, match="precision"):
        MLP([4, 3], precision="float16")
    mlp = MLP([5, 4, 3])
    with pytest.raises(ValueError, match="5 features"):
        mlp(torch.randn(2, 6))
    with pytest.raises(TypeError, match="does not match the weight dtype"):
        mlp(torch.randn(2, 5, dtype=torch.float64))
    with pytest.raises(TypeError, match="floating-point"):
        MLP([5, 3], dtype=torch.int32)
    with pytest.raises(TypeError, match="torch.Tensor"):
        mlp(np.zeros((2, 5), np.float32))


def test_one_call_each_way_on_the_tensors_memory(monkeypatch):
    """Forward and backward are one autograd node each, and the kernels read
    the tensors' own memory (no copies)."""
    torch.manual_seed(0)
    mlp = MLP([10, 8, 6, 3])
    seen = []
    fwd, bwd = fd_binding.dense_forward, fd_binding.dense_backward

    def spy_fwd(x, W, *a):
        seen.append(("f", x, W))
        return fwd(x, W, *a)

    def spy_bwd(dy, x, W, *a):
        seen.append(("b", x, W))
        return bwd(dy, x, W, *a)

    monkeypatch.setattr(fd_binding, "dense_forward", spy_fwd)
    monkeypatch.setattr(fd_binding, "dense_backward", spy_bwd)
    x = torch.randn(7, 10)
    y = mlp(x)
    assert y.grad_fn.name() == "_MLPFunctionBackward"
    # one node for the stack: its inputs are the parameters' accumulators
    assert {f.name() for f, _ in y.grad_fn.next_functions if f is not None} == {
        "torch::autograd::AccumulateGrad"
    }
    y.sum().backward()
    assert [s[0] for s in seen] == ["f"] * 3 + ["b"] * 3
    assert np.shares_memory(seen[0][1], x.numpy())
    for i, lay in enumerate(mlp.layers):
        w = lay.weight.detach().numpy()
        assert np.shares_memory(seen[i][2], w) and np.shares_memory(seen[5 - i][2], w)
    # a hidden output of the forward is the next layer's input, forward and
    # back: the same memory, no copy
    assert np.shares_memory(seen[1][1], seen[4][1])


def test_frozen_input_frozen_layer_batched_input():
    ours, ref = _twins([6, 5, 4], "relu", torch.float64)
    ours.layers[0].weight.requires_grad_(False)
    ref[0].weight.requires_grad_(False)
    x = torch.randn(2, 3, 6, dtype=torch.float64)
    y1, y2 = ours(x), ref(x)
    assert y1.shape == (2, 3, 4)
    torch.testing.assert_close(y1, y2)
    y1.sum().backward()
    y2.sum().backward()
    assert ours.layers[0].weight.grad is None
    for a, b in zip(_grads(ours)[1:], _grads(ref)[1:]):
        torch.testing.assert_close(a, b)
    torch.testing.assert_close(ours(x[0, 0]), ref(x[0, 0]))  # one sample, 1-D
    e = ours(torch.zeros(0, 6, dtype=torch.float64))
    assert e.shape == (0, 4)


def test_no_grad_inference_mode_and_training():
    ours, ref = _twins([20, 16, 5], "relu", torch.float32)
    x = torch.randn(9, 20)
    with torch.no_grad():
        y = ours(x)
    assert not y.requires_grad and y.grad_fn is None
    torch.testing.assert_close(y, ref(x).detach(), rtol=1e-5, atol=1e-6)
    with torch.inference_mode():
        yi = ours(x)
    assert yi.is_inference() and torch.equal(yi, y)
    target = torch.randint(0, 5, (9,))
    losses = []
    for model in (ours, ref):
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        ls = []
        for _ in range(10):
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(x), target)
            loss.backward()
            opt.step()
            ls.append(loss.item())
        losses.append(ls)
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-4, atol=1e-5)
    assert losses[0][-1] < losses[0][0]


@pytest.mark.parametrize("what", ["x", "weight", "bias"])
def test_modified_in_place_before_backward_raises_as_nn_linear(what):
    """backward raises PyTorch's in-place error when x or a weight the
    gradient needs was modified after forward, as nn.Linear's does (the MLP
    saves x and the weights, not its own hidden outputs); a bias, which no
    gradient reads, may change."""
    for model in _twins([5, 4, 3], "relu", torch.float64):
        x = torch.randn(2, 5, dtype=torch.float64, requires_grad=True)
        xin = x * 1.0  # a non-leaf, so it may be modified in place
        y = model(xin)
        first = model.layers[0] if isinstance(model, MLP) else model[0]
        with torch.no_grad():
            {"x": xin, "weight": first.weight, "bias": first.bias}[what].add_(1.0)
        if what == "bias":
            y.sum().backward()  # nothing saved was modified
            assert x.grad is not None
        else:
            with pytest.raises(RuntimeError, match="modified by an inplace operation"):
                y.sum().backward()


def test_second_backward_needs_retain_graph():
    ours, ref = _twins([5, 4, 3], "gelu", torch.float64)
    x = torch.randn(3, 5, dtype=torch.float64)
    for model in (ours, ref):
        y = model(x).sum()
        y.backward(retain_graph=True)
        y.backward()  # the graph was kept: gradients add up
        with pytest.raises(RuntimeError, match="second time"):
            y.backward()
    for a, b in zip(_grads(ours), _grads(ref)):
        torch.testing.assert_close(a, b, **TOL[torch.float64])


@pytest.mark.parametrize("weight_order", ["C", "F"])
def test_backward_frees_what_the_forward_kept(weight_order):
    # the hidden outputs; with "F" the sparse first layer's scratch
    torch.manual_seed(0)
    model = MLP([784, 256, 10], weight_order=weight_order)
    held = assert_backward_frees(model, digit_like(2048, 784, torch.float32))
    assert held >= 2048 * 256 * 4  # the hidden output was there


def test_mixed_bias_layers_run_layer_by_layer():
    """A stack whose layers do not all have a bias (a bias removed after
    construction) runs layer by layer and still matches the Sequential."""
    ours, ref = _twins([6, 5, 4], "tanh", torch.float64)
    ours.layers[1].register_parameter("bias", None)
    ref[2].register_parameter("bias", None)
    x = torch.randn(3, 6, dtype=torch.float64)
    torch.testing.assert_close(ours(x), ref(x), **TOL[torch.float64])
    ours(x).sum().backward()
    ref(x).sum().backward()
    for a, b in zip(_grads(ours), _grads(ref)):
        torch.testing.assert_close(a, b, **TOL[torch.float64])


@pytest.mark.parametrize("act", ["relu", "gelu"])
def test_double_backward_raises_a_clear_error(act):
    ours, ref = _twins([4, 3, 2], act, torch.float64)
    assert_double_backward_raises(
        ours, ref, torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    )


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_other_dtypes_fall_back_to_torch_ops(dtype, monkeypatch):
    forbid_kernels(monkeypatch, dtype)
    ours, ref = _twins([8, 6, 5], "sigmoid", dtype)
    x = torch.randn(4, 8, dtype=dtype, requires_grad=True)
    y = ours(x)
    assert y.dtype == dtype
    torch.testing.assert_close(y, ref(x), rtol=0, atol=0)
    y.sum().backward()
    assert ours.layers[0].weight.grad.dtype == dtype and x.grad is not None


def test_meta_device_falls_back_to_torch_ops():
    mlp = MLP([8, 6, 5], device="meta")
    y = mlp(torch.empty(3, 8, device="meta"))
    assert y.device.type == "meta" and y.shape == (3, 5)


def test_bfloat16_precision_is_the_linear_layers_bits():
    torch.manual_seed(0)
    mlp = MLP([50, 33, 7], activation="gelu", precision="bfloat16")
    assert [lay.precision for lay in mlp.layers] == ["bfloat16"] * 2
    seq = torch.nn.Sequential(
        Linear(50, 33, activation="gelu", precision="bfloat16"),
        Linear(33, 7, precision="bfloat16"),
    )
    seq.load_state_dict(MLP.state_dict_to_sequential(mlp.state_dict(), stride=1))
    x = torch.randn(17, 50)
    y1, y2 = mlp(x), seq(x)
    assert torch.equal(y1, y2)
    y1.square().sum().backward()
    y2.square().sum().backward()
    for a, b in zip(_grads(mlp), _grads(seq)):
        assert torch.equal(a, b)
    with pytest.raises(TypeError, match="bfloat16"):
        MLP([5, 3], dtype=torch.float64, precision="bfloat16")(
            torch.randn(2, 5, dtype=torch.float64)
        )


def test_module_exports():
    assert "MLP" in fdt.__all__ and fdt.MLP is MLP


# ---------------------------------------------------------------------------
# torch.compile, torch.export, opcheck (seconds each: marked slow, like
# tests/test_torch_compile.py)


@pytest.mark.slow
def test_compile_fullgraph_one_op():
    torch._dynamo.reset()
    mlp = MLP([12, 16, 8, 3], activation="gelu")
    assert_one_compiled_graph(mlp, torch.randn(5, 12), ["fastdigits.mlp_forward.default"])


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["aot_eager", "inductor"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_compiled_training_step_matches_eager(backend, dtype):
    """The registered autograd (one mlp_backward op) traced by AOT autograd."""
    torch._dynamo.reset()
    torch.manual_seed(0)
    eager, comp = MLP([12, 16, 8, 3], dtype=dtype), MLP([12, 16, 8, 3], dtype=dtype)
    comp.load_state_dict(eager.state_dict())
    compiled = torch.compile(comp, backend=backend, fullgraph=True)
    assert_compiled_grads_match(eager, comp, compiled, torch.randn(7, 12, dtype=dtype))


@pytest.mark.slow
@pytest.mark.parametrize("strict", [True, False])
def test_export_records_one_op(tmp_path, strict):
    torch.manual_seed(0)
    mlp = MLP([12, 16, 8, 3], activation="tanh")
    x = torch.randn(4, 12)
    ep = torch.export.export(
        mlp, (x,), strict=strict, dynamic_shapes=({0: torch.export.Dim("batch")},)
    )
    targets = [str(n.target) for n in ep.graph.nodes if n.op == "call_function"]
    assert targets.count("fastdigits.mlp_forward.default") == 1
    assert not any("dense" in t or "linear" in t or "addmm" in t for t in targets)
    torch.testing.assert_close(ep.module()(x), mlp(x))
    torch.export.save(ep, tmp_path / "m.pt2")
    again = torch.export.load(tmp_path / "m.pt2")
    x9 = torch.randn(9, 12)
    torch.testing.assert_close(again.module()(x9), mlp(x9))


@pytest.mark.slow
@pytest.mark.parametrize("act", ["relu", "gelu"])
def test_opcheck_both_operators(act):
    torch.manual_seed(0)
    x = torch.randn(6, 5, dtype=torch.float64, requires_grad=True)
    ws = [torch.randn(4, 5, dtype=torch.float64), torch.randn(3, 4, dtype=torch.float64)]
    bs = [torch.randn(4, dtype=torch.float64), torch.randn(3, dtype=torch.float64)]
    for w in ws + bs:
        w.requires_grad_(True)
    torch.library.opcheck(torch.ops.fastdigits.mlp_forward.default, (x, ws, bs, act, "float32"))
    torch.library.opcheck(torch.ops.fastdigits.mlp_forward.default, (x, ws, [], act, "float32"))
    det = [w.detach() for w in ws]
    outs = torch.ops.fastdigits.mlp_forward(
        x.detach(), det, [b.detach() for b in bs], act, "float32"
    )
    dout = torch.randn(6, 3, dtype=torch.float64)
    for need_dx in (True, False):
        for has_bias in (True, False):
            torch.library.opcheck(
                torch.ops.fastdigits.mlp_backward.default,
                (dout, x.detach(), det, outs[1:], act, need_dx, has_bias, "float32"),
                test_utils=("test_schema", "test_faketensor", "test_aot_dispatch_static"),
            )


def test_parametrized_weight_is_read_through_the_attribute():
    """torch.nn.utils.parametrize turns a weight into a property: the MLP reads
    the parametrized value, and the gradient reaches the original."""

    class Double(torch.nn.Module):
        def forward(self, w):
            return 2 * w

    ours, ref = _twins([6, 5, 4], "tanh", torch.float64)
    torch.nn.utils.parametrize.register_parametrization(ours.layers[0], "weight", Double())
    with torch.no_grad():
        ref[0].weight.mul_(2)
    x = torch.randn(3, 6, dtype=torch.float64)
    y1, y2 = ours(x), ref(x)
    torch.testing.assert_close(y1, y2)
    y1.sum().backward()
    y2.sum().backward()
    orig = ours.layers[0].parametrizations.weight.original
    torch.testing.assert_close(orig.grad, 2 * ref[0].weight.grad)


@pytest.mark.slow
def test_jit_trace_and_compile_without_bias(tmp_path):
    torch.manual_seed(0)
    mlp = MLP([6, 5, 3], activation="gelu", bias=False, dtype=torch.float64)
    x = torch.randn(4, 6, dtype=torch.float64)
    traced = torch.jit.trace(mlp, x)
    assert "fastdigits::mlp_forward" in str(traced.inlined_graph)
    torch.jit.save(traced, tmp_path / "m.ts")
    torch.testing.assert_close(torch.jit.load(tmp_path / "m.ts")(x), mlp(x))
    torch._dynamo.reset()
    ref = _sequential([6, 5, 3], "gelu", bias=False, dtype=torch.float64)
    ref.load_state_dict(MLP.state_dict_to_sequential(mlp.state_dict()))
    compiled = torch.compile(mlp, backend="aot_eager", fullgraph=True)
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    compiled(xa).sum().backward()
    ref(xb).sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad, **TOL[torch.float64])
    for a, b in zip(_grads(mlp), _grads(ref)):
        torch.testing.assert_close(a, b, **TOL[torch.float64])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_column_major_weights(dtype):
    """weight_order="F": the same values and state dict, column-major
    storage that the gradients and the optimiser's buffers share."""
    torch.manual_seed(0)
    ref_c = MLP(SIZES, activation="gelu", dtype=dtype)
    torch.manual_seed(0)
    ours = MLP(SIZES, activation="gelu", dtype=dtype, weight_order="F")
    assert "weight_order='F'" in repr(ours)
    for a, b in zip(ref_c.parameters(), ours.parameters()):
        assert torch.equal(a, b)
    assert ours.layers[0].weight.shape == (9, 13) and ours.layers[0].weight.stride() == (1, 9)
    ref = _sequential(SIZES, "gelu", dtype=dtype)
    ref.load_state_dict(MLP.state_dict_to_sequential(ours.state_dict()))
    x = torch.randn(6, 13, dtype=dtype)
    opts = [torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9) for m in (ours, ref)]
    for _ in range(3):
        for m, opt in zip((ours, ref), opts):
            opt.zero_grad(set_to_none=True)
            m(x).square().mean().backward()
            opt.step()
    for lay, p in zip(ours.layers, list(ref.parameters())[0::2]):
        assert lay.weight.stride() == lay.weight.grad.stride() == (1, lay.out_features)
        torch.testing.assert_close(lay.weight.grad, p.grad, **TOL[dtype])
        torch.testing.assert_close(lay.weight, p, **TOL[dtype])
    with pytest.raises(ValueError, match="weight_order"):
        MLP([4, 3], weight_order="K")


@pytest.mark.slow
def test_column_major_weights_compile_export_opcheck():
    torch.manual_seed(0)
    mlp = MLP([12, 16, 3], weight_order="F", dtype=torch.float64)
    ref = MLP([12, 16, 3], dtype=torch.float64)
    ref.load_state_dict(mlp.state_dict())
    torch._dynamo.reset()
    compiled = torch.compile(mlp, backend="aot_eager", fullgraph=True)
    x = torch.randn(5, 12, dtype=torch.float64)
    compiled(x).sum().backward()
    ref(x).sum().backward()
    for a, b in zip(mlp.parameters(), ref.parameters()):
        assert a.grad.stride() == a.stride()
        torch.testing.assert_close(a.grad, b.grad)
    ep = torch.export.export(mlp, (x,))
    torch.testing.assert_close(ep.module()(x), ref(x))
    ws = [lay.weight.detach().requires_grad_(True) for lay in mlp.layers]
    torch.library.opcheck(torch.ops.fastdigits.mlp_forward.default, (x, ws, [], "relu", "float32"))
    ws = [w.detach() for w in ws]
    outs = torch.ops.fastdigits.mlp_forward(x, ws, [], "relu", "float32")
    torch.library.opcheck(
        torch.ops.fastdigits.mlp_backward.default,
        (torch.randn(5, 3, dtype=torch.float64), x, ws, outs[1:], "relu", True, False, "float32"),
        test_utils=("test_schema", "test_faketensor", "test_aot_dispatch_static"),
    )
    w = mlp.layers[0].weight.detach()
    torch.library.opcheck(torch.ops.fastdigits.dense.default, (x, w, None, "relu"))
    y = torch.ops.fastdigits.dense(x, w, None, "relu")[0]
    torch.library.opcheck(
        torch.ops.fastdigits.dense_backward.default,
        (torch.randn_like(y), x, w, y, "relu", True),
        test_utils=("test_schema", "test_faketensor", "test_aot_dispatch_static"),
    )
    assert torch.ops.fastdigits.dense_backward(torch.randn_like(y), x, w, y, "relu", True)[
        1
    ].stride() == (1, 16)


# --------------------------------------------------------------------------
# What the stack saves for backward, and transforms the kernels cannot run
# under (an audit found each failing where nn.Sequential works).


def test_first_weight_may_change_before_backward_when_x_needs_no_grad():
    ours, ref = _twins(SIZES, "tanh", torch.float32)
    x = torch.randn(6, SIZES[0])
    ys = [ours(x), ref(x)]
    with torch.no_grad():
        for model in (ours, ref):
            next(iter(model.parameters())).mul_(0.5)  # the first weight
    for y in ys:
        y.sum().backward()
    for a, b in zip(_grads(ours), _grads(ref)):
        torch.testing.assert_close(a, b, **TOL[torch.float32])
    # a later weight is read by backward (the hidden layers' gradients): both refuse
    for model in (ours, ref):
        y = model(x)
        with torch.no_grad():
            list(model.parameters())[2].add_(1.0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_torch_func_transforms_and_autocast_run_pytorch_ops(monkeypatch):
    from torch.func import functional_call, grad, vmap

    ours, ref = _twins(SIZES, "relu", torch.float32)
    x = torch.randn(4, SIZES[0])

    def per_sample(model):
        params = {k: v.detach() for k, v in model.named_parameters()}

        def loss(p, xi):
            return functional_call(model, p, (xi,)).square().sum()

        return list(vmap(grad(loss), in_dims=(None, 0))(params, x).values())

    for a, b in zip(per_sample(ours), per_sample(ref)):
        torch.testing.assert_close(a, b, **TOL[torch.float32])
    with torch.no_grad():
        torch.testing.assert_close(
            vmap(ours)(x.reshape(2, 2, -1)), ref(x).reshape(2, 2, -1), **TOL[torch.float32]
        )
    forbid_kernels(monkeypatch, "autocast")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y, want = ours(x), ref(x)
    assert y.dtype == torch.bfloat16
    torch.testing.assert_close(y, want, rtol=0, atol=0)


# --------------------------------------------------------------------------
# The sparse first layer: a relu MLP (either weight order) whose input is
# data (no dx) computes its first layer from the pixels that differ from the
# batch's first element (csrc/mlp/mlp_sparse.h), the last layer's backward
# fused in where it is narrow.


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "sizes, order, order2, calls",
    [
        ([61, 19, 5], "F", "F", ["f", "b-head"]),  # the output layer's backward fused
        ([61, 19, 16], "F", "F", ["f", "b-head"]),  # as wide as SPARSE_HEAD_MAX
        ([61, 19, 23], "F", "F", ["f", "b"]),  # wider than SPARSE_HEAD_MAX: its own pass
        ([61, 19, 5], "F", "C", ["f", "b-head"]),  # mixed orders
        ([61, 19, 5], "C", "C", ["f", "b-head"]),  # the default, row-major
        ([61, 19, 23], "C", "C", ["f", "b"]),
        ([61, 19, 17, 5], "F", "F", ["f", "b"]),
        ([61, 19, 17, 5], "C", "C", ["f", "b"]),
    ],
)
def test_sparse_first_layer_matches_sequential(
    monkeypatch, sizes, order, order2, calls, dtype, threads
):
    calls_seen = spy_sparse(monkeypatch)
    torch.manual_seed(1)
    ours = MLP(sizes, dtype=dtype, weight_order=order)
    if order2 != order:
        w = ours.layers[1].weight.detach()
        w = w.contiguous() if order2 == "C" else w.t().contiguous().t()
        ours.layers[1].weight = torch.nn.Parameter(w)
    ref = _sequential(sizes, "relu", dtype=dtype)
    ref.load_state_dict(MLP.state_dict_to_sequential(ours.state_dict()))
    x = digit_like(37, sizes[0], dtype)
    opts = [torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9) for m in (ours, ref)]
    with fastdigits.threads(threads):
        for _ in range(3):
            for m, opt in zip((ours, ref), opts):
                opt.zero_grad(set_to_none=True)
                torch.nn.functional.cross_entropy(m(x), torch.arange(37) % sizes[-1]).backward()
                opt.step()
    assert calls_seen == calls * 3
    for p, q in zip(ours.parameters(), ref.parameters()):
        assert p.grad.stride() == p.stride()
        torch.testing.assert_close(p.grad, q.grad, **TOL[dtype])
        torch.testing.assert_close(p, q, **TOL[dtype])


def test_sparse_first_layer_only_where_it_applies(monkeypatch):
    """Dense rows, an input that needs its gradient, another activation,
    bfloat16 precision: the dense products."""
    calls = spy_sparse(monkeypatch)
    torch.manual_seed(2)
    mlp = MLP([30, 8, 4], weight_order="F")
    ref = _sequential([30, 8, 4], "relu")
    ref.load_state_dict(MLP.state_dict_to_sequential(mlp.state_dict()))
    x = torch.randn(9, 30)  # no background
    mlp(x).sum().backward()
    ref(x).sum().backward()
    assert calls == ["dense"]
    for p, q in zip(mlp.parameters(), ref.parameters()):
        torch.testing.assert_close(p.grad, q.grad, **TOL[torch.float32])
    xs = digit_like(9, 30, torch.float32)
    xg = xs.clone().requires_grad_(True)
    mlp(xg).sum().backward()  # dx wanted
    xr = xs.clone().requires_grad_(True)
    ref(xr).sum().backward()
    torch.testing.assert_close(xg.grad, xr.grad, **TOL[torch.float32])
    for model in (
        MLP([30, 8, 4], activation="tanh", weight_order="F"),
        MLP([30, 8, 4], weight_order="F", precision="bfloat16"),
    ):
        model(xs).sum().backward()
    assert calls == ["dense"]
