"""The float32 GEMM's two AVX-512 tilings: 8 x 32 tiles only ("base", the
Zen 4's) and 14 x 32 row tiles where A and B are read in place ("tall", the
default on Intel cores with two 512-bit FMA ports).  Both run on any AVX-512
CPU when forced (fastdigits._config._set_gemm_tile), so a Zen 4 tests the
Intel tiling too.  They share the K panels, so results must be bit-identical
to each other and across thread counts, and match fastdigits.reference."""

import contextlib
import os

import numpy as np
import pytest

import fastdigits
from fastdigits import _config, _info, _runtime, reference

TILES = ("base", "tall")
# 1..128 rows (the tall tiles need a batch of <= 128 rows and a row-major B of
# <= 512 columns: read in place), whole 8-row units cut 14 + ... + 8 + 8 and
# part units (edge tiles); n: one panel, ragged, the in-place limit, beyond it
ROWS = (1, 7, 8, 13, 14, 16, 22, 30, 56, 63, 64, 65, 100, 127, 128)
COLS = (17, 64, 100, 512, 520)


@contextlib.contextmanager
def gemm_tile(name):
    before = _config._set_gemm_tile(name)
    try:
        yield
    finally:
        _config._set_gemm_tile(before)


def rand(rng, shape, order="C"):
    return np.asarray(rng.standard_normal(shape), dtype=np.float32, order=order)


def check(c, ref, a, b):
    scale = max(float((np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64))).max()), 1e-30)
    assert np.abs(c - ref).max() / scale <= 2e-5


def run_all(fn):
    """fn() under each tiling and 1, 2, 3 threads; all must be bit-identical."""
    results = []
    for tile in TILES:
        with gemm_tile(tile):
            for nt in (1, 2, 3):
                with fastdigits.threads(nt):
                    results.append(fn())
    first = results[0] if isinstance(results[0], tuple) else (results[0],)
    for r in results[1:]:
        for x, y in zip(r if isinstance(r, tuple) else (r,), first):
            assert np.array_equal(x, y)
    return results[0]


@pytest.mark.parametrize("m", ROWS)
@pytest.mark.parametrize("n", COLS)
def test_matmul_tiles_bit_identical(isa, m, n):
    rng = np.random.default_rng(m * 1000 + n)
    a, b = rand(rng, (m, 784)), rand(rng, (784, n))
    with fastdigits.simd(isa):
        c = run_all(lambda: fastdigits.matmul(a, b))
    check(c, reference.matmul(a.astype(np.float64), b.astype(np.float64)), a, b)


@pytest.mark.parametrize("m,k,n", [(64, 1, 256), (64, 5, 256), (37, 3001, 100), (128, 2000, 96)])
def test_matmul_tiles_odd_k(isa, m, k, n):
    # K of a few steps, and K over several panels (kc 1408 on a 48 KiB L1d)
    rng = np.random.default_rng(k)
    a, b = rand(rng, (m, k)), rand(rng, (k, n))
    out = np.full((m, n), np.nan, np.float32)
    with fastdigits.simd(isa):
        c = run_all(lambda: fastdigits.matmul(a, b, out=out).copy())
    check(c, reference.matmul(a.astype(np.float64), b.astype(np.float64)), a, b)
    assert np.array_equal(out, c)  # out= is the result


# forged caches: a 4 KiB L1d gives KC 112 on AVX-512 (8 x 112 floats in 7/8
# of it), so K = 784 spans seven panels; 2 MiB of L2 (the Xeon's NC rule)
SMALL_L1 = {"l1d": {"size": 4096, "ways": 8}, "l2": {"size": 2 << 20, "ways": 16}}


@pytest.mark.parametrize("m", (14, 64, 100, 128))
def test_tiles_k_over_many_panels(m):
    isa = min(_runtime.best_isa(), 2)
    blocks = _runtime.gemm_blocking(isa, "float32", SMALL_L1)
    assert blocks["kc"] <= 784 // 3  # (4 x 224 on the generic path)
    rng = np.random.default_rng(m)
    a, b = rand(rng, (m, 784)), rand(rng, (784, 256))
    outs = []
    for tile in (1, 2):
        for nt in (1, 2, 3):
            c = np.full((m, 256), np.nan, np.float32)
            _runtime._gemm_on_caches(a, b, c, SMALL_L1, isa, nt, 0, tile)
            outs.append(c)
    for c in outs[1:]:
        assert np.array_equal(c, outs[0])
    check(outs[0], reference.matmul(a.astype(np.float64), b.astype(np.float64)), a, b)


@pytest.mark.parametrize("activation", [None, "relu", "sigmoid", "tanh", "gelu"])
@pytest.mark.parametrize("m,n", [(13, 256), (64, 256), (100, 256), (100, 64), (124, 40)])
def test_dense_forward_tiles(isa, activation, m, n):
    # bias, pre-activation copy (z) and the activation in the tiles'
    # epilogue; the edge tiles' rows (the scalar epilogue) stay the same,
    # also where threads split the rows (n < m)
    rng = np.random.default_rng(m)
    x, W, bias = rand(rng, (m, 784)), rand(rng, (784, n)) * 0.05, rand(rng, (n,))

    def run():
        out = np.full((m, n), np.nan, np.float32)
        z = np.full((m, n), np.nan, np.float32)
        y = fastdigits.dense_forward(x, W, bias, activation, out=out, preact_out=z)
        assert y is out
        return out.copy(), z.copy()

    with fastdigits.simd(isa):
        y, z = run_all(run)
    ref_y = reference.dense_forward(
        x.astype(np.float64), W.astype(np.float64), bias.astype(np.float64), activation
    )
    ref_z = x.astype(np.float64) @ W.astype(np.float64) + bias
    check(z, ref_z, x, W)
    assert np.abs(y - ref_y).max() <= 1e-4 * (1 + np.abs(ref_z).max())


@pytest.mark.parametrize("dt", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("m,k,n", [(64, 784, 1024), (37, 1001, 1030), (13, 1500, 700)])
def test_dense_forward_wide_b(isa, dt, m, k, n):
    # a small batch times a W whose rows are wider than the NC block: on
    # CPUs whose B blocks live in L2 (issue 13's Xeon) blocks of whole rows
    # and K panels that keep them in half of L2 (gemm_blocking.h,
    # fd_gemm_small_m_blocks; the panels themselves: test_blocking.py);
    # bias + relu in the epilogue, out=, both tilings, 1-3 threads
    rng = np.random.default_rng(m + n)
    x, W = rng.standard_normal((m, k)).astype(dt), rng.standard_normal((k, n)).astype(dt)
    bias = rng.standard_normal(n).astype(dt)

    def run():
        out = np.full((m, n), np.nan, dt)
        y = fastdigits.dense_forward(x, W, bias, "relu", out=out)
        assert y is out
        return out.copy()

    with fastdigits.simd(isa):
        y = run_all(run)
    ref = reference.dense_forward(
        x.astype(np.float64), W.astype(np.float64), bias.astype(np.float64), "relu"
    )
    scale = float((np.abs(x.astype(np.float64)) @ np.abs(W.astype(np.float64))).max())
    tol = 2e-5 if dt == np.float32 else 1e-13
    assert np.abs(y - ref).max() <= tol * scale


@pytest.mark.parametrize("x_order", ["C", "F"])
def test_tiles_packed_and_in_place_a(isa, x_order):
    # F-order x: A is packed (8-row panels only); C-order: read in place
    rng = np.random.default_rng(7)
    x, W = rand(rng, (64, 300), x_order), rand(rng, (300, 256))
    with fastdigits.simd(isa):
        c = run_all(lambda: fastdigits.dense_forward(x, W, None, "relu"))
    ref = np.maximum(x.astype(np.float64) @ W.astype(np.float64), 0)
    check(c, ref, x, W)


def test_float64_ignores_the_tile(isa):
    rng = np.random.default_rng(8)
    a = rng.standard_normal((64, 200))
    b = rng.standard_normal((200, 128))
    with fastdigits.simd(isa):
        c = run_all(lambda: fastdigits.matmul(a, b))
    assert np.abs(c - a @ b).max() <= 1e-12 * np.abs(a).max() * np.abs(b).max() * 200


def _cpu_rule():
    """fd_cpu_fma512_ports's rule from /proc/cpuinfo: Intel with AVX-512 and
    AMX or AVX512_FP16."""
    with open("/proc/cpuinfo") as f:
        text = f.read()
    first = text.split("\n\n")[0]
    fields = dict(
        (k.strip(), v.strip()) for k, _, v in (ln.partition(":") for ln in first.splitlines())
    )
    flags = set(fields.get("flags", "").split())
    return (
        fields.get("vendor_id") == "GenuineIntel"
        and "avx512f" in flags
        and ("amx_tile" in flags or "avx512_fp16" in flags)
    )


def test_tall_tile_rule_and_config(capsys):
    mr_tall = _runtime.gemm_tall_mr(_runtime.best_isa())
    assert mr_tall in (0, 14)
    if _runtime.best_isa() >= 2 and os.path.exists("/proc/cpuinfo"):
        assert (mr_tall == 14) == _cpu_rule()
    # the generic and AVX2 paths have one tile
    assert _runtime.gemm_tall_mr(0) == 0 and _runtime.gemm_tall_mr(1) == 0
    blocks = _info.gemm_blocks(fastdigits.get_simd())
    assert blocks["float32"]["mr_tall"] == _runtime.gemm_tall_mr(_config.kernel_context()[0])
    fastdigits.show_config()
    line = [ln for ln in capsys.readouterr().out.splitlines() if "gemm blocks" in ln][0]
    assert ("float32 8x32 (+14x32) kc" in line) == (blocks["float32"]["mr_tall"] == 14)


def test_set_gemm_tile_checks_and_restores():
    with pytest.raises(ValueError, match="tile must be one of"):
        _config._set_gemm_tile("16x32")
    assert _config._set_gemm_tile("tall") == "auto"
    assert _config._set_gemm_tile("auto") == "tall"
    with pytest.raises(ValueError, match="tile must be 0, 1 or 2"):
        z = np.zeros((2, 2), np.float32)
        _runtime._gemm_on_caches(z, z, z.copy(), SMALL_L1, 0, 1, 0, 3)
