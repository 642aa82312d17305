"""A plain NumPy training loop for MNIST that swaps in fastdigits kernels.

The loop is ordinary Python: we pick the batches, keep the weights as NumPy
arrays and call one kernel per operation.  Each fastdigits call replaces a
few NumPy lines (shown in the comments) with one fused C kernel.

    python examples/numpy_training_loop.py --epochs 2
"""

import argparse
import math
import time

import numpy as np

import fastdigits as fd


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.02)
    p.add_argument("--limit", type=int, default=None, help="use the first N training images")
    args = p.parse_args(argv)

    X, y = fd.load_mnist("train", normalize=True, flatten=True)  # decode + standardise
    Xt, yt = fd.load_mnist("test", normalize=True, flatten=True)
    if args.limit:
        X, y = X[: args.limit], y[: args.limit]
    y, yt = y.astype(np.int64), yt.astype(np.int64)

    rng = np.random.default_rng(0)
    sizes = (X.shape[1], args.hidden, 10)
    W1 = rng.uniform(-1, 1, sizes[:2]).astype(np.float32) * math.sqrt(6 / sizes[0])
    W2 = rng.uniform(-1, 1, sizes[1:]).astype(np.float32) * math.sqrt(6 / sum(sizes[1:]))
    b1, b2 = np.zeros(sizes[1], np.float32), np.zeros(sizes[2], np.float32)
    params = [W1, b1, W2, b2]
    velocity = [np.zeros_like(q) for q in params]

    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        order = rng.permutation(X.shape[0])
        total = 0.0
        for s in range(0, X.shape[0], args.batch_size):
            idx = order[s : s + args.batch_size]
            xb, yb = X[idx], y[idx]
            h = fd.dense_forward(xb, W1, b1, "relu")  # np.maximum(xb @ W1 + b1, 0)
            logits = fd.dense_forward(h, W2, b2, "identity")  # h @ W2 + b2
            loss, dlogits = fd.softmax_cross_entropy(logits, yb)  # stable log-softmax + grad
            dh, dW2, db2 = fd.dense_backward(dlogits, h, W2)  # linear: no y/z needed
            _, dW1, db1 = fd.dense_backward(
                dh,
                xb,
                W1,
                activation="relu",
                y=h,  # relu' from y
                need_dx=False,
            )
            for q, g, v in zip(params, (dW1, db1, dW2, db2), velocity):
                fd.sgd_step(q, g, lr=args.lr, momentum=0.9, velocity=v)  # v = .9v + g; q -= lr v
            total += float(loss) * len(idx)
        hidden = fd.dense_forward(Xt, W1, b1, "relu")
        acc = (fd.dense_forward(hidden, W2, b2, "identity").argmax(1) == yt).mean()
        print(
            "epoch %d  loss %.4f  test accuracy %.2f%%  %.2f s"
            % (epoch + 1, total / X.shape[0], 100 * acc, time.perf_counter() - t0)
        )
    return acc


if __name__ == "__main__":
    main()
