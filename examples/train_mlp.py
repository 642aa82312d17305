"""Train the default 784-256-10 MLP on MNIST with the high-level API.

python examples/train_mlp.py            # 10 epochs, >= 98% test accuracy
python examples/train_mlp.py --epochs 1 --save model.npz
"""

import argparse

import fastdigits as fd
from fastdigits.nn import MLP


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--limit", type=int, default=None, help="use the first N training images")
    p.add_argument("--save", default=None, help="write the model to this .npz file")
    args = p.parse_args(argv)

    X, y = fd.load_mnist("train", normalize=True, flatten=True)
    Xt, yt = fd.load_mnist("test", normalize=True, flatten=True)
    if args.limit:
        X, y = X[: args.limit], y[: args.limit]
    model = MLP((784, 256, 10), seed=0)
    for row in model.fit(X, y, epochs=args.epochs, validation_data=(Xt, yt)):
        print(
            "epoch %(epoch)d  loss %(loss).4f  train %(train_acc).4f  "
            "test %(val_acc).4f  %(seconds).2f s" % row
        )
    loss, acc = model.evaluate(Xt, yt)
    print("test accuracy %.2f%%" % (100 * acc))
    if args.save:
        model.save(args.save)
        assert (MLP.load(args.save).predict(Xt) == model.predict(Xt)).all()
    return acc


if __name__ == "__main__":
    main()
