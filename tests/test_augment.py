"""fastdigits.augment: parity with the NumPy twin on every SIMD path and
thread count, determinism (seed, epoch, sample index), out= buffers, array
likes and argument checks."""

import dataclasses

import numpy as np
import pytest

import fastdigits
from fastdigits import augment
from fastdigits.augment import Affine, Compose, Elastic
from fastdigits.reference import augment as ref

SPECS = {
    "affine": Affine(degrees=10, translate=0.1),
    "affine-full": Affine(degrees=(-30, 20), translate=(0.1, 0.2), scale=(0.8, 1.2), shear=15),
    "affine-shear4": Affine(shear=(-10, 10, -5, 5)),
    "elastic": Elastic(34, 4),
    "elastic-raw": Elastic(2, 0),
    "elastic-wide": Elastic(5, 20),
    "compose": Compose([Affine(degrees=10), Elastic(10, 3)]),
    "list": [Elastic(8, 2), Affine(degrees=5, scale=(0.9, 1.1))],
}


@pytest.fixture(scope="module")
def digits():
    images, _ = fastdigits.load_mnist("test")
    return images[:40]


def _odd(n, h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, h, w), dtype=np.uint8)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_parity_with_reference(digits, isa, threads, name):
    spec = SPECS[name]
    want = ref.apply(digits, spec, seed=11, epoch=2)
    with fastdigits.simd(isa), fastdigits.threads(threads):
        got = augment.apply(digits, spec, seed=11, epoch=2)
    assert got.dtype == np.float32 and got.shape == digits.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)


@pytest.mark.parametrize("name", ["affine-full", "elastic", "compose"])
def test_threads_bit_identical(digits, isa, name):
    spec = SPECS[name]
    with fastdigits.simd(isa):
        runs = []
        for t in (1, 2, 3):
            with fastdigits.threads(t):
                runs.append(augment.apply(digits, spec, seed=3))
    assert np.array_equal(runs[0], runs[1]) and np.array_equal(runs[0], runs[2])


@pytest.mark.parametrize("shape", [(3, 1, 1), (5, 3, 7), (4, 31, 17), (2, 40, 9)])
@pytest.mark.parametrize("name", ["affine-full", "elastic", "elastic-wide", "compose"])
def test_odd_sizes(isa, shape, name):
    x = _odd(*shape)
    with fastdigits.simd(isa), fastdigits.threads(2):
        got = augment.apply(x, SPECS[name], seed=5)
    np.testing.assert_allclose(got, ref.apply(x, SPECS[name], seed=5), rtol=0, atol=1e-4)


def test_float32_input_and_paths_agree(isa):
    x = _odd(6, 28, 28).astype(np.float32) / 255
    with fastdigits.simd(isa):
        got = augment.apply(x, SPECS["compose"], seed=9)
    with fastdigits.simd("generic"):
        base = augment.apply(x, SPECS["compose"], seed=9)
    assert np.array_equal(got, base)
    np.testing.assert_allclose(got, ref.apply(x, SPECS["compose"], seed=9), rtol=0, atol=1e-6)


def test_result_depends_on_sample_index_not_position(digits):
    spec = SPECS["compose"]
    full = augment.apply(digits, spec, seed=1, epoch=4)
    part = augment.apply(digits[[7, 3]], spec, seed=1, epoch=4, indices=[7, 3])
    assert np.array_equal(part, full[[7, 3]])
    other_epoch = augment.apply(digits, spec, seed=1, epoch=5)
    other_seed = augment.apply(digits, spec, seed=2, epoch=4)
    assert not np.array_equal(full, other_epoch) and not np.array_equal(full, other_seed)
    big = augment.apply(digits[:1], spec, seed=1, indices=[2**40 + 7])
    np.testing.assert_allclose(
        big, ref.apply(digits[:1], spec, seed=1, indices=[2**40 + 7]), atol=1e-4
    )


def test_identity_specs_are_exact(digits):
    f = digits.astype(np.float32)
    assert np.array_equal(augment.apply(digits, None, seed=0), f)
    assert np.array_equal(augment.apply(digits, Affine(), seed=0), f)
    assert np.array_equal(augment.apply(digits, Elastic(0, 4), seed=0), f)
    assert np.array_equal(augment.apply(digits, [], seed=0), f)


def test_rotation_turns_counter_clockwise():
    x = np.zeros((1, 5, 5), np.uint8)
    x[0, 2, 4] = 200  # right of the centre
    y = augment.apply(x, Affine(degrees=(90, 90)), seed=0)
    assert y[0, 0, 2] == pytest.approx(200, abs=1e-3)  # now above it
    assert y.sum() == pytest.approx(200, abs=1e-2)


def test_outside_is_black_and_range_kept(digits):
    y = augment.apply(digits, Affine(translate=(1, 1), scale=(0.5, 2)), seed=4)
    assert y.min() >= 0 and y.max() <= 255
    z = augment.apply(np.full((2, 8, 8), 255, np.uint8), Affine(degrees=(45, 45)), seed=0)
    assert z[0, 0, 0] == 0 and z[0, 4, 4] == 255


def test_out_buffer_and_array_likes(digits):
    out = np.empty(digits.shape, np.float32)
    got = augment.apply(digits, SPECS["elastic"], seed=1, out=out)
    assert got is out and np.shares_memory(got, out)
    ro = digits.copy()
    ro.flags.writeable = False
    assert np.array_equal(augment.apply(ro, SPECS["elastic"], seed=1), out)
    wide = np.zeros((digits.shape[0], 28, 56), np.uint8)
    wide[:, :, ::2] = digits
    assert np.array_equal(augment.apply(wide[:, :, ::2], SPECS["elastic"], seed=1), out)
    assert np.array_equal(augment.apply(digits[:2].tolist(), None, seed=0), digits[:2])


def test_empty_batch():
    x = np.zeros((0, 28, 28), np.uint8)
    assert augment.apply(x, SPECS["elastic"], seed=0).shape == (0, 28, 28)


def test_specs_are_frozen_dataclasses_and_exported():
    a = Affine(degrees=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.degrees = 4
    assert fastdigits.Affine is Affine and fastdigits.Elastic is Elastic
    assert Compose([a]).ops == (a,)
    assert Affine(degrees=3) == Affine(degrees=3)


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: Affine(degrees=-1), "degrees"),
        (lambda: Affine(degrees=(5, 1)), "degrees"),
        (lambda: Affine(translate=1.5), "translate"),
        (lambda: Affine(translate=-0.1), "translate"),
        (lambda: Affine(scale=(0, 1)), "scale"),
        (lambda: Affine(scale=(1.2, 1.1)), "scale"),
        (lambda: Affine(shear=90), "shear"),
        (lambda: Affine(shear=-3), "shear"),
        (lambda: Affine(degrees=float("nan")), "degrees"),
        (lambda: Elastic(-1, 4), "alpha"),
        (lambda: Elastic(1, -4), "sigma"),
        (lambda: Elastic(1, 1e5), "sigma"),
        (lambda: Elastic(float("inf"), 4), "alpha"),
    ],
)
def test_bad_specs_raise_naming_the_parameter(make, name):
    with pytest.raises(ValueError, match=name):
        make()


def test_bad_spec_types():
    with pytest.raises(TypeError, match="degrees"):
        Affine(degrees="10")
    with pytest.raises(TypeError, match="augment"):
        augment.apply(np.zeros((1, 4, 4), np.uint8), "affine", seed=0)
    with pytest.raises(ValueError, match="at most"):
        augment.apply(np.zeros((1, 4, 4), np.uint8), [Affine()] * 17, seed=0)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(images=np.zeros((2, 4, 4), np.int16)), TypeError, "images"),
        (dict(images=np.zeros((4, 4), np.uint8)), ValueError, "images"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(seed=2**64), ValueError, "seed"),
        (dict(seed=1.5), TypeError, "seed"),
        (dict(epoch=2**32), ValueError, "epoch"),
        (dict(epoch=-1), ValueError, "epoch"),
        (dict(indices=[0]), ValueError, "indices"),
        (dict(indices=[-1, 0]), ValueError, "indices"),
        (dict(indices=[0.5, 1.0]), TypeError, "indices"),
        (dict(out=np.empty((2, 4, 4), np.float64)), TypeError, "out"),
        (dict(out=np.empty((2, 4, 5), np.float32)), ValueError, "out"),
        (dict(out=np.empty((2, 4, 4, 2), np.float32)[..., 0]), ValueError, "out"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    args = dict(images=np.zeros((2, 4, 4), np.uint8), spec=Affine(degrees=3), seed=0)
    args.update(kwargs)
    images, spec, seed = args.pop("images"), args.pop("spec"), args.pop("seed")
    with pytest.raises(exc, match=match):
        augment.apply(images, spec, seed, **args)
    if "out" not in args:
        with pytest.raises(exc, match=match):
            ref.apply(images, spec, seed, **args)


def test_out_overlapping_images_rejected():
    buf = np.zeros((2, 4, 4), np.float32)
    with pytest.raises(ValueError, match="overlap"):
        augment.apply(buf, None, seed=0, out=buf)


def test_twin_signature_matches():
    import inspect

    def params(fn):
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]

    assert params(augment.apply) == params(ref.apply)


def test_shuffle_order_matches_reference():
    from fastdigits import _augment

    for n, seed, epoch in [(1, 0, 0), (10, 3, 1), (60000, 5, 2), (7, 2**64 - 1, 2**32 - 1)]:
        got = _augment.shuffle_order(n, seed, epoch)
        assert np.array_equal(np.sort(got), np.arange(n))
        assert np.array_equal(got, ref.shuffle_order(n, seed, epoch))
