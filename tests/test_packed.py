"""fastdigits.pack_weights: a float32 W packed once for bfloat16 dense_forward
calls.  The pre-packed forward must give the plain bfloat16 forward's bits
(every activation, with and without bias, odd sizes, 1 and 3 threads, every
SIMD path), agree with the NumPy twin (fastdigits.reference.pack_weights),
and refuse what it cannot serve: another SIMD path, another precision,
another shape, float64."""

import copy
import os
import pickle
import subprocess
import sys
import threading

import numpy as np
import pytest

import fastdigits
from fastdigits import reference

from test_bf16 import ACTS, assert_within_bf16

# (m, k, n): k in 17, 129, 785 (odd: a half pair; 785 spans AMX K panels),
# n in 1, 15, 33, 257 (edge tiles, the narrow tile), m in 1, 7, 64
SHAPES = [
    (1, 17, 1),
    (7, 129, 15),
    (64, 785, 33),
    (7, 785, 257),
    (64, 17, 257),
    (1, 129, 33),
    (64, 129, 1),
    (1, 785, 15),
    (7, 17, 33),
    # 256 rows or more: AMX's short K panels read inside the pre-packed
    # long one (one panel up to K = 2048, two above)
    (300, 785, 33),
    (257, 2101, 40),
]


def _layer(m, k, n, seed=0):
    rng = np.random.default_rng(seed + 1000 * m + k + n)
    x = rng.standard_normal((m, k)).astype(np.float32)
    W = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    return x, W, b


@pytest.mark.parametrize("nthreads", [1, 3])
@pytest.mark.parametrize("m,k,n", SHAPES)
@pytest.mark.parametrize("w_order", ["C", "F"])
def test_prepacked_forward_same_bits_as_plain(bf16_isa, nthreads, m, k, n, w_order):
    x, W, b = _layer(m, k, n)
    W = np.asarray(W, order=w_order)
    x.flags.writeable = False  # inputs are only read
    with fastdigits.simd(bf16_isa), fastdigits.threads(nthreads):
        Wp = fastdigits.pack_weights(W)
        assert Wp.shape == (k, n) and Wp.path == bf16_isa and Wp.precision == "bfloat16"
        for act in ACTS:
            for bias in (b, None):
                want_z = np.empty((m, n), np.float32)
                want = fastdigits.dense_forward(
                    x, W, bias, act, preact_out=want_z, precision="bfloat16"
                )
                out = np.full((m, n), np.nan, np.float32)
                z = np.full((m, n), np.nan, np.float32)
                y = fastdigits.dense_forward(
                    x, Wp, bias, act, out=out, preact_out=z, precision="bfloat16"
                )
                assert y is out and np.shares_memory(y, out)
                assert y.tobytes() == want.tobytes(), (act, bias is None)
                assert z.tobytes() == want_z.tobytes(), (act, bias is None)
                # the NumPy twin runs the same code on its own packed W
                ref = reference.dense_forward(
                    x, reference.pack_weights(W), bias, act, precision="bfloat16"
                )
                np.testing.assert_array_equal(
                    ref, reference.dense_forward(x, W, bias, act, precision="bfloat16")
                )
                np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4)
        # the bare product against the twin, within float32 summation error
        got = fastdigits.dense_forward(x, Wp, precision="bfloat16")
        ref_prod = reference.dense_forward(
            x, reference.pack_weights(W), precision="bfloat16"
        ).astype(np.float64)
        assert_within_bf16(got, x, W, ref_prod)


def test_prepacked_forward_with_dropout_and_act_out(bf16_isa):
    x, W, b = _layer(64, 785, 33)
    with fastdigits.simd(bf16_isa), fastdigits.threads(2):
        Wp = fastdigits.pack_weights(W)
        for act in ("relu", "tanh"):
            k1, k2 = np.empty((64, 33), np.float32), np.empty((64, 33), np.float32)
            want = fastdigits.dense_forward(
                x, W, b, act, precision="bfloat16", dropout=0.3, seed=9, act_out=k1
            )
            got = fastdigits.dense_forward(
                x, Wp, b, act, precision="bfloat16", dropout=0.3, seed=9, act_out=k2
            )
            assert got.tobytes() == want.tobytes() and k1.tobytes() == k2.tobytes()
            ref = reference.dense_forward(
                x, reference.pack_weights(W), b, act, precision="bfloat16", dropout=0.3, seed=9
            )
            np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)


def test_memory_orders_and_views_pack_the_same_words():
    x, W, b = _layer(7, 129, 33)
    big = np.repeat(W, 2, axis=1)[:, ::2]  # a strided view (copied once)
    assert not big.flags.c_contiguous
    ys = [
        fastdigits.dense_forward(x, fastdigits.pack_weights(w), b, "relu", precision="bfloat16")
        for w in (W, np.asfortranarray(W), big, W.tolist())
    ]
    # array-like x (a list) as float32, the packed W's dtype
    ys.append(
        fastdigits.dense_forward(
            x.tolist(), fastdigits.pack_weights(W), b, "relu", precision="bfloat16"
        )
    )
    for y in ys[1:]:
        assert y.dtype == np.float32 and y.tobytes() == ys[0].tobytes()


@pytest.mark.parametrize("m,k,n", [(0, 5, 3), (4, 0, 3), (4, 5, 0), (0, 0, 0)])
def test_empty_dimensions(bf16_isa, m, k, n):
    x = np.ones((m, k), np.float32)
    W = np.full((k, n), 0.5, np.float32)
    b = np.arange(n, dtype=np.float32)
    with fastdigits.simd(bf16_isa):
        Wp = fastdigits.pack_weights(W)
        assert Wp.shape == (k, n) and (Wp.nbytes == 0) == (k * n == 0)
        y = fastdigits.dense_forward(x, Wp, b, "relu", precision="bfloat16")
        want = fastdigits.dense_forward(x, W, b, "relu", precision="bfloat16")
    assert y.shape == (m, n) and y.tobytes() == want.tobytes()


def test_a_snapshot_pack_again_after_w_changes():
    x, W, b = _layer(7, 129, 15)
    Wp = fastdigits.pack_weights(W)
    before = fastdigits.dense_forward(x, Wp, b, precision="bfloat16")
    W *= -3.0
    assert fastdigits.dense_forward(x, Wp, b, precision="bfloat16").tobytes() == before.tobytes()
    again = fastdigits.dense_forward(x, fastdigits.pack_weights(W), b, precision="bfloat16")
    want = fastdigits.dense_forward(x, W, b, precision="bfloat16")
    assert again.tobytes() == want.tobytes() and not np.array_equal(again, before)


def test_packed_under_one_path_used_under_another_raises():
    x, W, b = _layer(7, 129, 15)
    paths = fastdigits.available_simd()
    for p in paths:
        with fastdigits.simd(p):
            Wp = fastdigits.pack_weights(W)
        for q in paths:
            with fastdigits.simd(q):
                if q == p:
                    fastdigits.dense_forward(x, Wp, b, precision="bfloat16")
                    continue
                with pytest.raises(ValueError, match=r"packed on SIMD path '%s'.*'%s'" % (p, q)):
                    fastdigits.dense_forward(x, Wp, b, precision="bfloat16")
    # set_simd too (the process-wide path)
    before = fastdigits.get_simd()
    Wp = fastdigits.pack_weights(W)
    try:
        fastdigits.set_simd("generic")
        if before != "generic":
            with pytest.raises(ValueError, match="'generic'"):
                fastdigits.dense_forward(x, Wp, b, precision="bfloat16")
    finally:
        fastdigits.set_simd(before)
    fastdigits.dense_forward(x, Wp, b, precision="bfloat16")


def test_fastdigits_simd_variable_sets_the_path_it_packs_for():
    """Under FASTDIGITS_SIMD the packing records that path; the best path
    (a simd() block) then refuses it, naming both."""
    code = (
        "import numpy as np, fastdigits\n"
        "Wp = fastdigits.pack_weights(np.ones((9, 4), np.float32))\n"
        "print(Wp.path)\n"
        "best = fastdigits.available_simd()[-1]\n"
        "with fastdigits.simd(best):\n"
        "    try:\n"
        "        fastdigits.dense_forward(np.ones((2, 9), np.float32), Wp, precision='bfloat16')\n"
        "    except ValueError as e:\n"
        "        print(e)\n"
    )
    env = dict(os.environ, FASTDIGITS_SIMD="generic")
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "generic"
    best = fastdigits.available_simd()[-1]
    if best != "generic":
        assert "'generic'" in lines[1] and "'%s'" % best in lines[1]


@pytest.mark.parametrize("mod", [fastdigits, reference], ids=["fast", "reference"])
def test_errors(mod):
    x, W, b = _layer(7, 129, 15)
    Wp = mod.pack_weights(W)
    with pytest.raises(ValueError, match="precision"):
        mod.dense_forward(x, Wp, b)  # float32 products with a bf16-packed W
    with pytest.raises(ValueError, match="precision"):
        mod.dense_forward(x, Wp, b, precision="float32")
    with pytest.raises(ValueError, match=r"W must have shape"):
        mod.dense_forward(x[:, :128], Wp, b, precision="bfloat16")
    with pytest.raises(ValueError, match="precision"):
        mod.pack_weights(W, precision="float32")
    with pytest.raises(TypeError, match="float64"):
        mod.pack_weights(W.astype(np.float64))
    with pytest.raises(TypeError, match="pickle"):
        pickle.dumps(Wp)
    with pytest.raises(AttributeError):
        Wp.shape = (1, 1)


def test_fast_only_errors():
    x, W, b = _layer(7, 129, 15)
    Wp = fastdigits.pack_weights(W)
    with pytest.raises(ValueError, match=r"\bb\b"):
        fastdigits.dense_forward(x, Wp, b[:3], precision="bfloat16")
    with pytest.raises(TypeError, match="float64"):
        fastdigits.dense_forward(x.astype(np.float64), Wp, precision="bfloat16")
    with pytest.raises(ValueError, match=r"\bout\b"):
        fastdigits.dense_forward(x, Wp, out=np.empty((7, 14), np.float32), precision="bfloat16")
    with pytest.raises(TypeError, match="PackedWeights"):
        fastdigits.dense_backward(np.ones((7, 15), np.float32), x, Wp)
    with pytest.raises(TypeError, match="PackedWeights"):
        fastdigits.matmul(x, Wp)
    with pytest.raises(TypeError, match="pack_weights"):
        fastdigits.PackedWeights()
    with pytest.raises(TypeError, match="already"):
        fastdigits.pack_weights(Wp)
    assert not hasattr(Wp, "__dict__")


def test_attributes_and_repr():
    W = np.ones((785, 257), np.float32)
    Wp = fastdigits.pack_weights(W)
    assert isinstance(Wp, fastdigits.PackedWeights)
    assert Wp.shape == (785, 257) and Wp.precision == "bfloat16"
    assert Wp.path == fastdigits.get_simd() and Wp.dtype == np.float32
    assert Wp.nbytes >= 393 * 257 * 4  # pairs of bf16, padding included
    want = "PackedWeights(shape=(785, 257), precision='bfloat16', path=%r, nbytes=%d)"
    assert repr(Wp) == want % (Wp.path, Wp.nbytes)
    assert copy.copy(Wp) is Wp and copy.deepcopy(Wp) is Wp
    r = reference.pack_weights(W)
    assert r.shape == Wp.shape and r.precision == "bfloat16" and "PackedWeights" in repr(r)
    assert not r.weights.flags.writeable


def test_shared_between_threads(bf16_isa):
    """One PackedWeights read by several Python threads at once (the GIL is
    released in the kernel): every result is the single-thread one."""
    x, W, b = _layer(64, 785, 257)
    with fastdigits.simd(bf16_isa):
        Wp = fastdigits.pack_weights(W)
        want = fastdigits.dense_forward(x, Wp, b, "gelu", precision="bfloat16")
    results, errors = [], []

    def work():
        try:
            with fastdigits.simd(bf16_isa), fastdigits.threads(2):
                for _ in range(5):
                    results.append(fastdigits.dense_forward(x, Wp, b, "gelu", precision="bfloat16"))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    ts = [threading.Thread(target=work) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors and len(results) == 20
    assert all(r.tobytes() == want.tobytes() for r in results)


def test_packed_words_start_on_a_cache_line():
    """AMX loads a packed tile row (64 bytes) at a time; a NumPy block
    starts 16 bytes into a line, which put every row across two lines."""
    from fastdigits import _dense

    for k, n in [(784, 256), (17, 3), (129, 33), (785, 1000)] * 5:
        Wp = fastdigits.pack_weights(np.ones((k, n), np.float32))
        assert _dense._packed_address(Wp) % 64 == 0
