"""Call specs for every public fastdigits kernel, shared by the reliability tests.

Each ``Spec`` knows how to build valid small inputs for a dtype (``make``) and
how to call the kernel on them with private outputs (``call``).  ``make``
returns the *shared* inputs: arrays the call only reads (the tests mark them
read-only and share them between threads).  ``call`` creates everything the
kernel writes (``out=`` buffers, copies of in-place parameters, output files)
itself, so concurrent calls never write to the same memory, and returns the
results as a flat list of fresh NumPy arrays for exact comparison.

``call(fn, shared, tmpdir)`` takes the function to run, so the same spec runs
the fast kernel and its :mod:`fastdigits.reference` twin.

The concurrency, memory and fork tests iterate over ``available_specs()``; add
an entry here when a new public kernel lands.
"""

from __future__ import annotations

import itertools
import os
import struct
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Tuple

import numpy as np

import fastdigits

FLOATS = (np.float32, np.float64)
_counter = itertools.count()


# The shapes every matmul parity test runs, float and bfloat16 (m, k, n):
# single elements, odd sizes around the register tiles, K = 1, MNIST's
# 64 x 784 x 256, a long K (8192: the bf16 error bound), one output column.
MATMUL_SHAPES = [
    (1, 1, 1),
    (5, 3, 7),
    (7, 63, 65),
    (9, 31, 33),
    (17, 33, 65),
    (17, 385, 33),
    (65, 1, 7),
    (63, 1000, 9),
    (130, 300, 70),
    (1, 784, 10),
    (64, 784, 256),
    (37, 1001, 45),
    (3, 8192, 33),
    (100, 17, 1),
]

# The layers every dense parity test runs, float and bfloat16:
# (m, k, n, W's memory order, flag), where the flag is `bias` for a forward
# test and `need_dx` for a backward one.
LAYER_CASES = [
    (1, 7, 1, "C", True),
    (7, 63, 65, "F", True),
    (65, 100, 63, "C", False),
    (64, 784, 256, "F", True),
    (64, 784, 256, "C", True),
    (1000, 30, 10, "C", True),
    (130, 300, 70, "F", True),
    (130, 30, 10, "F", True),
    (3, 4099, 17, "F", True),
]


# The public functions backed by C kernels (csrc/): each must have a twin
# (test_reference_twins.py) and, but for UNBENCHED, a `fastdigits bench` row.
KERNELS = [
    "read_idx",
    "read_idx_header",
    "read_idx_normalized",
    "write_idx",
    "normalize",
    "matmul",
    "dense_forward",
    "dense_backward",
    "pack_weights",
    "softmax_cross_entropy",
    "sgd_step",
    "adam_step",
    "batches",
    "dropout",
]


# kernels with no `fastdigits bench` row (test_bench_cli.py)
UNBENCHED = ("read_idx_header", "write_idx", "dropout")


@dataclass
class Spec:
    name: str  # public name in fastdigits (and fastdigits.reference)
    make: Callable[..., Dict[str, Any]]  # make(dtype, rng, scale, tmpdir) -> shared inputs
    call: Callable[..., List[np.ndarray]]  # call(fn, shared, tmpdir) -> results
    dtypes: Tuple = FLOATS
    uses_files: bool = False
    label: str = ""  # test id when one kernel has several specs
    # Scale at which the kernel runs an OpenMP team of 2 (work >= several
    # grains), so concurrency tests exercise the parallel code; 0: no OpenMP.
    par_scale: int = 1

    def __post_init__(self):
        self.label = self.label or self.name

    def fast(self):
        return _resolve(fastdigits, self.name)

    def reference(self):
        import fastdigits.reference as ref

        return _resolve(ref, self.name)


def _resolve(mod, dotted):
    obj = mod
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def flatten(res) -> List[np.ndarray]:
    """Every array / number in a kernel's return value, as fresh arrays."""
    if res is None:
        return []
    if isinstance(res, dict):
        return [a for k in sorted(res) for a in flatten(res[k])]
    if isinstance(res, (tuple, list)):
        return [a for r in res for a in flatten(r)]
    if isinstance(res, np.ndarray):
        return [np.array(res, copy=True)]
    if isinstance(res, (int, float, np.generic, bool)):
        return [np.asarray(res)]
    if hasattr(res, "numpy"):  # a torch tensor
        return [np.array(res.numpy(), copy=True)]
    if hasattr(res, "_asdict"):  # a namedtuple-like header
        return flatten(dict(res._asdict()))
    if hasattr(res, "__dict__"):
        return flatten({k: v for k, v in vars(res).items() if not k.startswith("_")})
    return [np.asarray(repr(res))]


def same(a: List[np.ndarray], b: List[np.ndarray]) -> bool:
    """Bit-identical results (NaN equal to NaN)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x.shape != y.shape or x.dtype != y.dtype:
            return False
        if x.dtype.kind in "fc":
            if not np.array_equal(x, y, equal_nan=True):
                return False
        elif not np.array_equal(x, y):
            return False
    return True


def freeze(shared: Dict[str, Any]) -> Dict[str, Any]:
    """Mark every shared input array read-only (kernels must only read them)."""
    for v in shared.values():
        if isinstance(v, np.ndarray):
            v.flags.writeable = False
    return shared


# --------------------------------------------------------------- IDX helpers
IDX_CODES = {
    np.dtype(np.uint8): 0x08,
    np.dtype(np.int8): 0x09,
    np.dtype(">i2"): 0x0B,
    np.dtype(">i4"): 0x0C,
    np.dtype(">f4"): 0x0D,
    np.dtype(">f8"): 0x0E,
}


def idx_bytes(arr: np.ndarray) -> bytes:
    """An IDX file holding arr, built by hand (independent of write_idx)."""
    arr = np.asarray(arr)
    be = arr.astype(arr.dtype.newbyteorder(">")) if arr.dtype.itemsize > 1 else arr
    code = IDX_CODES[np.dtype(be.dtype)]
    head = bytes([0, 0, code, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape)
    return head + np.ascontiguousarray(be).tobytes()


def _write_tmp(tmpdir, data: bytes, suffix="") -> str:
    path = os.path.join(str(tmpdir), "in-%d-%d%s" % (os.getpid(), next(_counter), suffix))
    with open(path, "wb") as f:
        f.write(data)
    return path


def _private_path(tmpdir, suffix=".idx") -> str:
    return os.path.join(str(tmpdir), "out-%d-%d%s" % (os.getpid(), next(_counter), suffix))


# ------------------------------------------------------------ numeric helpers
def _u8_images(rng, n):
    return rng.integers(0, 256, size=(n, 7, 9), dtype=np.uint8)


def _relu(z):
    return np.maximum(z, 0)


# ------------------------------------------------------------------- specs
def _mk_normalize(dtype, rng, scale=1, tmpdir=None):
    return {"images": _u8_images(rng, 5 * scale), "dtype": dtype}


def _call_normalize(fn, s, tmp):
    out = np.empty(s["images"].shape, s["dtype"])
    r = fn(s["images"], scale=1 / 255, mean=0.1307, std=0.3081, dtype=s["dtype"], out=out)
    return flatten(r) + [out.copy()]


def _mk_matmul(dtype, rng, scale=1, tmpdir=None):
    return {
        "a": rng.standard_normal((7 * scale, 13)).astype(dtype),
        "b": rng.standard_normal((13, 5 + scale)).astype(dtype),
    }


def _call_matmul(fn, s, tmp):
    out = np.empty((s["a"].shape[0], s["b"].shape[1]), s["a"].dtype)
    r = fn(s["a"], s["b"], out=out)
    return flatten(r) + [out.copy()]


def _mk_dense(dtype, rng, scale=1, tmpdir=None):
    m, k, n = 7 * scale, 13, 5 + scale
    x = rng.standard_normal((m, k)).astype(dtype)
    W = (rng.standard_normal((k, n)) * 0.3).astype(dtype)
    b = rng.standard_normal(n).astype(dtype)
    y = _relu(x @ W + b).astype(dtype)
    dy = rng.standard_normal((m, n)).astype(dtype)
    return {"x": x, "W": W, "b": b, "y": y, "dy": dy}


def _call_dense_forward(fn, s, tmp):
    out = np.empty(s["y"].shape, s["x"].dtype)
    pre = np.empty(s["y"].shape, s["x"].dtype)
    r = fn(s["x"], s["W"], s["b"], "relu", out=out, preact_out=pre)
    return flatten(r) + [out.copy(), pre.copy()]


def _call_dense_backward(fn, s, tmp):
    dt = s["x"].dtype
    dx = np.empty(s["x"].shape, dt)
    dW = np.empty(s["W"].shape, dt)
    db = np.empty(s["b"].shape, dt)
    r = fn(s["dy"], s["x"], s["W"], s["y"], "relu", need_dx=True, dx_out=dx, dW_out=dW, db_out=db)
    return flatten(r) + [dx.copy(), dW.copy(), db.copy()]


def _call_pack_weights(fn, s, tmp):
    """W packed by fn (fastdigits' or the reference's), then used by the same
    module's bf16 dense_forward."""
    import fastdigits.reference as ref

    mod = ref if fn is ref.pack_weights else fastdigits
    wp = fn(s["W"])
    out = np.empty(s["y"].shape, s["x"].dtype)
    r = mod.dense_forward(s["x"], wp, s["b"], "relu", out=out, precision="bfloat16")
    return flatten(r) + [out.copy(), np.asarray(wp.shape)]


def _mk_xent(dtype, rng, scale=1, tmpdir=None):
    m, c = 9 * scale, 10
    return {
        "logits": (rng.standard_normal((m, c)) * 3).astype(dtype),
        "labels": rng.integers(0, c, size=m).astype(np.int64),
    }


def _call_xent(fn, s, tmp):
    grad = np.empty(s["logits"].shape, s["logits"].dtype)
    r = fn(s["logits"], s["labels"], reduction="mean", grad_out=grad)
    return flatten(r) + [grad.copy()]


def _mk_optim(dtype, rng, scale=1, tmpdir=None):
    n = 37 * scale
    return {
        "param": rng.standard_normal(n).astype(dtype),
        "grad": rng.standard_normal(n).astype(dtype),
        "m": (rng.standard_normal(n) * 0.1).astype(dtype),
        "v": np.abs(rng.standard_normal(n) * 0.01).astype(dtype),
    }


def _call_sgd(fn, s, tmp):
    p = s["param"].copy()
    vel = s["m"].copy()
    fn(p, s["grad"], lr=0.1, momentum=0.9, velocity=vel, weight_decay=1e-4, nesterov=True)
    return [p, vel]


def _call_adam(fn, s, tmp):
    p, m, v = s["param"].copy(), s["m"].copy(), s["v"].copy()
    fn(p, s["grad"], m, v, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, step=3, weight_decay=0.01)
    return [p, m, v]


def _mk_idx(dtype, rng, scale=1, tmpdir=None):
    imgs = _u8_images(rng, 5 * scale)
    raw = idx_bytes(imgs)
    # The input file is written here, once; calls only read it.
    return {"images": imgs, "dtype": dtype, "raw": raw, "path": _write_tmp(tmpdir, raw)}


def _mk_idx16(dtype, rng, scale=1, tmpdir=None):
    arr = rng.integers(-30000, 30000, size=(5 * scale, 7, 9)).astype(np.int16)
    raw = idx_bytes(arr)
    return {"images": arr, "dtype": dtype, "raw": raw, "path": _write_tmp(tmpdir, raw)}


def _idx_path(s, tmp):
    return s["path"]


def _call_read_idx(fn, s, tmp):
    return flatten(fn(_idx_path(s, tmp)))


def _call_read_idx_mmap(fn, s, tmp):
    return flatten(fn(_idx_path(s, tmp), mmap=True))


def _call_read_idx_header(fn, s, tmp):
    return flatten(fn(_idx_path(s, tmp)))


def _call_read_idx_normalized(fn, s, tmp):
    out = np.empty(s["images"].shape, s["dtype"])
    r = fn(_idx_path(s, tmp), scale=1 / 255, mean=0.5, std=0.25, dtype=s["dtype"], out=out)
    return flatten(r) + [out.copy()]


def _call_write_idx(fn, s, tmp):
    path = _private_path(tmp)
    fn(path, s["images"])
    with open(path, "rb") as f:
        data = f.read()
    os.unlink(path)
    return [np.frombuffer(data, np.uint8).copy()]


def _mk_mlp(dtype, rng, scale=1, tmpdir=None):
    n = 48 * scale
    return {
        "X": rng.standard_normal((n, 20)).astype(dtype),
        "y": rng.integers(0, 4, size=n).astype(np.int64),
        "dtype": dtype,
    }


def _call_mlp(cls, s, tmp):
    # One epoch of training, then inference: every dense/loss/optimiser kernel
    # runs inside; no shuffling, so the result is a pure function of the input.
    model = cls((20, 16, 4), dtype=s["dtype"], seed=3)
    model.fit(s["X"], s["y"], epochs=1, batch_size=16, shuffle=False)
    return flatten(model.params) + [np.array(model.predict_proba(s["X"]), copy=True)]


def _file_spec(name, make, call, dtypes=(np.uint8,), par_scale=0, label=""):
    """A spec of a kernel that reads or writes files; by default on uint8
    images (no byte swap: nothing to parallelise)."""
    return Spec(name, make, call, dtypes, uses_files=True, label=label, par_scale=par_scale)


SPECS = [
    Spec("normalize", _mk_normalize, _call_normalize, par_scale=1000),
    Spec("matmul", _mk_matmul, _call_matmul, par_scale=256),
    Spec("dense_forward", _mk_dense, _call_dense_forward, par_scale=256),
    Spec("dense_backward", _mk_dense, _call_dense_backward, par_scale=256),
    Spec("pack_weights", _mk_dense, _call_pack_weights, dtypes=(np.float32,), par_scale=256),
    Spec("softmax_cross_entropy", _mk_xent, _call_xent, par_scale=1000),
    Spec("sgd_step", _mk_optim, _call_sgd, par_scale=4000),
    Spec("adam_step", _mk_optim, _call_adam, par_scale=4000),
    _file_spec("read_idx", _mk_idx, _call_read_idx),
    _file_spec(
        "read_idx",
        _mk_idx16,
        _call_read_idx,
        dtypes=(np.int16,),
        par_scale=8000,
        label="read_idx_i16",
    ),
    _file_spec("read_idx", _mk_idx, _call_read_idx_mmap, label="read_idx_mmap"),
    _file_spec("read_idx_header", _mk_idx, _call_read_idx_header),
    _file_spec(
        "read_idx_normalized", _mk_idx, _call_read_idx_normalized, dtypes=FLOATS, par_scale=1000
    ),
    _file_spec("write_idx", _mk_idx, _call_write_idx),
    Spec("MLP", _mk_mlp, _call_mlp, par_scale=0),
]


def available_specs() -> List[Spec]:
    """Specs whose kernel this build exports (all of them once every branch landed)."""
    return [s for s in SPECS if _has(fastdigits, s.name)]


def _has(mod, dotted):
    try:
        _resolve(mod, dotted)
        return True
    except AttributeError:
        return False


def cases():
    """(spec, dtype) pairs for pytest parametrisation, with readable ids."""
    out = []
    for s in available_specs():
        for dt in s.dtypes:
            out.append((s, np.dtype(dt)))
    return out


def case_id(c):
    s, dt = c
    return "%s-%s" % (s.label, dt.name)
