"""`fastdigits train`: train an MLP on MNIST (or any folder of the four IDX files).

The work is done by :func:`train_model`, which returns the fitted model(s),
their histories and the test predictions, so other commands (plots, error
galleries) can build on it; :func:`run` only parses and prints.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Tuple

import numpy as np

NAME = "train"
HELP = "train an MLP classifier on MNIST (or --data DIR) and report test accuracy"

# Bounds of the options, checked before any work: past them a run cannot
# fit in memory, or overflows the integers of the kernels or the model file.
MAX_EPOCHS = 100_000
MAX_WIDTH = 65_536  # of a hidden layer
MAX_HIDDEN_LAYERS = 64
MAX_PARAMS = 2**28  # weights and biases of the whole model (1 GiB as float32)
MAX_WARMUP_STEPS = 2**31 - 1
MAX_SEED = 2**64 - 1  # as fastdigits.MLP (the model file stores it as uint64)

# Defaults of the options a recipe sets: they are None after parsing unless
# given on the command line (whatever the value), see _apply_recipe.
_DEFAULTS = {
    "layers": "256",
    "activation": "relu",
    "epochs": 10,
    "batch_size": 64,
    "optimizer": "sgd",
    "lr_schedule": "cosine",
    "warmup": 0,
    "label_smoothing": 0.0,
    "dropout": 0.0,
    "input_dropout": 0.0,
    "weight_decay": 0.0,
}


def add_arguments(parser) -> None:
    from ..recipes import RECIPES

    parser.add_argument(
        "--recipe",
        default=None,
        metavar="NAME",
        help="a named, measured training setup that fixes the model and the "
        "training options (%s); --seed, --threads, --dtype, --data, --limit, "
        "--save, --plot and --no-progress still apply"
        % "; ".join("%s: %s" % (r.name, r.summary.replace("%", "%%")) for r in RECIPES.values()),
    )
    parser.add_argument(
        "--data",
        metavar="DIR",
        default=None,
        help="folder with train-images-idx3-ubyte, train-labels-idx1-ubyte, "
        "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (optionally .gz), "
        "e.g. Fashion-MNIST (default: the bundled MNIST)",
    )
    parser.add_argument(
        "--layers",
        default=None,
        metavar="W[,W...]",
        help="hidden layer widths, comma-separated; input and output sizes "
        "come from the data (default: 256, i.e. 784-256-10)",
    )
    parser.add_argument(
        "--activation",
        default=None,
        help="hidden activation: identity, relu, sigmoid, tanh, gelu (default: relu)",
    )
    parser.add_argument(
        "--epochs",
        type=float,
        default=None,
        help="training epochs, at most %d; a fraction trains on part of the last epoch "
        "(default: 10)" % MAX_EPOCHS,
    )
    parser.add_argument("--batch-size", type=int, default=None, help="batch size (default: 64)")
    parser.add_argument("--optimizer", default=None, help="sgd or adam (default: sgd)")
    parser.add_argument(
        "--lr",
        type=float,
        default=None,
        help="learning rate (default: 0.05 for sgd, 0.001 for adam)",
    )
    parser.add_argument(
        "--lr-schedule",
        default=None,
        help="cosine (per-epoch cosine decay to ~0), constant, linear (per-step "
        "decay to 0) or onecycle (per-step warm-up then cosine to 0) (default: cosine)",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=None,
        help="warm-up for constant/linear/onecycle: steps (>= 1) or a fraction of "
        "all steps (< 1) (default: 0)",
    )
    parser.add_argument(
        "--label-smoothing", type=float, default=None, help="label smoothing eps (default: 0)"
    )
    parser.add_argument(
        "--dropout", type=float, default=None, help="dropout rate of hidden layers (default: 0)"
    )
    parser.add_argument(
        "--input-dropout", type=float, default=None, help="dropout rate of the input (default: 0)"
    )
    parser.add_argument("--momentum", type=float, default=None, help="SGD momentum (default: 0.9)")
    parser.add_argument(
        "--weight-decay", type=float, default=None, help="weight decay (default: 0)"
    )
    parser.add_argument("--dtype", default="float32", help="float32 or float64 (default: float32)")
    parser.add_argument(
        "--precision",
        choices=("float32", "bfloat16"),
        default=None,
        help="products of the fast backend: float32, or bfloat16 operands summed "
        "in float32 (float32 weights and optimiser state; --dtype float32 only) "
        "(default: the recipe's, else float32)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads for fastdigits kernels and for the NumPy backend's "
        "BLAS (default: all available)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed for initial weights and sample order, 0 to 2**64-1 (default: 0)",
    )
    parser.add_argument(
        "--backend",
        default="fast",
        help="fast, numpy, or both (trains both from the same seed and "
        "reports the speed-up) (default: fast)",
    )
    parser.add_argument(
        "--save",
        metavar="MODEL.npz",
        default=None,
        help="write the trained model (fast backend's, with --backend both); "
        ".npz is appended to a name without it; the folder is checked "
        "before training",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        metavar="N",
        help="train on the first N training images only",
    )
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar (there is none either when stderr is not a terminal, e.g. in a log)",
    )
    parser.add_argument(
        "--plot",
        metavar="DIR",
        default=None,
        help="write training curves (training.png, every backend trained) "
        "and the test confusion matrix (confusion.png, the fast "
        "backend's) to DIR, created if missing (needs matplotlib: "
        "pip install fastdigits[plot])",
    )
    parser.add_argument(
        "--show-errors",
        type=int,
        default=0,
        metavar="N",
        help="print the N most confidently wrong test digits in the terminal",
    )


def build_args(argv) -> argparse.Namespace:
    """Parse `fastdigits train` options (for calling :func:`train_model` from code)."""
    from ..cli import one_line_errors

    parser = argparse.ArgumentParser(prog="fastdigits train")
    add_arguments(parser)
    one_line_errors(parser)
    return parser.parse_args(list(argv))


@dataclass
class TrainResult:
    """What :func:`train_model` produced."""

    models: Dict[str, Any]  # backend name -> fitted MLP
    histories: Dict[str, List[Dict[str, Any]]]
    test_pred: Dict[str, np.ndarray]  # backend name -> predicted test labels
    test_acc: Dict[str, float]
    X_test: np.ndarray
    y_test: np.ndarray
    seconds: Dict[str, float] = field(default_factory=dict)  # training time per backend

    @property
    def model(self):
        """The main model: the fast backend's when it was trained."""
        return self.models.get("fast") or next(iter(self.models.values()))


def _error(msg: str):
    from ..cli import CommandError

    return CommandError(msg)


# the options a recipe sets (argparse dest -> Recipe attribute)
_RECIPE_OPTIONS = {
    "layers": "hidden",
    "activation": "activation",
    "epochs": "epochs",
    "batch_size": "batch_size",
    "optimizer": "optimizer",
    "lr": "lr",
    "lr_schedule": "lr_schedule",
    "momentum": "momentum",
    "weight_decay": "weight_decay",
    "warmup": "warmup",
    "label_smoothing": "label_smoothing",
    "dropout": "dropout",
    "input_dropout": "input_dropout",
}


def _apply_recipe(args) -> None:
    """Fill args from args.recipe; an option also given explicitly (not None,
    whatever its value) is an error."""
    from ..recipes import get_recipe

    try:
        recipe = get_recipe(args.recipe)
    except ValueError as exc:
        raise _error("--recipe: %s" % exc) from None
    for dest, attr in _RECIPE_OPTIONS.items():
        if getattr(args, dest, None) is not None:
            raise _error(
                "--%s cannot be combined with --recipe (the recipe sets it)"
                % dest.replace("_", "-")
            )
        value = getattr(recipe, attr)
        if dest == "layers":
            value = ",".join(str(w) for w in value)
        setattr(args, dest, value)
    if args.precision is None:  # the recipe's unless given (bfloat16: float32 models)
        args.precision = recipe.precision if args.dtype == "float32" else "float32"
        # a recipe asks for bfloat16 for speed; without bf16 instructions the
        # products would be emulated, slower than float32, so it trains in
        # float32 there (speedrun: 98.17-98.30% over seeds 0-7 either way)
        if args.precision == "bfloat16" and not _bf16_in_hardware():
            args.precision = "float32"
    args.evaluate_each_epoch = recipe.evaluate_each_epoch
    args.recipe_obj = recipe


def _bf16_in_hardware() -> bool:
    """Whether the active SIMD path runs bfloat16 products on bf16 units."""
    from .._config import get_simd

    return get_simd() in ("avx512_bf16", "amx")


def _check_args(args) -> Tuple[Tuple[int, ...], np.dtype, List[str]]:
    from ..nn import ACTIVATIONS, OPTIMIZERS

    if getattr(args, "recipe", None) and not hasattr(args, "recipe_obj"):
        _apply_recipe(args)
    for dest, value in _DEFAULTS.items():  # the options not given
        if getattr(args, dest, None) is None:
            setattr(args, dest, value)

    try:  # every entry a width: "" or "8,,16" is a mistake, not fewer layers
        hidden = tuple(int(w) for w in str(args.layers).split(","))
    except ValueError:
        raise _error(
            "--layers must be comma-separated positive ints, got %r" % args.layers
        ) from None
    if any(w < 1 for w in hidden):
        raise _error("--layers must be comma-separated positive ints, got %r" % args.layers)
    if max(hidden) > MAX_WIDTH:
        raise _error(
            "--layers: a hidden layer may have at most %d units, got %d" % (MAX_WIDTH, max(hidden))
        )
    if len(hidden) > MAX_HIDDEN_LAYERS:
        raise _error(
            "--layers: at most %d hidden layers, got %d" % (MAX_HIDDEN_LAYERS, len(hidden))
        )
    _check_model_size(hidden, "--layers %s: the hidden layers alone" % args.layers)
    if args.activation not in ACTIVATIONS:
        raise _error(
            "--activation must be one of %s, got %r" % (", ".join(ACTIVATIONS), args.activation)
        )
    if args.optimizer not in OPTIMIZERS:
        raise _error(
            "--optimizer must be one of %s, got %r" % (", ".join(OPTIMIZERS), args.optimizer)
        )
    if not 0 < args.epochs <= MAX_EPOCHS:
        raise _error("--epochs must be > 0 and at most %d, got %g" % (MAX_EPOCHS, args.epochs))
    from ..nn import MAX_BATCH_SIZE

    if not 1 <= args.batch_size <= MAX_BATCH_SIZE:
        raise _error(
            "--batch-size must be from 1 to %d, got %d" % (MAX_BATCH_SIZE, args.batch_size)
        )
    if args.lr is not None and not (args.lr > 0 and np.isfinite(args.lr)):
        raise _error("--lr must be a positive number, got %r" % args.lr)
    if args.momentum is not None:
        if args.optimizer != "sgd":
            raise _error("--momentum applies to --optimizer sgd only")
        if not 0 <= args.momentum < 1:
            raise _error("--momentum must be in [0, 1), got %r" % args.momentum)
    if not (args.weight_decay >= 0 and np.isfinite(args.weight_decay)):
        raise _error("--weight-decay must be >= 0, got %r" % args.weight_decay)
    from ..nn import LR_SCHEDULES

    if args.lr_schedule not in LR_SCHEDULES:
        raise _error(
            "--lr-schedule must be one of %s, got %r" % (", ".join(LR_SCHEDULES), args.lr_schedule)
        )
    if not (args.warmup >= 0 and np.isfinite(args.warmup)):
        raise _error("--warmup must be >= 0, got %r" % args.warmup)
    if args.warmup >= 1 and not (args.warmup == int(args.warmup) <= MAX_WARMUP_STEPS):
        raise _error(
            "--warmup of 1 or more counts steps: a whole number up to %d, got %r"
            % (MAX_WARMUP_STEPS, args.warmup)
        )
    if args.warmup and args.lr_schedule == "cosine":
        raise _error("--warmup applies to --lr-schedule constant, linear or onecycle")
    for opt in ("label_smoothing", "dropout", "input_dropout"):
        if not 0 <= getattr(args, opt) < 1:
            raise _error(
                "--%s must be in [0, 1), got %r" % (opt.replace("_", "-"), getattr(args, opt))
            )
    if args.dtype not in ("float32", "float64"):
        raise _error("--dtype must be float32 or float64, got %r" % args.dtype)
    if args.precision is None:
        args.precision = "float32"
    if args.precision == "bfloat16" and args.dtype != "float32":
        raise _error("--precision bfloat16 needs --dtype float32")
    if args.threads is not None and args.threads < 1:
        raise _error("--threads must be >= 1, got %d" % args.threads)
    from .._config import MAX_THREADS

    if args.threads is not None and args.threads > MAX_THREADS:
        raise _error(
            "--threads must be <= %d (fastdigits.MAX_THREADS), got %d" % (MAX_THREADS, args.threads)
        )
    if not 0 <= args.seed <= MAX_SEED:
        raise _error("--seed must be from 0 to 2**64-1 = %d, got %d" % (MAX_SEED, args.seed))
    if args.limit is not None and args.limit < 1:
        raise _error("--limit must be >= 1, got %d" % args.limit)
    if args.show_errors < 0:
        raise _error("--show-errors must be >= 0, got %d" % args.show_errors)
    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise _error("--plot needs matplotlib: pip install fastdigits[plot]") from None
    backends = {"fast": ["fast"], "numpy": ["numpy"], "both": ["numpy", "fast"]}
    if args.backend not in backends:
        raise _error("--backend must be fast, numpy or both, got %r" % args.backend)
    if args.data is not None and not os.path.isdir(args.data):
        raise _error("--data %s: no such folder" % args.data)
    # Output paths are checked now, not after a training run they would lose.
    from ._view import check_output, check_output_folder

    if args.save is not None:
        from ..nn import _model_path

        if not args.save:
            raise _error("--save needs a file name, got ''")
        check_output("--save", args.save)  # a folder, or a name ending in /
        check_output("--save", _model_path(args.save))
    if args.plot is not None:
        if not args.plot:
            raise _error("--plot needs a folder name, got ''")
        check_output_folder("--plot", args.plot)
    return hidden, np.dtype(args.dtype), backends[args.backend]


def _check_model_size(sizes: Tuple[int, ...], what: str) -> None:
    """A CommandError when layers of ``sizes`` would hold more than MAX_PARAMS
    weights and biases (checked before any allocation)."""
    n = sum(a * b + b for a, b in zip(sizes, sizes[1:]))
    if n > MAX_PARAMS:
        raise _error(
            "{} would have {:,} parameters: at most {:,} (2**28) are allowed".format(
                what, n, MAX_PARAMS
            )
        )


def _data_files(args, split: str) -> Tuple[str, str]:
    """(images, labels) files of ``split`` that load_mnist reads, to name in
    messages (the folder when a name cannot be found)."""
    from ..datasets import _FILES, _find, mnist_path

    if args.data is None:
        return mnist_path(split + "-images"), mnist_path(split + "-labels")
    names = []
    for base in _FILES[split]:
        try:
            names.append(_find(args.data, base))
        except (OSError, ValueError):
            names.append(os.path.join(args.data, base))
    return names[0], names[1]


def _check_split(args, split: str, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """y as int64 class ids; a CommandError naming the file for a split
    without images or with a label that is not a class id (see
    :func:`fastdigits.commands._view.check_labels`)."""
    from ._view import check_labels

    images, labels = _data_files(args, split)
    if X.shape[0] == 0:
        raise _error("%s: holds no images (shape %s)" % (images, "x".join(map(str, X.shape))))
    return check_labels(y, labels)


def _load(args, dtype, raw_train=False):
    """Train and test sets; ``raw_train``: the train images as the uint8
    pixels they are stored as, (n, h*w), for MLP.fit to normalise batch by
    batch inside its epoch (a quarter of the memory of a float32 copy, and
    no pass over the whole set before training)."""
    from ..datasets import load_mnist
    from ..idx import IDXError

    try:
        if raw_train:
            X_train, y_train = load_mnist("train", root=args.data)
            if X_train.dtype != np.uint8 or X_train.ndim != 3:  # not pixels: the usual path
                return _load(args, dtype)
        else:
            X_train, y_train = load_mnist(
                "train", root=args.data, flatten=True, normalize=True, dtype=dtype
            )
        X_test, y_test = load_mnist(
            "test", root=args.data, flatten=True, normalize=True, dtype=dtype
        )
    except (OSError, IDXError, ValueError) as exc:
        raise _error("cannot load the data: %s" % exc) from None
    y_train = _check_split(args, "train", X_train, y_train)
    y_test = _check_split(args, "test", X_test, y_test)
    if X_train[:1].size != X_test.shape[1]:
        raise _error(
            "train images %s and test images %s differ in size"
            % (X_train.shape[1:], X_test.shape[1:])
        )
    if args.limit is not None:
        X_train, y_train = X_train[: args.limit], y_train[: args.limit]
    return X_train, y_train, X_test, y_test


def _raw_train(args, dtype):
    """The raw uint8 train images (n, h, w) for an augmented recipe (same
    --limit as _load); float64 models cannot augment."""
    from ..datasets import load_mnist

    if dtype != np.float32:
        raise _error("--recipe %s augments its batches: it needs --dtype float32" % args.recipe)
    X, _ = load_mnist("train", root=args.data)
    if args.limit is not None:
        X = X[: args.limit]
    return X


def _progress_bar(enabled: bool):
    """(callback for MLP.fit, close()) showing one tqdm bar per epoch."""
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm

    state: Dict[str, Any] = {"bar": None, "epoch": None}

    def callback(epoch, done, total):
        if state["epoch"] != epoch:
            if state["bar"] is not None:
                state["bar"].close()
            state["bar"] = tqdm(
                total=total,
                desc="epoch %d" % (epoch + 1),
                unit="step",
                leave=False,
                file=sys.stderr,
            )
            state["epoch"] = epoch
        bar = state["bar"]
        bar.update(done - bar.n)

    def close():
        if state["bar"] is not None:
            state["bar"].close()
            state["bar"] = None
            state["epoch"] = None

    return callback, close


def train_model(args, out=None) -> TrainResult:
    """Load the data, train on each requested backend, predict the test set.

    ``out``: a stream for per-epoch lines (None: silent).  Raises
    :class:`fastdigits.cli.CommandError` for bad arguments or data.
    """
    import fastdigits
    from ..nn import MLP
    from ..recipes import FIT_OPTIONS
    from ._view import progress_wanted

    hidden, dtype, backends = _check_args(args)
    # Only the fast backend trains: the float32 model reads the uint8 train
    # pixels and normalises each batch in its C epoch (fit(augment=[]): the
    # same numbers as training on load_mnist(normalize=True), bit for bit,
    # without the 188 MB float32 copy of MNIST's train set).
    raw = backends == ["fast"] and dtype == np.float32
    X_train, y_train, X_test, y_test = _load(args, dtype, raw_train=raw)
    raw = X_train.dtype == np.uint8  # (n, h, w) pixels; else (n, features) floats
    n_classes = int(max(y_train.max(), y_test.max())) + 1  # <= MAX_CLASSES: see _load
    sizes = (X_test.shape[1],) + hidden + (max(n_classes, 2),)
    _check_model_size(sizes, "the model %s" % "-".join(map(str, sizes)))
    threads = args.threads or fastdigits.get_num_threads()
    models, histories, preds, accs, seconds = {}, {}, {}, {}, {}
    import contextlib

    blas = contextlib.nullcontext()
    if "numpy" in backends:  # threadpoolctl only when BLAS does the work (import + scan time)
        from threadpoolctl import threadpool_limits

        blas = threadpool_limits(limits=threads, user_api="blas")
    # the NumPy backend's BLAS gets the same thread count as fastdigits
    with fastdigits.threads(threads), blas:
        for backend in backends:
            # The data were standardised with MNIST's statistics (load_mnist
            # normalize=True): the model remembers it for raw uint8 input.
            try:
                model = MLP(
                    sizes,
                    activation=args.activation,
                    dtype=dtype,
                    seed=args.seed,
                    backend=backend,
                    normalization="mnist",
                    dropout=args.dropout,
                    input_dropout=args.input_dropout,
                    # the NumPy backend has no bf16 products: it runs float32
                    precision=args.precision if backend == "fast" else "float32",
                )
            except MemoryError:
                raise _error(
                    "not enough memory for the model %s" % "-".join(map(str, sizes))
                ) from None
            if out is not None:
                print(
                    "%s backend: %s, %d train / %d test images, %d thread%s"
                    % (
                        backend,
                        "-".join(map(str, sizes)),
                        X_train.shape[0],
                        X_test.shape[0],
                        threads,
                        "" if threads == 1 else "s",
                    ),
                    file=out,
                )
            recipe = getattr(args, "recipe_obj", None)
            augment = recipe.augment_spec() if recipe is not None else None
            X_fit = X_train
            if raw and augment is None:
                augment = []  # normalisation only, in the epoch
            if augment:
                # the augmentation kernel warps raw pixels, then normalises
                # them with the model's (MNIST) statistics, inside the epoch
                X_fit = X_train if raw else _raw_train(args, dtype)
                if out is not None:
                    print("augment: %s" % ", ".join(map(repr, augment)), file=out)
            callback, close = _progress_bar(out is not None and progress_wanted(args.no_progress))

            def epoch_done(row, _close=close):
                _close()
                if out is not None:
                    test = "  test %.2f%%" % (100 * row["val_acc"]) if "val_acc" in row else ""
                    print(
                        "  epoch %2d/%g  loss %.4f  train %.2f%%%s  %.2f s"
                        % (
                            row["epoch"],
                            args.epochs,
                            row["loss"],
                            100 * row["train_acc"],
                            test,
                            row["seconds"],
                        ),
                        file=out,
                        flush=True,
                    )

            fit_kw = {name: getattr(args, name) for name in FIT_OPTIONS}
            fit_kw["epochs"] = int(args.epochs) if args.epochs == int(args.epochs) else args.epochs
            fit_kw["warmup"] = int(args.warmup) if args.warmup >= 1 else float(args.warmup)
            try:
                model.fit(
                    X_fit,
                    y_train,
                    **fit_kw,
                    validation_data=(X_test, y_test)
                    if getattr(args, "evaluate_each_epoch", True)
                    else None,
                    callback=callback,
                    callback_every=20,
                    epoch_callback=epoch_done,
                    **({"augment": augment} if augment is not None else {}),
                )
            finally:
                close()
            models[backend] = model
            histories[backend] = list(model.history)
            preds[backend] = model.predict(X_test)
            accs[backend] = float((preds[backend] == y_test).mean())
            seconds[backend] = float(sum(r["seconds"] for r in model.history))
    return TrainResult(models, histories, preds, accs, X_test, y_test, seconds)


def run(args) -> int:
    result = train_model(args, out=sys.stdout)
    for backend, acc in result.test_acc.items():
        print("%s test accuracy: %.2f%%" % (backend, 100 * acc))
    if "fast" in result.seconds and "numpy" in result.seconds:
        t_np, t_fast = result.seconds["numpy"], result.seconds["fast"]
        print(
            "numpy time: %.2f s, fastdigits time: %.2f s, speed-up: %.2fx"
            % (t_np, t_fast, t_np / t_fast if t_fast > 0 else float("inf"))
        )
    if args.save is not None:
        try:
            saved = result.model.save(args.save)
        except OSError as exc:
            raise _error("cannot write %s: %s" % (args.save, exc.strerror or exc)) from None
        print("model saved to %s" % saved)
    if args.plot is not None:
        _write_plots(result, args.plot)
    if args.show_errors:
        _print_errors(result, args.show_errors)
    return 0


def _write_plots(result: TrainResult, out_dir: str) -> None:
    from .. import plots

    try:
        os.makedirs(out_dir, exist_ok=True)
        curves = plots.plot_training(result.histories, out_dir)
        main = "fast" if "fast" in result.models else next(iter(result.models))
        confusion = plots.plot_confusion(
            result.y_test,
            result.test_pred[main],
            os.path.join(out_dir, "confusion.png"),
            model_name=main,
        )
    except OSError as exc:
        raise _error("cannot write plots to %s: %s" % (out_dir, exc)) from None
    print("plots written: %s, %s" % (curves, confusion))


def _print_errors(result: TrainResult, n: int) -> None:
    from .. import plots

    X = result.X_test
    side = int(round(np.sqrt(X.shape[1])))
    images = X.reshape(-1, side, side) if side * side == X.shape[1] else X[:, None, :]
    print("the %d most confidently wrong test digits (t: true, p: predicted):" % n)
    plots.show_errors(images, result.model.predict_proba(X), result.y_test, n)
