"""Argument rules shared by fastdigits.dense and its NumPy twin
fastdigits.reference.dense, so both accept and reject exactly the same calls.
"""

from __future__ import annotations

import warnings
from typing import Any, Optional, Tuple

ACTIVATIONS: Tuple[str, ...] = ("identity", "relu", "sigmoid", "tanh", "gelu")
# activations whose derivative is a function of the output y; gelu's needs z
_FROM_Y = ("relu", "sigmoid", "tanh")


def activation_name(activation: Optional[str]) -> str:
    """The activation's name; ``None`` means linear ("identity"), as in
    ``torch.nn.Linear`` and Keras ``Dense``."""
    if activation is None:
        return "identity"
    if not isinstance(activation, str):
        raise TypeError(
            "activation must be None or a str, one of %s; got %s"
            % (", ".join(ACTIVATIONS), type(activation).__name__)
        )
    if activation not in ACTIVATIONS:
        raise ValueError(
            "activation must be None or one of %s, got %r" % (", ".join(ACTIVATIONS), activation)
        )
    return activation


def backward_input(
    activation: Optional[str], y_or_z: Any, y: Any, z: Any, stacklevel: int = 3
) -> Tuple[str, Any, str]:
    """(activation name, the array act' is computed from or None, the name
    it was passed by) for dense_backward.

    relu/sigmoid/tanh need the layer output ``y`` (``y_or_z`` or ``y=``);
    gelu needs the pre-activation ``z=`` (gelu' is not a function of y); the
    identity needs neither (a given one is returned and only checked).  A
    positional gelu array was the documented way to pass z before ``z=``
    existed: it still works, with a DeprecationWarning.
    """
    act = activation_name(activation)
    given = [n for n, v in (("y_or_z", y_or_z), ("y", y), ("z", z)) if v is not None]
    if len(given) > 1:
        raise TypeError(
            "dense_backward got %s; pass exactly one of them (y= for "
            "relu/sigmoid/tanh, z= for gelu)" % " and ".join(given)
        )
    if act == "identity":
        return (
            act,
            (y_or_z if y_or_z is not None else y if y is not None else z),
            (given[0] if given else "y"),
        )
    if act in _FROM_Y:
        if z is not None:
            raise ValueError(
                "activation %r needs the layer output y= (what dense_forward "
                "returns), not the pre-activation z" % act
            )
        arr = y_or_z if y_or_z is not None else y
        if arr is None:
            raise ValueError(
                "activation %r needs the layer output y= (what dense_forward returns)" % act
            )
        return act, arr, given[0]
    # gelu
    if y is not None:
        raise ValueError(
            "activation 'gelu' needs the pre-activation z=, not the output y "
            "(gelu' is not a function of y): get it from "
            "dense_forward(..., preact_out=z)"
        )
    if y_or_z is not None:
        warnings.warn(
            "dense_backward: pass gelu's pre-activation as z= (from "
            "dense_forward(..., preact_out=z)); the positional y_or_z form is "
            "deprecated",
            DeprecationWarning,
            stacklevel=stacklevel,
        )
        return act, y_or_z, "y_or_z"
    if z is None:
        raise ValueError(
            "activation 'gelu' needs the pre-activation z=: get it from "
            "dense_forward(..., preact_out=z)"
        )
    return act, z, "z"
