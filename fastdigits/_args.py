"""Conversion of kernel inputs, shared by every binding (fastdigits/_*.pyx).

Inputs a kernel only reads are converted as NumPy functions do: lists,
tuples, scalars and other array-likes become arrays (Python numbers take the
dtype of the call's NumPy arrays, float64 when there are none), and
non-contiguous arrays are copied by the binding, and so are byte-swapped
arrays (``">f4"`` on a little-endian CPU) and arrays not aligned to their
dtype (views into a byte buffer at an odd offset), which NumPy's own
functions read through a buffer and the C kernels cannot read as they are
(``behaved``).  Arrays a kernel writes
(``out=`` buffers, optimiser parameters and state) are never converted:
they are used as given or rejected, so no update can land in a copy.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Optional

import numpy as np

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def finite_real(value: Any, name: str) -> float:
    """value as a finite float, or TypeError/ValueError naming the argument."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError("%s must be a real number, got %s" % (name, type(value).__name__))
    try:
        v = float(value)
    except OverflowError:  # a huge Python int
        v = math.inf
    if not math.isfinite(v):
        raise ValueError("%s must be finite, got %r" % (name, value))
    return v


def native_dtype(dtype: np.dtype) -> np.dtype:
    """dtype in the machine's byte order (``">f4"`` -> ``"<f4"`` on x86)."""
    return dtype if dtype.isnative else dtype.newbyteorder("=")


def behaved(arr: np.ndarray) -> np.ndarray:
    """arr itself, or, where it is byte-swapped or not aligned to its dtype, a
    copy in the machine's byte order, aligned (same values and memory order):
    what a kernel that reads machine numbers through typed pointers needs."""
    if arr.flags.aligned and arr.dtype.isnative:
        return arr
    return np.array(arr, dtype=native_dtype(arr.dtype), order="K")


def c_contiguous(arr: Any, dtype: Any = None) -> np.ndarray:
    """arr as a C-contiguous array of dtype (its own when None) that a kernel
    can read in place: np.ascontiguousarray, then ``behaved``; copied only
    when it is not one already."""
    return behaved(np.ascontiguousarray(arr, dtype=dtype))


def anchor_dtype(*objs: Any) -> Optional[np.dtype]:
    """The float dtype, in the machine's byte order, of the first NumPy array
    among objs (None if none)."""
    for o in objs:
        if isinstance(o, np.ndarray) and native_dtype(o.dtype) in _FLOATS:
            return native_dtype(o.dtype)
    return None


def float_dtype(dtype: Any) -> np.dtype:
    """dtype= as np.dtype float32 or float64; TypeError naming ``dtype`` otherwise."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError("dtype must be float32 or float64, got %r" % (dtype,)) from None
    if dt not in _FLOATS:
        raise TypeError("dtype must be float32 or float64, got %s" % dt)
    return dt


def _not_convertible(obj: Any, name: str, why: str) -> TypeError:
    return TypeError(
        "%s must be a NumPy array or array-like, got %s (%s)" % (name, type(obj).__name__, why)
    )


def as_array(
    obj: Any, name: str, dtype: Optional[np.dtype] = None, natural: bool = False
) -> np.ndarray:
    """obj (not an ndarray) as an ndarray, for a kernel that only reads it.

    Objects with a dtype of their own (a torch tensor, a NumPy scalar) keep
    it; plain Python data (lists, tuples, numbers) becomes ``dtype`` (or
    float64), or NumPy's own choice with ``natural=True`` (integer inputs
    such as pixels and labels).  Anything that cannot be converted,
    including a torch tensor that requires grad, raises TypeError naming
    the argument.
    """
    if obj is None:
        raise TypeError("%s must be an array, got None" % name)
    if isinstance(obj, (str, bytes)):
        raise TypeError("%s must be an array, got %s" % (name, type(obj).__name__))
    if getattr(obj, "requires_grad", False) is True:
        raise TypeError(
            "%s is a tensor that requires grad; pass %s.detach() (fastdigits "
            "kernels do not record autograd graphs; see fastdigits.torch)" % (name, name)
        )
    own = hasattr(obj, "dtype") or hasattr(obj, "__array__") or hasattr(obj, "__array_interface__")
    try:
        if own or natural:
            return np.asarray(obj)
        return np.asarray(obj, dtype=dtype or np.float64)
    except (TypeError, ValueError, RuntimeError, OverflowError) as exc:
        raise _not_convertible(obj, name, exc) from None
