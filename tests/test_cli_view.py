"""`fastdigits info`, `show` and `grid` on real and made-up IDX files."""

import gzip
import os
import struct
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import fastdigits
from fastdigits import png
from fastdigits.cli import main

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "golden")
DATA = os.path.join(os.path.dirname(fastdigits.__file__), "data", "mnist")
TRAIN_X = os.path.join(DATA, "train-images-idx3-ubyte.gz")
TRAIN_Y = os.path.join(DATA, "train-labels-idx1-ubyte.gz")
TEST_X = os.path.join(DATA, "t10k-images-idx3-ubyte.gz")
TEST_Y = os.path.join(DATA, "t10k-labels-idx1-ubyte.gz")
CODES = {
    np.dtype(np.uint8): 0x08,
    np.dtype(np.int8): 0x09,
    np.dtype(np.int16): 0x0B,
    np.dtype(np.int32): 0x0C,
    np.dtype(np.float32): 0x0D,
    np.dtype(np.float64): 0x0E,
}


def idx_bytes(arr):
    """An IDX file's bytes, written here by hand (big-endian elements)."""
    arr = np.asarray(arr)
    head = struct.pack(">BBBB", 0, 0, CODES[arr.dtype], arr.ndim)
    head += struct.pack(">%dI" % arr.ndim, *arr.shape)
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write_idx(path, arr, compress=False):
    data = idx_bytes(arr)
    with gzip.open(path, "wb") if compress else open(path, "wb") as f:
        f.write(data)
    return str(path)


def gz_array(path, offset, count=None):
    with gzip.open(path, "rb") as f:
        raw = f.read() if count is None else f.read(offset + count)
    return np.frombuffer(raw, np.uint8, offset=offset)


@pytest.fixture(scope="module")
def test_set():
    x = gz_array(TEST_X, 16).reshape(-1, 28, 28)
    y = gz_array(TEST_Y, 8)
    return x, y


def run_cli(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def fields(text):
    """'key : value' lines of `fastdigits info` as a dict."""
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        out[key.strip()] = value.strip()
    return out


def golden(name):
    with open(os.path.join(GOLDEN, name), encoding="utf-8") as f:
        return f.read()


# --- info ------------------------------------------------------------------


def test_info_train_images(capsys):
    rc, out, err = run_cli(capsys, "info", TRAIN_X)
    assert rc == 0 and err == ""
    f = fields(out)
    assert f["compressed"] == "yes (gzip)"
    assert f["magic"] == "0x00000803"
    assert f["element type"] == "0x08 uint8 (1 byte)"
    assert f["rank"] == "3"
    assert f["dims"] == "60000 x 28 x 28"
    assert f["data offset"] == "16"
    assert f["file size"] == "{:,} bytes".format(os.path.getsize(TRAIN_X))
    assert f["data size"] == "47,040,000 bytes (47,040,000 values)"
    x = gz_array(TRAIN_X, 16)
    assert f["min / max"] == "%d / %d" % (x.min(), x.max())
    assert f["mean / std"] == "%.4f / %.4f" % (x.mean(), x.astype(np.float64).std())
    assert f["mean / std"].startswith("33.3184 / ")
    assert "class counts" not in f


def test_info_label_file_counts(capsys):
    rc, out, _ = run_cli(capsys, "info", TEST_Y)
    assert rc == 0
    f = fields(out)
    assert f["magic"] == "0x00000801" and f["dims"] == "10000"
    y = gz_array(TEST_Y, 8)
    counts = np.bincount(y)
    assert f["classes"] == "10"
    assert f["class counts"].split() == ["%d:%d" % (k, c) for k, c in enumerate(counts)]
    assert counts[0] == 980 and counts[1] == 1135


def test_info_raw_matches_gzip(tmp_path, capsys, test_set):
    x, _ = test_set
    raw = write_idx(tmp_path / "t10k-images-idx3-ubyte", x)
    _, out_raw, _ = run_cli(capsys, "info", raw)
    _, out_gz, _ = run_cli(capsys, "info", TEST_X)
    fr, fg = fields(out_raw), fields(out_gz)
    assert fr["compressed"] == "no"
    assert fr["file size"] == "{:,} bytes".format(16 + x.size)
    for key in (
        "magic",
        "element type",
        "rank",
        "dims",
        "data offset",
        "data size",
        "min / max",
        "mean / std",
    ):
        assert fr[key] == fg[key], key


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("compress", [False, True])
def test_info_every_element_type(tmp_path, capsys, dtype, compress):
    rng = np.random.default_rng(3)
    arr = (rng.standard_normal((3, 70001 // 3 + 5, 3)) * 40).astype(dtype)
    path = write_idx(tmp_path / "a.idx", arr, compress)
    rc, out, _ = run_cli(capsys, "info", path)
    assert rc == 0
    f = fields(out)
    code = CODES[np.dtype(dtype)]
    assert f["magic"] == "0x%08X" % (code << 8 | 3)
    assert f["element type"].startswith("0x%02X %s" % (code, np.dtype(dtype).name))
    assert f["dims"] == " x ".join(map(str, arr.shape))
    assert f["data offset"] == "16"  # 4-byte magic + 3 dims
    lo, hi = f["min / max"].split(" / ")
    assert float(lo) == pytest.approx(float(arr.min()), rel=1e-5)
    assert float(hi) == pytest.approx(float(arr.max()), rel=1e-5)
    mean, std = (float(v) for v in f["mean / std"].split(" / "))
    assert mean == pytest.approx(float(arr.astype(np.float64).mean()), abs=1e-4)
    assert std == pytest.approx(float(arr.astype(np.float64).std()), rel=1e-6, abs=1e-4)


def test_info_stats_helpers_exact():
    from fastdigits.commands import info

    rng = np.random.default_rng(5)
    for dtype in (np.uint8, np.int8):
        x = rng.integers(np.iinfo(dtype).min, np.iinfo(dtype).max + 1, 600001).astype(dtype)
        st = info.data_stats(x)
        assert (st["min"], st["max"]) == (x.min(), x.max())
        assert st["mean"] == pytest.approx(x.astype(np.float64).mean(), rel=1e-12)
        assert st["std"] == pytest.approx(x.astype(np.float64).std(), rel=1e-12)
    f = np.array([1.0, np.nan, 3.0, np.nan], np.float32)
    st = info.data_stats(f)
    assert (st["nan"], st["min"], st["max"], st["mean"], st["std"]) == (2, 1.0, 3.0, 2.0, 1.0)
    assert info.data_stats(np.full(4, np.nan))["mean"] is None
    assert info.class_counts(np.array([-1, 3, 3], np.int8)) == {-1: 1, 3: 2}
    assert info.class_counts(np.array([0, 5000], np.int32)) is None
    assert info.class_counts(np.zeros((2, 2), np.uint8)) is None


def test_info_no_stats(capsys, tmp_path):
    rc, out, _ = run_cli(capsys, "info", "--no-stats", TRAIN_Y)
    assert rc == 0 and "min / max" not in out and "class counts" not in out
    assert fields(out)["dims"] == "60000"


# --- show ------------------------------------------------------------------


@pytest.mark.parametrize(
    "args,name",
    [
        (("--range", "0:2", "--color", "never", "--width", "80"), "train_0-2_blocks.txt"),
        (
            ("--range", "0:2", "--blocks", "--color", "always", "--width", "80"),
            "train_0-2_blocks_color.txt",
        ),
        (("--range", ":2", "--ascii", "--width", "80"), "train_0-2_ascii.txt"),
        (("--index", "0", "--numbers"), "train_0_numbers.txt"),
    ],
)
def test_show_golden_train(capsys, args, name):
    rc, out, err = run_cli(capsys, "show", TRAIN_X, "--labels", TRAIN_Y, *args)
    assert (rc, err) == (0, "")
    assert out == golden(name)


def test_show_golden_test_set(capsys):
    rc, out, _ = run_cli(
        capsys, "show", TEST_X, "-l", TEST_Y, "-r", "0:3", "--color", "never", "--width", "90"
    )
    assert rc == 0 and out == golden("t10k_0-3_blocks.txt")


def test_show_default_fills_one_row(capsys, test_set):
    x, _ = test_set
    rc, out, _ = run_cli(capsys, "show", TEST_X, "--color", "never", "--width", "100")
    assert rc == 0
    # 28-column tiles with a 2-column gap: 3 fit in 100 columns
    assert out == fastdigits.render(x[:3], color=False, width=100)
    rc, out, _ = run_cli(capsys, "show", TEST_X, "--numbers")
    assert out == fastdigits.render(x[:1], mode="numbers")


def test_show_range_titles_use_file_indices(capsys, test_set):
    x, y = test_set
    rc, out, _ = run_cli(
        capsys, "show", TEST_X, "-l", TEST_Y, "--range", "9998:10000", "--ascii", "--width", "80"
    )
    assert rc == 0
    assert out.splitlines()[0].split() == ["#9998:", str(y[9998]), "#9999:", str(y[9999])]
    assert out == fastdigits.render(x[9998:], y[9998:], mode="ascii", width=80, start=9998)


def test_show_raw_file_and_other_sizes(tmp_path, capsys):
    rng = np.random.default_rng(7)
    imgs = rng.integers(0, 256, (4, 5, 9), dtype=np.uint8)  # Fashion-MNIST-like, any size
    path = write_idx(tmp_path / "imgs", imgs)
    rc, out, _ = run_cli(capsys, "show", path, "--color", "always", "--width", "40")
    assert rc == 0
    assert out == fastdigits.render(imgs[:3], color=True, width=40)
    floats = write_idx(tmp_path / "f.idx.gz", imgs.astype(np.float32) / 255, compress=True)
    rc, out2, _ = run_cli(capsys, "show", floats, "--color", "always", "--width", "40")
    assert out2 == out


# --- grid ------------------------------------------------------------------


def test_grid_writes_montage(tmp_path, capsys, test_set):
    x, y = test_set
    out_png = tmp_path / "grid.png"
    rc, out, err = run_cli(
        capsys,
        "grid",
        TEST_X,
        str(out_png),
        "--labels",
        TEST_Y,
        "--range",
        "10:33",
        "--ncols",
        "7",
        "--scale",
        "2",
    )
    assert (rc, err) == (0, "")
    assert out.strip() == "wrote %s: 23 images (10..32) with labels" % out_png
    pixels = np.asarray(Image.open(out_png))
    ref, boxes = png.montage(x[10:33], y[10:33], ncols=7, scale=2)
    assert np.array_equal(pixels, ref)
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        assert np.array_equal(pixels[y0:y1:2, x0:x1:2], x[10 + i])


def test_grid_default_first_hundred(tmp_path, capsys, test_set):
    x, _ = test_set
    out_png = tmp_path / "g.png"
    rc, _, _ = run_cli(capsys, "grid", TEST_X, str(out_png))
    assert rc == 0
    pixels = np.asarray(Image.open(out_png))
    ref, _ = png.montage(x[:100], ncols=10, scale=4)
    assert np.array_equal(pixels, ref)


# --- user errors: one line on stderr, exit code 2 --------------------------


def _bad_files(tmp_path):
    files = {}
    files["empty"] = tmp_path / "empty"
    files["empty"].write_bytes(b"")
    files["text"] = tmp_path / "notes.txt"
    files["text"].write_text("hello world, not an IDX file\n")
    files["badtype"] = tmp_path / "badtype"
    files["badtype"].write_bytes(b"\x00\x00\x07\x01\x00\x00\x00\x01\x00")
    good = idx_bytes(np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3))
    files["short"] = tmp_path / "short"
    files["short"].write_bytes(good[:-5])
    files["shorthead"] = tmp_path / "shorthead"
    files["shorthead"].write_bytes(good[:9])
    files["long"] = tmp_path / "long"
    files["long"].write_bytes(good + b"xx")
    files["badgz"] = tmp_path / "bad.gz"
    files["badgz"].write_bytes(gzip.compress(good)[:-12])
    files["bomb"] = tmp_path / "bomb"
    files["bomb"].write_bytes(b"\x00\x00\x08\x03" + struct.pack(">3I", 4000000000, 4000000000, 9))
    return files


@pytest.mark.parametrize(
    "kind", ["empty", "text", "badtype", "short", "shorthead", "long", "badgz", "bomb"]
)
@pytest.mark.parametrize("command", ["info", "show", "grid"])
def test_bad_files_one_line_exit_2(tmp_path, capsys, kind, command):
    path = str(_bad_files(tmp_path)[kind])
    argv = [command, path] + ([str(tmp_path / "o.png")] if command == "grid" else [])
    rc, out, err = run_cli(capsys, *argv)
    assert rc == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("fastdigits %s: error: %s: " % (command, path))
    assert lines[0].count(path) == 1  # named once, though IDXError names it too
    assert not os.path.exists(tmp_path / "o.png")


@pytest.mark.parametrize(
    "argv,message",
    [
        (["show", "/no/such/file"], "FILE: no such file: /no/such/file"),
        (["info", "/no/such/file"], "FILE: no such file: /no/such/file"),
        (["grid", "/no/such/file", "x.png"], "FILE: no such file: /no/such/file"),
        (["show", TEST_X, "--range", "5:3"], "bad range '5:3': need 0 <= A < B <= 10000"),
        (["show", TEST_X, "--range", "0:10001"], "bad range '0:10001'"),
        (["show", TEST_X, "--range", "a:b"], "bad range 'a:b': expected A:B"),
        (["show", TEST_X, "--range", "1:2:3"], "bad range '1:2:3': expected A:B"),
        (["show", TEST_X, "--range=-3:"], "bad range '-3:'"),
        (["grid", TEST_X, "x.png", "--range", "7:7"], "bad range '7:7'"),
        (["show", TEST_X, "--index", "10000"], "bad index 10000: need 0 <= I < 10000"),
        (["show", TEST_X, "--index", "-1"], "bad index -1"),
        (["show", TEST_X, "--index", "x1"], "bad index 'x1': expected a whole number"),
        (["show", TEST_Y], "not an image file: rank 1, shape 10000"),
        (["grid", TEST_Y, "x.png"], "not an image file: rank 1"),
        (["show", TEST_X, "--labels", TRAIN_Y], "has 60000 labels but the image file has 10000"),
        (["show", TEST_X, "--labels", TEST_X], "not a label file: rank 3"),
        (["show", TEST_X, "--labels", "/no/such"], "--labels: no such file: /no/such"),
        (["show", TEST_X, "--width", "0"], "bad --width 0"),
        (["grid", TEST_X, "x.png", "--scale", "0"], "bad --scale 0"),
        (["grid", TEST_X, "x.png", "--ncols", "0"], "bad --ncols 0"),
        (["grid", TEST_X, "/no/such/dir/x.png"], "no such folder"),
    ],
)
def test_user_errors_one_line_exit_2(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    rc, out, err = run_cli(capsys, *argv)
    assert rc == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("fastdigits %s: error: " % argv[0])
    assert message in lines[0]
    assert os.listdir(tmp_path) == []


def test_directory_and_rank_errors(tmp_path, capsys):
    rc, _, err = run_cli(capsys, "info", str(tmp_path))
    assert rc == 2 and "is a directory" in err
    four = write_idx(tmp_path / "four", np.zeros((2, 1, 3, 3), np.uint8))
    rc, _, err = run_cli(capsys, "show", four)
    assert rc == 2 and "not an image file: rank 4, shape 2x1x3x3" in err
    empty = write_idx(tmp_path / "none", np.zeros((0, 28, 28), np.uint8))
    rc, _, err = run_cli(capsys, "show", empty)
    assert rc == 2 and "holds no images" in err
    rc, out, _ = run_cli(capsys, "info", empty)
    assert rc == 0 and "statistics   : none (no values)" in out


def test_grid_without_pillow(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    rc, out, err = run_cli(capsys, "grid", TEST_X, str(tmp_path / "g.png"))
    assert rc == 2 and out == ""
    assert "pip install fastdigits[png]" in err and len(err.splitlines()) == 1
    assert os.listdir(tmp_path) == []


def test_real_process_exit_code(tmp_path):
    """The installed entry point: python -m fastdigits, exit status 2, one line."""
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x03\x04\x05")
    root = os.path.dirname(HERE)
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run(
        [sys.executable, "-m", "fastdigits", "show", str(bad)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert p.returncode == 2 and p.stdout == ""
    assert len(p.stderr.splitlines()) == 1 and p.stderr.startswith("fastdigits show: error:")
    p = subprocess.run(
        [sys.executable, "-m", "fastdigits", "show", TEST_X, "-i", "0", "--numbers"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert p.returncode == 0 and p.stdout.startswith("#0\n")


@pytest.mark.parametrize("argv", [["info", TEST_Y], ["show", TEST_X, "-r", "0:50"]])
def test_closed_stdout_pipe_is_quiet(argv):
    """`fastdigits show ... | head`: a reader that goes away is no traceback."""
    root = os.path.dirname(HERE)
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.Popen(
        [sys.executable, "-m", "fastdigits"] + argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    p.stdout.close()  # before the command had time to write
    err = p.stderr.read().decode()
    p.wait()
    assert p.returncode == 1
    assert err == ""


# --- audit: pipes read once, statistics that cannot overflow -----------------


def _run_piped(argv, data):
    """``python -m fastdigits ARGV`` with ``data`` on its standard input."""
    root = os.path.dirname(HERE)
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, "-m", "fastdigits"] + argv,
        input=data,
        capture_output=True,
        env=env,
        timeout=120,
    )


@pytest.mark.parametrize("no_stats", [False, True])
def test_info_reads_a_pipe_once(capsys, no_stats):
    # it said: not a valid IDX file: empty IDX file (the header had used the pipe up)
    with open(TEST_Y, "rb") as f:
        data = f.read()
    flags = ["--no-stats"] if no_stats else []
    proc = _run_piped(["info", "/dev/stdin"] + flags, data)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    f = fields(proc.stdout.decode())
    _, out, _ = run_cli(capsys, "info", TEST_Y, *flags)
    want = fields(out)
    assert f["file size"] == "{:,} bytes".format(len(data))  # not 0 bytes
    for key in want:
        if key != "file":
            assert f[key] == want[key], key
    assert ("class counts" in f) is not no_stats


@pytest.mark.parametrize("compress", [False, True])
def test_show_reads_a_pipe_once(tmp_path, capsys, test_set, compress):
    x, _ = test_set
    path = write_idx(tmp_path / "x.idx", x[:3], compress)
    with open(path, "rb") as f:
        data = f.read()
    proc = _run_piped(["show", "/dev/stdin", "--range", "0:2", "--numbers"], data)
    assert proc.returncode == 0, proc.stderr
    _, want, _ = run_cli(capsys, "show", path, "--range", "0:2", "--numbers")
    assert proc.stdout.decode() == want and want.startswith("#0")


def test_info_huge_and_infinite_floats(tmp_path, capsys, recwarn):
    # it printed mean / std : inf / nan and NumPy's overflow warnings
    big = write_idx(tmp_path / "big.idx", np.array([1e308, 1e308, -1e308, 5.0]))
    rc, out, err = run_cli(capsys, "info", big)
    assert rc == 0 and err == ""
    f = fields(out)
    assert f["min / max"] == "-1e+308 / 1e+308"
    mean, std = (float(v) for v in f["mean / std"].split(" / "))
    assert mean == pytest.approx(2.5e307, rel=1e-5)
    assert std == pytest.approx(np.sqrt(np.mean((np.array([4, 4, -4, 0]) - 1.0) ** 2)) * 2.5e307)
    allinf = write_idx(tmp_path / "inf.idx", np.full(10, np.inf, np.float32))
    rc, out, err = run_cli(capsys, "info", allinf)
    assert rc == 0 and err == ""
    f = fields(out)
    assert f["min / max"] == "inf / inf"
    assert f["mean / std"] == "none (no finite values)"
    assert f["inf values"] == "10 +inf, 0 -inf"
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_info_stats_skip_nan_and_inf():
    from fastdigits.commands import info

    x = np.array([np.inf, 1.0, np.nan, 3.0, -np.inf, 3.0], np.float64)
    st = info.data_stats(x)
    assert (st["nan"], st["posinf"], st["neginf"]) == (1, 1, 1)
    assert (st["min"], st["max"]) == (-np.inf, np.inf)
    assert st["mean"] == pytest.approx(7 / 3) and st["std"] == pytest.approx(np.std([1, 3, 3]))
    # scaling by powers of two changes nothing where nothing overflows
    r = np.random.default_rng(1).standard_normal(600_001) * 1e5
    st = info.data_stats(r)
    assert st["mean"] == pytest.approx(r.mean(), rel=1e-9, abs=1e-6)
    assert st["std"] == pytest.approx(r.std(), rel=1e-12)
