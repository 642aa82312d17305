"""Named training recipes for ``fastdigits train --recipe NAME``.

A recipe fixes the model and every training option (architecture,
optimiser, batch size, learning-rate schedule, label smoothing, dropout,
epochs); the command keeps ``--seed``, ``--threads``, ``--dtype``,
``--data``, ``--limit``, ``--save``, ``--plot`` and ``--no-progress``.
Other training options given together with ``--recipe`` are an error.

========== ===================================================== ===========================
recipe     what                                                  measured (2 threads, float32)
========== ===================================================== ===========================
speedrun   fastest to >= 98.0 % MNIST test accuracy              see :data:`RECIPES` below
mlp99      an MLP (no convolution) to >= 99.0 %: dropout and     see :data:`RECIPES` below
           affine augmentation inside the C epoch
========== ===================================================== ===========================

Each recipe's figures (test accuracy over seeds, time on 2 threads,
float32) are in its ``measured`` field and in docs/guide/training.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple, Union

__all__ = ["Recipe", "RECIPES", "get_recipe"]


#: the MLP.fit keywords a recipe (or ``fastdigits train``) sets, named as
#: both the Recipe fields and the command's options are
FIT_OPTIONS = (
    "epochs",
    "batch_size",
    "optimizer",
    "lr",
    "momentum",
    "weight_decay",
    "lr_schedule",
    "warmup",
    "label_smoothing",
)


@dataclass(frozen=True)
class Recipe:
    """One named training setup (see the module docstring)."""

    name: str
    summary: str
    hidden: Tuple[int, ...]
    epochs: float
    batch_size: int
    optimizer: str
    lr: float
    lr_schedule: str
    activation: str = "relu"
    momentum: Optional[float] = None
    weight_decay: float = 0.0
    warmup: Union[int, float] = 0
    label_smoothing: float = 0.0
    #: products of the fast backend ("float32" or "bfloat16": MLP(precision=));
    #: ``--precision`` overrides it, and float64 models run float32
    precision: str = "float32"
    dropout: float = 0.0
    input_dropout: float = 0.0
    #: test accuracy after every epoch (False: only at the end, saving time)
    evaluate_each_epoch: bool = True
    #: augmentation for MLP.fit(augment=...): {"affine": Affine kwargs,
    #: "elastic": Elastic kwargs}, applied in that order (see augment_spec)
    augment: Optional[Dict[str, Any]] = None
    measured: str = ""
    extra: Dict[str, Any] = field(default_factory=dict)

    def augment_spec(self) -> Optional[list]:
        """The :mod:`fastdigits.augment` operations of :attr:`augment` (None: none)."""
        if not self.augment:
            return None
        from .augment import Affine, Elastic

        kinds = {"affine": Affine, "elastic": Elastic}
        return [kinds[k](**kw) for k, kw in self.augment.items()]

    def fit_kwargs(self) -> Dict[str, Any]:
        """Keyword arguments for :meth:`fastdigits.MLP.fit`."""
        return {name: getattr(self, name) for name in FIT_OPTIONS}


#: the training both recipes share: SGD with momentum 0.9 on batches of 128,
#: a one-cycle learning rate (each recipe sets its peak and warm-up), label
#: smoothing 0.1, and the test set evaluated only at the end
_ONECYCLE_SGD: Dict[str, Any] = dict(
    batch_size=128,
    optimizer="sgd",
    momentum=0.9,
    lr_schedule="onecycle",
    label_smoothing=0.1,
    evaluate_each_epoch=False,
)

RECIPES: Dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe(
            name="speedrun",
            summary="fastest to >= 98.0% MNIST test accuracy: 784-256-10, 3 epochs "
            "of SGD (momentum 0.9, batch 128) with a one-cycle rate peaking at 0.15, "
            "label smoothing 0.1, bfloat16 products where the CPU has bf16 units "
            "(float32 elsewhere), no per-epoch test evaluation",
            hidden=(256,),
            epochs=3,
            lr=0.15,
            warmup=0.2,
            precision="bfloat16",
            **_ONECYCLE_SGD,
            measured="98.22-98.39% test over seeds 0-7 (median 98.31%; float32 at "
            "this rate: 98.17-98.30%); whole process on a quiet shared 2-core Zen 4 "
            "(AVX512_BF16 path), 24 runs (seeds 0-7 in three OpenMP wait modes): "
            "1.16-2.47 s wall, median 1.72 s, 16 of 24 <= 2.0 s; 2.3-4.0 s at load ~5; "
            "training 1.23 s CPU on one thread (float32 at 0.2: 2.01 s)",
        ),
        Recipe(
            name="mlp99",
            summary="an MLP (no convolution) for >= 99.0% test: 784-800-800-10 "
            "(ReLU), dropout 0.2 on the hidden layers, every batch augmented in "
            "the C epoch with a random affine warp (rotation +-10 degrees, "
            "translation +-10%, scale 0.9-1.1), 20 epochs of SGD (momentum 0.9, "
            "batch 128), one-cycle rate peaking at 0.1, label smoothing 0.1",
            hidden=(800, 800),
            epochs=20,
            lr=0.1,
            warmup=0.15,
            dropout=0.2,
            input_dropout=0.0,
            **_ONECYCLE_SGD,
            augment={"affine": {"degrees": 10, "translate": 0.1, "scale": (0.9, 1.1)}},
            measured="test accuracy 99.11% (seed 0), 99.06% (seed 1); 16 epochs gave "
            "98.96% / 99.12%.  2 threads, float32, whole process (seeds 0 / 1, machine "
            "load ~1): 83.5 / 81.5 s wall, 151 / 154 s user + 3 s system CPU, 3.4-4.5 s per "
            "epoch; runs while other sessions loaded the 2-core machine (load ~5) "
            "took 5-6 min",
        ),
    )
}


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``; ValueError listing the names otherwise."""
    try:
        return RECIPES[name]
    except KeyError:
        raise ValueError(
            "unknown recipe %r: choose one of %s" % (name, ", ".join(sorted(RECIPES)))
        ) from None
