"""DistributedDataParallel (gloo, 2 local processes on 127.0.0.1) over
fastdigits.torch layers: ranks end with identical parameters, equal to
single-process training on the concatenated batches.

Run as a script, this file is one rank's worker:
``python tests/test_torch_ddp.py RANK WORLD PORT OUTDIR WEIGHT_ORDER``.
"""

import os
import socket
import subprocess
import sys

import torch
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]

STEPS, BATCH, SIZES = 6, 32, (20, 16, 4)  # BATCH: the global batch, split over ranks


def _model(weight_order):
    from fastdigits.torch import Linear

    torch.manual_seed(0)
    kw = dict(dtype=torch.float64, weight_order=weight_order)
    return torch.nn.Sequential(
        Linear(SIZES[0], SIZES[1], activation="relu", **kw), Linear(SIZES[1], SIZES[2], **kw)
    )


def _data():
    g = torch.Generator().manual_seed(1)
    X = torch.randn(STEPS, BATCH, SIZES[0], dtype=torch.float64, generator=g)
    y = torch.randint(0, SIZES[2], (STEPS, BATCH), generator=g)
    return X, y


def _train(model, rows):
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    lossf = torch.nn.CrossEntropyLoss()
    X, y = _data()
    for s in range(STEPS):
        opt.zero_grad()
        lossf(model(X[s, rows]), y[s, rows]).backward()
        opt.step()


def _worker(rank, world, port, outdir, weight_order):
    import datetime

    import fastdigits
    import torch.distributed as dist

    fastdigits.set_num_threads(1)
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group(
        "gloo", rank=rank, world_size=world, timeout=datetime.timedelta(seconds=60)
    )
    try:
        model = torch.nn.parallel.DistributedDataParallel(_model(weight_order))
        share = BATCH // world
        _train(model, slice(rank * share, (rank + 1) * share))
        torch.save(model.module.state_dict(), os.path.join(outdir, "rank%d.pt" % rank))
        dist.barrier()  # both ranks done with every collective
    except BaseException:
        dist.destroy_process_group()
        raise
    # Success: exit without tearing gloo down.  Its teardown aborted a
    # rank now and then in clean-clone CI runs ("terminate called without
    # an active exception", SIGABRT), after the results were saved, with
    # and without a barrier before destroy_process_group; the results are
    # on disk and the parent checks them, so the process ends here.
    sys.stdout.flush()
    os._exit(0)


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# "F": column-major weights, whose gradients DDP's buckets must keep in
# the parameters' layout
@pytest.mark.parametrize("weight_order", ["C", "F"])
def test_ddp_two_processes_match_single_process(tmp_path, weight_order):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    port = _free_port()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                os.path.abspath(__file__),
                str(r),
                "2",
                str(port),
                str(tmp_path),
                weight_order,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for r in range(2)
    ]
    outs = []
    for p in procs:
        try:
            outs.append(p.communicate(timeout=180)[0])
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
    assert [p.returncode for p in procs] == [0, 0], "\n".join(outs)
    sd = [torch.load(tmp_path / ("rank%d.pt" % r)) for r in range(2)]
    assert list(sd[0]) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    for name in sd[0]:
        assert torch.equal(sd[0][name], sd[1][name]), name  # identical across ranks
    single = _model(weight_order)
    before = {k: v.clone() for k, v in single.state_dict().items()}
    _train(single, slice(0, BATCH))
    for name, value in single.state_dict().items():
        assert not torch.equal(value, before[name])  # it did train
        # DDP averages the two half-batch gradients: the full-batch gradient
        torch.testing.assert_close(sd[0][name], value, rtol=1e-12, atol=1e-12)


if __name__ == "__main__":
    _worker(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5])
