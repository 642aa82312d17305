"""`fastdigits bench`: the command end to end (tiny sizes), its JSON schema,
fair-timing mechanics, the peak/copy probes and one-line option errors."""

import importlib
import importlib.util
import json
import os
import sys
import time

import numpy as np
import pytest

import fastdigits
from fastdigits import _peak, _runtime
from fastdigits.bench import SCHEMA, SCHEMA_ID, validate
from fastdigits.bench import cases as bench_cases
from fastdigits.bench import runner, timing
from fastdigits.cli import main

from _specs import KERNELS, UNBENCHED
from _subprocess import run_fastdigits


def _resolve(kernel):
    """The public object a row names (e.g. fastdigits.nn.MLP.fit), or None."""
    parts = kernel.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One real run of the command in a fresh process, tiny sizes."""
    d = tmp_path_factory.mktemp("bench")
    js, png, md = d / "out.json", d / "chart.png", d / "table.md"
    proc = run_fastdigits(
        "bench",
        "--tiny",
        "--quick",
        "--threads",
        "2",
        "--json",
        str(js),
        "--plot",
        str(png),
        "--markdown",
        str(md),
        cwd=str(d),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    # written whole through a temporary file each (nothing else left there)
    assert sorted(os.listdir(d)) == ["chart.png", "out.json", "table.md"]
    return proc, json.loads(js.read_text()), png, md


def test_tiny_run_json_validates_against_schema(tiny_run):
    _proc, doc, _png, _md = tiny_run
    assert validate(doc) == []
    assert doc["schema"] == SCHEMA_ID
    assert doc["settings"]["mode"] == "tiny"
    assert doc["settings"]["threads"] == 2


def test_tiny_run_header_facts_and_thread_checks(tiny_run):
    proc, doc, _png, _md = tiny_run
    m = doc["machine"]
    assert m["cpu"] and m["compiler"] and m["simd"] in fastdigits.available_simd()
    assert m["numpy"] == np.__version__
    for who, t in doc["threads"].items():
        assert t["requested"] == 2
        if t["observed"] is not None:
            assert t["observed"] == 2, who
    for dt in ("float32", "float64"):
        p = doc["limits"]["fma_peak"][dt]
        assert p["per_core_gflops"] > 0
        assert p["peak_gflops"] == pytest.approx(p["per_core_gflops"] * p["threads"])
        assert p["simd"] == fastdigits.available_simd()[-1]
    assert doc["limits"]["copy"]["gbps"] > 0
    out = proc.stdout
    for word in (
        "cpu",
        "simd path",
        "openmp",
        "compiler",
        "BLAS",
        "pytorch",
        "FMA peak f32",
        "FMA peak f64",
        "memory copy",
        "OPENBLAS_CORETYPE",
    ):
        assert word in out


def test_tiny_run_rows_are_honest(tiny_run):
    """Every landed kernel really runs; a missing one is 'unavailable' and
    says which API is missing; ratios and limits follow from the times."""
    _proc, doc, _png, _md = tiny_run
    rows = doc["rows"]
    groups = {r["group"] for r in rows}
    assert set(KERNELS) - set(UNBENCHED) | {"mlp_epoch"} <= groups
    acts = {r["params"]["activation"] for r in rows if r["group"] == "dense_backward"}
    assert acts == {"identity", "relu", "sigmoid", "tanh", "gelu"}
    peak = doc["limits"]["fma_peak"]["float32"]["peak_gflops"]
    copy = doc["limits"]["copy"]["gbps"]
    for r in rows:
        landed = _resolve(r["kernel"]) is not None
        if not landed:
            assert r["status"] == "unavailable", r["name"]
            assert r["kernel"].split(".")[1] in r["reason"]
            continue
        assert r["status"] == "ok", (r["name"], r["reason"])
        assert r["check"] != "mismatch", r["name"]
        res = r["results"]
        ours = res["fastdigits"]
        assert ours["status"] == "ok" and ours["min_s"] <= ours["median_s"] <= ours["max_s"]
        if res["numpy"]["status"] == "ok":
            assert r["speedup_vs_numpy"] == pytest.approx(
                res["numpy"]["median_s"] / ours["median_s"]
            )
        if res["torch"]["status"] == "ok":
            assert r["speedup_vs_torch"] == pytest.approx(
                res["torch"]["median_s"] / ours["median_s"]
            )
        lim = r["limit"]
        if r["kind"] == "matrix":
            assert lim["metric"] == "GFLOP/s"
            assert lim["value"] == pytest.approx(r["flops"] / ours["median_s"] / 1e9)
            assert lim["percent"] == pytest.approx(100 * lim["value"] / peak)
        elif lim is not None:
            assert lim["metric"] == "GB/s"
            assert lim["percent"] == pytest.approx(100 * lim["value"] / copy)


def test_tiny_run_has_the_bf16_rows_against_pytorch_bf16(tiny_run):
    """Issue 13: bf16 layers against F.linear on bf16 tensors and a bf16
    epoch against PyTorch under autocast, each saying which path ran."""
    _proc, doc, _png, _md = tiny_run
    rows = {r["group"]: r for r in doc["rows"]}
    for group in ("dense_forward_bf16", "dense_backward_bf16", "mlp_epoch_bf16"):
        r = rows[group]
        assert r["status"] == "ok", (group, r["reason"])
        assert r["params"]["precision"] == "bfloat16"
        assert "bf16 path: " in r["notes"]
        assert r["results"]["fastdigits"]["status"] == "ok"
        assert r["results"]["numpy"]["status"] == "ok"  # fastdigits float32
        if importlib.util.find_spec("torch") is not None:
            assert r["results"]["torch"]["status"] == "ok", r["results"]["torch"]
    assert "autocast" in rows["mlp_epoch_bf16"]["notes"]


def test_tiny_run_text_table_markdown_and_png(tiny_run):
    proc, doc, png, md = tiny_run
    table = md.read_text()
    assert "`fastdigits bench --tiny --quick --threads 2`" in table  # output options left out
    for r in doc["rows"]:
        assert r["name"] in proc.stdout
        assert "| %s |" % r["name"] in table
    assert "vs NumPy" in proc.stdout and "limit" in proc.stdout
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


def test_validator_rejects_broken_documents(tiny_run):
    _proc, doc, _png, _md = tiny_run
    broken = json.loads(json.dumps(doc))
    del broken["machine"]["cpu"]
    broken["rows"][0]["status"] = "great"
    broken["settings"]["threads"] = "2"
    broken["extra"] = 1
    errors = validate(broken)
    assert any("cpu" in e for e in errors)
    assert any("great" in e for e in errors)
    assert any("settings.threads" in e for e in errors)
    assert any("extra" in e for e in errors)


def test_openblas_variables_are_reported_with_a_warning(monkeypatch):
    from fastdigits.bench import machine

    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.delenv("OPENBLAS_L2_SIZE", raising=False)
    facts = machine.facts(use_torch=False)
    assert facts["env"]["OPENBLAS_CORETYPE"] == "Haswell"
    assert facts["env"]["OPENBLAS_L2_SIZE"] is None
    (warning,) = [w for w in facts["warnings"] if "OPENBLAS" in w]
    assert "OPENBLAS_CORETYPE=Haswell" in warning
    assert "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE fastdigits bench" in warning
    monkeypatch.delenv("OPENBLAS_CORETYPE")
    assert not [w for w in machine.facts(use_torch=False)["warnings"] if "OPENBLAS" in w]


def test_print_schema_is_the_schema(capsys):
    assert main(["bench", "--print-schema"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(SCHEMA))


def test_list_and_only_select_cases(capsys):
    assert main(["bench", "--tiny", "--list", "--only", "dense_forward/relu*"]) == 0
    names = capsys.readouterr().out.split()
    assert names and all(n.startswith("dense_forward/relu/") for n in names)
    assert main(["bench", "--tiny", "--list", "--only", "sgd,adam"]) == 0
    names = capsys.readouterr().out.split()
    assert {n.split("/")[0] for n in names} == {"sgd_step", "adam_step"}


def _errors(argv, capsys):
    try:
        rc = main(argv)
    except SystemExit as exc:
        rc = exc.code
    return rc, capsys.readouterr()


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--threads", "0"], "argument --threads: must be >= 1"),
        (["--threads", "two"], "argument --threads: must be a whole number"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--dtype", "float16"], "--dtype"),
        (["--wait-idle", "-1"], "argument --wait-idle: must be >= 0 seconds"),
        (["--plot", "chart.jpg"], ".png"),
        (["--only", "no_such_kernel_zzz"], "matches no case"),
        (["--json", "/no/such/folder/x.json"], "no such folder"),
        # '' passed the checks: the whole run, then open('') failed
        (["--json", "", "--list"], "--json needs a file name, got ''"),
        (["--markdown", ""], "--markdown needs a file name, got ''"),
    ],
)
def test_bad_options_exit_2_with_one_line(argv, words, capsys):
    rc, cap = _errors(["bench", "--tiny"] + argv, capsys)
    assert rc == 2
    lines = cap.err.strip().splitlines()
    assert len(lines) == 1, cap.err
    assert words in lines[0] and "error" in lines[0]
    assert cap.out == ""


def test_plot_without_matplotlib_says_how_to_install(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    rc, cap = _errors(["bench", "--tiny", "--plot", str(tmp_path / "c.png")], capsys)
    assert rc == 2
    lines = cap.err.strip().splitlines()
    assert len(lines) == 1 and "pip install fastdigits[plot]" in lines[0]


def _run_rows(only):
    opts = runner.Options(mode="tiny", threads=1, only=[only], use_torch=False, progress=False)
    with open(os.devnull, "w") as sink:
        return runner.run(opts, out=sink)["rows"]


def test_missing_kernel_is_reported_unavailable(monkeypatch):
    monkeypatch.delattr(fastdigits, "matmul", raising=False)
    rows = _run_rows("matmul/*")
    assert rows and all(r["status"] == "unavailable" for r in rows)
    assert all("fastdigits.matmul" in r["reason"] for r in rows)
    assert all(r["results"]["numpy"]["status"] == "skipped" for r in rows)


def test_present_kernel_runs_and_a_wrong_result_is_flagged(monkeypatch):
    import fastdigits.reference as reference

    def good(a, b, *, out=None):
        return np.matmul(a, b, out=out)

    def wrong(a, b, *, out=None):
        return np.matmul(a, b, out=out) * 1.01

    monkeypatch.setattr(reference, "matmul", good, raising=False)
    monkeypatch.setattr(fastdigits, "matmul", good, raising=False)
    (row,) = _run_rows("matmul/*")
    assert row["status"] == "ok" and row["check"] == "ok"
    assert row["results"]["torch"]["status"] == "unavailable"
    assert row["speedup_vs_numpy"] > 0 and row["limit"]["metric"] == "GFLOP/s"
    monkeypatch.setattr(fastdigits, "matmul", wrong)
    (row,) = _run_rows("matmul/*")
    assert row["check"] == "mismatch"


def test_contender_that_raises_is_reported_not_fatal(monkeypatch):
    import fastdigits.reference as reference

    def broken(a, b, *, out=None):
        raise RuntimeError("boom")

    monkeypatch.setattr(
        fastdigits, "matmul", lambda a, b, *, out=None: np.matmul(a, b, out=out), raising=False
    )
    monkeypatch.setattr(reference, "matmul", broken, raising=False)
    (row,) = _run_rows("matmul/*")
    assert row["status"] == "ok"
    assert row["results"]["numpy"]["status"] == "error"
    assert "boom" in row["results"]["numpy"]["reason"]
    assert row["speedup_vs_numpy"] is None


def test_timing_rotates_order_warms_up_and_pauses():
    log = []
    benches = {name: timing.Bench(lambda name=name: log.append(name)) for name in "abc"}
    out = timing.time_contenders(benches, rounds=4, min_sample_s=0.0, pause_s=0.0, warmup=2)
    assert set(out) == set("abc")
    assert all(len(t.samples) == 4 and t.calls == 1 for t in out.values())
    warm, timed = log[:6], log[6:]
    assert warm == ["a", "a", "b", "b", "c", "c"]
    # each sample is one untimed pool-waking call, then the timed call
    assert len(timed) == 24 and timed[0::2] == timed[1::2]
    samples = timed[0::2]
    rounds = [tuple(samples[i : i + 3]) for i in range(0, 12, 3)]
    assert all(sorted(r) == ["a", "b", "c"] for r in rounds)
    assert len({r[0] for r in rounds}) >= 2  # who goes first changes


def test_timing_pauses_after_each_warm_up_like_after_a_sample(monkeypatch):
    # a contender's spinning pool (OpenBLAS) must not slow the next warm-up
    # or round 0's first sample: its own pause follows its warm-up too
    log = []
    monkeypatch.setattr(timing, "_pause", lambda s: log.append(s))
    benches = {name: timing.Bench(lambda name=name: log.append(name)) for name in "abc"}
    timing.time_contenders(
        benches, rounds=1, min_sample_s=0.0, pause_s=0.01, pause_after={"b": 0.2}, warmup=1
    )
    assert log[:6] == ["a", 0.01, "b", 0.2, "c", 0.01]


@pytest.mark.parametrize("wake_s, expected", [(0.0, 1), (60.0, 5)])
def test_timing_wakes_pools_before_each_sample(monkeypatch, wake_s, expected):
    # untimed calls start each sample: one, then more until WAKE_S has
    # passed, never more than the sample's own number of calls
    monkeypatch.setattr(timing, "WAKE_S", wake_s)
    counts = []
    bench = timing.Bench(
        lambda: counts.__setitem__(-1, counts[-1] + 1), reset=lambda: counts.append(0)
    )
    monkeypatch.setattr(timing, "_pause", lambda s: None)
    out = timing.time_contenders({"x": bench}, rounds=2, min_sample_s=0.0, pause_s=0.0)
    assert out["x"].calls == 1
    # calls is 1 here, so the wake-up is one call whatever WAKE_S is
    assert counts[-2:] == [2, 2]
    counts.clear()
    for _ in range(2):
        timing._sample(bench, 5)
    assert counts == [expected + 5] * 2


def test_result_check_judges_float_error_against_the_result_scale():
    # a sum that cancels to near zero: off by 2e-4 where the result reaches
    # 400 is float32 rounding, not a wrong result
    ref = np.array([400.0, -250.0, 1e-6], np.float32)
    assert runner._same(ref + np.float32([0, 0, 2e-4]), ref, 1e-3, 1e-4) is True
    assert runner._same(ref * np.float32([1, 1.01, 1]), ref, 1e-3, 1e-4) is False
    assert runner._same((ref, ref[:2]), (ref, ref[:2] + 1), 1e-3, 1e-4) is False
    nan_inf = np.array([np.nan, np.inf, 1.0])
    assert runner._same(nan_inf, nan_inf.copy(), 1e-7, 1e-9) is True
    assert runner._same(np.array([np.nan, 1.0]), np.array([1.0, 1.0]), 1e-3, 1e-4) is False
    assert runner._same(np.array([np.inf, 1.0]), np.array([1.0, 1.0]), 1e-3, 1e-4) is False
    assert runner._same(np.arange(3), np.arange(3), 1e-3, 1e-4) is True
    assert runner._same(np.arange(3), np.array([0, 1, 3]), 1e-3, 1e-4) is False


def test_wait_for_idle_gives_up_after_its_limit(monkeypatch):
    monkeypatch.setattr(timing, "runnable_tasks", lambda: 5)
    assert timing.wait_for_idle(0.05) is False
    monkeypatch.setattr(timing, "runnable_tasks", lambda: 1)
    assert timing.wait_for_idle(10.0) is True
    monkeypatch.setattr(timing, "runnable_tasks", lambda: None)
    assert timing.wait_for_idle(10.0) is True


def test_timing_reset_runs_before_every_sample():
    state = {"fresh": 0, "runs": 0}

    def reset():
        state["fresh"] += 1

    def run():
        state["runs"] += 1

    out = timing.time_contenders(
        {"x": timing.Bench(run, reset=reset, repeatable=False)},
        rounds=3,
        min_sample_s=1.0,
        pause_s=0.0,
        warmup=1,
    )
    assert out["x"].calls == 1
    assert state == {"fresh": 4, "runs": 4}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fma_loop_counts_flops_on_every_path(dtype):
    lanes = {
        "generic": 16,
        "avx2": 12 * (8 if dtype == "float32" else 4),
        "avx512": 12 * (16 if dtype == "float32" else 8),
    }
    lanes["avx512_bf16"] = lanes["amx"] = lanes["avx512"]  # float32/64: the AVX-512 loop
    for isa in fastdigits.available_simd():
        for nt in (1, 2):
            with fastdigits.simd(isa), fastdigits.threads(nt):
                flops, used, sink = _peak.fma_loop(dtype, 1000)
            assert 1 <= used <= nt
            assert flops == 1000 * lanes[isa] * 2 * used
            assert np.isfinite(sink) and sink > 0


def test_fma_loop_rejects_bad_arguments():
    with pytest.raises(TypeError, match="dtype"):
        _peak.fma_loop("int32", 10)
    with pytest.raises(ValueError, match="iters"):
        _peak.fma_loop("float32", -1)
    with pytest.raises(TypeError, match="iters"):
        _peak.fma_loop("float32", 1.5)


@pytest.mark.parametrize("n", [0, 1, 4097, (1 << 20) + 13])
def test_copy_bytes_copies_exactly(n):
    src = np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8)
    for nt in (1, 2):
        dst = np.zeros(n + 3, np.uint8)
        with fastdigits.threads(nt):
            _peak.copy_bytes(dst[:n], src)
        assert np.array_equal(dst[:n], src)
        assert not dst[n:].any()  # nothing written past the end


def test_copy_rate_counts_the_time_a_waiting_thread_sleeps(monkeypatch):
    # Team mates that wait for a descheduled thread sleep: wall time, no CPU
    # time.  A CPU-time clock read 2785 GB/s for 16 threads on a loaded VM.
    from fastdigits.bench import machine

    real = _peak.copy_bytes

    def copy_then_sleep(dst, src):
        real(dst, src)
        time.sleep(0.05)

    monkeypatch.setattr(_peak, "copy_bytes", copy_then_sleep)
    got = machine.copy_rate(2, nbytes=1 << 20, reps=2)
    assert got["gbps"] <= 2 * (1 << 20) / 0.05 / 1e9


def test_copy_rate_buffer_is_larger_than_the_last_level_cache():
    from fastdigits.bench import machine

    caches = _runtime.cache_info()
    llc = max(caches[level]["size"] for level in ("l1d", "l2", "l3"))
    nbytes = machine.copy_buffer_bytes()
    assert nbytes >= 64 << 20
    assert nbytes > llc or nbytes == 1 << 30


def test_copy_bytes_rejects_bad_buffers():
    a = np.zeros(10, np.uint8)
    with pytest.raises(ValueError, match="size"):
        _peak.copy_bytes(np.zeros(9, np.uint8), a)
    with pytest.raises(ValueError, match="overlap"):
        _peak.copy_bytes(a, a)
    with pytest.raises(TypeError, match="src"):
        _peak.copy_bytes(a, np.zeros(10, np.float32))
    ro = np.zeros(10, np.uint8)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        _peak.copy_bytes(ro, np.ones(10, np.uint8))


def test_every_case_names_a_public_kernel():
    data = bench_cases.Data(bench_cases.PROFILES["full"])
    try:
        cs = bench_cases.build_cases(bench_cases.PROFILES["full"], "float32", data)
    finally:
        data.close()
    assert len({c.name for c in cs}) == len(cs)
    batches = {c.params.get("m") for c in cs if c.group == "dense_forward"}
    assert {64, 256, 1024, 8192} <= batches
    for c in cs:
        assert c.kernel.startswith("fastdigits.") and c.kind in ("matrix", "stream")
        assert set(c.contenders) == {"fastdigits", "numpy", "torch"}
