"""fastdigits.torch.batches: the NumPy batches as tensors, without copies."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fastdigits  # noqa: E402
from fastdigits.torch import batches  # noqa: E402


def test_tensors_are_the_numpy_batches():
    images, labels = fastdigits.load_mnist("test")
    images, labels = images[:300], labels[:300]
    aug = fastdigits.Affine(degrees=10, translate=0.1)
    want = list(fastdigits.batches(images, labels, 64, seed=3, augment=aug))
    it = batches(torch.from_numpy(images), labels, 64, seed=3, augment=aug)
    assert len(it) == len(want) == 5
    got = list(it)
    for (x, y), (wx, wy) in zip(got, want):
        assert isinstance(x, torch.Tensor) and x.dtype == torch.float32
        assert y.dtype == torch.int64
        assert np.array_equal(x.numpy(), wx) and np.array_equal(y.numpy(), wy)


def test_no_copy_and_close(monkeypatch):
    import sys

    mod = sys.modules["fastdigits.batches"]
    made = []
    real = mod._make

    def spy(*args):
        made.append(real(*args))
        return made[-1]

    monkeypatch.setattr(mod, "_make", spy)
    images, labels = fastdigits.load_mnist("test")
    with batches(images[:100], labels[:100], 50, label_dtype=None, flatten=False) as it:
        x, y = next(it)
        assert x.shape == (50, 28, 28) and y.dtype == torch.uint8
        # batches are made by several threads, not necessarily in order
        assert any(np.shares_memory(x.numpy(), m[0]) for m in made)
        assert any(np.shares_memory(y.numpy(), m[1]) for m in made)
    with pytest.raises(StopIteration):
        next(it)


def test_labels_are_checked_before_the_first_batch():
    # byte-swapped labels (fastdigits.batches takes them) failed at the
    # first next() in torch.from_numpy, after the background thread started
    images = np.arange(4 * 9, dtype=np.uint8).reshape(4, 3, 3)
    plain = np.array([3, 1, 4, 1])
    for labels in (plain.astype(">i4"), plain.astype("<i2")):
        got = [y for _, y in batches(images, labels, 2, seed=5)]
        want = [y for _, y in batches(images, plain, 2, seed=5)]
        for a, b in zip(got, want):
            assert torch.equal(a, b)
    for bad in (plain.astype(object), np.array(list("abcd"))):
        with pytest.raises(TypeError, match="labels must be numbers a torch tensor can hold"):
            batches(images, bad, 2)
