"""show_config(): what this build of fastdigits is and what it will run."""

from __future__ import annotations

import platform
import sys
from typing import Any, Dict

import numpy as np

from . import _config, _runtime
from ._version import __version__


def cpu_name() -> str:
    """The CPU's name: its brand string (x86 cpuid; none in a build without
    the x86 code), else /proc/cpuinfo's (Linux), else the platform's."""
    name = _runtime.cpu_brand()
    if not name:
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key.strip() in ("model name", "Processor", "cpu model") and value.strip():
                        name = value.strip()
                        break
        except OSError:
            pass
    return name or platform.processor() or platform.machine()


def config_dict() -> Dict[str, Any]:
    """The facts show_config() prints, as a dict (used by `fastdigits bench`)."""
    return {
        "fastdigits": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": cpu_name(),
        "compiler": _runtime.compiler_version(),
        "openmp": _runtime.openmp_enabled(),
        "threads": _config.get_num_threads(),
        "simd": _config.get_simd(),
        "simd_available": list(_config.available_simd()),
        "bf16": bf16_path(_config.get_simd()),
        "amx": _runtime.amx_state(),
        "caches": _runtime.cache_info(),
        "gemm_blocks": gemm_blocks(_config.get_simd()),
        "numpy": np.__version__,
    }


def gemm_blocks(simd: str) -> Dict[str, Dict[str, int]]:
    """The GEMM's register tile (mr x nr) and cache blocks (kc, mc, nc) per
    dtype on SIMD path `simd`, derived from this CPU's caches."""
    isa = _runtime.ISA_NAMES.index(simd)
    blocks = {dt: _runtime.gemm_blocking(isa, dt) for dt in ("float32", "float64", "bfloat16")}
    # the tall tile's rows (14 x 32 tiles where A and B are read in place), 0: none
    blocks["float32"]["mr_tall"] = _runtime.gemm_tall_mr(isa)
    return blocks


def _size(n: int) -> str:
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return "%d MiB" % (n >> 20)
    if n >= 1 << 10 and n % (1 << 10) == 0:
        return "%d KiB" % (n >> 10)
    return "%d B" % n


def _caches_line(caches: Dict[str, Any]) -> str:
    parts = []
    for name, label in (("l1d", "L1d"), ("l2", "L2"), ("l3", "L3")):
        lv = caches[name]
        if not lv["size"]:
            continue
        text = "%s %s" % (label, _size(lv["size"]))
        if lv["ways"]:
            text += " %d-way" % lv["ways"]
        if lv["sharing"] > 1:
            text += " (%d CPUs)" % lv["sharing"]
        parts.append(text)
    return "%s; from %s" % (", ".join(parts), caches["source"])


def _blocks_line(blocks: Dict[str, Dict[str, int]]) -> str:
    def tile(b: Dict[str, int]) -> str:
        text = "%dx%d" % (b["mr"], b["nr"])
        if b.get("mr_tall"):
            text += " (+%dx%d)" % (b["mr_tall"], b["nr"])
        return text

    return "; ".join(
        "%s %s kc %d mc %d nc %d" % (dt, tile(b), b["kc"], b["mc"], b["nc"])
        for dt, b in blocks.items()
    )


def bf16_path(simd: str) -> str:
    """What precision="bfloat16" runs on SIMD path `simd`."""
    if simd == "amx":
        return "amx (tdpbf16ps)"
    if simd == "avx512_bf16":
        return "avx512_bf16 (vdpbf16ps)"
    return "emulated (portable C)"


def show_config() -> None:
    """Print version, compiler, OpenMP, threads, SIMD path and NumPy version.

    The threads and SIMD lines are what the next kernel call from this
    Python thread would use (:func:`get_num_threads`, :func:`get_simd`).

    The caches line is what the CPU reports (read once per process); the
    gemm blocks line gives, per dtype, the register tile MR x NR of the
    path's micro-kernel and the cache blocks KC, MC, NC derived from those
    caches (docs/performance.md); "(+14x32)" after float32's tile: on this
    CPU (Intel, two 512-bit FMA ports) the AVX-512 path also runs 14 x 32
    tiles where it reads A and B in place (a small batch, a row-major
    weight).

    Examples
    --------
    >>> import fastdigits
    >>> with fastdigits.threads(2), fastdigits.simd("generic"):
    ...     fastdigits.show_config()
    fastdigits ...
      python     : ...
      cpu        : ...
      compiler   : ...
      openmp     : ...
      threads    : 2
      simd path  : generic (available: generic...)
      bf16 path  : emulated (portable C)
      amx        : ...
      caches     : ...
      gemm blocks: ...
      numpy      : ...
    """
    info = config_dict()
    omp = "on" if info["openmp"] else "off (serial build)"
    lines = [
        "fastdigits %s" % info["fastdigits"],
        "  python     : %s (%s)" % (info["python"], info["platform"]),
        "  cpu        : %s" % info["cpu"],
        "  compiler   : %s" % info["compiler"],
        "  openmp     : %s" % omp,
        "  threads    : %d" % info["threads"],
        "  simd path  : %s (available: %s)" % (info["simd"], ", ".join(info["simd_available"])),
        "  bf16 path  : %s" % info["bf16"],
        "  amx        : %s" % info["amx"],
        "  caches     : %s" % _caches_line(info["caches"]),
        "  gemm blocks: %s" % _blocks_line(info["gemm_blocks"]),
        "  numpy      : %s" % info["numpy"],
    ]
    extra = _extra_facts()
    for key, value in extra.items():
        lines.append("  %-11s: %s" % (key, value))
    print("\n".join(lines))


def _extra_facts() -> Dict[str, str]:
    """Facts other modules contribute (e.g. the inflate backend)."""
    facts: Dict[str, str] = {}
    try:
        from .idx import inflate_backend  # noqa: WPS433 (optional until idx lands)

        facts["inflate"] = inflate_backend()
    except ImportError:
        pass
    return facts
