"""The training epoch's first layer on sparse input (csrc/mlp/mlp_sparse.h).

Digit images are mostly one background value; the epoch then computes the
first layer from the pixels that differ from it.  These tests feed such
data (the bundled MNIST digits, and synthetic rows with odd sizes) so that
path runs, on every SIMD path, and check it against the NumPy twin and
across thread counts.  The C-only test (tests/c/test_kernels.c,
test_mlp_sparse) checks that the path is taken and its edge cases."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastdigits
from fastdigits.nn import MLP

from test_nn import TOL, _mnist


def _sparse(n, d, background, fill, dtype, seed, band=False):
    """n rows of d values, about `fill` of them not `background`; with band,
    only the middle third of the columns (the rest is background in every
    row, as the borders of digit images)."""
    rng = np.random.default_rng(seed)
    X = np.full((n, d), background, dtype)
    keep = rng.random((n, d)) < fill
    if band:
        keep[:, : d // 3] = keep[:, 2 * d // 3 + 1 :] = False
    keep[0, 0] = False  # the batch's first element is its background
    X[keep] = rng.standard_normal(keep.sum()) * 2.0
    return X, rng.integers(0, 5, n)


def _fit_both(sizes, X, y, dtype, act="relu", **kw):
    fast = MLP(sizes, act, dtype, seed=4)
    twin = MLP(sizes, act, dtype, seed=4, backend="numpy")
    hf = fast.fit(X, y, **kw)
    ht = twin.fit(X, y, **kw)
    return fast, twin, hf, ht


@pytest.mark.parametrize("background", [0.0, -0.4242, 1.5])
@pytest.mark.parametrize(
    "sizes, batch",
    [((37, 19, 5), 7), ((37, 5), 10), ((100, 33, 17, 5), 64), ((16, 64, 5), 9), ((37, 19, 17), 7)],
    ids=["odd", "one-layer", "deep", "block-wide", "wide-output"],
)
def test_sparse_rows_match_numpy(isa, dtype, sizes, batch, background):
    X, y = _sparse(50, sizes[0], background, 0.2, dtype, seed=sizes[0])
    act = "identity" if len(sizes) == 2 else "relu"
    with fastdigits.simd(isa):
        fast, twin, hf, ht = _fit_both(sizes, X, y, dtype, act, epochs=2, batch_size=batch, lr=0.05)
    for p, q in zip(fast.params, twin.params):
        np.testing.assert_allclose(p, q, **TOL[dtype])
    np.testing.assert_allclose(
        [r["loss"] for r in hf], [r["loss"] for r in ht], rtol=1e-4 if dtype == np.float32 else 1e-9
    )


@pytest.mark.parametrize("batch", [50, 200])
def test_mnist_digits_match_numpy_with_adam(isa, batch):
    """The forward product and the weight gradient both from the groups."""
    X, y = _mnist("train", 3 * batch)
    assert (X == X[0, 0]).mean() > 0.75  # the background the path is for
    with fastdigits.simd(isa):
        fast, twin, _, _ = _fit_both(
            (784, 64, 10), X, y, np.float32, epochs=2, batch_size=batch, optimizer="adam"
        )
    for p, q in zip(fast.params, twin.params):
        np.testing.assert_allclose(p, q, rtol=2e-3, atol=2e-5)


@pytest.mark.parametrize(
    "rows, batch, d, h, band",
    [(90, 30, 61, 40, False), (350, 170, 61, 40, True), (130, 61, 300, 70, True)],
)
def test_sparse_rows_same_bits_for_any_thread_count(isa, dtype, rows, batch, d, h, band):
    """(300 pixels: several chunks of the weight gradient in each part.
    Threads share items by pairs: 2 and 4 are one and two pairs, 3 and 5
    add a thread that takes its range whole.)"""
    X, y = _sparse(rows, d, -0.5, 0.15, dtype, seed=8, band=band)
    runs = []
    for nt in (1, 2, 3, 4, 5):
        with fastdigits.simd(isa), fastdigits.threads(nt):
            m = MLP((d, h, 5), dtype=dtype, seed=5)
            hist = m.fit(X, y, epochs=2, batch_size=batch)
        runs.append(([p.tobytes() for p in m.params], [r["loss"] for r in hist]))
    assert all(run == runs[0] for run in runs[1:])


def _epoch_params(X, y, order, dtype, **kw):
    from fastdigits import _mlp
    from fastdigits.reference import nn as ref

    params = ref.init_params((X.shape[1], 40, 5), "relu", dtype, 6)
    grads = [np.zeros_like(p) for p in params]
    state = [np.zeros_like(p) for p in params + params]
    out = _mlp.train_epoch(
        params,
        grads,
        state,
        X,
        y,
        order,
        activation="relu",
        batch_size=40,
        optimizer="adam",
        lr=1e-2,
        momentum=0.0,
        weight_decay=0.0,
        **kw,
    )
    return out, [p.tobytes() for p in params]


def test_batch_rows_go_in_groups_of_one_label(isa, dtype):
    """The epoch takes a batch's rows label by label for the sparse first
    layer (4 rows of one label share more pixels than 4 at random): the
    same rows of each label in the same order give the same bits however
    the labels interleave in the batch.  Dropout (masks by position in the
    batch) keeps the batch's order: there the bits differ."""
    X, y = _sparse(120, 61, -0.5, 0.15, dtype, seed=3, band=True)
    order = np.arange(120, dtype=np.int64)
    by_label = np.concatenate([b[np.argsort(y[b], kind="stable")] for b in np.split(order, 3)])
    assert not np.array_equal(y[order], y[by_label])
    with fastdigits.simd(isa):
        runs = [_epoch_params(X, y, o, dtype, l2=0.1) for o in (order, by_label)]
        dropped = [_epoch_params(X, y, o, dtype, dropout=0.2) for o in (order, by_label)]
    assert runs[0] == runs[1]
    assert dropped[0][1] != dropped[1][1]


@pytest.mark.parametrize(
    "classes, rows, batch",
    [(3, 37, 10), (10, 61, 24), (16, 45, 16), (17, 45, 16)],
    ids=["3-classes", "10-classes", "16-classes", "17-classes-apart"],
)
def test_output_layer_loss_and_accuracy_in_the_forward_match_numpy(
    isa, dtype, classes, rows, batch
):
    """Under an output layer of at most 16 classes, the sparse first layer's
    last pass also makes that layer's product, each row's loss and gradient
    and the train accuracy, on the rows each thread has finished (17
    classes: the separate passes).  Batches whose rows leave short tiles,
    a short last batch, 3 threads."""
    from fastdigits import _mlp
    from fastdigits.reference import nn as ref

    X, _ = _sparse(rows, 61, -0.5, 0.15, dtype, seed=classes, band=True)
    y = np.random.default_rng(classes).integers(0, classes, rows)
    order = np.random.default_rng(1).permutation(rows).astype(np.int64)
    runs = []
    for mod in (_mlp, ref):
        params = ref.init_params((61, 23, classes), "relu", dtype, 6)
        grads = [np.zeros_like(p) for p in params]
        state = [np.zeros_like(p) for p in params + params]
        with fastdigits.simd(isa), fastdigits.threads(3):
            out = mod.train_epoch(
                params, grads, state, X, y, order, activation="relu", batch_size=batch,
                optimizer="adam", lr=1e-2, momentum=0.0, weight_decay=0.0,
            )  # fmt: skip
        runs.append((out, params))
    (loss, correct, steps), params = runs[0]
    (loss_t, correct_t, steps_t), params_t = runs[1]
    assert (correct, steps) == (correct_t, steps_t)
    assert 0 < correct < rows
    assert loss == pytest.approx(loss_t, rel=1e-5 if dtype == np.float32 else 1e-12)
    for p, q in zip(params, params_t):
        np.testing.assert_allclose(p, q, **TOL[dtype])


@pytest.mark.parametrize("shuffle", [False, True])
def test_sparse_and_dense_batches_in_one_epoch_match_numpy(isa, dtype, shuffle):
    """The sparse path reads a batch's rows from X through the sample order;
    a batch too dense for it gathers them for the dense product.  Batches of
    both kinds in one epoch (the rows: 40 mostly background, 40 not)."""
    Xs, ys = _sparse(40, 45, -0.5, 0.1, dtype, seed=21)
    Xd, yd = _sparse(40, 45, -0.5, 0.9, dtype, seed=22)
    X, y = np.concatenate([Xs, Xd]), np.concatenate([ys, yd])
    with fastdigits.simd(isa):
        fast, twin, hf, ht = _fit_both(
            (45, 30, 5), X, y, dtype, epochs=2, batch_size=20, lr=0.05, shuffle=shuffle
        )
    for p, q in zip(fast.params, twin.params):
        np.testing.assert_allclose(p, q, **TOL[dtype])


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_nan_pixels_and_an_inf_weight_spread_as_in_the_twin(dtype):
    """A NaN pixel spoils only its own row's products, an inf weight every
    row (0 * inf), as in x @ W: the losses are NaN where the twin's are."""
    X, y = _sparse(40, 30, 0.0, 0.2, dtype, seed=3)
    X[7, 4] = np.nan
    fast, twin, hf, ht = _fit_both((30, 8, 5), X, y, dtype, epochs=1, batch_size=10, lr=0.05)
    assert [np.isnan(r["loss"]) for r in hf] == [np.isnan(r["loss"]) for r in ht] == [True]
    for p, q in zip(fast.params, twin.params):
        assert np.array_equal(np.isnan(p), np.isnan(q))
    X, y = _sparse(40, 30, 0.0, 0.2, dtype, seed=3)
    fast = MLP((30, 8, 5), dtype=dtype, seed=4)
    twin = MLP((30, 8, 5), dtype=dtype, seed=4, backend="numpy")
    for m in (fast, twin):
        m.params[0][3, 2] = np.inf
    hf = fast.fit(X, y, epochs=1, batch_size=40, lr=0.05)
    ht = twin.fit(X, y, epochs=1, batch_size=40, lr=0.05)
    assert np.isnan(hf[0]["loss"]) and np.isnan(ht[0]["loss"])


# Batches whose rows leave some pixels at the background in every row
# (band=True: the borders of digit images): no group adds to those rows of
# the weight gradient, which are c * db alone.
@pytest.mark.parametrize("background", [0.0, -0.4242, 1.5])
@pytest.mark.parametrize(
    "sizes", [(61, 23, 5), (61, 5), (40, 33, 17, 5)], ids=["relu", "one-layer", "deep"]
)
def test_banded_batches_match_numpy(isa, dtype, sizes, background):
    """Two full steps of 170 rows and a short one of 9, against the twin."""
    X, y = _sparse(349, sizes[0], background, 0.2, dtype, seed=11, band=True)
    act = "identity" if len(sizes) == 2 else "relu"
    with fastdigits.simd(isa):
        fast, twin, hf, ht = _fit_both(sizes, X, y, dtype, act, epochs=1, batch_size=170, lr=0.05)
    for p, q in zip(fast.params, twin.params):
        np.testing.assert_allclose(p, q, **TOL[dtype])
    np.testing.assert_allclose(
        [r["loss"] for r in hf], [r["loss"] for r in ht], rtol=1e-4 if dtype == np.float32 else 1e-9
    )


@pytest.mark.parametrize(
    "sizes", [(300, 70, 5), (300, 5), (300, 1100, 5)], ids=["relu", "one-layer", "wide-layer"]
)
def test_wide_rows_and_a_long_batch_match_numpy(isa, dtype, sizes):
    """300 pixels (several chunks of the weight gradient in each half: a
    chunk is as many pixels as fit half the L1 cache in rows of dW, 8 at
    least, as for 1100 outputs), 70 outputs (a block of 64 columns and a
    tail), a batch of 2049 rows and a last step of 37 in the same
    scratch."""
    X, y = _sparse(2049 + 37, sizes[0], -0.5, 0.1, dtype, seed=9, band=True)
    act = "identity" if len(sizes) == 2 else "relu"
    with fastdigits.simd(isa):
        fast, twin, hf, ht = _fit_both(sizes, X, y, dtype, act, epochs=1, batch_size=2049, lr=0.05)
    for p, q in zip(fast.params, twin.params):
        np.testing.assert_allclose(p, q, **TOL[dtype])


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_banded_batch_nan_pixel_and_inf_weight_spread_as_in_the_twin(isa, dtype):
    """A NaN pixel (in the band) makes its row's gradient NaN, and through
    db the rows of dW outside the band too; an inf weight in a border row
    (a pixel no row has) reaches every output through 0 * inf = NaN, as in
    x @ W."""
    for case, background in (("nan pixel", -0.5), ("inf weight", 0.0)):
        X, y = _sparse(170, 30, background, 0.2, dtype, seed=3, band=True)
        if case == "nan pixel":
            X[7, 14] = np.nan
        fast = MLP((30, 8, 5), dtype=dtype, seed=4)
        twin = MLP((30, 8, 5), dtype=dtype, seed=4, backend="numpy")
        if case == "inf weight":
            for m in (fast, twin):
                m.params[0][1, 2] = np.inf
        with fastdigits.simd(isa):
            hf = fast.fit(X, y, epochs=1, batch_size=170, lr=0.05)
        ht = twin.fit(X, y, epochs=1, batch_size=170, lr=0.05)
        assert np.isnan(hf[0]["loss"]) and np.isnan(ht[0]["loss"]), case
        for p, q in zip(fast.params, twin.params):
            assert np.array_equal(np.isnan(p), np.isnan(q)), case
            assert np.array_equal(np.isinf(p), np.isinf(q)), case


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 400),
    d=st.integers(1, 70),
    h=st.integers(1, 40),
    batch=st.integers(1, 200),
    fill=st.floats(0.0, 0.5),
    band=st.booleans(),
    background=st.sampled_from([0.0, -0.4242, 1.5]),
    f32=st.booleans(),
    path=st.sampled_from(fastdigits.available_simd()),
    seed=st.integers(0, 1000),
)
def test_property_sparse_rows_match_numpy(n, d, h, batch, fill, band, background, f32, path, seed):
    """Any size (pixels not a multiple of a vector or of 8, the K half
    inside a skipped run, groups of 1-3 rows), any fill.  At most two steps: the two sides' last
    bits differ, and over many float32 steps a relu that flips on one side
    only grows that into more than rounding (33 steps of batch 1 did)."""
    dtype = np.float32 if f32 else np.float64
    X, y = _sparse(n, d, background, fill, dtype, seed, band)
    batch = max(batch, -(-n // 2))
    with fastdigits.simd(path):
        fast, twin, hf, ht = _fit_both((d, h, 5), X, y, dtype, epochs=1, batch_size=batch, lr=0.05)
    for p, q in zip(fast.params, twin.params):
        np.testing.assert_allclose(p, q, **TOL[dtype])


# --------------------------------------------------------------------------
# The first layer as a forward / backward pair (fastdigits._mlp.sparse_forward
# and sparse_backward, what fastdigits.torch.MLP calls): against NumPy in
# float64, the same bits for any thread count, and the arguments they refuse.


def _pair_case(dtype, m=37, k=61, n=19, cn=5, seed=3):
    X, _ = _sparse(m, k, -0.5, 0.2, dtype, seed, band=True)
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((k, n)).astype(dtype)
    b = rng.standard_normal(n).astype(dtype)
    Wn = rng.standard_normal((n, cn)).astype(dtype)
    dn = rng.standard_normal((m, cn)).astype(dtype)
    dy = rng.standard_normal((m, n)).astype(dtype)
    for a in (X, W, b, Wn, dn, dy):  # the kernels only read them
        a.setflags(write=False)
    return X, W, b, Wn, dn, dy


def _pair(X, W, b, act, Wn, dn, dy, head):
    """(y, dW, db, out, dWn, dbn) from the pair of calls (out, dWn, dbn None
    unless head: the next, linear, layer of weights Wn and bias dn[0] in
    both calls)."""
    from fastdigits import _mlp

    m, n = X.shape[0], W.shape[1]
    y = np.full((m, n), np.nan, X.dtype)
    out = np.full((m, Wn.shape[1]), np.nan, X.dtype) if head else None
    scratch = _mlp.sparse_forward(X, W, b, act, y, *((Wn, dn[0], out) if head else ()))
    assert scratch is not None  # the batch is sparse: the path ran
    dW, db = np.full_like(W, np.nan), np.full_like(b, np.nan)
    if head:
        dWn, dbn = np.full_like(Wn, np.nan), np.full(Wn.shape[1], np.nan, X.dtype)
        _mlp.sparse_backward(scratch, y, None, dW, db, dn, Wn, dWn, dbn)
        return y, dW, db, out, dWn, dbn
    _mlp.sparse_backward(scratch, y, dy, dW, db)
    return y, dW, db, None, None, None


@pytest.mark.parametrize("act, head", [("relu", True), ("relu", False), ("identity", False)])
def test_pair_matches_numpy(isa, dtype, threads, act, head):
    X, W, b, Wn, dn, dy = _pair_case(dtype)
    with fastdigits.simd(isa), fastdigits.threads(threads):
        y, dW, db, out, dWn, dbn = _pair(X, W, b, act, Wn, dn, dy, head)
    x64 = X.astype(np.float64)
    z = x64 @ W.astype(np.float64) + b
    ref_y = np.maximum(z, 0.0) if act == "relu" else z
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y, ref_y, **tol)
    g = dn.astype(np.float64) @ Wn.T.astype(np.float64) if head else dy.astype(np.float64)
    dz = g * (ref_y > 0) if act == "relu" else g
    np.testing.assert_allclose(dW, x64.T @ dz, **tol)
    np.testing.assert_allclose(db, dz.sum(0), **tol)
    if head:
        np.testing.assert_allclose(out, ref_y @ Wn + dn[0], **tol)
        np.testing.assert_allclose(dWn, ref_y.T @ dn, **tol)
        np.testing.assert_allclose(dbn, dn.sum(0, dtype=np.float64), **tol)


@pytest.mark.parametrize("head", [True, False])
def test_pair_column_major_weights_same_bits(isa, dtype, threads, head):
    """W, dW, Wn and dWn F-contiguous (the transposes of row-major PyTorch
    weights, fastdigits.torch's default order): W is read through a
    transposed copy and dW written through one, the same bits as with
    C-contiguous arrays, into the caller's arrays."""
    X, W, b, Wn, dn, dy = _pair_case(dtype, m=45, k=83, n=37)
    with fastdigits.simd(isa), fastdigits.threads(threads):
        want = _pair(X, W, b, "relu", Wn, dn, dy, head)
        WF, WnF = np.asfortranarray(W), np.asfortranarray(Wn)
        for a in (WF, WnF):
            a.setflags(write=False)
        got = _pair(X, WF, b, "relu", WnF, dn, dy, head)
    assert got[1].flags.f_contiguous and (not head or got[4].flags.f_contiguous)
    for a, c in zip(want, got):
        assert (a is None) == (c is None)
        if a is not None:
            assert a.tobytes() == np.ascontiguousarray(c).tobytes()


@pytest.mark.parametrize("act", ["relu", "identity"])
def test_pair_groups_of_over_a_thousand_kept_pixels_match_numpy(isa, dtype, act):
    """3000 of 4000 pixels kept by every row (the most a batch may keep):
    each half of a group's pixels is longer than the forward lists at a
    time (1024), so its sums go in pieces, each on top of the last one's
    output, the activation after the last; 2 threads give the same bits
    as 1."""
    m, k, n = 9, 4000, 19
    rng = np.random.default_rng(5)
    X = np.full((m, k), -0.5, dtype)
    X[:, 1:3001] = rng.standard_normal((m, 3000))
    W = (rng.standard_normal((k, n)) * 0.05).astype(dtype)
    b = rng.standard_normal(n).astype(dtype)
    dy = rng.standard_normal((m, n)).astype(dtype)
    Wn = dn = None
    runs = []
    for nt in (1, 2):
        with fastdigits.simd(isa), fastdigits.threads(nt):
            runs.append(_pair(X, W, b, act, Wn, dn, dy, False)[:3])
    assert all(a.tobytes() == c.tobytes() for a, c in zip(*runs))
    y, dW, db = runs[0]
    z = X.astype(np.float64) @ W.astype(np.float64) + b
    ref_y = np.maximum(z, 0.0) if act == "relu" else z
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y, ref_y, **tol)
    dz = dy * (ref_y > 0) if act == "relu" else dy.astype(np.float64)
    np.testing.assert_allclose(dW, X.astype(np.float64).T @ dz, **tol)
    np.testing.assert_allclose(db, dz.sum(0), **tol)


@pytest.mark.parametrize("head", [True, False])
def test_pair_same_bits_for_any_thread_count(isa, dtype, head):
    """(1-5 threads: one and two pairs sharing items, and with a thread
    that takes its range whole.)"""
    X, W, b, Wn, dn, dy = _pair_case(dtype, m=170, k=300, n=70, cn=16, seed=9)
    runs = []
    for nt in (1, 2, 3, 4, 5):
        with fastdigits.simd(isa), fastdigits.threads(nt):
            out = _pair(X, W, b, "relu", Wn, dn, dy, head)
        runs.append([a.tobytes() for a in out if a is not None])
    assert all(run == runs[0] for run in runs[1:])


def test_pair_dense_batch_and_bad_arguments():
    from fastdigits import _mlp

    rng = np.random.default_rng(0)
    X = rng.standard_normal((9, 20)).astype(np.float32)  # no background: too dense
    W = rng.standard_normal((20, 6)).astype(np.float32)
    y = np.full((9, 6), 7.0, np.float32)
    assert _mlp.sparse_forward(X, W, None, "relu", y) is None
    assert (y == 7.0).all()  # not written: the caller runs the dense product
    assert _mlp.sparse_forward(X[:0], W, None, "relu", y[:0]) is None  # no rows
    Xs, W2, b, Wn, dn, dy = _pair_case(np.float32)
    y = np.empty((Xs.shape[0], W2.shape[1]), np.float32)
    assert _mlp.sparse_forward(Xs, W2, b, "relu", y) is not None
    # a first row denser than the unions may be (FD_SP_MAX_FILL) is refused
    # before anything is compressed, though the batch's unions would pass
    Xd = Xs.copy()
    Xd[0, 1:] = rng.uniform(1.0, 2.0, Xs.shape[1] - 1)
    assert _mlp.sparse_forward(Xd, W2, b, "relu", y) is None
    Xd[1:2] = Xd[0]  # ... as when it is not the first
    Xd[0] = Xs[0]
    assert _mlp.sparse_forward(Xd, W2, b, "relu", y) is not None
    with pytest.raises(ValueError, match="activation"):
        _mlp.sparse_forward(Xs, W2, b, "tanh", y)
    with pytest.raises(TypeError, match="dtype"):
        _mlp.sparse_forward(Xs, W2.astype(np.float64), b, "relu", y)
    ro = y.copy()
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="writeable"):
        _mlp.sparse_forward(Xs, W2, b, "relu", ro)
    strided = np.empty((W2.shape[0], 2 * W2.shape[1]), np.float32)[:, ::2]
    with pytest.raises(ValueError, match="W must be C- or F-contiguous"):
        _mlp.sparse_forward(Xs, strided, b, "relu", y)
    # the output layer's weights row- or column-major (a transposed PyTorch
    # weight of either order), the same product
    outs = [np.empty((Xs.shape[0], Wn.shape[1]), np.float32) for _ in range(2)]
    for Wh, o in zip((Wn, np.asfortranarray(Wn)), outs):
        assert _mlp.sparse_forward(Xs, W2, b, "relu", y, Wh, None, o) is not None
    np.testing.assert_array_equal(outs[0], outs[1])
    with pytest.raises(ValueError, match="need W2"):
        _mlp.sparse_forward(Xs, W2, b, "relu", y, None, None, outs[0])
    with pytest.raises(ValueError, match="out must have shape"):
        _mlp.sparse_forward(Xs, W2, b, "relu", y, Wn, None, outs[0][:-1])
    scratch = _mlp.sparse_forward(Xs, W2, b, "relu", y)
    dW, db = np.empty_like(W2), np.empty_like(b)
    for bad in (np.zeros(100, np.uint8), scratch[:200], scratch.astype(np.int8)):
        with pytest.raises(ValueError, match="scratch"):
            _mlp.sparse_backward(bad, y, dy, dW, db)
    with pytest.raises(ValueError, match="shape"):
        _mlp.sparse_backward(scratch, y, dy[:-1], dW, db)
    with pytest.raises(ValueError, match="dn"):
        _mlp.sparse_backward(scratch, y, None, dW, db)
    wide = np.zeros((W2.shape[1], _mlp.SPARSE_HEAD_MAX + 1), np.float32)
    dnw = np.zeros((Xs.shape[0], wide.shape[1]), np.float32)
    with pytest.raises(ValueError, match="dn.shape"):
        _mlp.sparse_backward(scratch, y, None, dW, db, dnw, wide, wide.copy(), dnw[0].copy())
    ident = _mlp.sparse_forward(Xs, W2, b, "identity", y)
    with pytest.raises(ValueError, match="relu forward"):
        _mlp.sparse_backward(ident, y, None, dW, db, dn, Wn, np.empty_like(Wn), dn[0].copy())
    # y is not read after an identity forward (None then: what
    # fastdigits.torch.Linear passes, its output may have changed in place);
    # after a relu forward it is needed
    y.fill(np.nan)
    dW2, db2 = np.empty_like(W2), np.empty_like(b)
    _mlp.sparse_backward(ident, y, dy, dW, db)
    _mlp.sparse_backward(ident, None, dy, dW2, db2)
    np.testing.assert_array_equal(dW2, dW)
    np.testing.assert_array_equal(db2, db)
    assert np.isfinite(dW).all()
    with pytest.raises(ValueError, match="y is needed"):
        _mlp.sparse_backward(scratch, None, dy, dW, db)
