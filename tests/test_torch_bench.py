"""The torch_loop rows of `fastdigits bench` (and benchmarks/bench_torch_loop.py)."""

import os

import numpy as np

from fastdigits.bench import cases as C
from fastdigits.bench import runner


def test_torch_loop_rows_run_both_contenders():
    opts = runner.Options(
        mode="tiny", threads=1, only=["torch_loop/*"], use_torch=True, progress=False
    )
    with open(os.devnull, "w") as sink:
        rows = runner.run(opts, out=sink)["rows"]
    assert [r["name"] for r in rows] == [
        "torch_loop/eager/b16",
        "torch_loop/eager_colmajor/b16",
        "torch_loop/eager_native/b16",
        "torch_loop/mlp_eager/b16",
        "torch_loop/mlp_eager_colmajor/b16",
        "torch_loop/mlp_eager_native/b16",
    ]
    kernels = ["fastdigits.torch.Linear"] * 3 + ["fastdigits.torch.MLP"] * 3
    for row, kernel in zip(rows, kernels):
        assert row["status"] == "ok" and row["kernel"] == kernel
        assert row["results"]["fastdigits"]["status"] == "ok"
        assert row["results"]["torch"]["status"] == "ok"
        assert row["results"]["numpy"]["status"] == "n/a"
        assert row["speedup_vs_torch"] > 0


def test_torch_loop_steps_train_the_same_model_both_ways():
    prof = C.PROFILES["quick"]
    names = [c.name for c in C._torch_loop_cases(prof, np.dtype(np.float32), None)]
    assert names == [
        "torch_loop/eager/b64",
        "torch_loop/eager/b1024",
        "torch_loop/eager_colmajor/b64",
        "torch_loop/eager_colmajor/b1024",
        "torch_loop/eager_native/b64",
        "torch_loop/eager_native/b1024",
        "torch_loop/compiled/b64",
        "torch_loop/mlp_eager/b64",
        "torch_loop/mlp_eager/b1024",
        "torch_loop/mlp_eager_colmajor/b64",
        "torch_loop/mlp_eager_colmajor/b1024",
        "torch_loop/mlp_eager_native/b64",
        "torch_loop/mlp_eager_native/b1024",
        "torch_loop/mlp_compiled/b64",
    ]
    data = C.Data(C.PROFILES["tiny"])
    try:
        cases = C._torch_loop_cases(C.PROFILES["tiny"], np.dtype(np.float32), data)
        ours = [[] for _ in cases]
        for case, losses in zip(cases, ours):
            step = case.contenders["fastdigits"]()
            losses += [step.fn().item() for _ in range(30)]
        ref = cases[0].contenders["torch"]()
        b = [ref.fn().item() for _ in range(30)]
    finally:
        data.close()
    # same start, same batches: the same losses up to float32 rounding, with
    # either weight order (the colmajor ones take the sparse first layer;
    # the native ones the same kernels through fastdigits.torch.native_ops)
    for a in ours:
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert np.mean(ours[0][-4:]) < np.mean(ours[0][:4])
