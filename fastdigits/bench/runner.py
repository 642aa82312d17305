"""Run the selected cases and assemble the result document (see schema.py)."""

from __future__ import annotations

import datetime
import fnmatch
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from . import machine
from .cases import CONTENDERS, PROFILES, Case, Data, Unavailable, build_cases
from .schema import SCHEMA_ID
from .timing import Bench, time_contenders


@dataclass
class Options:
    mode: str = "full"  # "full", "quick" or "tiny"
    threads: int = 1
    dtype: str = "float32"
    only: Sequence[str] = ()  # glob patterns (or substrings) of case names
    use_torch: bool = True
    progress: bool = True
    wait_idle_s: float = 0.0  # before each sample, wait for an idle run queue
    argv: List[str] = field(default_factory=list)


def matches(name: str, patterns: Sequence[str]) -> bool:
    """True when any pattern matches: a glob (``dense_*/relu/*``) against the
    whole name, or a plain word against any part of it."""
    if not patterns:
        return True
    for pat in patterns:
        if any(ch in pat for ch in "*?["):
            if fnmatch.fnmatchcase(name, pat):
                return True
        elif pat in name:
            return True
    return False


def case_names(opts: Options) -> List[str]:
    """Names of the cases the options select (nothing is run or loaded)."""
    data = Data(PROFILES[opts.mode])
    try:
        return [
            c.name
            for c in build_cases(PROFILES[opts.mode], opts.dtype, data)
            if matches(c.name, opts.only)
        ]
    finally:
        data.close()


def _same(a: Any, b: Any, rtol: float, atol: float) -> Optional[bool]:
    """Compare two kernel results (arrays, scalars or tuples of them); None
    when there is nothing comparable."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        if len(a) != len(b):
            return False
        verdicts = [_same(x, y, rtol, atol) for x, y in zip(a, b)]
        verdicts = [v for v in verdicts if v is not None]
        return all(verdicts) if verdicts else None
    if a is None and b is None:
        return None
    try:
        x, y = np.asarray(a), np.asarray(b)
    except Exception:
        return None
    if x.dtype == object or y.dtype == object:
        return None
    if x.shape != y.shape:
        return False
    if x.dtype.kind != "f" and y.dtype.kind != "f":
        return bool(np.array_equal(x, y))
    # Floating point: the largest difference against the result's scale,
    # not element by element - a sum over thousands of terms that cancels
    # to near zero carries an absolute error set by its terms, in any
    # summation order (dW at batch 8192 failed an elementwise check against
    # NumPy while both were as close to a float64 result).
    xf, yf = x.astype(np.float64), y.astype(np.float64)
    same = (xf == yf) | (np.isnan(xf) & np.isnan(yf))  # equal infinities too
    if same.all():
        return True
    diff = np.abs(xf[~same] - yf[~same])  # NaN or inf: only one side finite
    if not np.isfinite(diff).all():
        return False
    finite = np.isfinite(yf)
    scale = float(np.abs(yf[finite]).max()) if finite.any() else 0.0
    return float(diff.max()) <= atol + rtol * scale


def _resolve_bytes(case: Case) -> Optional[float]:
    b = case.bytes
    if callable(b):
        try:
            b = b()
        except Exception:
            return None
    return None if b is None else float(b)


def run_case(case: Case, opts: Options, limits: Dict[str, Any]) -> Dict[str, Any]:
    profile = PROFILES[opts.mode]
    results: Dict[str, Dict[str, Any]] = {}
    benches: Dict[str, Bench] = {}
    row: Dict[str, Any] = {
        "name": case.name,
        "group": case.group,
        "kernel": case.kernel,
        "kind": case.kind,
        "params": case.params,
        "notes": case.notes,
        "status": "ok",
        "reason": None,
        "flops": case.flops,
        "bytes": None,
        "check": "n/a",
        "results": results,
        "speedup_vs_numpy": None,
        "speedup_vs_torch": None,
        "limit": None,
    }
    for name in CONTENDERS:
        factory = case.contenders.get(name)
        if factory is None:
            results[name] = {"status": "n/a", "reason": "no %s equivalent" % name}
        elif name == "torch" and not opts.use_torch:
            results[name] = {
                "status": "unavailable",
                "reason": "PyTorch not installed"
                if not machine.torch_available()
                else "disabled by --no-torch",
            }
        else:
            try:
                benches[name] = factory()
            except Unavailable as exc:
                results[name] = {"status": "unavailable", "reason": str(exc)}
            except Exception as exc:  # setup failure: report, keep going
                results[name] = {"status": "error", "reason": "%s: %s" % (type(exc).__name__, exc)}
        if name == "fastdigits" and name not in benches:
            # Without our kernel the row has nothing to compare: skip the rest.
            row["status"] = results[name]["status"]
            row["reason"] = results[name]["reason"]
            for other in CONTENDERS[1:]:
                results[other] = {"status": "skipped", "reason": "fastdigits kernel missing"}
            return row

    def on_error(name: str, exc: BaseException) -> None:
        results[name] = {"status": "error", "reason": "%s: %s" % (type(exc).__name__, exc)}

    timings = time_contenders(
        benches,
        rounds=case.rounds or profile.rounds,
        min_sample_s=profile.min_sample_s,
        pause_s=profile.short_pause_s,
        warmup=profile.warmup,
        pause_after={"numpy": profile.pause_s},
        wait_idle_s=opts.wait_idle_s,
        on_error=on_error,
    )
    nbytes = _resolve_bytes(case)
    row["bytes"] = nbytes
    for name, t in timings.items():
        res = {
            "status": "ok",
            "reason": None,
            "median_s": t.median,
            "min_s": t.min,
            "max_s": t.max,
            "samples": len(t.samples),
            "calls_per_sample": t.calls,
            "gflops": None,
            "gbps": None,
        }
        if case.flops:
            res["gflops"] = case.flops / t.median / 1e9
        if nbytes:
            res["gbps"] = nbytes / t.median / 1e9
        results[name] = res
    if "fastdigits" not in timings:
        row["status"] = "error"
        row["reason"] = results["fastdigits"].get("reason")
        return row
    ours = timings["fastdigits"].median
    if "numpy" in timings:
        row["speedup_vs_numpy"] = timings["numpy"].median / ours
    if "torch" in timings:
        row["speedup_vs_torch"] = timings["torch"].median / ours
    if case.check and "numpy" in timings:
        f32 = case.params.get("dtype", "float32") == "float32"
        rtol, atol = (1e-3, 1e-4) if f32 else (1e-7, 1e-9)
        same = _same(timings["fastdigits"].first_result, timings["numpy"].first_result, rtol, atol)
        row["check"] = "n/a" if same is None else ("ok" if same else "mismatch")
    res = results["fastdigits"]
    if case.kind == "matrix" and res["gflops"] is not None:
        peak = limits["fma_peak"][opts.dtype]["peak_gflops"]
        row["limit"] = {
            "metric": "GFLOP/s",
            "value": res["gflops"],
            "percent": 100.0 * res["gflops"] / peak,
            "of": "fma_peak",
        }
    elif case.kind == "stream" and res["gbps"] is not None:
        rate = limits["copy"]["gbps"]
        row["limit"] = {
            "metric": "GB/s",
            "value": res["gbps"],
            "percent": 100.0 * res["gbps"] / rate,
            "of": "copy_rate",
        }
    return row


def run(opts: Options, *, out=sys.stdout) -> Dict[str, Any]:
    """Measure the machine, run the selected cases, return the document.

    ``out`` receives the header as soon as it is known (the caller prints
    the table); a tqdm progress bar goes to stderr when ``opts.progress``.
    """
    from . import report

    t_start = time.perf_counter()
    profile = PROFILES[opts.mode]
    use_torch = opts.use_torch and machine.torch_available()
    opts.use_torch = use_torch
    facts = machine.facts(use_torch)
    data = Data(profile)
    rows: List[Dict[str, Any]] = []
    try:
        cases = [c for c in build_cases(profile, opts.dtype, data) if matches(c.name, opts.only)]
        with machine.same_threads(opts.threads, use_torch) as thread_report:
            tiny = opts.mode == "tiny"
            limits = {
                "fma_peak": machine.fma_peak(
                    opts.threads, target_s=0.002 if tiny else 0.01, reps=1 if tiny else 5
                ),
                "copy": machine.copy_rate(
                    opts.threads, nbytes=(1 << 20) if tiny else None, reps=1 if tiny else 5
                ),
            }
            settings = {
                "mode": opts.mode,
                "threads": opts.threads,
                "dtype": opts.dtype,
                "only": list(opts.only),
                "torch": use_torch,
                "batch_sizes": list(profile.batches),
                "rounds": profile.rounds,
                "epoch_rounds": profile.epoch_rounds,
                "warmup": profile.warmup,
                "min_sample_s": profile.min_sample_s,
                "pause_s": profile.pause_s,
                "short_pause_s": profile.short_pause_s,
                "wait_idle_s": opts.wait_idle_s,
            }
            head = {
                "machine": facts,
                "threads": thread_report,
                "limits": limits,
                "settings": settings,
            }
            print(report.header_text(head), file=out, flush=True)
            bar = _progress(cases, opts.progress)
            for case in bar:
                if hasattr(bar, "set_postfix_str"):
                    bar.set_postfix_str(case.name, refresh=True)
                rows.append(run_case(case, opts, limits))
            if hasattr(bar, "close"):
                bar.close()
    finally:
        data.close()
    statuses = [r["status"] for r in rows]
    return _finite(
        {
            "schema": SCHEMA_ID,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(["fastdigits", "bench"] + list(opts.argv)),
            "settings": settings,
            "machine": facts,
            "threads": thread_report,
            "limits": limits,
            "rows": rows,
            "summary": {
                "cases": len(rows),
                "ran": statuses.count("ok"),
                "unavailable": statuses.count("unavailable"),
                "errors": statuses.count("error"),
                "mismatches": sum(1 for r in rows if r["check"] == "mismatch"),
                "elapsed_s": time.perf_counter() - t_start,
            },
        }
    )


def _finite(obj: Any) -> Any:
    """The document with any NaN/inf number replaced by None (strict JSON)."""
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, np.generic):
        return _finite(obj.item())
    return obj


def _progress(cases: List[Case], enabled: bool):
    if not enabled:
        return cases
    try:
        from tqdm import tqdm
    except ImportError:
        return cases
    return tqdm(cases, desc="bench", unit="case", file=sys.stderr, leave=False, dynamic_ncols=True)
