"""Terminal rendering, PNG montages, Jupyter reprs and training plots."""

import base64
import gzip
import io
import os
import re
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fastdigits
from fastdigits import plots, png

from PIL import Image  # Pillow and matplotlib are test extras

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "golden")
DATA = os.path.join(os.path.dirname(fastdigits.__file__), "data", "mnist")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ESC = re.compile(r"\x1b\[([0-9;]*)m")


def _gz_idx(name, offset):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


@pytest.fixture(scope="module")
def mnist_head():
    """First 16 train images and labels, decoded here without fastdigits."""
    with gzip.open(os.path.join(DATA, "train-images-idx3-ubyte.gz"), "rb") as f:
        raw = f.read(16 + 16 * 784)
    x = np.frombuffer(raw, np.uint8, offset=16).reshape(16, 28, 28)
    with gzip.open(os.path.join(DATA, "train-labels-idx1-ubyte.gz"), "rb") as f:
        y = np.frombuffer(f.read(8 + 16), np.uint8, offset=8)
    return x, y


def golden(name):
    with open(os.path.join(GOLDEN, name), encoding="utf-8") as f:
        return f.read()


def _chunks(text, per_image_lines):
    """Rows of side-by-side tiles: each a title line + the image lines, then a blank line."""
    assert text.endswith("\n")
    lines = text[:-1].split("\n")
    k = 1 + per_image_lines
    assert (len(lines) + 1) % (k + 1) == 0, (len(lines), k)
    for j in range(k, len(lines), k + 1):
        assert lines[j] == ""
    return [lines[j : j + k] for j in range(0, len(lines), k + 1)]


def images_strategy(max_n=4, max_hw=9):
    return hnp.arrays(
        np.uint8, st.tuples(st.integers(1, max_n), st.integers(1, max_hw), st.integers(1, max_hw))
    )


# --- known digits, golden renderings -----------------------------------------


def test_data_facts(mnist_head):
    _, y = mnist_head
    assert list(y[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]


@pytest.mark.parametrize(
    "mode,color,name",
    [
        ("blocks", False, "train_0-2_blocks.txt"),
        ("blocks", True, "train_0-2_blocks_color.txt"),
        ("ascii", None, "train_0-2_ascii.txt"),
    ],
)
def test_golden_first_two_train_digits(mnist_head, mode, color, name):
    x, y = mnist_head
    text = fastdigits.render(x[:2], y[:2], mode=mode, color=color, width=80)
    assert text == golden(name)
    assert text.splitlines()[0].split() == ["#0:", "5", "#1:", "0"]


def test_golden_numbers_first_digit(mnist_head):
    x, y = mnist_head
    text = fastdigits.render(x[0], y[0], mode="numbers")
    assert text == golden("train_0_numbers.txt")
    rows = text.splitlines()
    assert rows[0] == "#0: 5"
    # aligned columns: every row has the same length and parses back exactly
    assert len({len(r) for r in rows[1:]}) == 1
    assert np.array_equal(np.array([r.split() for r in rows[1:]], dtype=int), x[0])


def test_golden_test_set_digits():
    x = _gz_idx("t10k-images-idx3-ubyte.gz", 16)[: 3 * 784].reshape(3, 28, 28)
    y = _gz_idx("t10k-labels-idx1-ubyte.gz", 8)[:3]
    assert fastdigits.render(x, y, color=False, width=90) == golden("t10k_0-3_blocks.txt")


# --- decoding the renderings back --------------------------------------------


def _decode_color_blocks(lines, h, w):
    """Palette code of each pixel from half-block lines with 256-colour escapes."""
    out = np.full((h + (h % 2), w), -1)
    for r, line in enumerate(lines):
        fg = bg = None
        col = 0
        pos = 0
        for m in ESC.finditer(line):
            for ch in line[pos : m.start()]:
                assert ch == "\u2580"
                out[2 * r, col] = fg
                out[2 * r + 1, col] = bg if bg is not None else -2
                col += 1
            params = m.group(1).split(";")
            if params[:2] == ["38", "5"]:
                fg = int(params[2])
            elif params[:2] == ["48", "5"]:
                bg = int(params[2])
            elif params == ["49"] or params == ["0"]:
                bg = None
            pos = m.end()
        assert line[pos:] == ""
        assert col == w
    return out[:h]


@settings(max_examples=40, deadline=None)
@given(images_strategy())
def test_color_blocks_give_nearest_palette_grey(imgs):
    n, h, w = imgs.shape
    text = fastdigits.render(imgs, color=True, width=w)  # one image per row
    chunks = _chunks(text, (h + 1) // 2)
    assert len(chunks) == n
    levels = {16: 0, 231: 255, **{232 + k: 8 + 10 * k for k in range(24)}}
    for i, lines in enumerate(chunks):
        assert lines[0] == ("#%d" % i)[:w]
        assert len(lines) == 1 + (h + 1) // 2
        codes = _decode_color_blocks(lines[1:], h, w)
        grey = np.vectorize(levels.get)(codes)
        err = np.abs(grey - imgs[i].astype(int))
        best = np.min(
            np.abs(np.array(list(levels.values()))[None, :] - imgs[i].reshape(-1, 1).astype(int)),
            axis=1,
        )
        assert np.array_equal(err.reshape(-1), best)


@settings(max_examples=40, deadline=None)
@given(images_strategy())
def test_plain_blocks_show_ink_at_half_grey(imgs):
    n, h, w = imgs.shape
    text = fastdigits.render(imgs, color=False, width=w)
    for i, chunk in enumerate(_chunks(text, (h + 1) // 2)):
        lines = chunk[1:]
        ink = np.zeros((h + h % 2, w), bool)
        glyph = {" ": (0, 0), "\u2580": (1, 0), "\u2584": (0, 1), "\u2588": (1, 1)}
        for r, line in enumerate(lines):
            assert len(line) <= w
            for c, ch in enumerate(line.ljust(w)):
                ink[2 * r, c], ink[2 * r + 1, c] = glyph[ch]
        assert np.array_equal(ink[:h], imgs[i] >= 128)
        assert not ink[h:].any()


@settings(max_examples=40, deadline=None)
@given(images_strategy())
def test_ascii_ramp_levels(imgs):
    n, h, w = imgs.shape
    text = fastdigits.render(imgs, mode="ascii", width=w)
    ramp = fastdigits.viz.ASCII_RAMP
    assert ramp[0] == " " and len(ramp) == 10
    for i, chunk in enumerate(_chunks(text, h)):
        lines = chunk[1:]
        got = np.array([[ramp.index(c) for c in ln.ljust(w)] for ln in lines])
        assert np.array_equal(got, imgs[i].astype(int) * 10 // 256)


@settings(max_examples=30, deadline=None)
@given(
    hnp.arrays(
        np.float64, st.tuples(st.integers(1, 6), st.integers(1, 6)), elements=st.floats(-1e6, 1e6)
    )
)
def test_numbers_floats_parse_back(img):
    rows = fastdigits.render(img, mode="numbers").splitlines()[1:]
    assert len({len(r) for r in rows}) == 1
    back = np.array([r.split() for r in rows], dtype=float)
    assert np.allclose(back, img, rtol=1e-3, atol=1e-300)


def test_side_by_side_wraps_to_width():
    imgs = np.zeros((5, 4, 6), np.uint8)
    imgs[:, 0, 0] = 255
    # each tile is 6 wide plus a gap of 2: width 22 fits 3 per row
    text = fastdigits.render(imgs, list("abcde"), color=False, width=22)
    chunks = _chunks(text, 2)
    assert len(chunks) == 2
    assert chunks[0][0].split() == ["#0:", "a", "#1:", "b", "#2:", "c"]
    assert chunks[1][0].split() == ["#3:", "d", "#4:", "e"]
    assert chunks[0][1] == "\u2580       \u2580       \u2580"
    assert chunks[1][1] == "\u2580       \u2580"
    assert chunks[0][2] == chunks[1][2] == ""
    # a width narrower than one image still shows one per row
    assert len(_chunks(fastdigits.render(imgs, width=1), 2)) == 5


def test_titles_start_and_truncation():
    imgs = np.zeros((2, 2, 3), np.uint8)
    text = fastdigits.render(imgs, color=False, width=100, start=40)
    assert text.splitlines()[0].split() == ["#40", "#41"]
    text = fastdigits.render(imgs, titles=["abcdef", "xy"], color=False, width=100)
    assert text.splitlines()[0] == "abc  xy"  # cut to the 3-column tile width


def test_odd_height_color_last_row_alone():
    img = np.array([[0, 255], [255, 0], [200, 10]], np.uint8)
    lines = fastdigits.render(img, color=True).splitlines()[1:]
    assert len(lines) == 2
    assert "\x1b[49m" in lines[1] and lines[1].endswith("\x1b[0m")
    codes = _decode_color_blocks(lines, 3, 2)
    assert list(codes[2]) == [fastdigits.viz._GREY_LUT[200], fastdigits.viz._GREY_LUT[10]]


def test_to_uint8_rules():
    u8 = np.arange(256, dtype=np.uint8).reshape(16, 16)
    assert fastdigits.to_uint8(u8) is u8
    assert np.array_equal(fastdigits.to_uint8(u8.astype(np.int32)), u8)
    assert np.array_equal(fastdigits.to_uint8(np.array([True, False])), [255, 0])
    f = np.array([0.0, 0.5, 1.0], np.float32)
    assert np.array_equal(fastdigits.to_uint8(f), [0, 128, 255])
    # normalised data (negative values): stretched min..max over the batch
    z = np.array([[-1.0, 0.0], [1.0, 3.0]])
    assert np.array_equal(fastdigits.to_uint8(z), [[0, 64], [128, 255]])
    assert np.array_equal(fastdigits.to_uint8(np.array([-5, 5, 1000], np.int16)), [0, 3, 255])
    assert np.array_equal(fastdigits.to_uint8(np.array([np.nan, 0.25, 1.0])), [0, 64, 255])
    assert np.array_equal(fastdigits.to_uint8(np.full(3, 7.5)), [0, 0, 0])
    assert np.array_equal(fastdigits.to_uint8(np.full(3, np.nan)), [0, 0, 0])


def test_float_and_torch_inputs_render_like_uint8(mnist_head):
    x, y = mnist_head
    ref = fastdigits.render(x[:2], y[:2], color=True, width=80)
    assert fastdigits.render(x[:2] / 255.0, y[:2], color=True, width=80) == ref
    assert (
        fastdigits.render(x[:2].astype(np.float32) / np.float32(255), y[:2], color=True, width=80)
        == ref
    )
    import torch

    assert (
        fastdigits.render(
            torch.from_numpy(x[:2].copy()), torch.from_numpy(y[:2].copy()), color=True, width=80
        )
        == ref
    )
    nchw = torch.from_numpy(x[:2].copy()).unsqueeze(1).float() / 255  # (N, 1, H, W)
    assert fastdigits.render(nchw, y[:2], color=True, width=80) == ref
    assert np.array_equal(png.montage(nchw)[0], png.montage(x[:2])[0])


def test_read_only_input_ok(mnist_head):
    x, _ = mnist_head
    assert not x.flags.writeable
    assert "#0" in fastdigits.render(x[:1], color=False)


def test_show_writes_to_file_and_auto_color(mnist_head, monkeypatch):
    x, y = mnist_head
    buf = io.StringIO()
    fastdigits.show(x[:2], y[:2], width=80, file=buf)  # not a terminal: no colour
    assert buf.getvalue() == golden("train_0-2_blocks.txt")

    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    tty = Tty()
    fastdigits.show(x[:2], y[:2], width=80, file=tty)
    assert tty.getvalue() == golden("train_0-2_blocks_color.txt")
    monkeypatch.setenv("NO_COLOR", "1")
    tty = Tty()
    fastdigits.show(x[:2], y[:2], width=80, file=tty)
    assert tty.getvalue() == golden("train_0-2_blocks.txt")


@pytest.mark.parametrize(
    "bad,exc,match",
    [
        (
            np.zeros((2, 2, 2, 2)),
            ValueError,
            r"images must be one image .* got shape \(2, 2, 2, 2\)",
        ),
        (np.zeros(5), ValueError, "images must be one image"),
        (np.zeros((0, 28, 28)), ValueError, "images is empty"),
        (np.zeros((2, 0, 3)), ValueError, "empty image size"),
        (np.array([["a"]]), TypeError, "images must hold numbers"),
    ],
)
def test_bad_images(bad, exc, match):
    with pytest.raises(exc, match=match):
        fastdigits.render(bad)


def test_bad_arguments():
    imgs = np.zeros((3, 4, 4), np.uint8)
    with pytest.raises(ValueError, match="labels has 2 entries but there are 3 images"):
        fastdigits.render(imgs, [1, 2])
    with pytest.raises(ValueError, match="labels must be 1-D"):
        fastdigits.render(imgs, np.eye(3))
    with pytest.raises(ValueError, match="titles has 1 entries"):
        fastdigits.render(imgs, titles=["x"])
    with pytest.raises(ValueError, match="mode must be one of"):
        fastdigits.render(imgs, mode="braille")
    with pytest.raises(ValueError, match="width must be a positive int"):
        fastdigits.render(imgs, width=0)
    with pytest.raises(TypeError, match="start must be an int"):
        fastdigits.render(imgs, start=1.5)


# --- PNG montages ----------------------------------------------------------


def _decode_png(data_or_path):
    img = Image.open(io.BytesIO(data_or_path) if isinstance(data_or_path, bytes) else data_or_path)
    assert img.format == "PNG" and img.mode == "L"
    return np.asarray(img)


def _check_montage(pixels, imgs_u8, ncols, scale, labelled):
    n, h, w = imgs_u8.shape
    c = min(ncols, n)
    r = -(-n // c)
    lh = png.label_height(scale) if labelled else 0
    assert pixels.shape == (
        png.PAD + r * (lh + h * scale + png.PAD),
        png.PAD + c * (w * scale + png.PAD),
    )
    covered = np.zeros(pixels.shape, bool)
    for i in range(n):
        x0 = png.PAD + (i % c) * (w * scale + png.PAD)
        y0 = png.PAD + (i // c) * (lh + h * scale + png.PAD) + lh
        tile = pixels[y0 : y0 + h * scale, x0 : x0 + w * scale]
        # every enlarged pixel is a scale x scale square of the input's grey
        blocks = tile.reshape(h, scale, w, scale)
        assert np.array_equal(blocks, np.broadcast_to(imgs_u8[i][:, None, :, None], blocks.shape))
        covered[y0 : y0 + h * scale, x0 : x0 + w * scale] = True
        if labelled:
            strip = pixels[y0 - lh : y0, x0 : x0 + w * scale]
            assert strip.max() > 128  # the label text is drawn
            covered[y0 - lh : y0, x0 : x0 + w * scale] = True
    assert (pixels[~covered] == png.PAD_GREY).all()


@pytest.mark.parametrize("n,ncols,scale", [(1, 10, 1), (7, 3, 2), (10, 10, 4), (12, 5, 3)])
def test_to_png_pixels_round_trip(tmp_path, mnist_head, n, ncols, scale):
    x, y = mnist_head
    path = tmp_path / "grid.png"
    assert fastdigits.to_png(x[:n], path, ncols=ncols, scale=scale) == path
    _check_montage(_decode_png(path), x[:n], ncols, scale, False)
    path2 = str(tmp_path / "grid_labels.png")
    fastdigits.to_png(x[:n], path2, labels=y[:n], ncols=ncols, scale=scale)
    _check_montage(_decode_png(path2), x[:n], ncols, scale, True)
    assert oct(os.stat(path2).st_mode & 0o777) == oct(0o644)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


@settings(max_examples=15, deadline=None)
@given(images_strategy(max_n=7, max_hw=7), st.integers(1, 4), st.integers(1, 3))
def test_png_bytes_pixels_property(imgs, ncols, scale):
    data = png.png_bytes(imgs, ncols=ncols, scale=scale)
    assert data.startswith(PNG_SIGNATURE)
    _check_montage(_decode_png(data), imgs, ncols, scale, False)
    pixels, boxes = png.montage(imgs, ncols=ncols, scale=scale)
    assert np.array_equal(pixels, _decode_png(data))
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        assert np.array_equal(pixels[y0:y1:scale, x0:x1:scale], imgs[i])


def test_to_png_float_images_and_file_object(mnist_head):
    x, y = mnist_head
    buf = io.BytesIO()
    assert fastdigits.to_png(x[:4] / 255.0, buf, labels=y[:4], scale=2) is buf
    _check_montage(_decode_png(buf.getvalue()), x[:4], 10, 2, True)


def test_to_png_atomic_keeps_old_file(tmp_path, mnist_head, monkeypatch):
    x, _ = mnist_head
    path = tmp_path / "keep.png"
    path.write_bytes(b"old")

    def boom(pixels, fp):
        fp.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(png, "_encode", boom)
    with pytest.raises(OSError, match="disk full"):
        fastdigits.to_png(x[:2], path)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["keep.png"]


def test_to_png_bad_arguments(tmp_path, mnist_head):
    x, y = mnist_head
    with pytest.raises(ValueError, match="ncols must be >= 1"):
        fastdigits.to_png(x[:2], tmp_path / "a.png", ncols=0)
    with pytest.raises(TypeError, match="scale must be an int"):
        fastdigits.to_png(x[:2], tmp_path / "a.png", scale=1.5)
    with pytest.raises(ValueError, match="labels has 3 entries but there are 2 images"):
        fastdigits.to_png(x[:2], tmp_path / "a.png", labels=y[:3])
    with pytest.raises(TypeError, match="path must be a file name"):
        fastdigits.to_png(x[:2], 42)
    with pytest.raises(ValueError, match="too large"):
        fastdigits.to_png(np.zeros((1, 1000, 1000), np.uint8), tmp_path / "big.png", scale=64)
    assert not os.path.exists(tmp_path / "a.png")


def test_missing_pillow_says_how_to_install(tmp_path, mnist_head, monkeypatch):
    x, y = mnist_head
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r"pip install fastdigits\[png\]"):
        fastdigits.to_png(x[:2], tmp_path / "a.png")
    d = fastdigits.Digits(x[:2], y[:2])
    assert d._repr_png_() is None  # Jupyter then falls back to the HTML/text
    html = d._repr_html_()
    assert html.startswith("<pre>") and "#0: 5" in html
    assert not os.path.exists(tmp_path / "a.png")


# --- Jupyter ---------------------------------------------------------------


def test_digits_reprs_are_valid_png(mnist_head):
    x, y = mnist_head
    d = fastdigits.Digits(x[:12], y[:12], ncols=6)
    data = d._repr_png_()
    assert data.startswith(PNG_SIGNATURE)
    _check_montage(_decode_png(data), x[:12], 6, 2, True)
    html = d._repr_html_()
    m = re.fullmatch(
        r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)" '
        r'style="image-rendering: pixelated"/>',
        html,
    )
    assert m, html[:200]
    assert base64.b64decode(m.group(1)) == data
    assert "12 images 28x28" in m.group(2)
    assert len(d) == 12
    assert repr(d) == "Digits(12 images 28x28 uint8, labels 5 0 4 1 9 2 1 3 1 4 ...)"
    assert str(d) == fastdigits.render(x[:12], y[:12], color=False)


def test_single_image_is_one_picture(mnist_head):
    x, y = mnist_head
    d = fastdigits.Digits(x[0])
    pixels = _decode_png(d._repr_png_())
    assert pixels.shape == (28 * 8 + 2 * png.PAD, 28 * 8 + 2 * png.PAD)
    _check_montage(pixels, x[:1], 10, 8, False)
    assert repr(d) == "Digits(1 image 28x28 uint8)"
    d = fastdigits.Digits(x[1], 0, scale=3)
    _check_montage(_decode_png(d._repr_png_()), x[1:2], 10, 3, True)


def test_digits_display_limit(mnist_head, tmp_path):
    x, y = mnist_head
    d = fastdigits.Digits(x, y, limit=5, ncols=5)
    d.to_png(tmp_path / "all.png")  # writes every image, not just the displayed ones
    _check_montage(_decode_png(tmp_path / "all.png"), x, 5, 2, True)
    _check_montage(_decode_png(d._repr_png_()), x[:5], 5, 2, True)
    html = d._repr_html_()
    assert html.endswith("<p>first 5 of 16 images</p>")
    assert len(d) == 16 and "16 images" in repr(d)
    assert "<p>" not in fastdigits.Digits(x, y)._repr_html_()


def test_digits_bad_arguments(mnist_head):
    x, _ = mnist_head
    with pytest.raises(ValueError, match="ncols"):
        fastdigits.Digits(x[:2], ncols=0)
    with pytest.raises(ValueError, match="scale"):
        fastdigits.Digits(x[:2], scale=0)
    with pytest.raises(ValueError, match="labels has 1 entries"):
        fastdigits.Digits(x[:2], [1])
    with pytest.raises(ValueError, match="limit"):
        fastdigits.Digits(x[:2], limit=0)
    # start was int()-converted: "x" a bare ValueError, 2.7 silently 2
    for bad in ("x", 2.7, True):
        with pytest.raises(TypeError, match="start must be an int"):
            fastdigits.Digits(x[:2], start=bad)


# --- training plots --------------------------------------------------------


def _history(epochs=4, with_val=True):
    rng = np.random.default_rng(0)
    hist = []
    for e in range(1, epochs + 1):
        row = {
            "epoch": e,
            "loss": 1.0 / e,
            "train_acc": 1 - 0.5 / e,
            "seconds": float(rng.uniform(0.5, 1.5)),
        }
        if with_val:
            row.update(val_loss=1.1 / e, val_acc=1 - 0.6 / e)
        hist.append(row)
    return hist


@pytest.mark.parametrize("with_val", [True, False])
def test_plot_training_writes_png(tmp_path, with_val):
    out = tmp_path / "plots" / "run1"
    path = plots.plot_training(_history(with_val=with_val), out)
    assert path == os.path.join(str(out), "training.png")
    pixels = np.asarray(Image.open(path).convert("L"))
    assert pixels.shape == (400, 1000)
    assert pixels.min() < 100 and pixels.max() == 255  # something is drawn on white


def test_plot_training_bad_history(tmp_path):
    with pytest.raises(ValueError, match="non-empty list"):
        plots.plot_training([], tmp_path)
    with pytest.raises(ValueError, match="non-empty list"):
        plots.plot_training({"epoch": 1}, tmp_path)
    with pytest.raises(TypeError, match=r"history\[1\] must be a dict"):
        plots.plot_training([{"epoch": 1}, 3], tmp_path)
    with pytest.raises(ValueError, match=r"history\[0\] has no 'epoch'"):
        plots.plot_training([{"loss": 1.0}], tmp_path)
    assert os.listdir(tmp_path) == []


def test_plot_confusion_writes_png(tmp_path):
    rng = np.random.default_rng(1)
    t = rng.integers(0, 10, 500)
    p = np.where(rng.random(500) < 0.8, t, rng.integers(0, 10, 500))
    path = plots.plot_confusion(t, p, tmp_path / "sub" / "cm.png")
    img = Image.open(path)
    assert img.format == "PNG" and img.size[0] >= 400 and img.size[1] >= 400


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=60))
def test_confusion_matrix_counts(pairs):
    t = np.array([a for a, _ in pairs], dtype=np.int64)
    p = np.array([b for _, b in pairs], dtype=np.int64)
    cm = plots.confusion_matrix(t, p, n_classes=7)
    ref = np.zeros((7, 7), np.int64)
    for a, b in pairs:
        ref[a, b] += 1
    assert np.array_equal(cm, ref)
    if pairs:
        k = max(max(a, b) for a, b in pairs) + 1
        assert plots.confusion_matrix(t, p).shape == (k, k)


def test_confusion_matrix_bad_input():
    with pytest.raises(ValueError, match="differ in length"):
        plots.confusion_matrix([1, 2], [1])
    with pytest.raises(ValueError, match="n_classes is 2 but a label 4 was seen"):
        plots.confusion_matrix([1, 4], [1, 1], n_classes=2)
    with pytest.raises(ValueError, match="y_true holds a negative class label"):
        plots.confusion_matrix([-1], [1])
    with pytest.raises(TypeError, match="y_pred must hold integer class labels"):
        plots.confusion_matrix([1], [0.5])


@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(
        np.float64, st.tuples(st.integers(1, 30), st.integers(2, 5)), elements=st.floats(0, 1)
    ),
    st.data(),
    st.integers(0, 40),
)
def test_most_confident_errors_matches_brute_force(proba, data, n):
    y = np.array(
        data.draw(
            st.lists(
                st.integers(0, proba.shape[1] - 1), min_size=proba.shape[0], max_size=proba.shape[0]
            )
        )
    )
    got = plots.most_confident_errors(proba, y, n)
    pred = [int(np.argmax(row)) for row in proba]
    wrong = [i for i in range(len(y)) if pred[i] != y[i]]
    ref = sorted(wrong, key=lambda i: (-proba[i, pred[i]], i))[:n]
    assert got.dtype == np.int64
    assert list(got) == ref


def test_most_confident_errors_bad_input():
    p = np.eye(3)
    with pytest.raises(ValueError, match="proba must be 2-D"):
        plots.most_confident_errors(p[0], [0], 1)
    with pytest.raises(ValueError, match="y_true has 2 labels but proba has 3 rows"):
        plots.most_confident_errors(p, [0, 1], 1)
    with pytest.raises(ValueError, match="n must be >= 0"):
        plots.most_confident_errors(p, [0, 1, 2], -1)
    with pytest.raises(TypeError, match="n must be an int"):
        plots.most_confident_errors(p, [0, 1, 2], 1.0)
    with pytest.raises(ValueError, match="y_true holds class 3 but proba has only 3"):
        plots.most_confident_errors(p, [0, 1, 3], 1)


def test_show_errors_prints_worst_digits(mnist_head):
    x, y = mnist_head
    proba = np.full((16, 10), 0.01)
    proba[np.arange(16), y] = 0.91  # right, except:
    proba[3] = 0.0
    proba[3, 7] = 0.6
    proba[3, y[3]] = 0.4  # 1 read as 7 (60%)
    proba[5] = 0.0
    proba[5, 8] = 0.95
    proba[5, y[5]] = 0.05  # 2 read as 8 (95%)
    buf = io.StringIO()
    idx = plots.show_errors(x, proba, y, 5, color=False, width=80, file=buf)
    assert list(idx) == [5, 3]
    text = buf.getvalue()
    assert text.splitlines()[0].split() == ["#5", "t2", "p8", "95%", "#3", "t1", "p7", "60%"]
    assert text == fastdigits.render(
        x[[5, 3]], titles=["#5 t2 p8 95%", "#3 t1 p7 60%"], color=False, width=80
    )
    buf = io.StringIO()
    proba2 = np.eye(10)[y]
    assert plots.show_errors(x, proba2, y, 3, file=buf).size == 0
    assert buf.getvalue() == "no misclassified images\n"


def test_missing_matplotlib_says_how_to_install(tmp_path, monkeypatch):
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install fastdigits\[plot\]"):
        plots.plot_training(_history(), tmp_path)
    with pytest.raises(ImportError, match=r"pip install fastdigits\[plot\]"):
        plots.plot_confusion([0, 1], [0, 1], tmp_path / "cm.png")
    assert os.listdir(tmp_path) == []


# --- found by an audit of the plots and image helpers (each failed before) ---


def test_plots_replace_their_file_atomically_and_are_png(tmp_path, monkeypatch):
    # savefig wrote straight onto the target: a failed write truncated the
    # old plot; plot_confusion also wrote PNG bytes to any file name
    path = str(tmp_path / "cm.png")
    plots.plot_confusion([0, 1], [1, 1], path)
    old = open(path, "rb").read()
    out = str(tmp_path / "run")
    plots.plot_training(_history(), out)
    old_training = open(os.path.join(out, "training.png"), "rb").read()
    import matplotlib.figure

    def failing_savefig(self, f, **kw):
        f.write(b"\x89PNG partial")
        raise OSError(27, "File too large")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", failing_savefig)
    with pytest.raises(OSError, match="File too large"):
        plots.plot_confusion([0, 1], [0, 1], path)
    with pytest.raises(OSError, match="File too large"):
        plots.plot_training(_history(), out)
    assert open(path, "rb").read() == old
    assert open(os.path.join(out, "training.png"), "rb").read() == old_training
    assert sorted(os.listdir(tmp_path)) == ["cm.png", "run"]
    monkeypatch.undo()
    for name in ("cm.txt", "cm"):
        with pytest.raises(ValueError, match="must end in .png"):
            plots.plot_confusion([0, 1], [1, 1], str(tmp_path / name))


def test_confusion_sizes_are_bounded_before_allocating():
    # one label of 10**6 asked for a 7 TiB matrix; n_classes=5000 drew a
    # 250,000-pixel figure for 10 s, then std::bad_alloc
    with pytest.raises(ValueError, match="at most 8192 classes"):
        plots.confusion_matrix([10**6], [0])
    assert plots.confusion_matrix([8191], [0]).shape == (8192, 8192)
    with pytest.raises(ValueError, match="at most 100 classes, got 5000"):
        plots.plot_confusion([0], [0], "never.png", n_classes=5000)
    with pytest.raises(ValueError, match="at most 100 classes, got 101"):
        plots.plot_confusion([100], [0], "never.png")
    assert not os.path.exists("never.png")


def test_to_uint8_wide_ranges_and_infinities():
    # -1e308..1e308 came out all black (hi - lo overflowed) and +inf black
    np.testing.assert_array_equal(
        fastdigits.to_uint8(np.array([-1e308, 0.0, 1e308])), [0, 128, 255]
    )
    np.testing.assert_array_equal(
        fastdigits.to_uint8(np.array([np.inf, 2.0, 3.0, -np.inf, np.nan])), [255, 0, 255, 0, 0]
    )
    np.testing.assert_array_equal(fastdigits.to_uint8(np.array([np.inf, 0.5])), [255, 128])


def test_thread_counts_take_numpy_integers():
    # set_num_threads(np.int64(2)) was "n_threads must be an int, got int64"
    before = fastdigits.get_num_threads()
    with fastdigits.threads(np.int32(1)):
        assert fastdigits.get_num_threads() == 1
    fastdigits.set_num_threads(np.int64(1))
    try:
        assert fastdigits.get_num_threads() == 1
    finally:
        fastdigits.set_num_threads(None)
    assert fastdigits.get_num_threads() == before
    with pytest.raises(TypeError, match="n_threads must be an int"):
        fastdigits.set_num_threads(np.True_)


def test_label_and_history_messages_name_the_problem(tmp_path):
    # (an audit: a uint64 label of 2**64 - 1 was reported as "-1", a dict of
    # labels as one label, a text loss as "could not convert string to float")
    for bad in (np.array([0, 2**64 - 1], np.uint64), np.array([0.0, 1e30])):
        with pytest.raises(ValueError, match="y_true holds a class label too large"):
            plots.confusion_matrix(bad, np.array([0, 1]))
    images = np.zeros((2, 4, 4), np.uint8)
    for labels in ({0: "a", 1: "b"}, {3, 4}):
        with pytest.raises(TypeError, match="labels must be a sequence of labels, one per image"):
            fastdigits.render(images, labels, color=False)
    rows = [{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": "0.4"}]
    with pytest.raises(
        TypeError, match=r"history\[1\]\['loss'\] must be a number or None, got str"
    ):
        plots.plot_training(rows, tmp_path)
    assert not os.listdir(tmp_path)


def test_montage_size_is_bounded_before_allocating(monkeypatch):
    # 2**31 pixels were allowed: a 2 GiB canvas (an audit)
    images = np.zeros((5000, 28, 28), np.uint8)
    big = np.full
    sizes = []
    monkeypatch.setattr(
        np, "full", lambda shape, *a, **k: sizes.append(shape) or big(shape, *a, **k)
    )
    with pytest.raises(ValueError, match="more than 67108864: too large; show fewer images"):
        png.montage(images, ncols=10, scale=8)
    assert sizes == []
    pixels, _ = png.montage(images[:4500], ncols=10, scale=4)
    assert pixels.size <= png.MAX_MONTAGE_PIXELS
    with pytest.raises(ValueError, match="show fewer images"):
        fastdigits.Digits(images[:200], scale=100)._repr_png_()
