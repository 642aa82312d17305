"""Bad inputs to every public function: a clear exception, and no partial write.

Table-driven: each public function has a valid call (``BASE``); the cases
below mutate one argument at a time (wrong type, dtype, rank, shape, empty
or zero batch, huge dimensions, NaN/inf hyper-parameters, non-contiguous and
read-only arrays, ``out=`` aliasing an input).  For a mutation that must be
rejected the test asserts a ``TypeError``/``ValueError`` whose message names
the offending argument (or the argument it must agree with), and that every
output buffer and in-place parameter is bit-for-bit what it was before the
call.  For mutations that may legitimately work (non-contiguous inputs, zero
batch), the call must either work and match the NumPy reference, or fail
the same clean way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Tuple

import numpy as np
import pytest

import fastdigits
import fastdigits.reference as ref

SENTINEL = 1234.5
F = (np.float32, np.float64)


@dataclass
class Fn:
    name: str
    base: Callable[[Any], Dict[str, Any]]  # dtype -> valid arguments
    pos: Tuple[str, ...]  # positional parameters, in order
    arrays: Tuple[str, ...]  # float array inputs
    outs: Tuple[str, ...] = ()  # buffers the call writes (incl. in place)
    related: Dict[str, Tuple[str, ...]] = field(default_factory=dict)
    scalars: Dict[str, List[Any]] = field(default_factory=dict)  # bad values
    extra: List[Tuple[str, Callable, Tuple[str, ...]]] = field(default_factory=list)
    batch: Tuple[str, ...] = ()  # arrays whose axis 0 is the batch
    dtypes: Tuple = F

    def fn(self):
        return getattr(fastdigits, self.name)

    def call(self, f, args):
        return f(
            *[args[k] for k in self.pos if k in args],
            **{k: v for k, v in args.items() if k not in self.pos},
        )


def _aliases(key, other):
    """An `extra` case: the buffer `key` is the array `other` (the error must
    name both); its id is "<key>_aliases_<other>" without an "_out" suffix."""
    name = "%s_aliases_%s" % (key[: -len("_out")] if key.endswith("_out") else key, other)
    return (name, lambda a: a.update({key: a[other]}), (key, other))


def _rng():
    return np.random.default_rng(7)


def _filled(shape, dtype):
    a = np.empty(shape, dtype)
    a.fill(SENTINEL)
    return a


def _normal(dt, **shapes):
    """Standard-normal arrays of dtype dt, one per keyword (name=shape),
    drawn from one fresh _rng() in the order given."""
    r = _rng()
    return {k: r.standard_normal(s).astype(dt) for k, s in shapes.items()}


# ------------------------------------------------------------ the table
def _norm_base(dt):
    imgs = _rng().integers(0, 256, size=(4, 5, 6), dtype=np.uint8)
    return {
        "images": imgs,
        "scale": 1 / 255,
        "mean": 0.1,
        "std": 0.3,
        "dtype": dt,
        "out": _filled((4, 5, 6), dt),
    }


def _xent_base(dt):
    r = _rng()
    return {
        "logits": r.standard_normal((6, 10)).astype(dt),
        "labels": r.integers(0, 10, size=6).astype(np.int64),
        "reduction": "mean",
        "grad_out": _filled((6, 10), dt),
    }


def _drop_base(dt):
    return {
        **_normal(dt, x=(6, 10)),
        "p": 0.3,
        "seed": 5,
        "out": _filled((6, 10), dt),
    }


def _sgd_base(dt):
    return {
        **_normal(dt, param=(5, 7), grad=(5, 7), velocity=(5, 7)),
        "lr": 0.1,
        "momentum": 0.9,
        "weight_decay": 1e-3,
        "nesterov": False,
    }


def _adam_base(dt):
    a = _normal(dt, param=33, grad=33, m=33, v=33)
    a["m"] *= 0.1
    a["v"] = np.abs(a["v"]) * 0.01
    return {
        **a,
        "lr": 1e-3,
        "beta1": 0.9,
        "beta2": 0.999,
        "eps": 1e-8,
        "step": 3,
        "weight_decay": 0.01,
    }


def _mm_base(dt):
    return {**_normal(dt, a=(5, 6), b=(6, 3)), "out": _filled((5, 3), dt)}


def _fwd_base(dt):
    return {
        **_normal(dt, x=(5, 6), W=(6, 3), b=3),
        "activation": "relu",
        "out": _filled((5, 3), dt),
        "preact_out": _filled((5, 3), dt),
    }


def _pack_base(dt):
    return {**_normal(dt, W=(6, 3)), "precision": "bfloat16"}


def _set_W(value):
    return lambda a: a.update(W=value(a["W"]) if callable(value) else value)


def _bwd_base(dt):
    a = _normal(dt, x=(5, 6), W=(6, 3), dy=(5, 3))
    return {
        **a,
        "y_or_z": np.maximum(a["x"] @ a["W"], 0).astype(dt),
        "activation": "relu",
        "need_dx": True,
        "dx_out": _filled((5, 6), dt),
        "dW_out": _filled((6, 3), dt),
        "db_out": _filled((3,), dt),
    }


def _rin_base(dt):
    import io

    imgs = _rng().integers(0, 256, size=(3, 4, 5), dtype=np.uint8)
    raw = bytes([0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5]) + imgs.tobytes()
    return {
        "source": io.BytesIO(raw),
        "scale": 1 / 255,
        "mean": 0.5,
        "std": 0.25,
        "dtype": dt,
        "out": _filled((3, 4, 5), dt),
    }


NAN, INF = float("nan"), float("inf")

TABLE = [
    Fn(
        "normalize",
        _norm_base,
        ("images",),
        (),
        outs=("out",),
        related={"out": ("dtype",), "images": ("out",)},
        scalars={
            "scale": [NAN, INF, "1", None],
            "mean": [NAN, -INF, "0"],
            "std": [0.0, NAN, INF, "1", None, 1e-320],
            "dtype": [np.int32, np.float16, "complex64", object],
        },
        extra=[
            (
                "images_float",
                lambda a: a.update(images=a["images"].astype(np.float32)),
                ("images",),
            ),
            ("images_int16", lambda a: a.update(images=a["images"].astype(np.int16)), ("images",)),
            ("images_str", lambda a: a.update(images="pixels"), ("images",)),
            ("images_object", lambda a: a.update(images=np.array([object()])), ("images",)),
            (
                "out_aliases_images",
                lambda a: a.update(
                    images=a["out"]
                    .reshape(-1)
                    .view(np.uint8)[: a["images"].size]
                    .reshape(a["images"].shape)
                ),
                ("out", "images"),
            ),
        ],
        batch=("images", "out"),
    ),
    Fn(
        "softmax_cross_entropy",
        _xent_base,
        ("logits", "labels"),
        ("logits",),
        outs=("grad_out",),
        related={"logits": ("labels", "grad_out"), "grad_out": ("logits",)},
        scalars={"reduction": ["avg", None, 1, "MEAN "]},
        extra=[
            (
                "labels_float",
                lambda a: a.update(labels=a["labels"].astype(np.float64)),
                ("labels",),
            ),
            ("labels_out_of_range", lambda a: a["labels"].__setitem__(2, 10), ("labels",)),
            ("labels_negative", lambda a: a["labels"].__setitem__(0, -1), ("labels",)),
            ("labels_huge", lambda a: a["labels"].__setitem__(1, 2**62), ("labels",)),
            ("labels_short", lambda a: a.update(labels=a["labels"][:-1]), ("labels",)),
            ("labels_2d", lambda a: a.update(labels=a["labels"][:, None]), ("labels",)),
            ("labels_str", lambda a: a.update(labels="cats"), ("labels",)),
            _aliases("grad_out", "logits"),
        ],
        batch=("logits", "labels", "grad_out"),
    ),
    Fn(
        "dropout",
        _drop_base,
        ("x", "p", "seed"),
        ("x",),
        outs=("out",),
        related={"x": ("out",), "out": ("x",)},
        scalars={
            "p": [-0.1, 1.0, 1.5, NAN, INF, "0.5", None, True],
            "seed": [-1, 2**64, 1.5, None, "1"],
        },
        extra=[
            ("out_overlaps_x", lambda a: a.update(out=a["x"][::-1]), ("out", "x")),
        ],
        batch=("x", "out"),
    ),
    Fn(
        "sgd_step",
        _sgd_base,
        ("param", "grad"),
        ("param", "grad"),
        outs=("param", "velocity"),
        related={"param": ("grad", "velocity"), "grad": ("param",), "velocity": ("param",)},
        scalars={
            "lr": [NAN, INF, -0.1, "0.1", None],
            "momentum": [NAN, INF, -0.5, "0.9"],
            "weight_decay": [NAN, -1.0, INF, "0"],
            "nesterov": ["yes", None, 1.5],
        },
        extra=[
            ("velocity_missing", lambda a: a.update(velocity=None), ("velocity",)),
            _aliases("velocity", "param"),
            _aliases("grad", "param"),
            ("param_list", lambda a: a.update(param=a["param"].tolist()), ("param",)),
        ],
        batch=("param", "grad", "velocity"),
    ),
    Fn(
        "adam_step",
        _adam_base,
        ("param", "grad", "m", "v"),
        ("param", "grad", "m", "v"),
        outs=("param", "m", "v"),
        related={"param": ("grad", "m", "v"), "grad": ("param",), "m": ("param",), "v": ("param",)},
        scalars={
            "lr": [NAN, INF, -1e-3, "1e-3"],
            "beta1": [1.0, 1.5, -0.1, NAN],
            "beta2": [1.0, 2.0, -0.5, NAN],
            "eps": [NAN, INF, -1e-8, "1e-8"],
            "step": [0, -1, 1.5, "3", None, 2**70],
            "weight_decay": [NAN, -0.1, INF],
        },
        extra=[
            _aliases("m", "v"),
            _aliases("m", "param"),
        ],
        batch=("param", "grad", "m", "v"),
    ),
    Fn(
        "matmul",
        _mm_base,
        ("a", "b"),
        ("a", "b"),
        outs=("out",),
        related={"a": ("b", "out"), "b": ("a", "out"), "out": ("a", "b")},
        extra=[
            ("out_aliases_a", lambda a: a.update(out=a["a"][:, :3]), ("out", "a")),
            (
                "mixed_dtypes",
                lambda a: a.update(
                    b=a["b"].astype(np.float32 if a["a"].dtype == np.float64 else np.float64)
                ),
                ("a", "b"),
            ),
        ],
        batch=("a", "out"),
    ),
    Fn(
        "dense_forward",
        _fwd_base,
        ("x", "W", "b", "activation"),
        ("x", "W", "b"),
        outs=("out", "preact_out"),
        related={
            "x": ("W", "out", "preact_out"),
            "W": ("x", "b", "out", "preact_out"),
            "b": ("W",),
            "out": ("x", "W"),
            "preact_out": ("x", "W", "out"),
        },
        scalars={
            "activation": ["swish", 3, "RELU "],
            "dropout": [1.0, -0.1, float("nan"), "0.5"],
            "seed": [-1, 2**64, 1.5],
        },
        extra=[
            ("out_aliases_x", lambda a: a.update(out=a["x"][:, :3]), ("out", "x")),
            _aliases("preact_out", "out"),
        ],
        batch=("x", "out", "preact_out"),
    ),
    # pack_weights' one array W has no shape to agree with: its cases are
    # listed here (bfloat16 packs float32 only)
    Fn(
        "pack_weights",
        _pack_base,
        ("W",),
        (),
        scalars={"precision": ["float32", "float16", 3, None]},
        extra=[
            ("W_float64", _set_W(lambda w: w.astype(np.float64)), ("W",)),
            ("W_int32", _set_W(lambda w: w.astype(np.int32)), ("W",)),
            ("W_f16", _set_W(lambda w: w.astype(np.float16)), ("W",)),
            ("W_complex", _set_W(lambda w: w.astype(np.complex64)), ("W",)),
            ("W_rank", _set_W(lambda w: w.reshape(-1)), ("W",)),
            ("W_rank+1", _set_W(lambda w: w[None]), ("W",)),
            ("W_str", _set_W("oops"), ("W",)),
            ("W_none", _set_W(None), ("W",)),
            ("W_packed", _set_W(lambda w: fastdigits.pack_weights(w)), ("W",)),
        ],
        dtypes=(np.float32,),
    ),
    Fn(
        "dense_backward",
        _bwd_base,
        ("dy", "x", "W", "y_or_z", "activation"),
        ("dy", "x", "W", "y_or_z"),
        outs=("dx_out", "dW_out", "db_out"),
        related={
            "dy": ("x", "W", "y_or_z"),
            "x": ("dy", "W", "dx_out"),
            "W": ("x", "dy", "dW_out"),
            "y_or_z": ("dy",),
            "dx_out": ("x",),
            "dW_out": ("W",),
            "db_out": ("W", "dy"),
        },
        scalars={"activation": ["swish", 3], "dropout": [1.0, -0.1], "seed": [-1, 2**64]},
        extra=[
            _aliases("dW_out", "W"),
            # act' from the wrong array (silently wrong gradients before)
            ("relu_given_z", lambda a: a.update(z=a["y_or_z"], y_or_z=None), ("y", "z")),
            (
                "gelu_given_y",
                lambda a: a.update(activation="gelu", y=a["y_or_z"], y_or_z=None),
                ("z", "y"),
            ),
            ("relu_without_y", lambda a: a.update(y_or_z=None), ("y",)),
            ("y_twice", lambda a: a.update(y=a["y_or_z"]), ("y", "y_or_z")),
            _aliases("dx_out", "x"),
        ],
        batch=("dy", "x", "y_or_z", "dx_out"),
    ),
    Fn(
        "read_idx_normalized",
        _rin_base,
        ("source",),
        (),
        outs=("out",),
        related={"out": ("dtype",)},
        scalars={
            "scale": [NAN, INF, "1"],
            "mean": [NAN, INF],
            "std": [0.0, NAN, INF],
            "dtype": [np.int32, np.float16],
        },
        extra=[
            ("source_int", lambda a: a.update(source=42), ("source",)),
            ("source_none", lambda a: a.update(source=None), ("source",)),
        ],
    ),
]

AVAILABLE = [f for f in TABLE if hasattr(fastdigits, f.name)]


# ----------------------------------------------------------- mutations
def _drop_rank(a):
    return a.reshape(-1) if a.ndim > 1 else a.reshape(1, -1)


def _bigger(a):
    pad = [(0, 1)] + [(0, 0)] * (a.ndim - 1)
    return np.pad(a, pad, mode="edge")


def _noncontig(a):
    big = np.repeat(a, 2, axis=-1)
    v = big[..., ::2]
    assert not v.flags.c_contiguous and np.array_equal(v, a)
    return v


def _readonly(a):
    a = a.copy()
    a.flags.writeable = False
    return a


def _huge(a):
    """A zero-stride view with 2**40 rows: its shape product is far beyond
    2**31 and beyond any machine's memory, so a copy fails at once (MemoryError)
    instead of slowly eating RAM; its base is `a`, so writes would show."""
    return np.ndarray(
        shape=(2**40,) + a.shape[1:], dtype=a.dtype, buffer=a, strides=(0,) + a.strides[1:]
    )


def _wrong_dtype(a):
    return a.astype(np.int32 if a.dtype.kind == "f" else np.float64)


def _cases():
    """(id, Fn, dtype, mutate(args), names, mode); mode 'error' or 'either'."""
    out = []
    for f in AVAILABLE:
        for dt in f.dtypes:
            dn = np.dtype(dt).name
            arrays = list(f.arrays) + [o for o in f.outs if o not in f.arrays]
            for a in arrays:
                names = (a,) + f.related.get(a, ())
                is_out = a in f.outs

                def m(fun, a=a):
                    return lambda args: args.__setitem__(a, fun(args[a]))

                out += [
                    ("%s-%s-%s-dtype" % (f.name, dn, a), f, dt, m(_wrong_dtype), names, "error"),
                    (
                        "%s-%s-%s-f16" % (f.name, dn, a),
                        f,
                        dt,
                        m(lambda x: x.astype(np.float16)),
                        names,
                        "error",
                    ),
                    (
                        "%s-%s-%s-complex" % (f.name, dn, a),
                        f,
                        dt,
                        m(lambda x: x.astype(np.complex128)),
                        names,
                        "error",
                    ),
                    ("%s-%s-%s-rank" % (f.name, dn, a), f, dt, m(_drop_rank), names, "error"),
                    (
                        "%s-%s-%s-rank+1" % (f.name, dn, a),
                        f,
                        dt,
                        m(lambda x: x[None]),
                        names,
                        "error",
                    ),
                    ("%s-%s-%s-shape" % (f.name, dn, a), f, dt, m(_bigger), names, "error"),
                    ("%s-%s-%s-str" % (f.name, dn, a), f, dt, m(lambda x: "oops"), names, "error"),
                    ("%s-%s-%s-huge" % (f.name, dn, a), f, dt, m(_huge), names, "huge"),
                ]
                if is_out:
                    out += [
                        (
                            "%s-%s-%s-readonly" % (f.name, dn, a),
                            f,
                            dt,
                            m(_readonly),
                            names,
                            "error",
                        ),
                        (
                            "%s-%s-%s-noncontig" % (f.name, dn, a),
                            f,
                            dt,
                            m(_noncontig),
                            names,
                            "either",
                        ),
                    ]
                else:
                    out.append(
                        (
                            "%s-%s-%s-noncontig" % (f.name, dn, a),
                            f,
                            dt,
                            m(_noncontig),
                            names,
                            "either",
                        )
                    )
            for s, bads in f.scalars.items():
                for v in bads:
                    out.append(
                        (
                            "%s-%s-%s=%r" % (f.name, dn, s, v),
                            f,
                            dt,
                            (lambda args, s=s, v=v: args.__setitem__(s, v)),
                            (s,) + f.related.get(s, ()),
                            "error",
                        )
                    )
            for tag, fun, names in f.extra:
                out.append(("%s-%s-%s" % (f.name, dn, tag), f, dt, fun, names, "error"))
            if f.batch:

                def zero(args, f=f):
                    for k in f.batch:
                        if isinstance(args.get(k), np.ndarray):
                            args[k] = args[k][:0]

                out.append(("%s-%s-zero-batch" % (f.name, dn), f, dt, zero, f.batch, "either"))
    return out


CASES = _cases()


def _root(a):
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _snapshot(args, f):
    """Copies of the memory behind every output / in-place argument (the
    owning array, so zero-stride and sliced views are covered too)."""
    snap = {}
    for k in f.outs:
        v = args.get(k)
        if isinstance(v, np.ndarray):
            root = _root(v)
            snap[k] = (root, np.array(root, copy=True))
    return snap


def _names_in(msg, names):
    return any(re.search(r"(?<![A-Za-z_])%s(?![A-Za-z_])" % re.escape(n), msg) for n in names)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input(case):
    _run_case(case)


def _run_case(case):
    cid, f, dt, mutate, names, mode = case
    args = f.base(dt)
    mutate(args)
    before = _snapshot(args, f)
    allowed = (TypeError, ValueError) + ((MemoryError,) if mode == "huge" else ())
    try:
        result = f.call(f.fn(), args)
    except allowed as exc:
        msg = str(exc)
        if not isinstance(exc, MemoryError):
            assert _names_in(msg, names), "message does not name %s: %r" % (names, msg)
        for k, (root, copy) in before.items():
            assert np.array_equal(root.view(np.uint8), copy.view(np.uint8)), (
                "%s was written before the error" % k
            )
        return
    assert mode == "either", "accepted a bad input (%s): returned %r" % (cid, type(result))
    # Accepted: it must match the reference on the same arguments.
    ref_args = f.base(dt)
    mutate(ref_args)
    ref_args = {
        k: (np.ascontiguousarray(v) if isinstance(v, np.ndarray) else v)
        for k, v in ref_args.items()
    }
    expected = f.call(getattr(ref, f.name), ref_args)
    _assert_close(result, expected, dt)
    for k in f.outs:
        if isinstance(args.get(k), np.ndarray):
            _assert_close(args[k], ref_args[k], dt)


def _assert_close(a, b, dt):
    if a is None or b is None:
        assert a is None and b is None
        return
    if isinstance(a, tuple):
        for x, y in zip(a, b):
            _assert_close(x, y, dt)
        return
    tol = 1e-5 if np.dtype(dt) == np.float32 else 1e-12
    np.testing.assert_allclose(
        np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=tol, atol=tol
    )


class _Fake(Fn):
    def __init__(self, impl):
        super().__init__("fake", _mm_base, ("a", "b"), ("a", "b"), outs=("out",))
        self.impl = impl

    def fn(self):
        return self.impl


def test_harness_catches_partial_writes_and_vague_errors():
    """The checks above can fail: a kernel that writes out= before raising, one
    whose message does not name the argument, and one that accepts bad input
    are all reported."""

    def writes_then_raises(a, b, out=None):
        out[0, 0] = 0.0
        raise ValueError("a is bad")

    def vague(a, b, out=None):
        raise ValueError("invalid input")

    def accepts(a, b, out=None):
        return None

    for impl in (writes_then_raises, vague, accepts):
        case = ("fake", _Fake(impl), np.float64, lambda args: None, ("a",), "error")
        with pytest.raises(AssertionError):
            _run_case(case)


def test_table_covers_every_public_kernel():
    """Every public function in fastdigits.__all__ that computes something is
    in this table (or in the IDX-specific cases below)."""
    config = {
        "available_simd",
        "get_num_threads",
        "get_simd",
        "set_num_threads",
        "set_simd",
        "show_config",
        "simd",
        "threads",
        "load_mnist",
        "mnist_path",
        # pure-Python display helpers (no C kernel behind them)
        "render",
        "show",
        "to_png",
        "to_uint8",
        # an iterator over a data set (uint8 images, no float inputs or out=):
        # its argument checks are table-driven in tests/test_batches.py
        "batches",
    }
    idx_io = {"read_idx", "read_idx_header", "write_idx"}
    names = {
        n
        for n in fastdigits.__all__
        if callable(getattr(fastdigits, n)) and not isinstance(getattr(fastdigits, n), type)
    }
    missing = names - config - idx_io - {f.name for f in TABLE}
    assert not missing, missing
    assert len(CASES) > 100


# ------------------------------------------------- IDX file functions
def _idx_path(tmp_path):
    p = tmp_path / "ok.idx"
    p.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3]))
    return p


@pytest.mark.parametrize("fn", ["read_idx", "read_idx_header"])
@pytest.mark.parametrize("source", [42, 3.5, None, ["a.idx"], object()])
def test_idx_readers_bad_source_type(fn, source):
    with pytest.raises(TypeError, match="source"):
        getattr(fastdigits, fn)(source)


@pytest.mark.parametrize("fn", ["read_idx", "read_idx_header"])
def test_idx_readers_text_file_object(fn, tmp_path):
    with open(_idx_path(tmp_path), "r", encoding="latin-1") as f:
        with pytest.raises((TypeError, fastdigits.IDXError), match="source|binary"):
            getattr(fastdigits, fn)(f)


def test_idx_missing_file_is_filenotfound(tmp_path):
    with pytest.raises(FileNotFoundError):
        fastdigits.read_idx(tmp_path / "missing.idx")


@pytest.mark.parametrize(
    "array, exc",
    [
        (np.zeros(3, np.complex64), TypeError),
        (np.zeros(3, np.int64), TypeError),
        (np.zeros(3, object), TypeError),
        (np.float64(1.0), ValueError),
        (np.zeros((), np.uint8), ValueError),
    ],
)
def test_write_idx_bad_array(array, exc, tmp_path):
    with pytest.raises(exc, match="array"):
        fastdigits.write_idx(tmp_path / "x.idx", array)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path", [42, None, 3.5, ["x.idx"]])
def test_write_idx_bad_path_type(path):
    with pytest.raises(TypeError, match="path"):
        fastdigits.write_idx(path, np.zeros(3, np.uint8))


def test_write_idx_dimension_beyond_32_bits(tmp_path):
    huge = np.lib.stride_tricks.as_strided(np.zeros(1, np.uint8), shape=(2**32 + 1,), strides=(0,))
    with pytest.raises(ValueError, match="dimension"):
        fastdigits.write_idx(tmp_path / "h.idx", huge)
    assert list(tmp_path.iterdir()) == []
