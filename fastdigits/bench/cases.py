"""The benchmark cases: one per public kernel, shape, batch size and option.

Each case names the public kernel it times (``fastdigits.<name>``); its NumPy
contender is the twin ``fastdigits.reference.<name>`` and its PyTorch
contender the equivalent PyTorch CPU code (or none when PyTorch has no such
operation).  A contender whose API is not importable in this build is
reported as unavailable, never replaced by something else.

Inputs are made once per case outside the clock, from a fixed seed, and each
contender gets its own copy (in-place kernels mutate them).  Outputs are
preallocated and passed as ``out=`` where the API has it (fastdigits and the
reference always; PyTorch where its API allows), so no contender pays for
page faults of fresh output arrays that the others avoid.
"""

from __future__ import annotations

import gzip
import importlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from .._activation import ACTIVATIONS
from .timing import Bench

CONTENDERS = ("fastdigits", "numpy", "torch")
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


class Unavailable(Exception):
    """A contender cannot run in this build or environment (message says why)."""


@dataclass(frozen=True)
class Profile:
    """Sizes and repetitions of one run mode."""

    name: str  # "full", "quick" or "tiny"
    batches: Tuple[int, ...]  # batch sizes for per-batch kernels
    hidden: int  # MNIST MLP: 784 -> hidden -> 10
    idx_images: int  # images in the IDX decode cases
    normalize_sets: Tuple[int, ...]  # extra whole-set normalise sizes
    epoch_samples: int  # samples in the training-epoch cases
    epoch_batches: Tuple[int, ...]
    rounds: int  # timed samples per contender
    epoch_rounds: int
    min_sample_s: float  # a sample lasts at least this long
    pause_s: float  # after NumPy (OpenBLAS threads spin ~0.1 s)
    short_pause_s: float  # after the others (libgomp/torch: a few ms)
    warmup: int


# One row per Profile field, one column per run mode (full, quick, tiny);
# tiny is for the tests: tiny sizes, one round, no pauses.
_MODES = ("full", "quick", "tiny")
_SETTINGS: Dict[str, Tuple[Any, Any, Any]] = {
    "batches": ((64, 256, 1024, 8192), (64, 1024), (8,)),
    "hidden": (256, 256, 32),
    "idx_images": (60000, 10000, 16),
    "normalize_sets": ((60000,), (), ()),
    "epoch_samples": (60000, 6000, 64),
    "epoch_batches": ((64, 256, 1024, 8192), (64, 1024), (16,)),
    "rounds": (5, 3, 1),
    "epoch_rounds": (3, 2, 1),
    "min_sample_s": (0.05, 0.01, 0.0),
    "pause_s": (0.2, 0.12, 0.0),
    "short_pause_s": (0.05, 0.03, 0.0),
    "warmup": (2, 1, 1),
}
PROFILES = {
    mode: Profile(mode, **{setting: row[i] for setting, row in _SETTINGS.items()})
    for i, mode in enumerate(_MODES)
}


@dataclass
class Case:
    name: str  # unique, matchable with --only, e.g. "dense_forward/relu/b64"
    group: str  # the kernel's short name, e.g. "dense_forward"
    kernel: str  # the public API timed, e.g. "fastdigits.dense_forward"
    kind: str  # "matrix" (GFLOP/s vs FMA peak) or "stream" (GB/s vs copy)
    params: Dict[str, Any]
    flops: Optional[float]  # floating-point operations per call (matrix work)
    bytes: Any  # bytes read + written per call (streaming work):
    # a number, None, or a function giving it at run time
    contenders: Dict[str, Optional[Callable[[], Bench]]]  # None: no such contender
    check: bool = True  # compare the fastdigits and NumPy results once
    rounds: Optional[int] = None  # overrides the profile's rounds
    notes: str = ""


# The training epoch computes its first layer from the pixels that differ
# from the background (csrc/mlp/mlp_sparse.h): the rows' GFLOP/s still
# count the dense product's multiply-adds.
SPARSE_NOTE = (
    "; GFLOP/s count the dense first layer, which the epoch computes from the "
    "non-background pixels only"
)


# --------------------------------------------------------------------------
# Looking up the public APIs.


def api(module: str, attr: str) -> Any:
    """``module.attr`` or Unavailable naming what is missing."""
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise Unavailable("%s is not importable (%s)" % (module, exc)) from None
    try:
        return getattr(mod, attr)
    except AttributeError:
        raise Unavailable("%s.%s is not in this build" % (module, attr)) from None


def fast(name: str) -> Any:
    return api("fastdigits", name)


def ref(name: str) -> Any:
    return api("fastdigits.reference", name)


def _torch():
    import torch

    return torch


# --------------------------------------------------------------------------
# Inputs.


class Data:
    """MNIST arrays and IDX files, made once per run and cleaned up after."""

    def __init__(self, profile: Profile):
        self.profile = profile
        self._tmp: Optional[str] = None
        self._cache: Dict[str, Any] = {}

    def close(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    @property
    def tmp(self) -> str:
        if self._tmp is None:
            self._tmp = tempfile.mkdtemp(prefix="fastdigits-bench-")
        return self._tmp

    @staticmethod
    def _bundled(name: str) -> str:
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        return os.path.join(here, "data", "mnist", name)

    def mnist_rows(self, n: int, dtype: Any) -> Tuple[np.ndarray, np.ndarray]:
        """The first n training images (repeated past 60000) as standardised
        (n, 784) rows in ``dtype`` (MNIST mean/std, computed in float64), and
        their labels."""
        images, labels = self.mnist()
        reps = -(-n // len(images))
        X = (np.concatenate([images] * reps)[:n].reshape(n, 784) / 255.0 - MNIST_MEAN) / MNIST_STD
        return np.ascontiguousarray(X, dtype=dtype), np.concatenate([labels] * reps)[:n]

    def mnist(self) -> Tuple[np.ndarray, np.ndarray]:
        """The 60000 MNIST training images (uint8, N x 28 x 28) and labels."""
        if "mnist" not in self._cache:
            with gzip.open(self._bundled("train-images-idx3-ubyte.gz")) as f:
                images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
            with gzip.open(self._bundled("train-labels-idx1-ubyte.gz")) as f:
                labels = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
            self._cache["mnist"] = (images, labels)
        return self._cache["mnist"]

    def images(self, n: int) -> np.ndarray:
        """n MNIST images (repeated when n > 60000), a fresh writeable uint8
        C-contiguous array."""
        imgs = self.mnist()[0]
        reps = -(-n // len(imgs))
        if reps > 1:
            imgs = np.concatenate([imgs] * reps)
        return np.array(imgs[:n], order="C")

    def idx_files(self) -> Tuple[str, str, int]:
        """(raw path, gzip path, data bytes) of an IDX file of
        profile.idx_images MNIST images: the bundled original .gz file when
        the count is 60000 (train) or 10000 (t10k), with a raw copy of it
        written once; else a file made from the training images."""
        if "idx" not in self._cache:
            n = self.profile.idx_images
            bundled = {60000: "train-images-idx3-ubyte.gz", 10000: "t10k-images-idx3-ubyte.gz"}.get(
                n
            )
            raw = os.path.join(self.tmp, "images-idx3-ubyte")
            if bundled is not None:
                gz = self._bundled(bundled)
                with gzip.open(gz) as src, open(raw, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            else:
                imgs = self.images(n)
                header = bytes([0, 0, 0x08, 3]) + b"".join(
                    int(d).to_bytes(4, "big") for d in imgs.shape
                )
                with open(raw, "wb") as f:
                    f.write(header)
                    f.write(imgs.tobytes())
                gz = raw + ".gz"
                with open(raw, "rb") as src, gzip.open(gz, "wb", compresslevel=6) as dst:
                    shutil.copyfileobj(src, dst)
            self._cache["idx"] = (raw, gz, n * 784)
        return self._cache["idx"]


def _seed(name: str) -> int:
    # Stable across processes (str hash is salted): a small sum of bytes.
    return sum(name.encode()) * 7919 % (2**31)


def _act_torch(act: str):
    torch = _torch()
    return {
        "identity": lambda z: z,
        "relu": torch.relu,
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "gelu": lambda z: torch.nn.functional.gelu(z, approximate="tanh"),
    }[act]


def _torch_dtype(dt: np.dtype):
    torch = _torch()
    return torch.float32 if dt == np.float32 else torch.float64


def _mlp_flops_per_sample(sizes: Tuple[int, ...]) -> float:
    """Matrix work of one training sample: forward 2*k*n per layer, dW 2*k*n
    per layer, dx 2*k*n for every layer but the first."""
    per_sample = sum(4.0 * k * n for k, n in zip(sizes[:-1], sizes[1:]))
    return per_sample + sum(2.0 * k * n for k, n in zip(sizes[1:-1], sizes[2:]))


def torch_mlp(sizes: Tuple[int, ...], dtype: Any = None):
    """nn.Sequential of nn.Linear layers with nn.ReLU between them (PyTorch's
    default initialisation: call torch.manual_seed first for fixed weights)."""
    torch = _torch()
    layers = []
    for i, (k, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        if i:
            layers.append(torch.nn.ReLU())
        layers.append(torch.nn.Linear(k, n, dtype=dtype))
    return torch.nn.Sequential(*layers)


def fd_torch_linears(sizes: Tuple[int, ...], dtype: Any = None, **kw: Any):
    """torch_mlp's model on fastdigits.torch.Linear layers (relu fused into
    every layer but the last); kw: further Linear keywords (weight_order=)."""
    Linear = api("fastdigits.torch", "Linear")
    torch = _torch()
    last = len(sizes) - 2
    return torch.nn.Sequential(
        *(
            Linear(k, n, activation="relu" if i < last else None, dtype=dtype, **kw)
            for i, (k, n) in enumerate(zip(sizes[:-1], sizes[1:]))
        )
    )


def torch_train_step(model, opt, lossf, x, y, bf16: bool = False) -> Any:
    """One optimiser step of model on the batch (x, y); returns the loss.
    bf16: forward and loss under ``torch.autocast("cpu", torch.bfloat16)``
    (bf16 products, float32 weights: PyTorch's mixed precision)."""
    opt.zero_grad(set_to_none=True)
    if bf16:
        torch = _torch()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = lossf(model(x), y)
    else:
        loss = lossf(model(x), y)
    loss.backward()
    opt.step()
    return loss


def torch_epoch(model, opt, lossf, X, y, order, batch: int, bf16: bool = False) -> None:
    """One epoch of torch_train_step over X[order], batch rows at a time."""
    for i in range(0, len(order), batch):
        idx = order[i : i + batch]
        torch_train_step(model, opt, lossf, X[idx], y[idx], bf16)


def _twin_case(
    name: str,
    group: str,
    kind: str,
    params: Dict[str, Any],
    flops: Optional[float],
    nbytes: Any,
    mk: Callable[[Callable[[], Any]], Callable[[], Bench]],
    torch_mk: Optional[Callable[[], Bench]],
    **kw: Any,
) -> Case:
    """A case timing ``fastdigits.<group>`` against its NumPy twin
    ``fastdigits.reference.<group>`` (both made by ``mk(get_function)``) and
    the PyTorch contender ``torch_mk`` (None: no such contender)."""
    return Case(
        name,
        group,
        "fastdigits." + group,
        kind,
        params,
        flops,
        nbytes,
        {
            "fastdigits": mk(lambda: fast(group)),
            "numpy": mk(lambda: ref(group)),
            "torch": torch_mk,
        },
        **kw,
    )


# --------------------------------------------------------------------------
# Case builders.


def _matmul_cases(p: Profile, dt: np.dtype) -> List[Case]:
    cases = []
    for k, n in ((784, p.hidden),):
        for m in p.batches:
            name = "matmul/%dx%dx%d" % (m, k, n)

            def inputs(name=name, m=m, k=k, n=n):
                g = np.random.default_rng(_seed(name))
                return (
                    g.standard_normal((m, k)).astype(dt),
                    g.standard_normal((k, n)).astype(dt),
                    np.empty((m, n), dt),
                )

            def mk(fn_get, inputs=inputs):
                def make():
                    f = fn_get()
                    a, b, o = inputs()
                    return Bench(lambda: f(a, b, out=o))

                return make

            def mk_torch(inputs=inputs):
                torch = _torch()
                a, b, o = (torch.from_numpy(t) for t in inputs())
                return Bench(lambda: torch.matmul(a, b, out=o))

            cases.append(
                _twin_case(
                    name,
                    "matmul",
                    "matrix",
                    {"m": m, "k": k, "n": n, "dtype": dt.name},
                    2.0 * m * k * n,
                    None,
                    mk,
                    mk_torch,
                )
            )
    return cases


def _layer_inputs(name: str, m: int, k: int, n: int, act: str, dt: np.dtype):
    g = np.random.default_rng(_seed(name))
    x = g.standard_normal((m, k)).astype(dt)
    W = (g.standard_normal((k, n)) / np.sqrt(k)).astype(dt)
    b = (0.1 * g.standard_normal(n)).astype(dt)
    z = x.astype(np.float64) @ W + b
    from ..reference.nn import _act  # the NumPy MLP's activation

    y = _act(z, act)
    dy = g.standard_normal((m, n)).astype(dt)
    return x, W, b, z.astype(dt), y.astype(dt), dy


def _dense_bench(f, kind: str, name: str, m: int, k: int, n: int, act: str, dt, **kw) -> Bench:
    """f = dense_forward or dense_backward (``kind``) on _layer_inputs, with
    every output preallocated; kw: further keywords (precision=)."""
    x, W, b, z, y, dy = _layer_inputs(name, m, k, n, act, dt)
    if kind == "forward":
        o = np.empty((m, n), dt)
        return Bench(lambda: f(x, W, b, act, out=o, **kw))
    # act' from z for gelu, from the output y otherwise
    yz = {"z": z} if act == "gelu" else {"y": y}
    dx, dW, db = np.empty_like(x), np.empty_like(W), np.empty_like(b)
    return Bench(
        lambda: f(
            dy, x, W, activation=act, **yz, need_dx=True, dx_out=dx, dW_out=dW, db_out=db, **kw
        )
    )


def _dense_cases(p: Profile, dt: np.dtype) -> List[Case]:
    cases = []
    shapes = [(784, p.hidden, ACTIVATIONS)]
    if p.name != "quick":  # the small output layer too (not worth quick's budget)
        shapes.append((p.hidden, 10, ("relu",)))
    for k, n, acts in shapes:
        for act in acts:
            for m in p.batches:
                tag = "%d->%d" % (k, n)
                params = {"m": m, "k": k, "n": n, "activation": act, "dtype": dt.name}
                # forward
                name = "dense_forward/%s/%s/b%d" % (act, tag, m)

                def mk_fwd(fn_get, name=name, m=m, k=k, n=n, act=act):
                    return lambda: _dense_bench(fn_get(), "forward", name, m, k, n, act, dt)

                def torch_fwd(name=name, m=m, k=k, n=n, act=act):
                    torch = _torch()
                    x, W, b, *_ = (
                        torch.from_numpy(t) for t in _layer_inputs(name, m, k, n, act, dt)
                    )
                    a = _act_torch(act)
                    return Bench(lambda: a(torch.addmm(b, x, W)))

                cases.append(
                    _twin_case(
                        name,
                        "dense_forward",
                        "matrix",
                        params,
                        2.0 * m * k * n,
                        None,
                        mk_fwd,
                        torch_fwd,
                        notes="torch: act(torch.addmm(b, x, W))",
                    )
                )
                # backward (dx, dW, db)
                name = "dense_backward/%s/%s/b%d" % (act, tag, m)

                def mk_bwd(fn_get, name=name, m=m, k=k, n=n, act=act):
                    return lambda: _dense_bench(fn_get(), "backward", name, m, k, n, act, dt)

                def torch_bwd(name=name, m=m, k=k, n=n, act=act):
                    torch = _torch()
                    x, W, b, _z, _y, dy = (
                        torch.from_numpy(t) for t in _layer_inputs(name, m, k, n, act, dt)
                    )
                    for t in (x, W, b):
                        t.requires_grad_(True)
                    y = _act_torch(act)(torch.addmm(b, x, W))
                    return Bench(lambda: torch.autograd.grad(y, (x, W, b), dy, retain_graph=True))

                cases.append(
                    _twin_case(
                        name,
                        "dense_backward",
                        "matrix",
                        params,
                        4.0 * m * k * n,
                        None,
                        mk_bwd,
                        torch_bwd,
                        notes="torch: autograd.grad of act(addmm) on a kept graph",
                    )
                )
    return cases


def _dense_dropout_cases(p: Profile, dt: np.dtype) -> List[Case]:
    """dense_forward(..., dropout=0.5) fused, against the two-call form
    (dense_forward, then dropout: the NumPy column) and PyTorch's
    F.dropout(F.relu(F.linear(...)))."""
    k, act, rate = 784, "relu", 0.5
    cases = []
    batches = [m for m in p.batches if m in (64, 1024)] or list(p.batches)
    for n, m in ((n, m) for n in sorted({p.hidden, 1024}) for m in batches):
        name = "dense_forward_dropout/%s/%d->%d/b%d" % (act, k, n, m)

        def mk(fused, name=name, m=m, n=n):
            def make():
                f, drop = fast("dense_forward"), fast("dropout")
                x, W, b, *_ = _layer_inputs(name, m, k, n, act, dt)
                o, t = np.empty((m, n), dt), np.empty((m, n), dt)
                if fused:
                    return Bench(lambda: f(x, W, b, act, out=o, dropout=rate, seed=7))
                return Bench(lambda: drop(f(x, W, b, act, out=t), rate, 7, out=o))

            return make

        def torch_mk(name=name, m=m, n=n):
            torch = _torch()
            F = torch.nn.functional
            x, W, b, *_ = (torch.from_numpy(t) for t in _layer_inputs(name, m, k, n, act, dt))
            Wt = W.t().contiguous()  # torch's (out, in) weight
            return Bench(lambda: F.dropout(F.relu(F.linear(x, Wt, b)), rate, training=True))

        cases.append(
            Case(
                name,
                "dense_forward_dropout",
                "fastdigits.dense_forward",
                "matrix",
                {"m": m, "k": k, "n": n, "activation": act, "dtype": dt.name, "dropout": rate},
                2.0 * m * k * n,
                None,
                {"fastdigits": mk(True), "numpy": mk(False), "torch": torch_mk},
                notes="NumPy column: fastdigits dense_forward + dropout (two calls); "
                "torch: F.dropout(F.relu(F.linear(x, W.T, b)), 0.5)",
            )
        )
    return cases


def _softmax_cases(p: Profile, dt: np.dtype) -> List[Case]:
    cases = []
    for m in p.batches:
        c = 10
        name = "softmax_cross_entropy/b%d" % m

        def inputs(name=name, m=m, c=c):
            g = np.random.default_rng(_seed(name))
            return (3 * g.standard_normal((m, c))).astype(dt), g.integers(0, c, m)

        def mk(fn_get, inputs=inputs):
            def make():
                f = fn_get()
                logits, labels = inputs()
                grad = np.empty_like(logits)
                return Bench(lambda: f(logits, labels, reduction="mean", grad_out=grad))

            return make

        def mk_torch(inputs=inputs):
            torch = _torch()
            logits, labels = (torch.from_numpy(t) for t in inputs())
            logits.requires_grad_(True)
            F = torch.nn.functional

            def run():
                loss = F.cross_entropy(logits, labels)
                return torch.autograd.grad(loss, logits)

            return Bench(run)

        isz = np.dtype(dt).itemsize
        cases.append(
            _twin_case(
                name,
                "softmax_cross_entropy",
                "stream",
                {"m": m, "classes": c, "dtype": dt.name},
                None,
                float(2 * m * c * isz + 8 * m),
                mk,
                mk_torch,
                notes="torch: F.cross_entropy + autograd.grad",
            )
        )
    return cases


def _optim_cases(p: Profile, dt: np.dtype) -> List[Case]:
    n = 784 * p.hidden
    isz = np.dtype(dt).itemsize

    def inputs(name, k):
        g = np.random.default_rng(_seed(name))
        return [g.standard_normal(n).astype(dt) * (0.01 if i else 1) for i in range(k)]

    def optim_case(name, group, params, streams, run_for, torch_opt, notes):
        """group's case on inputs(name, 2): run_for(f, param, grad) gives the
        timed call (with its own optimiser state), torch_opt(params) the
        PyTorch optimiser; streams: arrays of n elements read or written."""

        def mk(fn_get):
            def make():
                f = fn_get()
                param, grad = inputs(name, 2)
                return Bench(run_for(f, param, grad))

            return make

        def torch_mk():
            param, grad = (_torch().from_numpy(t) for t in inputs(name, 2))
            param.requires_grad_(True)
            param.grad = grad
            return Bench(torch_opt([param]).step)

        return _twin_case(
            name,
            group,
            "stream",
            {"n": n, **params, "dtype": dt.name},
            None,
            float(streams * n * isz),
            mk,
            torch_mk,
            check=False,
            notes=notes,
        )

    def sgd_run(f, param, grad):
        vel = np.zeros_like(param)
        return lambda: f(param, grad, lr=0.01, momentum=0.9, velocity=vel)

    def adam_run(f, param, grad):
        m1, v1 = np.zeros_like(param), np.zeros_like(param)
        step = [0]

        def run():
            step[0] += 1
            return f(
                param,
                grad,
                m1,
                v1,
                lr=1e-3,
                beta1=0.9,
                beta2=0.999,
                eps=1e-8,
                step=step[0],
                weight_decay=0.01,
            )

        return run

    return [
        optim_case(
            "sgd_step/momentum/n%d" % n,
            "sgd_step",
            {"momentum": 0.9},
            5,
            sgd_run,
            lambda params: _torch().optim.SGD(params, lr=0.01, momentum=0.9, foreach=True),
            "torch: optim.SGD(foreach=True).step()",
        ),
        optim_case(
            "adam_step/n%d" % n,
            "adam_step",
            {"weight_decay": 0.01},
            7,
            adam_run,
            lambda params: _torch().optim.AdamW(
                params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, foreach=True
            ),
            "torch: optim.AdamW(foreach=True).step()",
        ),
    ]


def _normalize_cases(p: Profile, dt: np.dtype, data: Data) -> List[Case]:
    cases = []
    isz = np.dtype(dt).itemsize
    for m in tuple(p.batches) + tuple(p.normalize_sets):
        name = "normalize/b%d" % m

        def mk(fn_get, m=m):
            def make():
                f = fn_get()
                x = data.images(m)
                o = np.empty(x.shape, dt)
                return Bench(lambda: f(x, mean=MNIST_MEAN, std=MNIST_STD, dtype=dt, out=o))

            return make

        def mk_torch(m=m):
            torch = _torch()
            x = torch.from_numpy(data.images(m))
            tdt = _torch_dtype(dt)
            return Bench(lambda: x.to(tdt).mul_(1 / 255).sub_(MNIST_MEAN).div_(MNIST_STD))

        cases.append(
            _twin_case(
                name,
                "normalize",
                "stream",
                {"m": m, "shape": [m, 28, 28], "dtype": dt.name},
                None,
                float(m * 784 * (1 + isz)),
                mk,
                mk_torch,
                notes="NumPy: fastdigits.reference.normalize (float64 maths, then "
                "cast); torch: x.to(dtype).mul_(1/255).sub_(mean).div_(std)",
            )
        )
    return cases


def _file_bytes(data: Data, fmt: str, out_bytes: int) -> Callable[[], float]:
    """Bytes read (the file) + bytes written (the array), known once the
    files exist."""

    def nbytes() -> float:
        raw, gz, _ = data.idx_files()
        return float(os.path.getsize(raw if fmt == "raw" else gz) + out_bytes)

    return nbytes


def _idx_cases(p: Profile, dt: np.dtype, data: Data) -> List[Case]:
    cases = []
    isz = np.dtype(dt).itemsize
    n = p.idx_images
    for fmt in ("raw", "gzip"):

        def mk(fn_get, fmt=fmt):
            def make():
                f = fn_get()
                raw, gz, _ = data.idx_files()
                path = raw if fmt == "raw" else gz
                return Bench(lambda: f(path))

            return make

        nbytes = n * 784
        cases.append(
            _twin_case(
                "read_idx/%s/n%d" % (fmt, n),
                "read_idx",
                "stream",
                {"images": n, "format": fmt},
                None,
                _file_bytes(data, fmt, nbytes),
                mk,
                None,
                notes="no PyTorch contender: PyTorch has no IDX reader",
            )
        )

    def mk_mmap(fn_get):
        def make():
            f = fn_get()
            raw, _gz, _ = data.idx_files()
            return Bench(lambda: f(raw, mmap=True))

        return make

    cases.append(
        _twin_case(
            "read_idx/raw-mmap/n%d" % n,
            "read_idx",
            "stream",
            {"images": n, "format": "raw", "mmap": True},
            None,
            None,
            mk_mmap,
            None,
            notes="zero-copy view of the file (no bytes moved: no limit); "
            "no PyTorch contender: PyTorch has no IDX reader",
        )
    )

    def mk_norm(fn_get):
        def make():
            f = fn_get()
            _raw, gz, _ = data.idx_files()
            return Bench(lambda: f(gz, mean=MNIST_MEAN, std=MNIST_STD, dtype=dt))

        return make

    cases.append(
        _twin_case(
            "read_idx_normalized/gzip/n%d" % n,
            "read_idx_normalized",
            "stream",
            {"images": n, "format": "gzip", "dtype": dt.name},
            None,
            _file_bytes(data, "gzip", n * 784 * isz),
            mk_norm,
            None,
            notes="no PyTorch contender: PyTorch has no IDX reader",
        )
    )
    return cases


def _epoch_case(p: Profile, dt: np.dtype, data: Data, B: int, bf16: bool = False) -> Case:
    """One training epoch of MLP 784-hidden-10 (sgd, momentum) at batch B.
    bf16: fastdigits' precision="bfloat16" against its float32 (the NumPy
    column) and PyTorch under bf16 autocast; else fastdigits against its
    NumPy backend and PyTorch in dt."""
    N = p.epoch_samples
    sizes = (784, p.hidden, 10)
    lr, momentum = 0.02, 0.9  # the MLP defaults

    def xy():
        return data.mnist_rows(N, dt)

    def mk(backend, precision="float32"):
        def make():
            MLP = api("fastdigits.nn", "MLP")
            X, y = xy()
            box = {}

            def reset():
                box["m"] = MLP(
                    sizes,
                    activation="relu",
                    dtype=dt,
                    seed=0,
                    backend=backend,
                    **({"precision": precision} if bf16 else {}),
                )

            def run():
                return box["m"].fit(
                    X, y, epochs=1, batch_size=B, optimizer="sgd", lr=lr, momentum=momentum
                )

            return Bench(run, reset=reset, repeatable=False)

        return make

    def mk_torch():
        torch = _torch()
        X, y = (torch.from_numpy(t) for t in xy())
        box = {}

        def reset():
            torch.manual_seed(0)
            box["model"] = torch_mlp(sizes, _torch_dtype(dt))
            box["opt"] = torch.optim.SGD(box["model"].parameters(), lr=lr, momentum=momentum)
            box["gen"] = torch.Generator().manual_seed(0)

        lossf = torch.nn.CrossEntropyLoss()

        def run():
            perm = torch.randperm(N, generator=box["gen"])
            torch_epoch(box["model"], box["opt"], lossf, X, y, perm, B, bf16)

        return Bench(run, reset=reset, repeatable=False)

    frac = "" if N == 60000 else " (%d of 60000 samples)" % N
    params = {"layers": list(sizes), "samples": N, "batch_size": B, "optimizer": "sgd"}
    params["dtype"] = dt.name
    contenders = {"fastdigits": mk("fast"), "numpy": mk("numpy"), "torch": mk_torch}
    notes = (
        "one epoch%s; torch: nn.Sequential + CrossEntropyLoss + optim.SGD, shuffled batches" % frac
    )
    if not bf16:  # (the bf16 epoch keeps the dense first layer)
        notes += SPARSE_NOTE
    if bf16:
        from .._info import bf16_path

        params["precision"] = "bfloat16"
        contenders = {"fastdigits": mk("fast", "bfloat16"), "numpy": mk("fast"), "torch": mk_torch}
        path = bf16_path(api("fastdigits", "get_simd")())
        notes += (
            " under torch.autocast(bfloat16); bf16 path: %s; NumPy column: fastdigits float32"
            % path
        )
    return Case(
        "mlp_epoch%s/b%d" % ("_bf16" if bf16 else "", B),
        "mlp_epoch_bf16" if bf16 else "mlp_epoch",
        "fastdigits.nn.MLP.fit",
        "matrix",
        params,
        _mlp_flops_per_sample(sizes) * N,
        None,
        contenders,
        check=False,
        rounds=p.epoch_rounds,
        notes=notes,
    )


def _epoch_cases(p: Profile, dt: np.dtype, data: Data) -> List[Case]:
    return [_epoch_case(p, dt, data, B) for B in p.epoch_batches]


def _torch_loop_cases(p: Profile, dt: np.dtype, data: Data) -> List[Case]:
    """One PyTorch training step (784-hidden-10, ReLU, CrossEntropyLoss, SGD
    momentum, batches drawn in turn from MNIST) with fastdigits.torch.Linear
    layers (rows torch_loop/<mode>/b<B>), or the fused fastdigits.torch.MLP
    (rows torch_loop/mlp_<mode>/b<B>), against the same loop with nn.Linear +
    nn.ReLU: eager with row-major weights (mode eager) and with
    weight_order="F" (eager_colmajor; both take the first layer's sparse
    product; eager_native: the same through fastdigits.torch.native_ops,
    Unavailable where it cannot be built),
    and both models under torch.compile (inductor) at the smallest batch
    size."""
    cases = []
    sizes = (784, p.hidden, 10)
    lr, momentum = 0.02, 0.9

    # compiled: the smallest batch only, and not in the test profile (compiling
    # takes seconds per model; the tests compile these layers elsewhere)
    modes = ("eager", "eager_colmajor", "eager_native")
    modes += () if p.name == "tiny" else ("compiled",)
    for fused, mode in [(f, m) for f in (False, True) for m in modes]:
        compiled = mode == "compiled"
        kw = {"weight_order": "F"} if mode in ("eager_colmajor", "eager_native") else {}
        for B in p.epoch_batches[:1] if compiled else p.epoch_batches:

            def mk(ours, B=B, compiled=compiled, fused=fused, kw=kw, mode=mode):
                def make():
                    # Unavailable without torch
                    MLP = api("fastdigits.torch", "MLP")
                    native = ours and mode == "eager_native"
                    if native:
                        native_ops = api("fastdigits.torch", "native_ops")
                        try:
                            native_ops(True)  # built (or loaded) before the clock
                        except RuntimeError as exc:
                            raise Unavailable(str(exc)) from None
                        native_ops(False)  # (on during this contender's steps only)
                    torch = _torch()
                    tdt = _torch_dtype(dt)
                    n = max(B, min(60000 // B, 16) * B)  # up to 16 distinct batches
                    X, y = data.mnist_rows(n, dt)
                    X = torch.from_numpy(X.reshape(-1, B, 784))
                    y = torch.from_numpy(y.reshape(-1, B))
                    torch.manual_seed(0)  # both models start from the same weights
                    if ours and fused:
                        model = MLP(sizes, activation="relu", dtype=tdt, **kw)
                    elif ours:
                        model = fd_torch_linears(sizes, tdt, **kw)
                    else:
                        model = torch_mlp(sizes, tdt)
                    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
                    run_model = torch.compile(model) if compiled else model
                    lossf = torch.nn.CrossEntropyLoss()
                    box = {"i": 0}

                    def step():
                        i = box["i"] = (box["i"] + 1) % len(X)
                        if not native:
                            return torch_train_step(run_model, opt, lossf, X[i], y[i])
                        native_ops(True)
                        try:
                            return torch_train_step(run_model, opt, lossf, X[i], y[i])
                        finally:
                            native_ops(False)

                    return Bench(step)

                return make

            cases.append(
                Case(
                    "torch_loop/%s%s/b%d" % ("mlp_" if fused else "", mode, B),
                    "torch_loop",
                    "fastdigits.torch.MLP" if fused else "fastdigits.torch.Linear",
                    "matrix",
                    {
                        "layers": list(sizes),
                        "batch_size": B,
                        "mode": mode,
                        "module": "MLP" if fused else "Linear",
                        "weight_order": kw.get("weight_order", "C"),
                        "optimizer": "sgd",
                        "dtype": dt.name,
                    },
                    _mlp_flops_per_sample(sizes) * B,
                    None,
                    {"fastdigits": mk(True), "numpy": None, "torch": mk(False)},
                    check=False,
                    notes="one PyTorch training step: fastdigits.torch.Linear "
                    "(mlp_ rows: the fused fastdigits.torch.MLP) vs "
                    "nn.Linear + nn.ReLU, CrossEntropyLoss + optim.SGD "
                    "momentum; eager (the first layer's sparse product; "
                    'colmajor rows: our weights weight_order="F"; '
                    "native rows: the same step as one native autograd "
                    "node, fastdigits.torch.native_ops), "
                    "or (compiled rows) both models under torch.compile "
                    "(inductor); no NumPy contender",
                )
            )
    return cases


def _sklearn_cases(p: Profile, dt: np.dtype, data: Data) -> List[Case]:
    """fastdigits.sklearn.MLPClassifier.fit against scikit-learn's own
    MLPClassifier (the "numpy" contender: scikit-learn trains in NumPy and
    OpenBLAS): one epoch of 784-hidden-10, adam, batch 200, same settings."""
    N, B = p.epoch_samples, 200
    sizes = (784, p.hidden, 10)

    def xy():
        return data.mnist_rows(N, dt)

    def mk(module):
        def make():
            cls = api(module, "MLPClassifier")
            X, y = xy()
            kw = dict(
                hidden_layer_sizes=(p.hidden,),
                solver="adam",
                batch_size=B,
                max_iter=1,
                random_state=0,
            )
            box = {}

            def reset():
                box["m"] = cls(**kw)

            def run():
                import warnings

                with warnings.catch_warnings():  # one epoch never "converges"
                    warnings.simplefilter("ignore")
                    return box["m"].fit(X, y)

            return Bench(run, reset=reset, repeatable=False)

        return make

    frac = "" if N == 60000 else " (%d of 60000 samples)" % N
    return [
        Case(
            "sklearn_fit/b%d" % B,
            "sklearn_fit",
            "fastdigits.sklearn.MLPClassifier.fit",
            "matrix",
            {
                "layers": list(sizes),
                "samples": N,
                "batch_size": B,
                "optimizer": "adam",
                "dtype": dt.name,
            },
            _mlp_flops_per_sample(sizes) * N,
            None,
            {
                "fastdigits": mk("fastdigits.sklearn"),
                "numpy": mk("sklearn.neural_network"),
                "torch": None,
            },
            check=False,
            rounds=p.epoch_rounds,
            notes="fit, max_iter=1 (one epoch)%s; numpy: scikit-learn's "
            "MLPClassifier, same parameters" % frac + SPARSE_NOTE,
        )
    ]


def _last_batch(it: Any) -> Any:
    last = None
    for x, _ in it:
        last = x
    return last


def _torchvision_affine(images: np.ndarray, labels: np.ndarray, batch: int, dt: np.dtype):
    """torchvision RandomAffine + ToTensor + Normalize in a DataLoader with 2
    workers (Unavailable when torchvision is not installed)."""
    try:
        from torch.utils.data import DataLoader, Dataset
        from torchvision import transforms
    except ImportError as exc:
        raise Unavailable("torchvision is not importable (%s)" % exc) from None

    class _Set(Dataset):
        def __init__(self, tf):
            self.tf = tf

        def __len__(self):
            return len(images)

        def __getitem__(self, i):
            return self.tf(images[i]), int(labels[i])

    tf = transforms.Compose(
        [
            transforms.ToPILImage(),
            transforms.RandomAffine(10, translate=(0.1, 0.1)),
            transforms.ToTensor(),
            transforms.Normalize((MNIST_MEAN,), (MNIST_STD,)),
        ]
    )
    loader = DataLoader(_Set(tf), batch_size=batch, shuffle=True, num_workers=2)
    return Bench(lambda: _last_batch(loader))


def _batches_cases(p: Profile, dt: np.dtype, data: Data) -> List[Case]:
    """One epoch of augmented, normalised batches (fastdigits.batches)."""
    cases = []
    m = min(p.epoch_samples, 10000)
    B = 256 if m >= 1024 else 16
    isz = np.dtype(dt).itemsize
    for label, spec_src in (
        ("affine", ("Affine", dict(degrees=10, translate=0.1))),
        ("elastic", ("Elastic", dict(alpha=34, sigma=4))),
    ):

        def mk(fn_get, spec_src=spec_src):
            def make():
                f = fn_get()
                spec = fast(spec_src[0])(**spec_src[1])
                x, y = data.images(m), data.mnist()[1][:m]
                return Bench(lambda: _last_batch(f(x, y, B, seed=0, augment=spec, dtype=dt)))

            return make

        def mk_torch(label=label):
            if label != "affine":
                raise Unavailable("no torchvision elastic contender")
            return _torchvision_affine(data.images(m), data.mnist()[1][:m], B, dt)

        args = ", ".join("%s=%s" % kv for kv in spec_src[1].items())
        cases.append(
            _twin_case(
                "batches/%s/n%d" % (label, m),
                "batches",
                "stream",
                {
                    "images": m,
                    "batch": B,
                    "augment": "%s(%s)" % (spec_src[0], args),
                    "dtype": dt.name,
                },
                None,
                float(m * 784 * (1 + isz)),
                mk,
                mk_torch if label == "affine" else None,
                rounds=p.epoch_rounds,
                notes="one epoch of %d MNIST images (images/s = %d / median), batch %d, "
                "shuffled, augmented, MNIST-normalised; NumPy: fastdigits.reference.batches; "
                "torch: torchvision RandomAffine + ToTensor + Normalize in a DataLoader with "
                "2 workers (only where torchvision is installed)" % (m, m, B),
            )
        )
    return cases


def _bf16_cases(p: Profile, dt: np.dtype, data: Data) -> List[Case]:
    """precision="bfloat16" layers (float32 runs only): the NumPy column is
    our own float32 kernel (same call, precision="float32"), so the
    speed-up column is bf16 over fp32; torch runs F.linear on bf16 tensors,
    and the training epoch (batch: the profile's first) under bf16 autocast."""
    if dt != np.float32:
        return []
    from .._info import bf16_path

    path = bf16_path(api("fastdigits", "get_simd")())
    k, n, act = 784, p.hidden, "relu"
    tag = "%d->%d" % (k, n)
    cases = []
    for kind, m in (("forward", 64), ("forward", 1024), ("backward", 1024)):
        name = "dense_%s_bf16/%s/%s/b%d" % (kind, act, tag, m)
        params = {"m": m, "k": k, "n": n, "activation": act, "dtype": "float32"}
        params["precision"] = "bfloat16"

        def mk(precision, kind=kind, name=name, m=m):
            return lambda: _dense_bench(
                fast("dense_" + kind), kind, name, m, k, n, act, dt, precision=precision
            )

        def torch_bf16(kind=kind, name=name, m=m):
            torch = _torch()
            F = torch.nn.functional
            x, W, b, _z, _y, dy = (
                torch.from_numpy(t).to(torch.bfloat16)
                for t in _layer_inputs(name, m, k, n, act, dt)
            )
            Wt = W.t().contiguous()  # torch's (out, in) weight
            if kind == "forward":
                return Bench(lambda: torch.relu(F.linear(x, Wt, b)))
            for t in (x, Wt, b):
                t.requires_grad_(True)
            yt = torch.relu(F.linear(x, Wt, b))
            return Bench(lambda: torch.autograd.grad(yt, (x, Wt, b), dy, retain_graph=True))

        cases.append(
            Case(
                name,
                "dense_%s_bf16" % kind,
                "fastdigits.dense_%s" % kind,
                "matrix",
                params,
                (2.0 if kind == "forward" else 4.0) * m * k * n,
                None,
                {"fastdigits": mk("bfloat16"), "numpy": mk("float32"), "torch": torch_bf16},
                check=False,
                notes="bf16 path: %s; NumPy column: fastdigits float32; "
                "torch: F.linear on bfloat16 tensors" % path,
            )
        )
    cases += _prepacked_cases(k, n, act, dt, path)
    return cases + [_epoch_case(p, dt, data, p.epoch_batches[0], bf16=True)]


def _prepacked_cases(k: int, n: int, act: str, dt: np.dtype, path: str) -> List[Case]:
    """bf16 dense_forward with W packed outside the clock (pack_weights), as
    PyTorch's contender gets bf16 tensors made outside it; the NumPy column
    is the same bf16 call packing W per call.  And pack_weights itself."""
    tag = "%d->%d" % (k, n)
    cases = []
    for m in (64, 1024):
        name = "dense_forward_bf16/%s/%s/b%d/prepacked" % (act, tag, m)
        params = {"m": m, "k": k, "n": n, "activation": act, "dtype": "float32"}
        params.update(precision="bfloat16", weights="pre-packed")

        def mk(prepacked, name=name, m=m):
            def make():
                x, W, b, *_ = _layer_inputs(name, m, k, n, act, dt)
                f, o = fast("dense_forward"), np.empty((m, n), dt)
                w = fast("pack_weights")(W) if prepacked else W
                return Bench(lambda: f(x, w, b, act, out=o, precision="bfloat16"))

            return make

        def torch_mk(name=name, m=m):
            torch = _torch()
            x, W, b, *_ = (
                torch.from_numpy(t).to(torch.bfloat16)
                for t in _layer_inputs(name, m, k, n, act, dt)
            )
            Wt = W.t().contiguous()
            return Bench(lambda: torch.relu(torch.nn.functional.linear(x, Wt, b)))

        cases.append(
            Case(
                name,
                "dense_forward_bf16_prepacked",
                "fastdigits.dense_forward",
                "matrix",
                params,
                2.0 * m * k * n,
                None,
                {"fastdigits": mk(True), "numpy": mk(False), "torch": torch_mk},
                notes="W = fastdigits.pack_weights(W) outside the clock; bf16 path: %s; "
                "NumPy column: fastdigits bf16 packing W per call; "
                "torch: F.linear on bfloat16 tensors" % path,
            )
        )
    name = "pack_weights/%s" % tag

    def mk_pack(fn_get):
        def make():
            W = _layer_inputs(name, 1, k, n, act, dt)[1]
            f = fn_get()
            return Bench(lambda: f(W))

        return make

    def torch_pack():
        torch = _torch()
        W = torch.from_numpy(_layer_inputs(name, 1, k, n, act, dt)[1])
        return Bench(lambda: W.t().contiguous().to(torch.bfloat16))

    cases.append(
        Case(
            name,
            "pack_weights",
            "fastdigits.pack_weights",
            "stream",
            {"k": k, "n": n, "dtype": "float32", "precision": "bfloat16"},
            None,
            6.0 * k * n,  # float32 read, bf16 pairs written
            {
                "fastdigits": mk_pack(lambda: fast("pack_weights")),
                "numpy": mk_pack(lambda: ref("pack_weights")),
                "torch": torch_pack,
            },
            check=False,
            notes="bf16 path: %s; NumPy column: fastdigits.reference.pack_weights "
            "(W rounded to bf16); torch: W.t().contiguous().to(bfloat16)" % path,
        )
    )
    return cases


def build_cases(profile: Profile, dtype: Any, data: Data) -> List[Case]:
    """Every case of the profile, in a stable order (data path first)."""
    dt = np.dtype(dtype)
    return (
        _idx_cases(profile, dt, data)
        + _normalize_cases(profile, dt, data)
        + _batches_cases(profile, dt, data)
        + _matmul_cases(profile, dt)
        + _dense_cases(profile, dt)
        + _dense_dropout_cases(profile, dt)
        + _bf16_cases(profile, dt, data)
        + _softmax_cases(profile, dt)
        + _optim_cases(profile, dt)
        + _epoch_cases(profile, dt, data)
        + _torch_loop_cases(profile, dt, data)
        + _sklearn_cases(profile, dt, data)
    )
