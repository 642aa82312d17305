"""load_mnist: the bundled files, folders (raw, gzipped, torchvision layout),
checksums and the decoded-file cache."""

import gzip
import os
import shutil

import numpy as np
import pytest

import fastdigits
from fastdigits import IDXError, datasets, load_mnist, write_idx
from fastdigits import reference as ref

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(autouse=True)
def no_env_cache(monkeypatch):
    monkeypatch.delenv("FASTDIGITS_CACHE", raising=False)


@pytest.fixture(scope="module")
def train():
    return load_mnist("train")


@pytest.fixture(scope="module")
def test():
    return load_mnist("test")


def test_train_figures(train):
    images, labels = train
    assert images.shape == (60000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (60000,) and labels.dtype == np.uint8
    assert np.bincount(labels, minlength=10).tolist() == TRAIN_COUNTS
    assert labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert round(float(images.mean(dtype=np.float64)), 4) == 33.3184


def test_test_figures(test):
    images, labels = test
    assert images.shape == (10000, 28, 28)
    assert np.bincount(labels, minlength=10).tolist() == TEST_COUNTS
    assert round(float(images.mean(dtype=np.float64)), 4) == 33.7912


def test_matches_reference_decoder(test):
    images, labels = test
    d = datasets.BUNDLED_DIR
    np.testing.assert_array_equal(
        images, ref.read_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz"))
    )
    np.testing.assert_array_equal(
        labels, ref.read_idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz"))
    )


def test_flatten(test):
    images, _ = load_mnist("test", flatten=True)
    assert images.shape == (10000, 784)
    np.testing.assert_array_equal(images, test[0].reshape(10000, 784))


def test_constants_exported():
    assert fastdigits.MNIST_MEAN == 0.1307 and fastdigits.MNIST_STD == 0.3081


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="split"):
        load_mnist("validation")
    with pytest.raises(TypeError, match="dtype"):
        load_mnist("test", normalize=True, dtype=np.int32)
    with pytest.raises(FileNotFoundError, match="root"):
        load_mnist("test", root=tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
        load_mnist("test", root=tmp_path)
    with pytest.raises(TypeError, match="root"):
        load_mnist("test", root=3)


def fake_dataset(folder, n=7, gz=True, seed=0):
    """A small MNIST-shaped dataset written in the standard names."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    out = {}
    for split, n_split in (("train", n), ("t10k", n + 2)):
        imgs = rng.integers(0, 256, (n_split, 28, 28), dtype=np.uint8)
        labs = rng.integers(0, 10, n_split, dtype=np.uint8)
        ext = ".gz" if gz else ""
        write_idx(os.path.join(folder, "%s-images-idx3-ubyte%s" % (split, ext)), imgs)
        write_idx(os.path.join(folder, "%s-labels-idx1-ubyte%s" % (split, ext)), labs)
        out["test" if split == "t10k" else split] = (imgs, labs)
    return out


@pytest.mark.parametrize("layout", ["", "MNIST/raw", "FashionMNIST/raw", "KMNIST/raw"])
@pytest.mark.parametrize("gz", [True, False])
def test_root_folders(tmp_path, layout, gz):
    data = fake_dataset(os.path.join(tmp_path, layout), gz=gz)
    for split in ("train", "test"):
        images, labels = load_mnist(split, root=tmp_path)
        np.testing.assert_array_equal(images, data[split][0])
        np.testing.assert_array_equal(labels, data[split][1])


def test_root_mismatched_counts(tmp_path):
    fake_dataset(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(3, np.uint8))
    with pytest.raises(IDXError, match="do not match"):
        load_mnist("train", root=tmp_path)


def test_bundled_checksum_is_verified(tmp_path, monkeypatch):
    # A copy of the bundled folder with one flipped byte in the labels file.
    d = tmp_path / "mnist"
    shutil.copytree(datasets.BUNDLED_DIR, d)
    p = d / "t10k-labels-idx1-ubyte.gz"
    blob = bytearray(p.read_bytes())
    blob[100] ^= 1
    p.write_bytes(bytes(blob))
    monkeypatch.setattr(datasets, "BUNDLED_DIR", str(d))
    with pytest.raises(IDXError, match="SHA-256"):
        load_mnist("test")
    # A change that still decodes (the gzip mtime field) is caught too.
    blob[100] ^= 1
    blob[5] ^= 1
    p.write_bytes(bytes(blob))
    assert datasets.read_idx(p).shape == (10000,)
    with pytest.raises(IDXError, match="SHA-256"):
        load_mnist("test")
    with pytest.raises(IDXError, match="SHA-256"):
        load_mnist("test", normalize=True)
    # Not checked for user folders (root=), where any dataset may live.
    images, labels = load_mnist("test", root=d)
    assert labels.shape == (10000,) and images.shape == (10000, 28, 28)


def test_cache_memory_maps_the_second_load(tmp_path, monkeypatch, test):
    monkeypatch.setenv("FASTDIGITS_CACHE", str(tmp_path))
    first_images, first_labels = load_mnist("test")
    cached = [os.path.join(r, f) for r, _, fs in os.walk(tmp_path) for f in fs]
    assert sorted(os.path.basename(c) for c in cached) == [
        "t10k-images-idx3-ubyte",
        "t10k-images-idx3-ubyte.sha256",
        "t10k-labels-idx1-ubyte",
        "t10k-labels-idx1-ubyte.sha256",
    ]
    images, labels = load_mnist("test")
    assert isinstance(images, np.memmap) and isinstance(labels, np.memmap)
    np.testing.assert_array_equal(images, test[0])
    np.testing.assert_array_equal(labels, test[1])
    np.testing.assert_array_equal(first_images, test[0])

    # A cache hit neither re-reads nor re-hashes the bundled .gz files.
    def must_not_run(path):
        raise AssertionError("bundled file re-verified on a cache hit")

    monkeypatch.setattr(datasets, "_verify_bundled", must_not_run)
    images, _ = load_mnist("test")
    assert isinstance(images, np.memmap)


def test_cache_argument_and_damaged_entry(tmp_path):
    data = fake_dataset(tmp_path / "src")
    cache = tmp_path / "cache"
    load_mnist("train", root=tmp_path / "src", cache=cache)
    entry = [
        os.path.join(r, f)
        for r, _, fs in os.walk(cache)
        for f in fs
        if f.startswith("train-images")
    ][0]
    with open(entry, "r+b") as f:  # truncate the cached copy
        f.truncate(100)
    images, labels = load_mnist("train", root=tmp_path / "src", cache=cache)
    np.testing.assert_array_equal(images, data["train"][0])
    images, labels = load_mnist("train", root=tmp_path / "src", cache=cache)
    assert isinstance(images, np.memmap)
    np.testing.assert_array_equal(images, data["train"][0])


def test_cache_must_be_a_bool_or_a_folder(tmp_path, monkeypatch):
    # a bytes folder was taken as True (writing into the user's default
    # cache), and "" cached into the working directory
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    fake_dataset(tmp_path / "src")
    for bad, exc in ((os.fsencode(tmp_path / "b"), TypeError), ("", ValueError), (1, TypeError)):
        with pytest.raises(exc, match="cache must be a bool or a folder"):
            load_mnist("train", root=tmp_path / "src", cache=bad)
    assert sorted(os.listdir(tmp_path)) == ["src"]


def _flip_byte(path, offset, keep_mtime):
    st = os.stat(path)
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x55]))
    if keep_mtime:  # bit rot: same size, same time stamp
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.mark.parametrize("keep_mtime", [False, True])
@pytest.mark.parametrize("bundled", [True, False])
def test_corrupted_cache_entry_is_never_served(tmp_path, monkeypatch, test, bundled, keep_mtime):
    """Issue 11, item 12: a cache entry whose content changed (same size, so
    its header still looks right) is detected and rebuilt from the source,
    in this process and in a fresh one."""
    cache = tmp_path / "cache"
    if bundled:
        root, want = None, test
    else:
        data = fake_dataset(tmp_path / "src")
        root, want = tmp_path / "src", data["test"]
    load_mnist("test", root=root, cache=cache)
    entries = sorted(
        os.path.join(r, f) for r, _, fs in os.walk(cache) for f in fs if not f.endswith(".sha256")
    )
    assert len(entries) == 2
    for entry in entries:
        _flip_byte(entry, os.path.getsize(entry) - 3, keep_mtime)
    if keep_mtime:  # what a new process would know
        monkeypatch.setattr(datasets, "_verified", {})
    for _ in range(2):  # the rebuilt entry is then used
        images, labels = load_mnist("test", root=root, cache=cache)
        assert isinstance(images, np.memmap)
        np.testing.assert_array_equal(images, want[0])
        np.testing.assert_array_equal(labels, want[1])
    # A damaged checksum file also means: rebuild.
    with open(entries[0] + ".sha256", "w") as f:
        f.write("nonsense")
    images, labels = load_mnist("test", root=root, cache=cache)
    np.testing.assert_array_equal(images, want[0])
    with open(entries[0] + ".sha256") as f:
        assert len(f.read().strip()) == 64


def test_raw_files_torchvision_names(tmp_path):
    # torchvision keeps decompressed copies next to the .gz files.
    data = fake_dataset(tmp_path / "MNIST" / "raw", gz=False)
    for name in os.listdir(tmp_path / "MNIST" / "raw"):
        p = tmp_path / "MNIST" / "raw" / name
        with gzip.open(str(p) + ".gz", "wb") as g:
            g.write(p.read_bytes())
    images, labels = load_mnist("test", root=tmp_path)
    np.testing.assert_array_equal(images, data["test"][0])
