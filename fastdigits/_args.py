"""Conversion of kernel inputs, shared by every binding (fastdigits/_*.pyx).

Inputs a kernel only reads are converted as NumPy functions do: lists,
tuples, scalars and other array-likes become arrays (Python numbers take the
dtype of the call's NumPy arrays, float64 when there are none), and
non-contiguous arrays are copied by the binding.  Arrays a kernel writes
(``out=`` buffers, optimiser parameters and state) are never converted:
they are used as given or rejected, so no update can land in a copy.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def anchor_dtype(*objs: Any) -> Optional[np.dtype]:
    """The float dtype of the first NumPy array among objs (None if none)."""
    for o in objs:
        if isinstance(o, np.ndarray) and o.dtype in _FLOATS:
            return o.dtype
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
