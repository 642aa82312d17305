"""`fastdigits predict MODEL.npz FILE`: print a trained model's predictions."""

from __future__ import annotations

import sys

import numpy as np

from ._view import MNIST_NAMES_HELP, check_labels, read_images, read_labels, resolve_input

NAME = "predict"
HELP = "print the predicted class of every image in an IDX image file"


def add_arguments(parser) -> None:
    parser.add_argument("model", help="model file written by `fastdigits train --save`")
    parser.add_argument(
        "file", help="IDX image file (e.g. t10k-images-idx3-ubyte[.gz]); " + MNIST_NAMES_HELP
    )
    parser.add_argument(
        "--labels",
        metavar="FILE",
        default=None,
        help="IDX label file with one label per image (e.g. mnist:test): also print the accuracy",
    )
    parser.add_argument(
        "--limit", type=int, default=None, metavar="N", help="only the first N images"
    )


def _load_model(model_path: str):
    from ..cli import CommandError
    from ..nn import MLP

    try:
        return MLP.load(model_path)
    except ValueError as exc:  # ModelFileError: names the file and the problem
        raise CommandError(str(exc)) from None


def predict_file(model_path: str, image_path: str, limit=None) -> np.ndarray:
    """Predicted labels for the images in an IDX file (``mnist:`` names
    allowed).  uint8 pixels are normalised as the model's saved
    ``normalization`` says; a model without one refuses them."""
    model = _load_model(model_path)
    images = read_images(resolve_input(image_path), min_rank=2)
    return _predict(model, model_path, images, image_path, limit)


def _predict(model, model_path: str, images: np.ndarray, image_path: str, limit) -> np.ndarray:
    from ..cli import CommandError

    if limit is not None:
        images = images[:limit]
    X = images.reshape(images.shape[0], -1)
    if X.shape[1] != model.layer_sizes[0]:
        raise CommandError(
            "%s: images have %d pixels, the model expects %d"
            % (image_path, X.shape[1], model.layer_sizes[0])
        )
    if X.dtype == np.uint8 and model.normalization is None:
        raise CommandError(
            "%s: the model has no input normalization, so it cannot take the "
            "uint8 pixels of %s (retrain it with this version of fastdigits)"
            % (model_path, image_path)
        )
    return model.predict(X)


def run(args) -> int:
    from ..cli import CommandError

    if args.limit is not None and args.limit < 1:
        raise CommandError("--limit must be >= 1, got %d" % args.limit)
    # The image file is read once (a pipe cannot be read twice), then the
    # labels are checked against all of it before any work: rank 1, one
    # whole-number label per image (--limit then takes the first N of both).
    images = read_images(resolve_input(args.file), min_rank=2)
    labels = None
    if args.labels is not None:
        path = resolve_input(args.labels, "labels")
        labels = check_labels(read_labels(path, images.shape[0]), path)
    pred = _predict(_load_model(args.model), args.model, images, args.file, args.limit)
    if labels is not None:
        labels = labels[: pred.shape[0]]
    out = sys.stdout
    out.write("".join("%d\n" % p for p in pred))
    if labels is not None:
        print(
            "accuracy: %.2f%% (%d/%d)"
            % (100 * float((pred == labels).mean()), int((pred == labels).sum()), pred.shape[0])
        )
    return 0
