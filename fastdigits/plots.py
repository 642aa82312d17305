"""Training curves, confusion matrices and the most confident mistakes.

* :func:`plot_training` and :func:`plot_confusion` write PNG charts with
  matplotlib, an optional extra (``pip install fastdigits[plot]``).  They use
  matplotlib's object API with the Agg canvas directly, so they never touch
  pyplot's global state or the backend of a running notebook.
* :func:`confusion_matrix`, :func:`most_confident_errors` are plain NumPy;
  :func:`show_errors` prints those mistakes in the terminal.
"""

from __future__ import annotations

import numbers
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, TextIO

import numpy as np

from ._atomic import atomic_write
from .png import check_png_name

__all__ = [
    "confusion_matrix",
    "most_confident_errors",
    "plot_confusion",
    "plot_training",
    "show_errors",
]

_INSTALL_HINT = (
    "plotting needs matplotlib, an optional extra: "
    "pip install fastdigits[plot]  (or: pip install matplotlib)"
)
HISTORY_KEYS = ("epoch", "loss", "train_acc", "val_loss", "val_acc", "seconds")


def _figure(figsize):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    fig = Figure(figsize=figsize, dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _labels_1d(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values.detach().cpu().numpy() if hasattr(values, "detach") else values)
    if arr.ndim != 1:
        raise ValueError("%s must be 1-D, got shape %s" % (name, arr.shape))
    if arr.size and arr.dtype.kind in "uf" and arr.max() >= 2.0**63:
        # (cast to int64, 2**64 - 1 was reported as the label -1)
        raise ValueError("%s holds a class label too large: %s" % (name, arr.max()))
    if arr.dtype.kind not in "iub":
        if (
            arr.dtype.kind == "f"
            and arr.size
            and np.all(np.isfinite(arr))
            and np.all(arr == np.rint(arr))
        ):
            arr = arr.astype(np.int64)
        elif arr.size:
            raise TypeError("%s must hold integer class labels, got dtype %s" % (name, arr.dtype))
        else:
            arr = arr.astype(np.int64)
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < 0:
        raise ValueError("%s holds a negative class label (%d)" % (name, arr.min()))
    return arr


# A confusion matrix's classes (8192**2 int64 cells: 512 MiB) and a plotted
# one's (half an inch a class: 100 classes is a 5200-pixel square figure).
MAX_CLASSES = 8192
MAX_PLOT_CLASSES = 100


def confusion_matrix(y_true: Any, y_pred: Any, n_classes: Optional[int] = None) -> np.ndarray:
    """``cm[t, p]`` = how many samples of true class t were predicted p (int64).

    ``n_classes`` defaults to 1 + the largest label seen.
    """
    t = _labels_1d(y_true, "y_true")
    p = _labels_1d(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError("y_true and y_pred differ in length: %d vs %d" % (t.size, p.size))
    seen = int(max(t.max(initial=-1), p.max(initial=-1))) + 1
    if n_classes is None:
        n_classes = max(seen, 1)
    elif (
        isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 1
    ):
        raise ValueError("n_classes must be a positive int, got %r" % (n_classes,))
    elif seen > n_classes:
        raise ValueError("n_classes is %d but a label %d was seen" % (n_classes, seen - 1))
    k = int(n_classes)
    if k > MAX_CLASSES:
        # (one stray label of 10**6 asked for a 7 TiB matrix)
        raise ValueError(
            "a confusion matrix of %d classes would have %d cells: at most %d classes "
            "(from n_classes or the largest label)" % (k, k * k, MAX_CLASSES)
        )
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k).astype(np.int64)


def most_confident_errors(proba: Any, y_true: Any, n: int) -> np.ndarray:
    """Indices of the ``n`` most confidently wrong predictions, worst first.

    ``proba`` is (N, C) class scores (probabilities or logits: only their
    order within a row and across rows is used); the prediction is the
    row's argmax.  Among the rows where it differs from ``y_true``, the
    result orders by the predicted class's score, highest first (ties by
    index).  Fewer than ``n`` come back when there are fewer mistakes.
    """
    pr = np.asarray(proba.detach().cpu().numpy() if hasattr(proba, "detach") else proba)
    if pr.ndim != 2 or pr.shape[1] < 1:
        raise ValueError("proba must be 2-D (samples, classes), got shape %s" % (pr.shape,))
    if pr.dtype.kind not in "fiu":
        raise TypeError("proba must be numeric, got dtype %s" % pr.dtype)
    y = _labels_1d(y_true, "y_true")
    if y.size != pr.shape[0]:
        raise ValueError("y_true has %d labels but proba has %d rows" % (y.size, pr.shape[0]))
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError("n must be an int, got %s" % type(n).__name__)
    if n < 0:
        raise ValueError("n must be >= 0, got %d" % n)
    if y.size and y.max() >= pr.shape[1]:
        raise ValueError(
            "y_true holds class %d but proba has only %d columns" % (y.max(), pr.shape[1])
        )
    pred = pr.argmax(axis=1)
    wrong = np.flatnonzero(pred != y)
    conf = pr[wrong, pred[wrong]].astype(np.float64)
    order = np.lexsort((wrong, -conf))  # by confidence desc, then index
    return wrong[order[:n]].astype(np.int64)


def show_errors(
    images: Any,
    proba: Any,
    y_true: Any,
    n: int,
    *,
    mode: str = "blocks",
    color: Optional[bool] = None,
    width: Optional[int] = None,
    file: Optional[TextIO] = None,
) -> np.ndarray:
    """Print the ``n`` most confidently wrong digits (what ``--show-errors N`` shows).

    Each digit is titled ``#index t5 p3 98%``: true class, predicted class,
    and the predicted class's score (as a percentage when ``proba`` rows
    look like probabilities).  Returns the indices shown.
    """
    from ._images import _as_batch
    from .viz import show

    imgs = _as_batch(images)
    idx = most_confident_errors(proba, y_true, n)
    if imgs.shape[0] != np.shape(proba)[0]:
        raise ValueError(
            "images has %d images but proba has %d rows" % (imgs.shape[0], np.shape(proba)[0])
        )
    if idx.size == 0:
        print("no misclassified images", file=file)
        return idx
    pr = np.asarray(proba)
    y = _labels_1d(y_true, "y_true")
    pred = pr.argmax(axis=1)
    is_prob = pr.dtype.kind == "f" and pr.min() >= 0 and pr.max() <= 1
    titles = []
    for i in idx:
        score = pr[i, pred[i]]
        s = "%.0f%%" % (100 * score) if is_prob else "%.3g" % score
        titles.append("#%d t%d p%d %s" % (i, y[i], pred[i], s))
    show(imgs[idx], mode=mode, color=color, width=width, titles=titles, file=file)
    return idx


def _history(history: Any) -> Dict[str, np.ndarray]:
    if isinstance(history, Mapping) or not isinstance(history, Sequence) or not history:
        raise ValueError("history must be a non-empty list of per-epoch dicts")
    cols: Dict[str, List[float]] = {k: [] for k in HISTORY_KEYS}
    for i, row in enumerate(history):
        if not isinstance(row, Mapping):
            raise TypeError("history[%d] must be a dict, got %s" % (i, type(row).__name__))
        if "epoch" not in row:
            raise ValueError("history[%d] has no 'epoch'" % i)
        for k in HISTORY_KEYS:
            v = row.get(k)
            if v is None:
                cols[k].append(np.nan)
            elif isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Real, np.number)):
                # (float("x") failed with no word of where)
                raise TypeError(
                    "history[%d][%r] must be a number or None, got %s" % (i, k, type(v).__name__)
                )
            else:
                cols[k].append(float(v))
    return {k: np.array(v, dtype=np.float64) for k, v in cols.items()}


def plot_training(history: Any, out_dir: Any) -> str:
    """Write ``training.png``: loss and accuracy per epoch, train and validation.

    ``history`` is a list of per-epoch dicts with keys ``epoch``, ``loss``,
    ``train_acc``, ``val_loss``, ``val_acc``, ``seconds`` (missing or None
    values are left out of the plot), or a dict ``{model name: such a
    list}`` (e.g. ``{"numpy": ..., "fast": ...}``) to draw several models'
    curves on the same axes, each labelled with its name; the title names
    the models plotted.  Accuracies are fractions (0..1) or percentages, as
    given.  Epoch ticks are whole numbers.  ``out_dir`` is created if needed.
    Returns the path of the PNG file.
    """
    if isinstance(history, Mapping):
        if not history:
            raise ValueError("history must be a non-empty dict of per-epoch lists")
        runs = [(str(name), _history(h)) for name, h in history.items()]
    else:
        runs = [("", _history(history))]
    fig = _figure((10, 4))
    from matplotlib.ticker import MaxNLocator

    ax_loss, ax_acc = fig.subplots(1, 2)
    for ax, keys, title in (
        (ax_loss, ("loss", "val_loss"), "loss"),
        (ax_acc, ("train_acc", "val_acc"), "accuracy"),
    ):
        for run_name, cols in runs:
            ep = cols["epoch"]
            for key, name in zip(keys, ("train", "validation")):
                y = cols[key]
                ok = np.isfinite(y)
                if ok.any():
                    label = "%s %s" % (run_name, name) if run_name else name
                    ax.plot(ep[ok], y[ok], marker="o", label=label)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no 1.25-epoch ticks
        ax.set_ylabel(title)
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    parts = []
    for run_name, cols in runs:
        secs = cols["seconds"]
        part = "%d epochs" % len(cols["epoch"])
        if np.isfinite(secs).any():
            part += ", %.1f s" % np.nansum(secs)
        parts.append("%s: %s" % (run_name, part) if run_name else part)
    fig.suptitle("; ".join(parts))
    fig.tight_layout()
    os.makedirs(os.fspath(out_dir), exist_ok=True)
    path = os.path.join(os.fspath(out_dir), "training.png")
    _save(fig, path)
    return path


def plot_confusion(
    y_true: Any,
    y_pred: Any,
    path: Any,
    *,
    n_classes: Optional[int] = None,
    class_names: Optional[Sequence[str]] = None,
    model_name: Optional[str] = None,
) -> str:
    """Write the confusion matrix (counts in each cell, title with accuracy) as PNG.

    Rows are true classes, columns predicted; ``model_name``, when given,
    says in the title whose predictions these are.  Returns ``path``.
    """
    _check_png_name(path)
    if n_classes is not None and isinstance(n_classes, (int, np.integer)):
        if n_classes > MAX_PLOT_CLASSES:
            raise ValueError(_TOO_MANY % (MAX_PLOT_CLASSES, n_classes))
    cm = confusion_matrix(y_true, y_pred, n_classes)
    k = cm.shape[0]
    if k > MAX_PLOT_CLASSES:
        raise ValueError(_TOO_MANY % (MAX_PLOT_CLASSES, k))
    names = [str(i) for i in range(k)] if class_names is None else [str(c) for c in class_names]
    if len(names) != k:
        raise ValueError("class_names has %d names but there are %d classes" % (len(names), k))
    total = int(cm.sum())
    acc = np.trace(cm) / total if total else float("nan")
    size = max(4.0, 0.5 * k + 2)
    fig = _figure((size, size))
    ax = fig.subplots()
    im = ax.imshow(cm, cmap="Blues")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xticklabels(names)
    ax.set_yticklabels(names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(
        "%sconfusion matrix: %d samples, accuracy %.2f%%"
        % ("%s model, " % model_name if model_name else "", total, 100 * acc)
    )
    if k <= 30:
        thresh = cm.max() / 2.0 if cm.size else 0
        for t in range(k):
            for p in range(k):
                ax.text(
                    p,
                    t,
                    str(cm[t, p]),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if cm[t, p] > thresh else "black",
                )
    fig.tight_layout()
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    os.makedirs(folder, exist_ok=True)
    _save(fig, os.fspath(path))
    return os.fspath(path)


_TOO_MANY = "plot_confusion draws at most %d classes, got %d (use confusion_matrix for the counts)"


def _check_png_name(path: Any) -> None:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError("path must be a file name, got %s" % type(path).__name__)
    check_png_name(path, "plot_confusion")


def _save(fig: Any, path: str) -> None:
    """The figure as PNG at path, replaced atomically as to_png writes (a
    failed write left a truncated file in place of the old one)."""
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100))
