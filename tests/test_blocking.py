"""Cache detection and the GEMM blocking derived from it (gemm_blocking.h).

The caches come from CPUID (or Linux sysfs) once per process; the blocks
(KC, MC, NC) are a pure function of the caches, the path's register tile
and the dtype.  ``_runtime._gemm_on_caches`` runs the real GEMM driver on
forged caches, so the blocks another CPU would get are tested for
correctness and thread-count independence here too.
"""

import glob
import os
import platform

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastdigits
from fastdigits import _runtime
from fastdigits.reference.dense import to_bfloat16

KIB, MIB = 1024, 1024 * 1024

# Zen 4 (this project's build machine) and the Intel Xeon of issue 13
# (Sapphire Rapids: 48 KiB 12-way L1d, 2 MiB 16-way L2, 105 MiB L3 shared).
ZEN4 = {
    "l1d": {"size": 32 * KIB, "ways": 8},
    "l2": {"size": 1 * MIB, "ways": 8},
    "l3": {"size": 32 * MIB, "ways": 16, "sharing": 2},
}
XEON = {
    "l1d": {"size": 48 * KIB, "ways": 12},
    "l2": {"size": 2 * MIB, "ways": 16},
    "l3": {"size": 105 * MIB, "ways": 15, "sharing": 2},
}
# A small, old CPU with no L3: several K panels, several NC blocks.
TINY = {"l1d": {"size": 8 * KIB, "ways": 4}, "l2": {"size": 128 * KIB, "ways": 8}}
CACHES = {"zen4": ZEN4, "xeon": XEON, "tiny": TINY}

# Builds with the x86-64 SIMD kernels have every path's register tile
# (elsewhere every path is the portable one).
X86 = platform.machine().lower() in ("x86_64", "amd64") and "avx2" in fastdigits.available_simd()
x86_only = pytest.mark.skipif(not X86, reason="the x86-64 micro-kernels are not in this build")

KBYTES = {"float32": 4, "float64": 8, "bfloat16": 2}
ISA_IDS = range(len(_runtime.ISA_NAMES))


def _isa(name):
    return _runtime.ISA_NAMES.index(name)


# ---- detection --------------------------------------------------------------


def test_detected_caches_are_sane():
    c = _runtime.cache_info()
    assert c["source"] in _runtime.CACHE_SOURCES
    if X86:  # a build without the x86-64 code (FASTDIGITS_NO_SIMD) reads sysfs
        assert c["source"].startswith("cpuid"), c
    l1, l2, l3 = c["l1d"], c["l2"], c["l3"]
    for lv in (l1, l2):
        assert lv["size"] >= 4 * KIB and lv["size"] % KIB == 0, c
    for lv in (l1, l2, l3):
        line = lv["line"]
        assert 16 <= line <= 256 and line & (line - 1) == 0, c  # a power of two
        assert lv["sharing"] >= 1 and lv["ways"] >= 0
        if lv["size"] and lv["ways"]:
            assert lv["size"] % (lv["ways"] * line) == 0, c  # ways x sets x line
    assert l1["size"] < l2["size"]
    if l3["size"]:
        assert l2["size"] <= l3["size"]


def test_detection_is_done_once_and_is_stable():
    assert _runtime.cache_info() == _runtime.cache_info()
    assert _runtime.gemm_blocking(0) == _runtime.gemm_blocking(0, "float32", None)


def _sysfs_size(text):
    text = text.strip()
    mult = {"K": KIB, "M": MIB}.get(text[-1], 1)
    return int(text.rstrip("KM")) * mult


@pytest.mark.skipif(
    not glob.glob("/sys/devices/system/cpu/cpu0/cache/index*/size"),
    reason="no Linux sysfs cache description on this machine",
)
def test_detected_caches_match_linux_sysfs():
    """Linux derives /sys/.../cache from the same CPUID leaves: the sizes,
    lines and ways of L1d and L2 must agree."""
    found = {}
    for d in sorted(glob.glob("/sys/devices/system/cpu/cpu0/cache/index*")):

        def read(name, d=d):
            with open(os.path.join(d, name)) as f:
                return f.read().strip()

        if read("type") == "Instruction":
            continue
        level = int(read("level"))
        found[level] = (_sysfs_size(read("size")), int(read("coherency_line_size")))
    c = _runtime.cache_info()
    for level, name in ((1, "l1d"), (2, "l2"), (3, "l3")):
        if level in found:
            assert (c[name]["size"], c[name]["line"]) == found[level], (level, c, found)


def test_default_caches_are_documented_values():
    d = _runtime.default_caches()
    assert d["source"] == "defaults"
    assert (d["l1d"]["size"], d["l1d"]["ways"]) == (32 * KIB, 8)
    assert (d["l2"]["size"], d["l2"]["ways"]) == (1 * MIB, 8)
    assert d["l3"]["size"] == 0


# ---- derivation ----------------------------------------------------------------


@pytest.mark.parametrize("cname", sorted(CACHES))
@pytest.mark.parametrize("dt", sorted(KBYTES))
@pytest.mark.parametrize("isa_id", ISA_IDS, ids=lambda i: _runtime.ISA_NAMES[i])
def test_derived_blocks_satisfy_the_constraints(cname, dt, isa_id):
    caches = CACHES[cname]
    b = _runtime.gemm_blocking(isa_id, dt, caches)
    assert b["mc"] % b["mr"] == 0 and b["mc"] >= b["mr"]
    assert b["nc"] % b["nr"] == 0 and b["nc"] >= b["nr"]
    assert 64 <= b["kc"] <= 2048
    if dt == "bfloat16":
        assert b["kc"] % 2 == 0
        if b["mr"] == 32:  # AMX: whole 16-pair tiles
            assert b["kc"] % 32 == 0
    if dt == "bfloat16" and b["mr"] == 32:
        # AMX: the A and B micro-panels fit an eighth of L2 (its long K
        # panels; see FD_GEMM_RULE_KC_AB_L1 for its short ones), unless KC is
        # at its floor
        assert (b["mr"] + b["nr"]) * b["kc"] * 2 <= caches["l2"]["size"] // 8 or b["kc"] == 64
    else:
        # the MR x KC micro-panel of A fits L1d, leaving at least one way free
        l1 = caches["l1d"]
        assert b["mr"] * b["kc"] * KBYTES[dt] <= l1["size"] * (l1["ways"] - 1) // l1["ways"]
    # the KC x NC block of B fits this core's share of the last level
    last = caches.get("l3", caches["l2"]) or caches["l2"]
    share = last["size"] // last.get("sharing", 1)
    assert b["kc"] * b["nc"] * KBYTES[dt] <= share
    # the MC x KC block of A fits half of L2
    assert b["mc"] * b["kc"] * KBYTES[dt] <= caches["l2"]["size"] // 2


@x86_only
def test_blocks_for_the_two_machines_of_issue_13():
    """What the model gives on this project's Zen 4 and the issue's Xeon
    (docs/performance.md explains each number)."""
    avx512 = _isa("avx512")
    zen = _runtime.gemm_blocking(avx512, "float32", ZEN4)
    xeon = _runtime.gemm_blocking(avx512, "float32", XEON)
    # KC: 7/8 of 32 KiB / (8 rows x 4 bytes) = 896; 11/12 of 48 KiB -> 1408.
    # Both take MNIST's K = 784 in one panel.
    assert (zen["mr"], zen["nr"], zen["kc"]) == (8, 32, 896)
    assert xeon["kc"] == 1408
    # NC: a quarter of the L3 share (16 MiB) over KC x 4 bytes on the Zen 4;
    # on the Xeon (2 MiB L2) three quarters of L2 over KC x 4 bytes: 279 -> 256
    assert zen["nc"] == 1152
    assert xeon["nc"] == 256
    # MC: half of L2 over KC x 4 bytes
    assert zen["mc"] == 144 and xeon["mc"] == 184
    # bfloat16 on AMX (32 x 32 tiles) and AVX512_BF16 (8 x 32)
    amx = _runtime.gemm_blocking(_isa("amx"), "bfloat16", XEON)
    # AMX: long K panels from L2 (2 MiB / 8 over 64 rows x 2 bytes = 2048),
    # for small batches and a W packed beforehand; the short ones (3/4 of
    # L1d over 64 rows x 2 bytes = 288) are checked in tests/c
    assert (amx["mr"], amx["kc"]) == (32, 2048)
    vdp = _runtime.gemm_blocking(_isa("avx512_bf16"), "bfloat16", ZEN4)
    assert (vdp["mr"], vdp["kc"]) == (8, 1792)
    # the big-L2 NC rule is float32/float64 only: bfloat16 keeps the L3 one
    assert amx["nc"] == 3360  # a quarter of 52.5 MiB over 2048 x 2 bytes


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("isa_id", ISA_IDS)
def test_nc_from_l2_when_l2_is_big(dt, isa_id):
    # an L2 of 2 MiB or more holds B's block whatever the L3; below, the L3
    # rule (the Zen 4's) is kept
    for l2, from_l2 in ((1 * MIB, False), (2 * MIB, True), (4 * MIB, True)):
        c = {
            "l1d": {"size": 48 * KIB, "ways": 12},
            "l2": {"size": l2, "ways": 16},
            "l3": {"size": 105 * MIB, "ways": 15, "sharing": 2},
        }
        no_l3 = {key: c[key] for key in ("l1d", "l2")}
        b = _runtime.gemm_blocking(isa_id, dt, c)
        b2 = _runtime.gemm_blocking(isa_id, dt, no_l3)
        assert (b["nc"] == b2["nc"]) == from_l2, (l2, b, b2)


def test_blocks_grow_with_the_caches():
    for isa_id in ISA_IDS:
        for dt in KBYTES:
            prev = None
            for l1 in (8, 16, 32, 48, 64, 128):
                c = {"l1d": {"size": l1 * KIB, "ways": 8}, "l2": {"size": 2 * MIB, "ways": 8}}
                b = _runtime.gemm_blocking(isa_id, dt, c)
                if prev is not None:
                    assert b["kc"] >= prev["kc"]
                prev = b
            prev = None
            for l2 in (256, 512, 1024, 2048, 4096):
                c = {"l1d": {"size": 32 * KIB, "ways": 8}, "l2": {"size": l2 * KIB, "ways": 8}}
                b = _runtime.gemm_blocking(isa_id, dt, c)
                if prev is not None:
                    assert b["nc"] >= prev["nc"] and b["mc"] >= prev["mc"]
                prev = b


@x86_only
def test_register_tile_comes_from_the_path():
    tiles = {
        ("generic", "float32"): (4, 8),
        ("avx2", "float32"): (6, 16),
        ("avx512", "float32"): (8, 32),
        ("avx512", "float64"): (8, 16),
        ("avx512_bf16", "bfloat16"): (8, 32),
        ("amx", "bfloat16"): (32, 32),
    }
    for (name, dt), tile in tiles.items():
        for caches in CACHES.values():
            b = _runtime.gemm_blocking(_isa(name), dt, caches)
            assert (b["mr"], b["nr"]) == tile, (name, dt)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"isa": 0, "dtype": "float16"}, "dtype"),
        ({"isa": 9}, "isa"),
        ({"isa": 0, "caches": [1, 2]}, "caches"),
        ({"isa": 0, "caches": {"l4": {"size": 1}}}, "unknown level"),
        ({"isa": 0, "caches": {"l1d": {"size": 100}}}, r"caches\['l1d'\]"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        _runtime.gemm_blocking(**kwargs)


# ---- the GEMM on forged caches ------------------------------------------------


def _operands(m, k, n, dt, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, k)).astype(dt)
    b = rng.standard_normal((k, n)).astype(dt)
    return a, b


SHAPES = [(37, 300, 70), (130, 1000, 200), (9, 2100, 33)]


@pytest.mark.parametrize("cname", sorted(CACHES))
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_gemm_is_correct_with_forged_blocks(isa, dtype, cname, shape):
    m, k, n = shape
    a, b = _operands(m, k, n, dtype)
    c = np.full((m, n), np.nan, dtype)
    _runtime._gemm_on_caches(a, b, c, CACHES[cname], _isa(isa), 2)
    want = a.astype(np.float64) @ b.astype(np.float64)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(c, want, rtol=tol, atol=tol * np.sqrt(k) * 4)


@pytest.mark.parametrize("cname", sorted(CACHES))
def test_gemm_on_forged_blocks_is_bit_identical_for_any_thread_count(isa, dtype, threads, cname):
    m, k, n = 150, 1000, 260
    a, b = _operands(m, k, n, dtype, seed=1)
    one = np.empty((m, n), dtype)
    many = np.empty((m, n), dtype)
    _runtime._gemm_on_caches(a, b, one, CACHES[cname], _isa(isa), 1)
    _runtime._gemm_on_caches(a, b, many, CACHES[cname], _isa(isa), threads)
    assert np.array_equal(one, many)


def test_gemm_on_this_cpus_caches_is_matmul(isa, dtype):
    """The hook runs the same driver: on the detected caches it gives
    matmul's result bit for bit."""
    a, b = _operands(70, 900, 90, dtype, seed=2)
    c = np.empty((70, 90), dtype)
    _runtime._gemm_on_caches(a, b, c, _runtime.cache_info(), _isa(isa), 2)
    with fastdigits.simd(isa), fastdigits.threads(2):
        assert np.array_equal(c, fastdigits.matmul(a, b))


@pytest.mark.parametrize("cname", sorted(CACHES))
# (45, 2100, 70): column slabs; (260, 2100, 130): row slabs, over several
# K panels (and, on the tiny caches, several NC blocks)
@pytest.mark.parametrize("m,k,n", [(45, 2100, 70), (260, 2100, 130)])
def test_bf16_gemm_is_correct_with_forged_blocks(bf16_isa, cname, threads, m, k, n):
    a, b = _operands(m, k, n, np.float32, seed=3)
    c = np.empty((m, n), np.float32)
    _runtime._gemm_on_caches(a, b, c, CACHES[cname], _isa(bf16_isa), threads, 1)
    want = to_bfloat16(a).astype(np.float64) @ to_bfloat16(b).astype(np.float64)
    np.testing.assert_allclose(c, want, rtol=1e-4, atol=1e-3)
    one = np.empty_like(c)
    _runtime._gemm_on_caches(a, b, one, CACHES[cname], _isa(bf16_isa), 1, 1)
    assert np.array_equal(one, c)


# Any caches a CPU may report: sizes and sharing across the range of real
# CPUs (and beyond it), so the derived KC / MC / NC land on and off every
# register-tile, K-panel and thread-slab boundary of the shapes below.
CACHE_PICKS = st.fixed_dictionaries(
    {
        "l1d": st.fixed_dictionaries(
            {
                "size": st.sampled_from([8, 16, 32, 48, 64, 96]).map(lambda s: s * KIB),
                "ways": st.sampled_from([2, 4, 8, 12, 16]),
            }
        ),
        "l2": st.fixed_dictionaries(
            {
                "size": st.sampled_from([128, 256, 512, 1024, 1280, 2048, 4096]).map(
                    lambda s: s * KIB
                ),
                "ways": st.sampled_from([4, 8, 16, 20]),
            }
        ),
    },
    optional={
        "l3": st.fixed_dictionaries(
            {
                "size": st.sampled_from([4, 32, 105, 300, 480]).map(lambda s: s * MIB),
                "ways": st.sampled_from([11, 16, 20]),
                "sharing": st.sampled_from([1, 2, 16, 64]),
            }
        )
    },
)
EPS = {np.float32: 2.0**-24, np.float64: 2.0**-53}


@settings(max_examples=80, deadline=None)
@given(
    caches=CACHE_PICKS,
    isa=st.sampled_from(fastdigits.available_simd()),
    kind=st.sampled_from(["float32", "float64", "bfloat16"]),
    m=st.sampled_from([1, 7, 31, 32, 33, 65, 200, 257]),
    k=st.sampled_from([1, 2, 17, 64, 255, 784, 1025, 2049]),
    n=st.sampled_from([1, 3, 10, 31, 33, 100, 257]),
    threads=st.integers(1, 4),
    tile=st.integers(0, 2),
    seed=st.integers(0, 2**16),
)
def test_gemm_on_any_caches(caches, isa, kind, m, k, n, threads, tile, seed):
    """The driver on caches another CPU could report, any path, tile and
    thread count: within float summation error of the exact product (of
    the bf16-rounded operands for bfloat16), and the same bits as one
    thread."""
    dt = np.float64 if kind == "float64" else np.float32
    bf16 = int(kind == "bfloat16")
    a, b = _operands(m, k, n, dt, seed)
    c, one = np.full((m, n), np.nan, dt), np.full((m, n), np.nan, dt)
    _runtime._gemm_on_caches(a, b, c, caches, _isa(isa), threads, bf16, tile)
    _runtime._gemm_on_caches(a, b, one, caches, _isa(isa), 1, bf16, tile)
    assert np.array_equal(c, one)
    a64, b64 = (to_bfloat16(a), to_bfloat16(b)) if bf16 else (a, b)
    a64, b64 = a64.astype(np.float64), b64.astype(np.float64)
    bound = (k + 2) * EPS[dt] * (np.abs(a64) @ np.abs(b64)) + 1e-30
    assert np.all(np.abs(c - a64 @ b64) <= bound)


# L1d / L2 pairs that cut K into different AMX panels: long ones (KC 256,
# 2048) below FD_GEMM_BF16_SHORT_K_M rows, short ones (96, 288, 2048) from
# there
K_CUTS = {
    "16k": dict(XEON, l1d={"size": 16 * KIB, "ways": 8}, l2={"size": 256 * KIB, "ways": 8}),
    "48k": XEON,
    "1m": dict(XEON, l1d={"size": 1 * MIB, "ways": 16}, l2={"size": 16 * MIB, "ways": 16}),
}


@pytest.mark.parametrize(
    "m,k,n", [(45, 2101, 70), (260, 784, 130), (1030, 900, 40), (256, 2101, 33)]
)
def test_bf16_k_panels_keep_the_bits_on_amx(bf16_isa, threads, m, k, n):
    """AMX goes on with each K panel's float32 sums from the tiles of the
    last (C loaded into them), so how K is cut changes no bit there; the
    other paths add each panel's sum to C, within float32 rounding."""
    a, b = _operands(m, k, n, np.float32, seed=4)
    got = []
    for caches in K_CUTS.values():
        c = np.empty((m, n), np.float32)
        _runtime._gemm_on_caches(a, b, c, caches, _isa(bf16_isa), threads, 1)
        got.append(c)
    for c in got[1:]:
        if bf16_isa == "amx":
            assert np.array_equal(c, got[0])
        else:
            np.testing.assert_allclose(c, got[0], rtol=1e-5, atol=1e-4)


def test_hook_refuses_bad_input():
    a, b = _operands(4, 5, 6, np.float32)
    with pytest.raises(ValueError, match="shapes"):
        _runtime._gemm_on_caches(a, a, np.empty((4, 6), np.float32), ZEN4, 0, 1)
    with pytest.raises(ValueError, match="nthreads"):
        _runtime._gemm_on_caches(a, b, np.empty((4, 6), np.float32), ZEN4, 0, 0)
    with pytest.raises(ValueError, match="isa"):
        _runtime._gemm_on_caches(a, b, np.empty((4, 6), np.float32), ZEN4, 99, 1)


# ---- reporting -------------------------------------------------------------------


def test_show_config_reports_caches_and_blocks(capsys):
    with fastdigits.simd("generic"):
        fastdigits.show_config()
    out = capsys.readouterr().out
    caches = [ln for ln in out.splitlines() if ln.strip().startswith("caches")]
    blocks = [ln for ln in out.splitlines() if ln.strip().startswith("gemm blocks")]
    assert len(caches) == 1 and "L1d" in caches[0] and "L2" in caches[0]
    assert _runtime.cache_info()["source"] in caches[0]
    g = _runtime.gemm_blocking(0, "float32")
    assert len(blocks) == 1
    assert "float32 4x8 kc %d mc %d nc %d" % (g["kc"], g["mc"], g["nc"]) in blocks[0]
    assert "bfloat16" in blocks[0] and "float64" in blocks[0]
    info = fastdigits._info.config_dict()
    assert info["caches"] == _runtime.cache_info()
    assert set(info["gemm_blocks"]) == {"float32", "float64", "bfloat16"}


# ---- bfloat16 B packed beforehand (epi.b_packed) ------------------------------


@pytest.mark.parametrize(
    "m,k,n",
    # one K panel; an odd K; several K panels (AMX KC 2048, AVX512_BF16
    # 1792); narrow outputs (the 16-wide tile of AVX512_BF16); row slabs
    [(64, 784, 256), (33, 101, 70), (40, 4500, 33), (65, 300, 10), (300, 200, 40)],
)
@pytest.mark.parametrize("chunk", [2, 32, 10_000])
def test_bf16_product_on_a_prepacked_b_is_the_packed_product(bf16_isa, threads, m, k, n, chunk):
    """B packed beforehand, in row chunks (last chunk first), gives the bits
    of the product that packs B itself, and every packed word (padding
    included) is written."""
    a, b = _operands(m, k, n, np.float32, seed=4)
    got = np.full((m, n), np.nan, np.float32)
    packed = _runtime._bf16_matmul_packed_b(a, b, got, _isa(bf16_isa), threads, chunk)
    assert not np.any(packed == 0xDEADBEEF)
    with fastdigits.simd(bf16_isa), fastdigits.threads(threads):
        want = fastdigits.matmul(a, b, precision="bfloat16")
    assert np.array_equal(got, want)


def test_bf16_prepacked_hook_checks_its_chunk():
    a, b = _operands(8, 16, 8, np.float32, seed=5)
    with pytest.raises(ValueError, match="chunk"):
        _runtime._bf16_matmul_packed_b(a, b, np.empty((8, 8), np.float32), 0, 1, 3)


# ---- small batches with wide rows of B (fd_gemm_small_m_blocks) --------------


def _k_panel(isa_id, dt, caches, m, k, n):
    """The K panel length gemm_blocking.h gives an m x k x n product: the
    path's KC, shortened for a small batch where B's blocks live in L2 (an
    L2 of 2 MiB or more) and B's rows are wider than NC, so that a block of
    whole rows (at most 4 KiB of each) takes half of L2; then K is cut into
    equal panels."""
    b = _runtime.gemm_blocking(isa_id, dt, caches)
    kb, nr, kc = KBYTES[dt], b["nr"], b["kc"]
    if m <= 128 and caches["l2"]["size"] >= 2 * MIB:
        nc = min(-(-n // nr) * nr, 4096 // kb // nr * nr)
        if nc > b["nc"]:
            kc = min(max(caches["l2"]["size"] // 2 // (nc * kb), 64), kc)
    nk = -(-k // kc)
    return -(-k // nk)


def _ksplit_at(m, k, n):
    """Where gemm_blocking.h's K split cuts K (0: not split): batches of at
    most 256 rows over K >= 512, C of at most 2**20 elements, at half of K
    rounded up to 8."""
    return (k // 2 + 7) // 8 * 8 if m <= 256 and k >= 512 and m * n <= 1 << 20 else 0


def _panel_sum(a, b, kc, caches, isa_id, tile):
    """C as the driver sums it over K panels of kc: each panel's product
    (one panel each, computed with 257 rows so that the product is neither
    K-split nor small-batch blocked) added to the sum so far."""
    m, k = a.shape
    acc = None
    for p0 in range(0, k, kc):
        pa = np.zeros((max(m, 257), min(kc, k - p0)), a.dtype)
        pa[:m] = a[:, p0 : p0 + kc]
        part = np.full((pa.shape[0], b.shape[1]), np.nan, a.dtype)
        pb = np.ascontiguousarray(b[p0 : p0 + kc])
        _runtime._gemm_on_caches(pa, pb, part, caches, isa_id, 1, 0, tile)
        acc = part[:m] if acc is None else part[:m] + acc
    return acc


def _product_sum(a, b, caches, isa_id, tile):
    """C as the driver sums it: over the K panels of _k_panel, and for a
    K-split product the second K part's sum added to the first's."""
    m, k = a.shape
    n, dt = b.shape[1], np.dtype(a.dtype).name
    kh = _ksplit_at(m, k, n)
    if not kh:
        return _panel_sum(a, b, _k_panel(isa_id, dt, caches, m, k, n), caches, isa_id, tile)
    first, second = (
        _panel_sum(
            np.ascontiguousarray(a[:, p0:p1]),
            np.ascontiguousarray(b[p0:p1]),
            _k_panel(isa_id, dt, caches, m, p1 - p0, n),
            caches,
            isa_id,
            tile,
        )
        for p0, p1 in ((0, kh), (kh, k))
    )
    return second + first


def test_small_batch_k_panels_on_the_two_machines():
    # issue 13's shapes: on the Xeon (2 MiB L2) 784 -> 1024 and 784 -> 2048
    # take four panels of 196, 784 -> 512 two of 392, 1024 -> 784 four of
    # 256, on every path and dtype; 784 -> 256 and batches over 128 keep
    # the path's KC, and so does the Zen 4 (B blocks in L3) everywhere
    for isa_id in ISA_IDS:
        for dt in ("float32", "float64"):
            for (m, k, n), want in (
                ((64, 784, 1024), 196),
                ((128, 784, 2048), 196),
                ((64, 1024, 784), 256),
            ):
                assert _k_panel(isa_id, dt, XEON, m, k, n) == want
                nk = -(-k // _runtime.gemm_blocking(isa_id, dt, ZEN4)["kc"])
                assert _k_panel(isa_id, dt, ZEN4, m, k, n) == -(-k // nk)
            for shape in ((129, 784, 1024), (64, 784, 16)):
                nk = -(-shape[1] // _runtime.gemm_blocking(isa_id, dt, XEON)["kc"])
                assert _k_panel(isa_id, dt, XEON, *shape) == -(-shape[1] // nk)
        # one 784 panel before on every path (AVX2 float lost its 384 cap,
        # which split it into three of 262, when it stopped reading B in place)
        assert _k_panel(isa_id, "float32", XEON, 64, 784, 512) == 392


@pytest.mark.parametrize("cname", ["xeon", "zen4"])
@pytest.mark.parametrize(
    "m,k,n",
    # issue 13's shape; odd sizes with a ragged last NR panel and K over
    # several panels; rows 2 KiB and 3 KiB apart; over the batch limit
    # (K split up to 256 rows; 257 rows: not split)
    [
        (64, 784, 1024),
        (37, 1001, 1030),
        (100, 3001, 520),
        (13, 1500, 700),
        (129, 784, 1024),
        (200, 784, 100),
        (257, 600, 40),
    ],
    ids=lambda v: str(v),
)
def test_small_batch_wide_b_panels(isa, dtype, cname, m, k, n):
    """The product sums over the K panels _k_panel names, in the two K
    parts of the K split (_ksplit_at), bit for bit (so it fails where
    either rule is not applied), with either float32 tiling and 1, 2 or 3
    threads, and matches float64 matmul."""
    caches, isa_id = CACHES[cname], _isa(isa)
    a, b = _operands(m, k, n, dtype, seed=m + n)
    tiles = (1, 2) if dtype == np.float32 else (0,)
    want = _product_sum(a, b, caches, isa_id, tiles[0])
    for tile in tiles:
        for nt in (1, 2, 3):
            c = np.full((m, n), np.nan, dtype)
            _runtime._gemm_on_caches(a, b, c, caches, isa_id, nt, 0, tile)
            assert np.array_equal(c, want), (tile, nt)
    ref = a.astype(np.float64) @ b.astype(np.float64)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(want, ref, rtol=tol, atol=tol * np.sqrt(k) * 4)
