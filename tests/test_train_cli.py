"""`fastdigits train` and `fastdigits predict`."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

import fastdigits
from fastdigits.cli import main
from fastdigits.commands import train as train_cmd
from fastdigits.nn import MLP

from _subprocess import run_fastdigits

MNIST = os.path.join(os.path.dirname(fastdigits.__file__), "data", "mnist")
QUICK = ["--limit", "2000", "--epochs", "1", "--layers", "48", "--no-progress"]


def _cli(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_train_prints_epochs_and_accuracy(capsys):
    rc, out, err = _cli(capsys, "train", *QUICK, "--epochs", "2")
    assert rc == 0, err
    epochs = re.findall(
        r"epoch +(\d)/2 +loss ([\d.]+) +train ([\d.]+)% +test ([\d.]+)% +([\d.]+) s", out
    )
    assert [e[0] for e in epochs] == ["1", "2"]
    assert float(epochs[1][1]) < float(epochs[0][1])
    acc = float(re.search(r"fast test accuracy: ([\d.]+)%", out).group(1))
    assert acc > 85.0 and acc == float(epochs[1][3])
    assert "784-48-10" in out


def test_backend_both_reports_speedup_and_agrees(capsys):
    rc, out, err = _cli(capsys, "train", *QUICK, "--backend", "both", "--threads", "2")
    assert rc == 0, err
    accs = dict(re.findall(r"(fast|numpy) test accuracy: ([\d.]+)%", out))
    assert set(accs) == {"fast", "numpy"}
    assert abs(float(accs["fast"]) - float(accs["numpy"])) <= 0.2
    m = re.search(r"numpy time: ([\d.]+) s, fastdigits time: ([\d.]+) s, speed-up: ([\d.]+)x", out)
    assert m
    t_np, t_fast, ratio = (float(g) for g in m.groups())
    # times are printed to 0.01 s: the ratio must lie within that rounding
    assert (t_np - 0.005) / (t_fast + 0.005) - 0.006 <= ratio
    assert ratio <= (t_np + 0.005) / max(t_fast - 0.005, 1e-9) + 0.006


def test_train_model_returns_models_history_predictions():
    args = train_cmd.build_args(QUICK + ["--backend", "numpy", "--seed", "3"])
    res = train_cmd.train_model(args)
    assert list(res.models) == ["numpy"] and res.model is res.models["numpy"]
    assert len(res.histories["numpy"]) == 1
    assert res.test_pred["numpy"].shape == res.y_test.shape == (10000,)
    assert res.test_acc["numpy"] == pytest.approx((res.test_pred["numpy"] == res.y_test).mean())
    assert res.model.seed == 3


def test_progress_bar_goes_to_stderr(capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # a bar only on a terminal
    rc, out, err = _cli(capsys, "train", "--limit", "1500", "--epochs", "1", "--layers", "16")
    assert rc == 0
    assert "epoch 1" in err and "step" in err
    assert "step/s" not in out


def test_save_then_predict(tmp_path, capsys):
    path = str(tmp_path / "model.npz")
    rc, out, err = _cli(capsys, "train", *QUICK, "--save", path)
    assert rc == 0, err
    acc = float(re.search(r"fast test accuracy: ([\d.]+)%", out).group(1))
    images = os.path.join(MNIST, "t10k-images-idx3-ubyte.gz")
    labels = os.path.join(MNIST, "t10k-labels-idx1-ubyte.gz")
    rc, out, err = _cli(capsys, "predict", path, images, "--labels", labels)
    assert rc == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 10001
    pred = np.array([int(v) for v in lines[:-1]])
    assert pred.min() >= 0 and pred.max() <= 9
    got = float(re.search(r"accuracy: ([\d.]+)%", lines[-1]).group(1))
    assert got == pytest.approx(acc, abs=0.01)
    Xt, yt = fastdigits.load_mnist("test", normalize=True, flatten=True)
    np.testing.assert_array_equal(pred, MLP.load(path).predict(Xt))
    rc, out, err = _cli(capsys, "predict", path, images, "--limit", "7")
    assert rc == 0 and len(out.split()) == 7


def test_data_folder_with_other_idx_files(tmp_path, capsys):
    # a small "Fashion-MNIST-like" folder: the four standard names, raw IDX
    X, y = fastdigits.load_mnist("train")
    Xt, yt = fastdigits.load_mnist("test")
    fastdigits.write_idx(str(tmp_path / "train-images-idx3-ubyte"), X[:1200])
    fastdigits.write_idx(str(tmp_path / "train-labels-idx1-ubyte"), y[:1200])
    fastdigits.write_idx(str(tmp_path / "t10k-images-idx3-ubyte"), Xt[:300])
    fastdigits.write_idx(str(tmp_path / "t10k-labels-idx1-ubyte"), yt[:300])
    rc, out, err = _cli(
        capsys, "train", "--data", str(tmp_path), "--epochs", "2", "--layers", "32", "--no-progress"
    )
    assert rc == 0, err
    assert "1200 train / 300 test" in out
    assert float(re.search(r"fast test accuracy: ([\d.]+)%", out).group(1)) > 70.0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--epochs", "0"], "--epochs must be > 0"),
        (["--backend", "gpu"], "--backend must be fast, numpy or both"),
        (["--layers", "3,x"], "--layers must be comma-separated positive ints"),
        (["--layers", "0"], "--layers must be comma-separated positive ints"),
        (["--lr", "-1"], "--lr must be a positive number"),
        (["--optimizer", "adam", "--momentum", "0.9"], "--momentum applies to --optimizer sgd"),
        (["--optimizer", "lbfgs"], "--optimizer must be one of"),
        (["--activation", "swish"], "--activation must be one of"),
        (["--threads", "0"], "--threads must be >= 1"),
        (["--batch-size", "0"], "--batch-size must be from 1 to 2147483647"),
        (["--batch-size", str(2**31)], "--batch-size must be from 1 to 2147483647, got 2147483648"),
        (["--dtype", "float16"], "--dtype must be float32 or float64"),
        (["--lr-schedule", "step"], "--lr-schedule must be one of cosine, constant"),
        (["--data", "/nonexistent/fastdigits-data"], "no such folder"),
        # --recipe and the options that clash with it; the newer options
        (["--recipe", "speedrun", "--epochs", "3"], "--epochs cannot be combined with --recipe"),
        (["--recipe", "speedrun", "--lr", "0.1"], "--lr cannot be combined"),
        (["--recipe", "nope"], "unknown recipe 'nope'"),
        (["--dropout", "1.0"], "--dropout must be in [0, 1)"),
        (["--label-smoothing", "-0.1"], "--label-smoothing must be in [0, 1)"),
        (["--warmup", "10"], "--warmup applies to"),
    ],
)
def test_bad_arguments_one_line_exit_2(argv, message, capsys):
    rc, out, err = _cli(capsys, "train", *argv)
    assert rc == 2
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert err.startswith("fastdigits train: error:")


def test_data_folder_without_idx_files(tmp_path, capsys):
    rc, out, err = _cli(capsys, "train", "--data", str(tmp_path))
    assert rc == 2 and "cannot load the data" in err and err.count("\n") == 1


def test_predict_errors(tmp_path, capsys):
    images = os.path.join(MNIST, "t10k-images-idx3-ubyte.gz")
    rc, out, err = _cli(capsys, "predict", str(tmp_path / "missing.npz"), images)
    assert rc == 2 and "no such file" in err
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"garbage")
    rc, out, err = _cli(capsys, "predict", str(bad), images)
    assert rc == 2 and "bad.npz" in err
    model = tmp_path / "m.npz"
    MLP((100, 4, 3)).save(str(model))
    rc, out, err = _cli(capsys, "predict", str(model), images)
    assert rc == 2 and "the model expects 100" in err


def test_python_dash_m_entry_point():
    proc = run_fastdigits(
        "train", "--epochs", "1", "--limit", "500", "--layers", "8", "--no-progress"
    )
    assert proc.returncode == 0, proc.stderr
    assert "fast test accuracy" in proc.stdout
    proc = run_fastdigits("train", "--epochs", "-3")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_plot_writes_curves_and_confusion_png(capsys, tmp_path):
    from PIL import Image

    out_dir = tmp_path / "plots"
    rc, out, err = _cli(capsys, "train", *QUICK, "--plot", str(out_dir))
    assert rc == 0, err
    for name in ("training.png", "confusion.png"):
        with Image.open(out_dir / name) as im:
            assert im.format == "PNG" and im.size[0] > 200 and im.size[1] > 200
    assert "plots written" in out


def test_show_errors_prints_wrong_digits(capsys):
    rc, out, err = _cli(capsys, "train", *QUICK, "--show-errors", "2")
    assert rc == 0, err
    titles = re.findall(r"#(\d+) t(\d) p(\d)", out)
    assert len(titles) == 2
    assert all(t != p for _, t, p in titles)  # each shown digit is a mistake


def test_show_errors_negative_is_one_line_exit_2(capsys):
    rc, out, err = _cli(capsys, "train", *QUICK, "--show-errors", "-1")
    assert rc == 2 and err.count("\n") == 1 and "--show-errors" in err


def test_fast_backend_trains_on_uint8_pixels_with_the_same_weights():
    # the fast float32 path keeps the train pixels as uint8 and normalises
    # each batch in the C epoch: the same weights as on the float32 copy
    args = train_cmd.build_args(QUICK + ["--seed", "2"])
    res = train_cmd.train_model(args)
    X, y = fastdigits.load_mnist("train", flatten=True, normalize=True)
    n = args.limit
    ref = fastdigits.MLP(res.model.layer_sizes, seed=2, normalization="mnist")
    kw = {k: getattr(args, k) for k in _FIT_ARGS}
    kw["epochs"] = int(kw["epochs"])
    ref.fit(X[:n], y[:n].astype(np.int64), **kw)
    for a, b in zip(res.model.params, ref.params):
        assert np.array_equal(np.asarray(a), np.asarray(b))


_FIT_ARGS = ("epochs", "batch_size", "optimizer", "lr", "momentum", "weight_decay", "lr_schedule")


@pytest.mark.parametrize(
    "argv, env, want",
    [
        (["fastdigits", "bench"], {}, "None"),  # other commands keep libgomp's default
        (["script.py", "train"], {}, "None"),  # a library user's process too
        (["fastdigits", "train"], {"OMP_WAIT_POLICY": "active"}, "active"),  # the user's
        (["fastdigits", "train"], {"GOMP_SPINCOUNT": "1000"}, "None"),
    ],
)
def test_train_wait_policy_leaves_other_processes_and_user_settings(argv, env, want):
    # `fastdigits train` on a busy machine sets OMP_WAIT_POLICY=passive
    # before libgomp starts; nothing else does, and never over the user's
    code = "import sys; sys.argv = %r; import fastdigits, os; print(os.environ.get(%r))" % (
        argv,
        "OMP_WAIT_POLICY",
    )
    base = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    out = subprocess.run(
        [sys.executable, "-c", code], env=dict(base, **env), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == want


# ------------------------------------- audit: --data labels, option bounds
TINY = ["--limit", "200", "--epochs", "0.05", "--layers", "8", "--no-progress"]


def _data_folder(path, train_labels, train_images=None):
    """The four files of a --data folder: 20 bundled test digits to train on
    (with ``train_labels``), 10 to test on."""
    X, y = fastdigits.load_mnist("test")
    n = len(train_labels)
    images = X[:n] if train_images is None else train_images
    fastdigits.write_idx(str(path / "train-images-idx3-ubyte"), images)
    fastdigits.write_idx(str(path / "train-labels-idx1-ubyte"), np.asarray(train_labels))
    fastdigits.write_idx(str(path / "t10k-images-idx3-ubyte"), X[:10])
    fastdigits.write_idx(str(path / "t10k-labels-idx1-ubyte"), y[:10])
    return str(path / "train-labels-idx1-ubyte")


def _one_line(rc, err, *words):
    assert rc == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("fastdigits train: error: "), err
    for w in words:
        assert w in lines[0], err


@pytest.mark.parametrize(
    "dtype, index, value, words",
    [
        # one label 2**31-1 made a 784-8-2147483648 model (a 128 GiB allocation)
        (np.int32, 3, 2**31 - 1, ["label 2147483647 at index 3 is too large", "65535"]),
        (np.int8, 5, -3, ["label -3 at index 5 is negative"]),
        (np.float32, 7, np.nan, ["label nan at index 7 is not a number"]),
        (np.float32, 9, 1.5, ["label 1.5 at index 9 is not a whole number"]),  # not 1
        (np.float64, 2, 1e30, ["at index 2 is too large", "at most 65536 classes"]),
    ],
)
def test_data_labels_are_checked_when_loaded(tmp_path, capsys, dtype, index, value, words):
    y = (np.arange(20) % 10).astype(dtype)
    y[index] = value
    labels = _data_folder(tmp_path, y)
    rc, out, err = _cli(capsys, "train", *TINY, "--data", str(tmp_path))
    _one_line(rc, err, labels + ": ", *words)
    assert out == ""


def test_data_labels_stored_as_whole_floats_train(tmp_path, capsys):
    _data_folder(tmp_path, (np.arange(20) % 10).astype(np.float32))
    rc, out, err = _cli(capsys, "train", *TINY, "--data", str(tmp_path))
    assert rc == 0, err
    assert "784-8-10, 20 train / 10 test images" in out


def test_data_folder_without_train_images(tmp_path, capsys):
    # (it said: train images (28, 28) and test images (784,) differ in size)
    _data_folder(tmp_path, np.zeros(0, np.uint8), np.zeros((0, 28, 28), np.uint8))
    rc, out, err = _cli(capsys, "train", *TINY, "--data", str(tmp_path))
    _one_line(rc, err, str(tmp_path / "train-images-idx3-ubyte"), "holds no images")


@pytest.mark.parametrize(
    "argv, words",
    [
        # MLP takes seeds below 2**64 (a larger one failed after training)
        (["--seed", str(2**64), "--save", "{tmp}/s.npz"], ["--seed", "2**64-1"]),
        (["--seed", "-1"], ["--seed must be from 0 to 2**64-1"]),
        (["--epochs", "1e308"], ["--epochs must be > 0 and at most 100000"]),
        (["--epochs", "1e19", "--lr-schedule", "linear"], ["at most 100000, got 1e+19"]),
        (["--epochs", "nan"], ["--epochs must be > 0"]),
        (
            ["--epochs", "0.01", "--warmup", "1e300", "--lr-schedule", "linear"],
            ["--warmup", "a whole number up to 2147483647"],
        ),
        (["--warmup", "2.5", "--lr-schedule", "linear"], ["--warmup", "got 2.5"]),
        (["--layers", "100000000"], ["at most 65536 units, got 100000000"]),
        (["--layers", "65536,65536"], ["parameters: at most 268,435,456 (2**28)"]),
        (["--layers", ",".join(["4"] * 65)], ["at most 64 hidden layers, got 65"]),
        # no hidden layer at all, or a layer lost: not a smaller model
        (["--layers", ""], ["--layers must be comma-separated positive ints, got ''"]),
        (["--layers", ",,"], ["--layers must be comma-separated positive ints, got ',,'"]),
        (["--layers", "8,,16"], ["--layers must be comma-separated positive ints"]),
    ],
)
def test_number_options_have_bounds_checked_first(tmp_path, capsys, argv, words):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    rc, out, err = _cli(capsys, "train", *TINY, *argv)
    _one_line(rc, err, *words)
    assert out == "" and os.listdir(tmp_path) == []


def test_seed_at_its_bound_is_saved(tmp_path, capsys):
    path = str(tmp_path / "s.npz")
    rc, out, err = _cli(capsys, "train", *TINY, "--seed", str(2**64 - 1), "--save", path)
    assert rc == 0, err
    assert MLP.load(path).seed == 2**64 - 1


def test_out_of_memory_building_the_model_is_one_line(capsys, monkeypatch):
    def no_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 584. GiB for an array")

    monkeypatch.setattr(fastdigits.nn, "MLP", no_memory)
    rc, out, err = _cli(capsys, "train", *TINY)
    _one_line(rc, err, "not enough memory for the model 784-8-10")


@pytest.mark.parametrize(
    "option", ["--epochs 10", "--batch-size 64", "--layers 256", "--dropout 0"]
)
def test_recipe_refuses_options_given_at_their_default(capsys, option):
    # they were dropped silently, as if not given, since they equal the defaults
    name, value = option.split()
    rc, out, err = _cli(capsys, "train", "--recipe", "speedrun", name, value)
    _one_line(rc, err, "%s cannot be combined with --recipe" % name)


def test_options_not_given_get_their_defaults():
    args = train_cmd.build_args([])
    assert args.epochs is None and args.batch_size is None  # not given
    train_cmd._check_args(args)
    assert (args.epochs, args.batch_size, args.layers, args.lr_schedule) == (
        10,
        64,
        "256",
        "cosine",
    )


@pytest.mark.parametrize(
    "argv, command, words",
    [
        (["train", "--epochs", "abc"], "train", "argument --epochs: invalid float value: 'abc'"),
        (["train", "--threads", "1.5"], "train", "argument --threads: invalid int value: '1.5'"),
        (["train", "--bogus"], "train", "unrecognized arguments: --bogus"),
        (["predict", "m.npz"], "predict", "the following arguments are required: file"),
        (["show", "mnist:test", "-i", "1", "-r", "0:2"], "show", "not allowed with argument"),
        (["info"], "info", "the following arguments are required: FILE"),
        (["config", "extra"], "config", "unrecognized arguments: extra"),
        (["grid", "mnist:test", "g.png", "--ncols", "x"], "grid", "argument --ncols"),
        ([], "", "no command given: use one of bench, config, grid, info, predict"),
        (["bogus"], "", "invalid choice: 'bogus'"),
    ],
)
def test_argparse_errors_are_one_line(capsys, argv, command, words):
    # they printed the whole usage too, or the top-level parser's usage
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    prog = ("fastdigits " + command).strip()
    assert exc.value.code == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(prog + ": error: "), err
    assert lines[0].endswith(" (see %s --help)" % prog) and words in lines[0], err


def test_argparse_error_in_a_real_process_is_one_line():
    proc = run_fastdigits("train", "--epochs", "abc")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == (
        "fastdigits train: error: argument --epochs: invalid float value: 'abc' "
        "(see fastdigits train --help)\n"
    )
    proc = run_fastdigits()
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1
    assert proc.stderr.startswith("fastdigits: error: no command given")
