"""`fastdigits train --recipe NAME` and fastdigits.recipes (issue 14): every
recipe is valid for MLP.fit, the command applies it and prints the usual
accuracy line; the new training options reach the model.  The options that
clash with a recipe, and bad values of the new ones, are rows of
test_train_cli.py's bad-argument table."""

import re

import pytest

import fastdigits
from fastdigits.cli import main
from fastdigits.commands import train as train_cmd
from fastdigits.nn import MLP
from fastdigits.recipes import RECIPES, get_recipe


def _cli(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_every_recipe_is_a_valid_fit(name):
    r = get_recipe(name)
    m = MLP(
        (784,) + r.hidden + (10,),
        activation=r.activation,
        dropout=r.dropout,
        input_dropout=r.input_dropout,
    )
    import numpy as np

    X = np.random.default_rng(0).standard_normal((64, 784)).astype(np.float32)
    y = np.arange(64) % 10
    kw = r.fit_kwargs()
    kw["epochs"] = 1
    m.fit(X, y, **kw)
    assert m.epochs_trained == 1 and r.summary and r.name == name


def test_unknown_recipe_lists_the_names():
    with pytest.raises(ValueError, match="speedrun"):
        get_recipe("fastest")


def test_speedrun_recipe_on_a_slice(capsys):
    rc, out, err = _cli(
        capsys,
        "train",
        "--recipe",
        "speedrun",
        "--limit",
        "1500",
        "--threads",
        "2",
        "--no-progress",
    )
    assert rc == 0, err
    assert "784-256-10" in out
    # no per-epoch test evaluation in the speedrun
    assert re.search(r"epoch +(\d+)/\1 +loss [\d.]+ +train [\d.]+% +[\d.]+ s", out)
    assert not re.search(r"test [\d.]+%", out.split("fast test accuracy")[0])
    acc = float(re.search(r"fast test accuracy: ([\d.]+)%", out).group(1))
    assert acc > 70.0


def test_recipe_sets_the_options():
    args = train_cmd.build_args(["--recipe", "mlp99", "--seed", "3"])
    train_cmd._check_args(args)
    r = get_recipe("mlp99")
    assert args.layers == ",".join(map(str, r.hidden)) and args.dropout == r.dropout
    assert args.seed == 3 and args.epochs == r.epochs and args.lr_schedule == r.lr_schedule


@pytest.mark.parametrize("path", fastdigits.available_simd())
def test_recipe_bfloat16_only_on_bf16_units(path):
    # speedrun asks for bfloat16 products for speed: on a path that would
    # emulate them (slower than float32) it trains in float32; an explicit
    # --precision is kept either way
    with fastdigits.simd(path):
        args = train_cmd.build_args(["--recipe", "speedrun"])
        train_cmd._check_args(args)
        forced = train_cmd.build_args(["--recipe", "speedrun", "--precision", "bfloat16"])
        train_cmd._check_args(forced)
    assert get_recipe("speedrun").precision == "bfloat16"
    want = "bfloat16" if path in ("avx512_bf16", "amx") else "float32"
    assert args.precision == want
    assert forced.precision == "bfloat16"


def test_new_options_reach_the_model(capsys):
    rc, out, err = _cli(
        capsys,
        "train",
        "--limit",
        "800",
        "--layers",
        "32",
        "--epochs",
        "1.5",
        "--dropout",
        "0.2",
        "--input-dropout",
        "0.1",
        "--label-smoothing",
        "0.1",
        "--lr-schedule",
        "onecycle",
        "--warmup",
        "0.3",
        "--no-progress",
    )
    assert rc == 0, err
    assert re.search(r"epoch +2/1.5 ", out)
    assert re.search(r"fast test accuracy: [\d.]+%", out)
