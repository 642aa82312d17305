"""show_config(): what this build of fastdigits is and what it will run."""

from __future__ import annotations

import platform
import sys
from typing import Any, Dict

import numpy as np

from . import _config, _runtime
from ._version import __version__


def config_dict() -> Dict[str, Any]:
    """The facts show_config() prints, as a dict (used by `fastdigits bench`)."""
    return {
        "fastdigits": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _runtime.cpu_brand() or platform.processor(),
        "compiler": _runtime.compiler_version(),
        "openmp": _runtime.openmp_enabled(),
        "threads": _config.get_num_threads(),
        "simd": _config.get_simd(),
        "simd_available": list(_config.available_simd()),
        "bf16": bf16_path(_config.get_simd()),
        "amx": _runtime.amx_state(),
        "numpy": np.__version__,
    }


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
