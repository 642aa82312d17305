"""The JSON document `fastdigits bench --json FILE` writes: a JSON Schema
(draft 2020-12 subset) as a Python dict, and a small validator for it.

Stable contract: ``schema`` names the version (``fastdigits-bench/1``); keys
are only ever added in a new version.  Times are seconds per call; GFLOP/s
and GB/s are 1e9 units; ``speedup_vs_*`` is the other contender's median
time divided by fastdigits' (> 1: fastdigits is faster).

``fastdigits bench --print-schema`` prints it; ``validate(doc)`` checks a
document without needing the ``jsonschema`` package.
"""

from __future__ import annotations

from typing import Any, Dict, List

SCHEMA_ID = "fastdigits-bench/1"

_num = {"type": "number"}
_pos = {"type": "number", "minimum": 0}
_str = {"type": "string"}
_int = {"type": "integer"}
_bool = {"type": "boolean"}


def _opt(schema: Dict[str, Any]) -> Dict[str, Any]:
    """The schema, or null."""
    t = schema["type"]
    out = dict(schema)
    out["type"] = [t, "null"] if isinstance(t, str) else list(t) + ["null"]
    return out


def _obj(props: Dict[str, Any], required=None, extra: bool = False) -> Dict[str, Any]:
    return {
        "type": "object",
        "properties": props,
        "required": sorted(props) if required is None else required,
        "additionalProperties": extra,
    }


_contender = _obj(
    {
        "status": {
            "type": "string",
            "enum": ["ok", "unavailable", "error", "n/a", "skipped"],
            "description": "ok: timed; unavailable: API or package missing; error: it "
            "raised; n/a: no such contender for this kernel; skipped: "
            "not run because the fastdigits kernel is missing",
        },
        "reason": _opt(_str),
        "median_s": _pos,
        "min_s": _pos,
        "max_s": _pos,
        "samples": {"type": "integer", "minimum": 1},
        "calls_per_sample": {"type": "integer", "minimum": 1},
        "gflops": _opt(_pos),
        "gbps": _opt(_pos),
    },
    required=["status", "reason"],
)

_thread_check = _obj(
    {"requested": _int, "observed": _opt(_int), "note": _opt(_str)},
    required=["requested", "observed"],
)

_peak = _obj(
    {
        "simd": _str,
        "per_core_gflops": _pos,
        "threads": {"type": "integer", "minimum": 1},
        "peak_gflops": _pos,
        "measured_all_threads_gflops": _pos,
    }
)

SCHEMA: Dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://fastdigits.invalid/schemas/bench-1.json",
    "title": "fastdigits bench result",
    "type": "object",
    "required": [
        "schema",
        "created",
        "command",
        "settings",
        "machine",
        "threads",
        "limits",
        "rows",
        "summary",
    ],
    "additionalProperties": False,
    "properties": {
        "schema": {"type": "string", "enum": [SCHEMA_ID]},
        "created": {"type": "string", "description": "ISO 8601 UTC time of the run"},
        "command": _str,
        "settings": _obj(
            {
                "mode": {"type": "string", "enum": ["full", "quick", "tiny"]},
                "threads": {"type": "integer", "minimum": 1},
                "dtype": {"type": "string", "enum": ["float32", "float64"]},
                "only": {"type": "array", "items": _str},
                "torch": _bool,
                "batch_sizes": {"type": "array", "items": _int},
                "rounds": _int,
                "epoch_rounds": _int,
                "warmup": _int,
                "min_sample_s": _pos,
                "pause_s": dict(_pos, description="pause after the NumPy contender"),
                "short_pause_s": dict(_pos, description="pause after the other contenders"),
                "wait_idle_s": dict(
                    _pos,
                    description="--wait-idle: longest wait for an idle "
                    "run queue before each sample",
                ),
            }
        ),
        "machine": _obj(
            {
                "cpu": _str,
                "logical_cores": _int,
                "physical_cores": _opt(_int),
                "simd": _str,
                "simd_available": {"type": "array", "items": _str},
                "openmp": _bool,
                "omp_max_threads": _int,
                "compiler": _str,
                "python": _str,
                "platform": _str,
                "fastdigits": _str,
                "numpy": _str,
                "blas": {
                    "type": "array",
                    "items": _obj(
                        {
                            "user_api": _str,
                            "internal_api": _opt(_str),
                            "version": _opt(_str),
                            "architecture": _opt(_str),
                            "threading_layer": _opt(_str),
                            "num_threads": _opt(_int),
                            "prefix": _opt(_str),
                        }
                    ),
                },
                "torch": _opt(_str),
                "env": _obj(
                    {
                        k: _opt(_str)
                        for k in (
                            "OPENBLAS_CORETYPE",
                            "OPENBLAS_L2_SIZE",
                            "OMP_NUM_THREADS",
                            "OMP_WAIT_POLICY",
                            "GOMP_SPINCOUNT",
                            "OPENBLAS_NUM_THREADS",
                            "MKL_NUM_THREADS",
                        )
                    }
                ),
                "load_average": {
                    "type": ["array", "null"],
                    "items": _num,
                    "description": "1, 5, 15-minute load averages at start",
                },
                "warnings": {"type": "array", "items": _str},
            }
        ),
        "threads": _obj(
            {"fastdigits": _thread_check, "numpy_blas": _thread_check, "torch": _thread_check},
            required=["fastdigits", "numpy_blas"],
        ),
        "limits": _obj(
            {
                "fma_peak": _obj({"float32": _peak, "float64": _peak}),
                "copy": _obj({"gbps": _pos, "threads": _int, "buffer_bytes": _int}),
            }
        ),
        "rows": {
            "type": "array",
            "items": _obj(
                {
                    "name": _str,
                    "group": _str,
                    "kernel": {"type": "string", "description": "the public API timed"},
                    "kind": {"type": "string", "enum": ["matrix", "stream"]},
                    "params": {"type": "object"},
                    "notes": _str,
                    "status": {"type": "string", "enum": ["ok", "unavailable", "error"]},
                    "reason": _opt(_str),
                    "flops": _opt(_pos),
                    "bytes": _opt(_pos),
                    "check": {
                        "type": "string",
                        "enum": ["ok", "mismatch", "n/a"],
                        "description": "fastdigits' first result vs NumPy's (allclose)",
                    },
                    "results": _obj(
                        {"fastdigits": _contender, "numpy": _contender, "torch": _contender}
                    ),
                    "speedup_vs_numpy": _opt(_pos),
                    "speedup_vs_torch": _opt(_pos),
                    "limit": {
                        "type": ["object", "null"],
                        "properties": {
                            "metric": {"type": "string", "enum": ["GFLOP/s", "GB/s"]},
                            "value": _pos,
                            "percent": _pos,
                            "of": {"type": "string", "enum": ["fma_peak", "copy_rate"]},
                        },
                        "required": ["metric", "value", "percent", "of"],
                        "additionalProperties": False,
                    },
                }
            ),
        },
        "summary": _obj(
            {
                "cases": _int,
                "ran": _int,
                "unavailable": _int,
                "errors": _int,
                "mismatches": _int,
                "elapsed_s": _pos,
            }
        ),
    },
}

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def validate(doc: Any, schema: Dict[str, Any] = SCHEMA) -> List[str]:
    """Errors of `doc` against `schema` ('' path = the root); [] when valid.

    Supports the keywords SCHEMA uses: type, properties, required,
    additionalProperties (bool), items, enum, minimum.
    """
    errors: List[str] = []
    _check(doc, schema, "$", errors)
    return errors


def _check(v: Any, s: Dict[str, Any], path: str, errors: List[str]) -> None:
    types = s.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        if not any(_TYPES[t](v) for t in types):
            errors.append("%s: expected %s, got %s" % (path, "/".join(types), type(v).__name__))
            return
    if "enum" in s and v not in s["enum"]:
        errors.append("%s: %r is not one of %r" % (path, v, s["enum"]))
    if "minimum" in s and _TYPES["number"](v) and v < s["minimum"]:
        errors.append("%s: %r < minimum %r" % (path, v, s["minimum"]))
    if isinstance(v, float) and v != v:
        errors.append("%s: NaN is not valid JSON" % path)
    if isinstance(v, dict):
        props = s.get("properties", {})
        for key in s.get("required", []):
            if key not in v:
                errors.append("%s: missing required key %r" % (path, key))
        if s.get("additionalProperties", True) is False:
            for key in v:
                if key not in props:
                    errors.append("%s: unexpected key %r" % (path, key))
        for key, sub in props.items():
            if key in v:
                _check(v[key], sub, "%s.%s" % (path, key), errors)
    if isinstance(v, list) and "items" in s:
        for i, item in enumerate(v):
            _check(item, s["items"], "%s[%d]" % (path, i), errors)
