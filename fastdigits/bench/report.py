"""Text rendering of a bench document: the header and the table."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from .machine import UNSET_HINT

LABELS = {"fastdigits": "fastdigits", "numpy": "NumPy", "torch": "PyTorch"}


def fmt_time(s: Optional[float]) -> str:
    if s is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return "%.3g %s" % (s / scale, unit)
    return "%.3g ns" % (s / 1e-9)


def fmt_ratio(r: Optional[float]) -> str:
    return "-" if r is None else "%.2fx" % r


def header_text(head: Dict[str, Any]) -> str:
    m, th, lim, st = head["machine"], head["threads"], head["limits"], head["settings"]
    cores = "%d logical" % m["logical_cores"]
    if m.get("physical_cores"):
        cores += " / %d physical" % m["physical_cores"]
    blas = (
        ", ".join(
            "%s %s (%s, %s threading)"
            % (
                b.get("internal_api"),
                b.get("version"),
                b.get("architecture") or "core type ?",
                b.get("threading_layer"),
            )
            for b in m["blas"]
        )
        or "none found by threadpoolctl"
    )

    def thr(key: str) -> str:
        t = th.get(key)
        if not t:
            return "%s -" % key
        return "%s %s/%s" % (key, t["requested"], t["observed"])

    lines = [
        "fastdigits bench: %s mode, %s, %d thread(s) for every contender"
        % (st["mode"], st["dtype"], st["threads"]),
        "  cpu         : %s (%s cores)" % (m["cpu"], cores),
        "  simd path   : %s (available: %s)" % (m["simd"], ", ".join(m["simd_available"])),
        "  openmp      : %s (max threads %d)"
        % ("on" if m["openmp"] else "off (serial build)", m["omp_max_threads"]),
        "  compiler    : %s" % m["compiler"],
        "  numpy       : %s, BLAS %s" % (m["numpy"], blas),
        "  pytorch     : %s" % (m["torch"] or "not used (not installed or --no-torch)"),
        "  threads     : %s (requested/observed)"
        % ", ".join(thr(k) for k in ("fastdigits", "numpy_blas", "torch") if k in th),
    ]
    for dt in ("float32", "float64"):
        p = lim["fma_peak"][dt]
        lines.append(
            "  FMA peak %s: %.0f GFLOP/s per core x %d = %.0f GFLOP/s (%s loop; "
            "all threads at once measured %.0f)"
            % (
                "f32" if dt == "float32" else "f64",
                p["per_core_gflops"],
                p["threads"],
                p["peak_gflops"],
                p["simd"],
                p["measured_all_threads_gflops"],
            )
        )
    c = lim["copy"]
    lines.append(
        "  memory copy : %.1f GB/s (bytes read + written, %d thread(s), %d MiB buffer)"
        % (c["gbps"], c["threads"], c["buffer_bytes"] >> 20)
    )
    env = m["env"]
    set_vars = ["%s=%s" % (k, v) for k, v in env.items() if v is not None]
    unset = [k for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if env.get(k) is None]
    if unset:
        set_vars.append("%s not set" % ", ".join(unset))
    lines.append("  environment : %s" % "; ".join(set_vars))
    if m.get("load_average") is not None:
        lines.append(
            "  load average: %s (at start)" % " ".join("%.2f" % x for x in m["load_average"])
        )
    for w in m["warnings"]:
        lines.append("WARNING: " + w)
    return "\n".join(lines)


def _cell(res: Dict[str, Any]) -> str:
    st = res.get("status")
    if st == "ok":
        return "%s [%s-%s]" % (
            fmt_time(res["median_s"]),
            fmt_time(res["min_s"]).split()[0],
            fmt_time(res["max_s"]),
        )
    return {"n/a": "n/a", "skipped": "-"}.get(st, st or "-")


def table_text(doc: Dict[str, Any]) -> str:
    header = ["case", "fastdigits", "NumPy", "PyTorch", "vs NumPy", "vs torch", "limit"]
    body: List[List[str]] = []
    notes: List[str] = []
    for row in doc["rows"]:
        if row["status"] != "ok" and row["results"]["fastdigits"].get("status") != "ok":
            body.append(
                [row["name"], "%s: %s" % (row["status"], row["reason"]), "", "", "", "", ""]
            )
            continue
        res = row["results"]
        lim = row["limit"]
        limit = "-"
        if lim:
            what = "peak" if lim["of"] == "fma_peak" else "copy"
            limit = "%.1f %s = %.0f%% %s" % (lim["value"], lim["metric"], lim["percent"], what)
        if row["check"] == "mismatch":
            limit += "  RESULT MISMATCH vs NumPy"
        body.append(
            [
                row["name"],
                _cell(res["fastdigits"]),
                _cell(res["numpy"]),
                _cell(res["torch"]),
                fmt_ratio(row["speedup_vs_numpy"]),
                fmt_ratio(row["speedup_vs_torch"]),
                limit,
            ]
        )
        for name in ("numpy", "torch"):
            if res[name].get("status") == "error":
                notes.append("%s, %s: %s" % (row["name"], LABELS[name], res[name]["reason"]))
    full = [r for r in [header] + body if r[2:] != ["", "", "", "", ""]]
    widths = [max(len(r[i]) for r in full) for i in range(len(header))]
    widths[0] = max(len(r[0]) for r in [header] + body)
    lines = []
    for i, r in enumerate([header] + body):
        if len(r) == 7 and r[2:] == ["", "", "", "", ""]:
            lines.append("%s  %s" % (r[0].ljust(widths[0]), r[1]))
        else:
            lines.append(
                "  ".join(
                    c.ljust(w) if j < 1 else c.rjust(w) if j in (4, 5) else c.ljust(w)
                    for j, (c, w) in enumerate(zip(r, widths))
                ).rstrip()
            )
        if i == 0:
            lines.append("-" * len(lines[0]))
    s = doc["summary"]
    lines.append("")
    lines.append(
        "times: median per call [min-max] over %d rounds (epochs: %d); vs = other's "
        "median / fastdigits' median (>1: fastdigits faster)"
        % (doc["settings"]["rounds"], doc["settings"]["epoch_rounds"])
    )
    lines.append(
        "limit: matrix rows in GFLOP/s and % of the measured FMA peak; streaming rows "
        "in GB/s (bytes read + written) and % of the measured copy rate (inputs that "
        "fit in cache can exceed 100%)"
    )
    lines.append(
        "%d cases: %d ran, %d unavailable, %d errors, %d result mismatches; %.1f s"
        % (s["cases"], s["ran"], s["unavailable"], s["errors"], s["mismatches"], s["elapsed_s"])
    )
    lines += ["note: " + n for n in notes]
    seen = {}
    for row in doc["rows"]:
        if row.get("notes") and row["group"] not in seen:
            seen[row["group"]] = row["notes"]
    if seen:
        lines.append("contenders (NumPy = fastdigits.reference unless said):")
        lines += ["  %s: %s" % (g, n) for g, n in seen.items()]
    lines += ["WARNING: " + w for w in run_warnings(doc)]
    return "\n".join(lines)


def run_warnings(doc: Dict[str, Any]) -> List[str]:
    """What makes the run's times doubtful (for the text table and the chart)."""
    out = []
    if any(
        doc["machine"]["env"].get(k) is not None for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    ):
        out.append("NumPy may be slowed by the environment; rerun with: " + UNSET_HINT)
    load = doc["machine"].get("load_average")
    if load is not None and load[0] > 0.5 * doc["machine"]["logical_cores"]:
        out.append(
            "the machine was busy (load average %.1f at start): the times above are noisy" % load[0]
        )
    return out


def _result_command(command: str) -> str:
    """The command without the options that only choose where output goes."""
    words, out, skip = command.split(), [], False
    for w in words:
        if skip:
            skip = False
            continue
        if w in ("--json", "--plot", "--markdown"):
            skip = True
            continue
        if w.startswith(("--json=", "--plot=", "--markdown=")) or w == "--no-progress":
            continue
        out.append(w)
    return " ".join(out)


def markdown_text(doc: Dict[str, Any]) -> str:
    """The table as Markdown (for a README), with the command and machine."""
    m, st, lim = doc["machine"], doc["settings"], doc["limits"]
    blas = (
        ", ".join(
            "%s %s (%s)" % (b.get("internal_api"), b.get("version"), b.get("architecture"))
            for b in m["blas"]
        )
        or "no BLAS"
    )
    out = [
        "Produced by `%s` on %s (%d cores, SIMD %s, %s), %d thread(s) for every contender, "
        "%s; NumPy %s with %s; PyTorch %s.  FMA peak %.0f GFLOP/s (f32), memory copy "
        "%.1f GB/s, both measured at start.%s"
        % (
            _result_command(doc["command"]),
            m["cpu"],
            m["logical_cores"],
            m["simd"],
            m["compiler"],
            st["threads"],
            st["dtype"],
            m["numpy"],
            blas,
            m["torch"] or "not installed",
            lim["fma_peak"][st["dtype"]]["peak_gflops"],
            lim["copy"]["gbps"],
            "  Load average at start %.1f: noisy." % m["load_average"][0]
            if m.get("load_average") and m["load_average"][0] > 0.5 * m["logical_cores"]
            else "",
        ),
        "",
        "| case | fastdigits | NumPy | PyTorch | vs NumPy | vs PyTorch | limit |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in doc["rows"]:
        if row["status"] != "ok":
            out.append("| %s | %s | | | | | |" % (row["name"], row["status"]))
            continue
        res, lim_ = row["results"], row["limit"]
        cells = []
        for name in ("fastdigits", "numpy", "torch"):
            r = res[name]
            cells.append(
                fmt_time(r["median_s"]) if r.get("status") == "ok" else r.get("status", "-")
            )
        limit = "-"
        if lim_:
            limit = "%.1f %s (%.0f%% %s)" % (
                lim_["value"],
                lim_["metric"],
                lim_["percent"],
                "peak" if lim_["of"] == "fma_peak" else "copy",
            )
        out.append(
            "| %s | %s | %s | %s | %s | %s | %s |"
            % (
                row["name"],
                cells[0],
                cells[1],
                cells[2],
                fmt_ratio(row["speedup_vs_numpy"]),
                fmt_ratio(row["speedup_vs_torch"]),
                limit,
            )
        )
    out.append("")
    out.append(
        "Median time per call; vs = the other's median / fastdigits' median "
        "(> 1: fastdigits is faster)."
    )
    return "\n".join(out) + "\n"
