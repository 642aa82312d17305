"""fastdigits.batches: the same batches as the NumPy twin on every SIMD path
and thread count, whatever the prefetch depth or batch size; the background
thread stops however the consumer leaves; arguments checked before work."""

import gc
import threading

import numpy as np
import pytest

import fastdigits
from fastdigits import Affine, Elastic
from fastdigits import reference as R


@pytest.fixture(scope="module")
def data():
    images, labels = fastdigits.load_mnist("test")
    return images[:700], labels[:700]


def _workers():
    return sum(t.name == "fastdigits-batches" and t.is_alive() for t in threading.enumerate())


def _same(a, b):
    a, b = list(a), list(b)
    assert len(a) == len(b)
    for (xa, ya), (xb, yb) in zip(a, b):
        assert xa.dtype == xb.dtype and xa.shape == xb.shape
        assert np.array_equal(xa, xb) and np.array_equal(ya, yb)


CONFIGS = {
    "plain": dict(),
    "affine": dict(augment=Affine(degrees=10, translate=0.1)),
    "both": dict(
        augment=[Affine(degrees=10), Elastic(20, 3)],
        normalize=(0.5, 0.25),
        flatten=False,
        drop_last=True,
    ),
    "raw64": dict(augment=Elastic(8, 2), normalize=False, dtype=np.float64, shuffle=False),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_same_batches_as_reference(data, isa, threads, name):
    images, labels = data
    kw = CONFIGS[name]
    want = R.batches(images, labels, 128, seed=5, epoch=3, **kw)
    with fastdigits.simd(isa), fastdigits.threads(threads):
        got = fastdigits.batches(images, labels, 128, seed=5, epoch=3, **kw)
    _same(got, want)


@pytest.mark.parametrize("prefetch", [0, 1, 3])
def test_prefetch_and_batch_split_do_not_change_results(data, prefetch):
    images, labels = data
    aug = Affine(degrees=15, scale=(0.9, 1.1))
    ref = list(fastdigits.batches(images, labels, 100, seed=2, augment=aug, prefetch=2))
    _same(fastdigits.batches(images, labels, 100, seed=2, augment=aug, prefetch=prefetch), ref)
    whole = np.concatenate([x for x, _ in ref])
    other = fastdigits.batches(images, labels, 33, seed=2, augment=aug, prefetch=prefetch)
    assert np.array_equal(np.concatenate([x for x, _ in other]), whole)


def test_order_is_a_permutation_and_epoch_dependent(data):
    images, labels = data
    it = fastdigits.batches(images, labels, 64, seed=1, epoch=0)
    assert np.array_equal(np.sort(it.order), np.arange(len(images)))
    ys = np.concatenate([y for _, y in it])
    assert np.array_equal(ys, labels[it.order])
    it1 = fastdigits.batches(images, labels, 64, seed=1, epoch=1)
    assert not np.array_equal(it.order, it1.order)
    it1.close()
    assert np.array_equal(it.order, R.augment.shuffle_order(len(images), 1, 0))


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_batch_maker_rechecks_an_order_changed_after_it_was_made(dtype):
    # the order array is the iterator's (Batches.order): a batch reads only
    # entries inside the images, whatever the image dtype
    from fastdigits import _augment

    images = np.ones((4, 3, 3), dtype=dtype)
    order = np.arange(4, dtype=np.int64)
    maker = _augment.BatchMaker(images, order, [], 1, 0, 1.0, 0.0, 1.0)
    out = np.empty(2 * 9, np.float32)
    assert np.array_equal(maker.make(2, 2, out), np.ones(18, np.float32))
    order[3] = 4
    with pytest.raises(ValueError, match=r"order\[3\] = 4 is outside \[0, 4\)"):
        maker.make(2, 2, out)
    maker.make(0, 2, out)  # the batches before it are still fine


def test_lengths_and_last_batch(data):
    images, labels = data
    assert len(fastdigits.batches(images, labels, 64)) == 11
    assert len(fastdigits.batches(images, labels, 64, drop_last=True)) == 10
    sizes = [len(y) for _, y in fastdigits.batches(images, labels, 64)]
    assert sizes == [64] * 10 + [60]
    assert len(fastdigits.batches(images, labels, 1000, drop_last=True)) == 0
    empty = fastdigits.batches(np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64))
    assert len(empty) == 0 and list(empty) == []


def test_unshuffled_batches_are_normalize(data):
    images, labels = data
    X, y = next(iter(fastdigits.batches(images, labels, 300, shuffle=False, prefetch=0)))
    ref = fastdigits.normalize(
        images[:300], mean=fastdigits.MNIST_MEAN, std=fastdigits.MNIST_STD, flatten=True
    )
    assert np.array_equal(X, ref) and np.array_equal(y, labels[:300])
    assert y.dtype == labels.dtype


def test_augmentation_matches_augment_apply(data):
    images, labels = data
    aug = Elastic(30, 4)
    it = fastdigits.batches(images, labels, 50, seed=9, epoch=2, augment=aug, normalize=False)
    X, _ = next(it)
    idx = it.order[:50]
    want = fastdigits.augment.apply(images[idx], aug, 9, epoch=2, indices=idx)
    assert np.array_equal(X.reshape(want.shape), want)
    it.close()


def test_float32_images_without_normalisation(data):
    images, labels = data
    f = images.astype(np.float32) / 255
    kw = dict(normalize=False, augment=Affine(degrees=5), seed=4)
    _same(fastdigits.batches(f, labels, 128, **kw), R.batches(f, labels, 128, **kw))


def test_batches_are_fresh_arrays(data):
    images, labels = data
    it = fastdigits.batches(images, labels, 64)
    x0, y0 = next(it)
    keep = x0.copy()
    x1, _ = next(it)
    assert not np.shares_memory(x0, x1)
    list(it)
    assert np.array_equal(x0, keep)


def _consume_and_break(images, labels):
    for i, _ in enumerate(fastdigits.batches(images, labels, 32, prefetch=3)):
        if i == 1:
            break


def test_thread_stops_on_break_del_close_and_errors(data):
    images, labels = data
    base = _workers()
    _consume_and_break(images, labels)
    gc.collect()
    assert _workers() == base
    it = fastdigits.batches(images, labels, 32)
    next(it)
    del it
    gc.collect()
    assert _workers() == base
    it = fastdigits.batches(images, labels, 32)
    next(it)
    it.close()
    assert _workers() == base
    with pytest.raises(StopIteration):
        next(it)
    with fastdigits.batches(images, labels, 32) as it:
        next(it)
    assert _workers() == base
    try:
        for _ in fastdigits.batches(images, labels, 32):
            raise KeyError("consumer failed")
    except KeyError:
        pass
    gc.collect()
    assert _workers() == base
    list(fastdigits.batches(images, labels, 32))  # runs to the end
    assert _workers() == base


@pytest.mark.parametrize("nt, prefetch, want", [(1, 2, 1), (2, 2, 1), (3, 2, 2), (3, 1, 1)])
def test_background_threads_follow_threads_and_prefetch(data, nt, prefetch, want):
    # min(threads - 1, prefetch) single-threaded makers, at least one; the
    # caller makes batches too when threads >= 2 (same batches either way)
    images, labels = data
    base = _workers()
    with fastdigits.threads(nt):
        it = fastdigits.batches(images, labels, 32, prefetch=prefetch, augment=Affine(degrees=5))
    got = [next(it) for _ in range(3)]
    assert _workers() - base == want
    it.close()
    assert _workers() == base
    ref = list(fastdigits.batches(images, labels, 32, prefetch=0, augment=Affine(degrees=5)))
    _same(got, ref[:3])


def test_worker_errors_reach_the_consumer(data, monkeypatch):
    images, labels = data
    import sys

    mod = sys.modules["fastdigits.batches"]  # the module (the name is the function)

    def boom(*args):
        raise MemoryError("no room")

    monkeypatch.setattr(mod, "_make", boom)
    it = fastdigits.batches(images, labels, 32)
    with pytest.raises(MemoryError, match="no room"):
        next(it)
    it.close()
    assert _workers() == 0


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(batch_size=2.5), TypeError, "batch_size"),
        (dict(prefetch=-1), ValueError, "prefetch"),
        (dict(labels=np.zeros(5)), ValueError, "labels"),
        (dict(labels=np.zeros((700, 2))), ValueError, "labels"),
        (dict(labels=None), TypeError, "labels"),
        (dict(images=np.zeros((700, 4, 4), np.float32)), TypeError, "normalize"),
        (dict(images=np.zeros((700, 4, 4), np.int32)), TypeError, "images"),
        (dict(images=np.zeros((700, 16), np.uint8)), ValueError, "images"),
        (dict(normalize="yes"), TypeError, "normalize"),
        (dict(normalize=(0.1, 0.0)), ValueError, "std"),
        # a = (1/255)/std or c = -mean/std not finite in float32: NaN / inf batches
        (dict(normalize=(0.1, 1e-300)), ValueError, "must be finite in float32"),
        (dict(normalize=(0.0, -1e-45)), ValueError, "must be finite in float32"),
        (dict(normalize=(1e300, 1e-10)), ValueError, "must be finite in float32"),
        (dict(normalize=np.int64(1)), TypeError, "normalize"),
        (dict(dtype=np.int32), TypeError, "dtype"),
        (dict(augment="affine"), TypeError, "augment"),
        (dict(seed=-3), ValueError, "seed"),
        (dict(epoch=2**32), ValueError, "epoch"),
        (dict(shuffle=1), TypeError, "shuffle"),
        (dict(flatten="no"), TypeError, "flatten"),
    ],
)
def test_bad_arguments_raise_before_work(data, kwargs, exc, match):
    images, labels = data
    args = dict(images=images, labels=labels)
    args.update(kwargs)
    base = _workers()
    for fn in (fastdigits.batches, R.batches):
        with pytest.raises(exc, match=match):
            fn(**args)
    assert _workers() == base


@pytest.mark.parametrize("mean, std", [(0.1, 1e-300), (0.0, -1e-45), (1e300, 1e-10)])
def test_normalize_pair_gets_normalize_s_own_check(mean, std):
    images = np.array([[[0, 1], [128, 255]]], np.uint8)
    with pytest.raises(ValueError) as want:
        fastdigits.normalize(images, mean=mean, std=std)
    for fn in (fastdigits.batches, R.batches):
        with pytest.raises(ValueError) as got:
            fn(images, [0], 1, normalize=(mean, std))
        assert str(got.value) == str(want.value)


def test_numpy_bools_for_normalize(data):
    images, labels = data[0][:50], data[1][:50]
    for flag in (True, False):
        want = list(fastdigits.batches(images, labels, 20, normalize=flag))
        for fn in (fastdigits.batches, R.batches):
            _same(fn(images, labels, 20, normalize=np.bool_(flag)), want)
    # np.False_ with float images: no normalisation, as False
    f = images.astype(np.float32)
    _same(
        fastdigits.batches(f, labels, 20, normalize=np.False_),
        fastdigits.batches(f, labels, 20, normalize=False),
    )


@pytest.mark.parametrize("shape", [(3, 0, 4), (3, 4, 0), (3, 0, 2**30)])
@pytest.mark.parametrize("augment", [None, Affine(degrees=3), Elastic(2, 1)])
def test_empty_images(shape, augment):
    # were "augment is not usable on 0 x 4 images", augmented or not; the
    # twin returned them
    images = np.lib.stride_tricks.as_strided(np.zeros(1, np.uint8), shape, (0, 0, 0))
    kw = dict(augment=augment, flatten=False, shuffle=False)
    want = list(R.batches(images, [0, 1, 2], 2, **kw))
    assert [x.shape for x, _ in want] == [(2,) + shape[1:], (1,) + shape[1:]]
    _same(fastdigits.batches(images, [0, 1, 2], 2, **kw), want)
    flat = list(fastdigits.batches(images, [0, 1, 2], 2, augment=augment))
    assert [x.shape for x, _ in flat] == [(2, 0), (1, 0)]


def test_wide_images_without_augmentation():
    # no limit on the size without operations; with one, the limit is named
    images = np.full((1, 1, 2**24), 7, np.uint8)
    x, y = next(iter(fastdigits.batches(images, [5], 1, normalize=False)))
    assert x.shape == (1, 2**24) and x.min() == x.max() == 7 and y.tolist() == [5]
    for fn in (fastdigits.batches, R.batches):
        with pytest.raises(ValueError, match="under 2\\*\\*24 pixels along each axis"):
            fn(images, [5], 1, augment=Affine(degrees=3))


def test_tensors_that_require_grad_and_ragged_lists():
    torch = pytest.importorskip("torch")  # a test dependency
    t = torch.rand(4, 3, 3, requires_grad=True)
    u8 = np.zeros((4, 3, 3), np.uint8)
    for fn in (fastdigits.batches, R.batches):
        with pytest.raises(
            TypeError, match=r"images is a tensor that requires grad; pass images\.detach"
        ):
            fn(t, [0, 1, 2, 3], 2, normalize=False)
        with pytest.raises(
            TypeError, match=r"labels is a tensor that requires grad; pass labels\.detach"
        ):
            fn(u8, torch.zeros(4, requires_grad=True), 2)
        with pytest.raises(TypeError, match="images must be a NumPy array or array-like, got list"):
            fn([[[0, 1]], [[1]]], [0, 1], 2)
        with pytest.raises(TypeError, match="labels must be a NumPy array or array-like, got list"):
            fn(u8, [[0], [1, 2], [3], [4]], 2)
    x, y = next(iter(fastdigits.batches(t.detach(), torch.arange(4), 4, normalize=False)))
    assert x.shape == (4, 9) and sorted(y.tolist()) == [0, 1, 2, 3]


def test_threads_setting_is_taken_at_the_call(data):
    images, labels = data
    aug = Elastic(20, 3)
    with fastdigits.threads(1):
        one = list(fastdigits.batches(images, labels, 200, augment=aug))
    with fastdigits.threads(3):
        three = fastdigits.batches(images, labels, 200, augment=aug)
    _same(three, one)
