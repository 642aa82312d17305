"""`--plot FILE.png`: a bar chart of fastdigits' speed-up over NumPy and PyTorch."""

from __future__ import annotations

from typing import Any, Dict

INSTALL_HINT = "--plot needs matplotlib: pip install fastdigits[plot]"


class PlotUnavailable(RuntimeError):
    pass


def write_plot(doc: Dict[str, Any], path: str) -> None:
    """Horizontal bars, one group per case: speed-up vs NumPy and vs PyTorch
    (log scale, 1x marked).  Raises PlotUnavailable without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PlotUnavailable(INSTALL_HINT) from None
    rows = [
        r
        for r in doc["rows"]
        if r["status"] == "ok" and (r["speedup_vs_numpy"] or r["speedup_vs_torch"])
    ]
    names = [r["name"] for r in rows]
    n = max(1, len(rows))
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.32 * n))
    h = 0.38
    for offset, key, label, color in (
        (-h / 2, "speedup_vs_numpy", "vs NumPy", "#1f77b4"),
        (h / 2, "speedup_vs_torch", "vs PyTorch", "#ff7f0e"),
    ):
        ys = [i + offset for i, r in enumerate(rows) if r[key]]
        xs = [r[key] for r in rows if r[key]]
        if xs:
            bars = ax.barh(ys, xs, height=h, label=label, color=color)
            ax.bar_label(bars, labels=["%.2fx" % x for x in xs], fontsize=6, padding=2)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    from matplotlib.ticker import FuncFormatter, NullFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: "%gx" % v))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("speed-up of fastdigits (other's median time / ours; > 1 = faster)")
    st, m = doc["settings"], doc["machine"]
    ax.set_title(
        "fastdigits %s, %s, %d thread(s): %s"
        % (m["fastdigits"], st["dtype"], st["threads"], m["cpu"]),
        fontsize=9,
    )
    values = [r[k] for r in rows for k in ("speedup_vs_numpy", "speedup_vs_torch") if r[k]]
    if values:  # room for the labels at the bar ends
        ax.set_xlim(min(0.5, min(values) / 1.5), max(2.0, max(values)) * 3)
    if rows:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    else:
        ax.text(0.5, 0.5, "no case ran", transform=ax.transAxes, ha="center")
    from .report import run_warnings

    warnings = [
        "WARNING: " + w.replace("the times above", "these speed-ups") for w in run_warnings(doc)
    ]
    if warnings:  # the chart travels without the text table: it must say so too
        ax.set_xlabel(ax.get_xlabel() + "\n" + "\n".join(warnings), color="black")
        ax.xaxis.label.set_fontsize(8)
    fig.tight_layout()
    from .._atomic import atomic_write  # replaced whole, as every file we write

    try:
        atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=110))
    finally:
        plt.close(fig)
