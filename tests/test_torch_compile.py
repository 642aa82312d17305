"""fastdigits.torch under torch.compile, torch.export, torch.jit.trace and
torch.library.opcheck: the layers are custom operators, not graph breaks."""

import pytest
import torch

from _torch_helpers import assert_compiled_grads_match, assert_one_compiled_graph

from fastdigits.torch import Linear

pytestmark = [pytest.mark.slow]

ACTS = [None, "relu", "sigmoid", "tanh", "gelu"]


def _model(dtype=torch.float32, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        Linear(12, 16, activation="gelu", dtype=dtype),
        Linear(16, 8, activation="relu", dtype=dtype),
        Linear(8, 3, dtype=dtype),
    )


def test_compile_fullgraph_has_no_graph_break():
    torch._dynamo.reset()
    assert_one_compiled_graph(_model(), torch.randn(5, 12), ["fastdigits.dense.default"] * 3)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_compiled_training_step_matches_eager(dtype):
    """aot_eager traces the registered autograd (dense_backward op) too."""
    torch._dynamo.reset()
    eager, comp = _model(dtype), _model(dtype)
    compiled = torch.compile(comp, backend="aot_eager", fullgraph=True)
    assert_compiled_grads_match(eager, comp, compiled, torch.randn(7, 12, dtype=dtype))


def test_compiled_output_may_change_in_place_after_an_identity_layer():
    # the operator's autograd saved y for the identity too, so an in-place
    # op after the layer failed in the compiled backward
    torch._dynamo.reset()
    eager, comp = _model(), _model()
    compiled = torch.compile(lambda x: torch.relu_(comp(x)), backend="aot_eager", fullgraph=True)
    xa = torch.randn(7, 12, requires_grad=True)
    xb = xa.detach().clone().requires_grad_(True)
    torch.relu_(eager(xa)).sum().backward()
    compiled(xb).sum().backward()
    torch.testing.assert_close(xb.grad, xa.grad)
    for pa, pb in zip(eager.parameters(), comp.parameters()):
        torch.testing.assert_close(pb.grad, pa.grad)


def test_autocast_under_compile_runs_pytorch_ops():
    torch._dynamo.reset()
    eager, comp = _model(), _model()
    compiled = torch.compile(comp, backend="aot_eager", fullgraph=True)
    x = torch.randn(5, 12)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y, want = compiled(x), eager(x)
    assert y.dtype == want.dtype == torch.bfloat16
    torch.testing.assert_close(y, want)


def test_inductor_compiles_forward_and_backward():
    torch._dynamo.reset()
    eager, comp = _model(), _model()
    compiled = torch.compile(comp)  # inductor, the default backend
    x = torch.randn(9, 12)
    torch.testing.assert_close(compiled(x), eager(x))
    eager(x).sum().backward()
    compiled(x).sum().backward()
    for pa, pb in zip(eager.parameters(), comp.parameters()):
        torch.testing.assert_close(pb.grad, pa.grad)


@pytest.mark.parametrize("strict", [True, False])
def test_export_records_the_fastdigits_op(tmp_path, strict):
    model = _model()
    x = torch.randn(4, 12)
    ep = torch.export.export(
        model, (x,), strict=strict, dynamic_shapes=({0: torch.export.Dim("batch")},)
    )
    targets = [str(n.target) for n in ep.graph.nodes if n.op == "call_function"]
    assert targets.count("fastdigits.dense.default") == 3
    torch.testing.assert_close(ep.module()(x), model(x))
    torch.export.save(ep, tmp_path / "m.pt2")
    again = torch.export.load(tmp_path / "m.pt2")
    torch.testing.assert_close(again.module()(x), model(x))
    x9 = torch.randn(9, 12)  # any batch size
    torch.testing.assert_close(again.module()(x9), model(x9))


def test_jit_trace_records_the_op_and_saves(tmp_path):
    model = _model()
    x = torch.randn(4, 12)
    traced = torch.jit.trace(model, x)
    assert "fastdigits::dense" in str(traced.inlined_graph)
    torch.jit.save(traced, tmp_path / "m.ts")
    again = torch.jit.load(tmp_path / "m.ts")
    torch.testing.assert_close(again(x), model(x))


@pytest.mark.parametrize("act", ACTS)
def test_opcheck_both_operators(act):
    from fastdigits.torch._common import _ACTS

    a = _ACTS[act]
    x = torch.randn(6, 5, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, dtype=torch.float64, requires_grad=True)
    torch.library.opcheck(torch.ops.fastdigits.dense.default, (x, w, b, a))
    torch.library.opcheck(torch.ops.fastdigits.dense.default, (x, w, None, a))
    y, z = torch.ops.fastdigits.dense(x.detach(), w.detach(), b.detach(), a)
    yz = z if a == "gelu" else y
    dy = torch.randn(6, 4, dtype=torch.float64)
    for need_dx in (True, False):
        torch.library.opcheck(
            torch.ops.fastdigits.dense_backward.default,
            (dy, x.detach(), w.detach(), yz, a, need_dx),
            test_utils=("test_schema", "test_faketensor", "test_aot_dispatch_static"),
        )
    assert torch.autograd.gradcheck(
        lambda x, w, b: torch.ops.fastdigits.dense(x, w, b, a)[0], (x, w, b)
    )
