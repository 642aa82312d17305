"""Checks shared by the fastdigits.torch test files (Linear, MLP, compile)."""

import tracemalloc

import pytest
import torch

from fastdigits import _dense as fd_binding
from fastdigits import _mlp


class CountingBackend:
    """A torch.compile backend that counts the graphs and the fastdigits ops."""

    def __init__(self):
        self.graphs, self.ops = 0, []

    def __call__(self, gm, example_inputs):
        self.graphs += 1
        self.ops += [
            str(n.target)
            for n in gm.graph.nodes
            if n.op == "call_function" and "fastdigits" in str(n.target)
        ]
        return gm.forward


def assert_one_compiled_graph(model, x, ops):
    """``model`` under ``torch.compile(fullgraph=True)``: one graph with no
    break (``torch._dynamo.explain``), the eager result, and exactly the
    fastdigits ops ``ops`` in the graph."""
    explain = torch._dynamo.explain(model)(x)
    assert explain.graph_count == 1 and explain.graph_break_count == 0, explain.break_reasons
    backend = CountingBackend()
    compiled = torch.compile(model, backend=backend, fullgraph=True)
    torch.testing.assert_close(compiled(x), model(x))
    assert backend.graphs == 1
    assert backend.ops == ops


def assert_double_backward_raises(ours, ref, x):
    """``ours``'s first-order input gradient equals ``ref``'s (a torch module
    computing the same function), and a second backward through it raises
    the clear RuntimeError."""
    (gx,) = torch.autograd.grad(ours(x).pow(2).sum(), x, create_graph=True)
    x2 = x.detach().requires_grad_(True)
    (gx_ref,) = torch.autograd.grad(ref(x2).pow(2).sum(), x2)
    torch.testing.assert_close(gx.detach(), gx_ref)
    with pytest.raises(RuntimeError, match="double backward .* not supported"):
        gx.sum().backward()


def forbid_kernels(monkeypatch, dtype):
    """Make any call of the fastdigits dense kernel fail the test (for the
    dtypes that must fall back to PyTorch's own ops)."""

    def boom(*a, **k):
        raise AssertionError("the fastdigits kernels do not take %s" % dtype)

    monkeypatch.setattr(fd_binding, "dense_forward", boom)


def assert_compiled_grads_match(eager, comp, compiled, x):
    """One backward of ``square().sum()`` through ``eager`` and through
    ``compiled`` (``torch.compile`` of ``comp``, a module with eager's
    parameters) gives the same input and parameter gradients."""
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    eager(xa).square().sum().backward()
    compiled(xb).square().sum().backward()
    torch.testing.assert_close(xb.grad, xa.grad)
    for pa, pb in zip(eager.parameters(), comp.parameters()):
        torch.testing.assert_close(pb.grad, pa.grad)


def digit_like(n, k, dtype, seed=0):
    """n rows of k values, about 80% the background -0.4242 (x[0, 0] too)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.full((n, k), -0.4242, dtype=dtype)
    keep = torch.rand(n, k, generator=g) < 0.2
    keep[0, 0] = False
    x[keep] = torch.randn(int(keep.sum()), generator=g, dtype=dtype)
    return x


def spy_sparse(monkeypatch):
    """Record the sparse pair's calls (fastdigits._mlp.sparse_forward /
    sparse_backward): "f" a sparse forward, "dense" one that declined the
    batch, "b" a backward, "b-head" one with the output layer's fused."""
    calls = []
    fwd, bwd = _mlp.sparse_forward, _mlp.sparse_backward

    def spy_fwd(*a):
        s = fwd(*a)
        calls.append("f" if s is not None else "dense")
        return s

    def spy_bwd(scratch, y, dy, *a):
        calls.append("b-head" if dy is None else "b")
        return bwd(scratch, y, dy, *a)

    monkeypatch.setattr(_mlp, "sparse_forward", spy_fwd)
    monkeypatch.setattr(_mlp, "sparse_backward", spy_bwd)
    return calls


def assert_backward_frees(model, x):
    """What ``model``'s forward keeps for backward is freed when backward is
    done, though the graph is still referenced (loss, y), as nn.Linear's
    saved tensors: afterwards NumPy holds no more than the gradients and y
    (tracemalloc).  Returns the bytes held before backward.  With
    retain_graph=True a second backward works and adds up."""
    model(x).sum().backward()  # (the kernels' workspaces, cached per thread)
    model.zero_grad(set_to_none=True)
    tracemalloc.start()
    try:
        y = model(x)
        loss = y.square().mean()
        held = tracemalloc.get_traced_memory()[0]
        loss.backward()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    kept = (sum(p.grad.numel() for p in model.parameters()) + y.numel()) * y.element_size()
    assert after < kept + (1 << 18)
    first = [p.grad.clone() for p in model.parameters()]
    model.zero_grad(set_to_none=True)
    loss = model(x).square().mean()
    loss.backward(retain_graph=True)
    loss.backward()
    for p, g in zip(model.parameters(), first):
        torch.testing.assert_close(p.grad, 2 * g)
    return held
