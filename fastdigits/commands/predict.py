"""`fastdigits predict MODEL.npz FILE`: print a trained model's predictions."""
from __future__ import annotations

import os
import sys

import numpy as np

NAME = "predict"
HELP = "print the predicted class of every image in an IDX image file"


def add_arguments(parser) -> None:
    parser.add_argument("model", help="model file written by `fastdigits train --save`")
    parser.add_argument("file", help="IDX image file (e.g. t10k-images-idx3-ubyte[.gz])")
    parser.add_argument("--labels", metavar="FILE", default=None,
                        help="IDX label file: also print the accuracy")
    parser.add_argument("--limit", type=int, default=None, metavar="N",
                        help="only the first N images")


def predict_file(model_path: str, image_path: str, limit=None) -> np.ndarray:
    """Predicted labels for the images in an IDX file (uint8 pixels are
    normalised with MNIST_MEAN / MNIST_STD, as `fastdigits train` does)."""
    from ..cli import CommandError
    from ..idx import IDXError, read_idx
    from ..nn import MLP
    from .train import _standardize

    for path in (model_path, image_path):
        if not os.path.isfile(path):
            raise CommandError("%s: no such file" % path)
    try:
        model = MLP.load(model_path)
    except ValueError as exc:
        raise CommandError(str(exc))
    try:
        images = read_idx(image_path)
    except (OSError, IDXError, ValueError) as exc:
        raise CommandError("cannot read %s: %s" % (image_path, exc))
    if images.ndim < 1 or images.shape[0] == 0:
        raise CommandError("%s holds no images" % image_path)
    if limit is not None:
        images = images[:limit]
    X = images.reshape(images.shape[0], -1)
    if X.shape[1] != model.layer_sizes[0]:
        raise CommandError("%s: images have %d pixels, the model expects %d"
                           % (image_path, X.shape[1], model.layer_sizes[0]))
    return model.predict(_standardize(X, model.dtype))


def run(args) -> int:
    from ..cli import CommandError
    from ..idx import IDXError, read_idx

    if args.limit is not None and args.limit < 1:
        raise CommandError("--limit must be >= 1, got %d" % args.limit)
    pred = predict_file(args.model, args.file, args.limit)
    labels = None
    if args.labels is not None:
        try:
            labels = read_idx(args.labels).astype(np.int64).reshape(-1)
        except (OSError, IDXError, ValueError) as exc:
            raise CommandError("cannot read %s: %s" % (args.labels, exc))
        labels = labels[:pred.shape[0]]
        if labels.shape[0] != pred.shape[0]:
            raise CommandError("%s has %d labels for %d images"
                               % (args.labels, labels.shape[0], pred.shape[0]))
    out = sys.stdout
    out.write("".join("%d\n" % p for p in pred))
    if labels is not None:
        print("accuracy: %.2f%% (%d/%d)" % (100 * float((pred == labels).mean()),
                                             int((pred == labels).sum()), pred.shape[0]))
    return 0
