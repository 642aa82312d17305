"""Kernel inputs: array-likes converted as NumPy functions do, non-contiguous
inputs copied, tensors that require grad rejected with a TypeError naming the
argument; arrays a kernel writes are used as given or rejected, never copied."""

import numpy as np
import pytest

import fastdigits
from fastdigits import reference


class GradTensor:
    """Stands in for a torch tensor with requires_grad=True: converting it
    raises torch's RuntimeError ("Can't call numpy() on Tensor that requires
    grad")."""

    requires_grad = True
    dtype = "float32"

    def __array__(self, dtype=None, copy=None):
        raise RuntimeError(
            "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
        )


def _layer(dtype=np.float32):
    rng = np.random.default_rng(3)
    return (
        rng.standard_normal((5, 4)).astype(dtype),
        rng.standard_normal((4, 3)).astype(dtype),
        rng.standard_normal(3).astype(dtype),
        rng.standard_normal((5, 3)).astype(dtype),
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lists_take_the_dtype_of_the_arrays(dtype):
    x, W, b, dy = _layer(dtype)
    # a list for x used to fail with "W has dtype float32 but x has dtype float64"
    y = fastdigits.dense_forward(x.tolist(), W, b, "tanh")
    assert y.dtype == dtype
    np.testing.assert_allclose(y, reference.dense_forward(x, W, b, "tanh"), rtol=1e-5)
    y2 = fastdigits.dense_forward(x, W.tolist(), b.tolist(), "tanh")
    np.testing.assert_array_equal(y, y2)
    dx, dW, db = fastdigits.dense_backward(dy.tolist(), x, W, activation="tanh", y=y.tolist())
    rdx, rdW, rdb = reference.dense_backward(dy, x, W, activation="tanh", y=y)
    for a, r in ((dx, rdx), (dW, rdW), (db, rdb)):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(fastdigits.matmul(x.tolist(), W), x @ W, rtol=1e-5)
    # only lists: float64, as np.asarray of Python floats
    assert fastdigits.dense_forward([[1, 2]], [[1.0], [2.0]]).dtype == np.float64
    loss, g = fastdigits.softmax_cross_entropy(dy.tolist(), [0, 1, 2, 0, 1])
    rloss, rg = reference.softmax_cross_entropy(dy.astype(np.float64), np.array([0, 1, 2, 0, 1]))
    np.testing.assert_allclose(loss, rloss, rtol=1e-12)
    p = np.ones(3, dtype)
    fastdigits.sgd_step(p, [1, 2, 3], lr=0.5)  # Python numbers take the param dtype
    np.testing.assert_array_equal(p, np.array([0.5, 0.0, -0.5], dtype))
    with pytest.raises(TypeError, match="images must have dtype uint8"):
        fastdigits.normalize([[0, 255]])  # int64 as NumPy makes it: not pixels


def test_non_contiguous_inputs_are_copied():
    x, W, b, dy = _layer(np.float64)
    xf = np.asfortranarray(x)  # was rejected: "x must be C-contiguous"
    xs = np.repeat(x, 2, axis=1)[:, ::2]  # a strided view
    Ws = np.repeat(W, 2, axis=1)[:, ::2]  # neither C- nor F-contiguous
    ref_y = reference.dense_forward(x, W, b, "relu")
    for xi in (xf, xs):
        np.testing.assert_allclose(fastdigits.dense_forward(xi, W, b, "relu"), ref_y, rtol=1e-12)
    np.testing.assert_allclose(fastdigits.dense_forward(x, Ws, b, "relu"), ref_y, rtol=1e-12)
    np.testing.assert_allclose(
        fastdigits.dense_forward(x, W, np.repeat(b, 2)[::2], "relu"), ref_y, rtol=1e-12
    )
    y = ref_y
    got = fastdigits.dense_backward(
        np.asfortranarray(dy), xs, Ws, activation="relu", y=np.asfortranarray(y)
    )
    for a, r in zip(got, reference.dense_backward(dy, x, W, activation="relu", y=y)):
        np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda x, W, b, dy: fastdigits.dense_forward(GradTensor(), W, b), "x"),
        (lambda x, W, b, dy: fastdigits.dense_forward(x, GradTensor(), b), "W"),
        (lambda x, W, b, dy: fastdigits.dense_forward(x, W, GradTensor()), "b"),
        (
            lambda x, W, b, dy: fastdigits.dense_backward(
                GradTensor(), x, W, activation="relu", y=dy
            ),
            "dy",
        ),
        (
            lambda x, W, b, dy: fastdigits.dense_backward(
                dy, x, W, activation="relu", y=GradTensor()
            ),
            "y",
        ),
        (
            lambda x, W, b, dy: fastdigits.dense_backward(
                dy, x, W, activation="gelu", z=GradTensor()
            ),
            "z",
        ),
        (lambda x, W, b, dy: fastdigits.matmul(x, GradTensor()), "b"),
        (lambda x, W, b, dy: fastdigits.softmax_cross_entropy(GradTensor(), [0] * 5), "logits"),
        (lambda x, W, b, dy: fastdigits.sgd_step(b.copy(), GradTensor(), lr=0.1), "grad"),
        (lambda x, W, b, dy: fastdigits.normalize(GradTensor()), "images"),
    ],
    ids=[
        "dense_forward-x",
        "dense_forward-W",
        "dense_forward-b",
        "dense_backward-dy",
        "dense_backward-y",
        "dense_backward-z",
        "matmul-b",
        "softmax_cross_entropy-logits",
        "sgd_step-grad",
        "normalize-images",
    ],
)
def test_tensor_requiring_grad_is_a_type_error_naming_it(call, name):
    x, W, b, dy = _layer()
    with pytest.raises(
        TypeError, match=r"^%s is a tensor that requires grad; pass %s\.detach" % (name, name)
    ):
        call(x, W, b, dy)


def test_unconvertible_is_a_type_error_naming_it():
    x, W, b, dy = _layer()
    with pytest.raises(TypeError, match="^x must be"):
        fastdigits.dense_forward([[1, "a"]], W, b)
    with pytest.raises(TypeError, match="^W must be"):
        fastdigits.dense_forward(x, object(), b)
    with pytest.raises(TypeError, match="^logits must be"):
        fastdigits.softmax_cross_entropy("logits", [0])


def test_written_arrays_are_never_copied():
    x, W, b, dy = _layer()
    # optimiser targets: in place or rejected
    with pytest.raises(TypeError, match="param must be a numpy.ndarray"):
        fastdigits.sgd_step(b.tolist(), b, lr=0.1)
    nc = np.repeat(b, 2)[::2]
    with pytest.raises(ValueError, match="param must be C-contiguous"):
        fastdigits.sgd_step(nc, b, lr=0.1)
    v = np.zeros(6, np.float32)[::2]
    with pytest.raises(ValueError, match="velocity must be C-contiguous"):
        fastdigits.sgd_step(b.copy(), b, lr=0.1, momentum=0.9, velocity=v)
    with pytest.raises(TypeError, match="m must have dtype float32, got float64"):
        fastdigits.adam_step(b.copy(), b, np.zeros(3), np.zeros(3, np.float32), lr=0.1, step=1)
    # out= buffers: used as given or rejected
    with pytest.raises(ValueError, match="out must be C-contiguous"):
        fastdigits.dense_forward(x, W, b, out=np.empty((3, 5), np.float32).T)
    with pytest.raises(TypeError, match="out must be a numpy.ndarray"):
        fastdigits.dense_forward(x, W, b, out=np.empty((5, 3)).tolist())
    with pytest.raises(ValueError, match="dW_out must be C-contiguous or F-contiguous"):
        fastdigits.dense_backward(dy, x, W, dW_out=np.empty((4, 6), np.float32)[:, ::2])
    with pytest.raises(ValueError, match="grad_out must be C-contiguous"):
        fastdigits.softmax_cross_entropy(dy, [0] * 5, grad_out=np.empty((3, 5), np.float32).T)
    out = np.empty((5, 3), np.float32)
    assert fastdigits.dense_forward(x, W, b, out=out) is out


def test_real_torch_tensors():
    torch = pytest.importorskip("torch")  # a test dependency; the protocol is covered above
    W = np.ones((4, 3), np.float32)
    with pytest.raises(TypeError, match=r"^x is a tensor that requires grad; pass x\.detach"):
        fastdigits.dense_forward(torch.ones(5, 4, requires_grad=True), W)
    # a plain CPU tensor is read through NumPy's protocol, a strided one copied
    np.testing.assert_array_equal(
        fastdigits.dense_forward(torch.ones(8, 4)[::2], W), np.full((4, 3), 4, np.float32)
    )


# --------------------------------------------------------------------------
# Byte-swapped (">f4" on a little-endian CPU, as np.fromfile(..., ">f4")
# gives) and unaligned (a view into a byte buffer at an odd offset) inputs:
# NumPy's functions read both through a buffer.  Kernels read what they only
# read from a converted copy, with the same bits as from a plain array; they
# used to read a swapped array's bytes as machine floats (wrong numbers, no
# error) and an unaligned one through misaligned pointers (undefined
# behaviour, reported by the sanitizer build).


def _swapped(a):
    """a with the same values in the other byte order."""
    return a.astype(a.dtype.newbyteorder("S"))


def _unaligned(a):
    """a C-ordered copy of a at an address that is not a multiple of its itemsize."""
    u = np.empty(a.nbytes + 1, np.uint8)[1:].view(a.dtype).reshape(a.shape)
    u[...] = a
    assert not u.flags.aligned
    return u


def _read_only_calls(dtype):
    """name -> call(conv): a kernel call whose read-only array inputs all
    pass through conv; returns the arrays it made or updated."""
    rng = np.random.default_rng(11)
    x, W, b, dy = (rng.standard_normal(s).astype(dtype) for s in ((7, 5), (5, 3), (3,), (7, 3)))
    y = np.tanh(x @ W + b)
    lab = np.array([0, 2, 1, 1, 0, 2, 2])

    def sgd(c):
        p, v = b.copy(), np.full(3, 0.5, dtype)
        fastdigits.sgd_step(p, c(dy[0]), lr=0.1, momentum=0.9, velocity=v, weight_decay=0.01)
        return p, v

    def adam(c):
        p, m, v = b.copy(), np.zeros(3, dtype), np.zeros(3, dtype)
        fastdigits.adam_step(p, c(dy[0]), m, v, lr=0.1, step=1)
        return p, m, v

    calls = {
        "matmul": lambda c: fastdigits.matmul(c(x), c(W)),
        "matmul-F-order-b": lambda c: fastdigits.matmul(c(x), c(np.asfortranarray(W))),
        "dense_forward": lambda c: fastdigits.dense_forward(c(x), c(W), c(b), "gelu"),
        "dense_backward": lambda c: fastdigits.dense_backward(
            c(dy), c(x), c(W), activation="tanh", y=c(y)
        ),
        "dropout": lambda c: fastdigits.dropout(c(x), 0.3, seed=5),
        "softmax_cross_entropy": lambda c: fastdigits.softmax_cross_entropy(c(dy), c(lab)),
        "sgd_step": sgd,
        "adam_step": adam,
        "MLP": lambda c: _mlp_run(c, dtype),
    }
    if dtype == np.float32:
        imgs = rng.random((6, 8, 8), dtype=np.float32)
        calls["pack_weights"] = lambda c: fastdigits.dense_forward(
            x, fastdigits.pack_weights(c(W)), b, precision="bfloat16"
        )
        calls["augment.apply"] = lambda c: fastdigits.augment.apply(
            c(imgs), fastdigits.Affine(degrees=10, translate=0.1), seed=3
        )
        calls["batches"] = lambda c: next(
            iter(fastdigits.batches(c(imgs), c(lab[:6]), 4, normalize=False, seed=1))
        )
    return calls


def _mlp_run(c, dtype):
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((40, 6)).astype(dtype), rng.integers(0, 3, 40)
    model = fastdigits.MLP((6, 5, 3), dtype=dtype, seed=0)
    model.fit(c(X), c(y), epochs=2, batch_size=8)
    return (*model.params, model.predict_proba(c(X)), model.predict(c(X)))


def _flat(res):
    return [np.asarray(r) for r in (res if isinstance(res, tuple) else (res,))]


@pytest.mark.parametrize("conv", [_swapped, _unaligned], ids=["byte-swapped", "unaligned"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_swapped_and_unaligned_inputs_read_as_plain_arrays(dtype, conv):
    for name, call in _read_only_calls(dtype).items():
        want = _flat(call(lambda a: a))
        got = _flat(call(conv))
        assert len(got) == len(want), name
        for g, w in zip(got, want):
            # (batches' labels keep the caller's dtype, byte order included)
            assert g.dtype.kind != "f" or (g.dtype.isnative and g.flags.aligned), name
            np.testing.assert_array_equal(g, w, err_msg=name)


def test_sklearn_reads_unaligned_inputs():
    pytest.importorskip("sklearn")  # a test dependency (fastdigits[sklearn])
    from fastdigits.sklearn import MLPClassifier

    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((60, 6)).astype(np.float32), rng.integers(0, 3, 60)
    kw = dict(hidden_layer_sizes=(5,), max_iter=3, batch_size=16, random_state=0, tol=0)
    plain = MLPClassifier(**kw).fit(X, y)
    odd = MLPClassifier(**kw).fit(_unaligned(X), _unaligned(y))
    for a, b in zip(plain.coefs_ + plain.intercepts_, odd.coefs_ + odd.intercepts_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(plain.predict_proba(X), odd.predict_proba(_unaligned(X)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_written_arrays_in_the_other_byte_order_are_rejected(dtype):
    x, W, b, dy = _layer(dtype)
    other = np.dtype(dtype).newbyteorder("S").str
    msg = r"must be in the machine's byte order \(dtype %s\), got \%s" % (np.dtype(dtype), other)
    out = _swapped(np.full((5, 3), 7, dtype))
    for call in (
        lambda: fastdigits.matmul(x, W, out=out),
        lambda: fastdigits.dense_forward(x, W, b, out=out),
        lambda: fastdigits.dropout(dy, 0.5, seed=1, out=out),
        lambda: fastdigits.softmax_cross_entropy(dy, [0] * 5, grad_out=out),
    ):
        with pytest.raises(TypeError, match="^(out|grad_out) " + msg):
            call()
    np.testing.assert_array_equal(out, 7)  # nothing written
    p = _swapped(b)
    with pytest.raises(TypeError, match="^param " + msg):
        fastdigits.sgd_step(p, b, lr=0.1)
    with pytest.raises(TypeError, match="^m " + msg):
        fastdigits.adam_step(
            b.copy(), b, _swapped(np.zeros(3, dtype)), np.zeros(3, dtype), lr=0.1, step=1
        )
    np.testing.assert_array_equal(p, b)
