"""A PyTorch model whose layers run on fastdigits kernels (CPU).

``fastdigits.torch.Linear`` is a drop-in for ``nn.Linear`` + activation: the
rest (optimizer, loss, training loop) is ordinary PyTorch.

    python examples/pytorch_linear.py --epochs 1
"""

import argparse
import time

import torch

import fastdigits as fd
from fastdigits.torch import Linear


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--limit", type=int, default=None, help="use the first N training images")
    args = p.parse_args(argv)

    X, y = fd.load_mnist("train", normalize=True, flatten=True)
    Xt, yt = fd.load_mnist("test", normalize=True, flatten=True)
    if args.limit:
        X, y = X[: args.limit], y[: args.limit]
    X, y = torch.from_numpy(X), torch.from_numpy(y.astype("int64"))
    Xt, yt = torch.from_numpy(Xt), torch.from_numpy(yt.astype("int64"))

    torch.manual_seed(0)
    model = torch.nn.Sequential(Linear(784, 256, activation="relu"), Linear(256, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    lossf = torch.nn.CrossEntropyLoss()
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        order = torch.randperm(X.shape[0])
        for s in range(0, X.shape[0], args.batch_size):
            idx = order[s : s + args.batch_size]
            opt.zero_grad()
            loss = lossf(model(X[idx]), y[idx])
            loss.backward()
            opt.step()
        with torch.no_grad():
            acc = (model(Xt).argmax(1) == yt).float().mean().item()
        print(
            "epoch %d  last loss %.4f  test accuracy %.2f%%  %.2f s"
            % (epoch + 1, loss.item(), 100 * acc, time.perf_counter() - t0)
        )
    return acc


if __name__ == "__main__":
    main()
