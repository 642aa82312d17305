"""The opt-in native operators: the training step of a
``fastdigits.torch.Linear`` layer (identity or relu) and of a two-layer
``fastdigits.torch.MLP``, each as one C++ autograd node
(``_native/mlp_op.cpp``), built on this machine by
``torch.utils.cpp_extension`` the first time they are enabled.

The ``autograd.Function`` of ``_mlp_ops.py`` runs the same kernels with the
same bits; what the native node saves is the Python around them (the
Function's own call, the tensor/array conversions, the saved-tensor
bookkeeping), about 75 us of a 0.7-0.9 ms step of issue 15's loop on the
2-vCPU Xeon, where that Python runs with cold caches."""

from __future__ import annotations

import hashlib
import os
import threading
import warnings

import torch

from .. import _mlp
from .. import _config
from .._config import kernel_context
from ._common import _w_dense

_HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_native")
_SOURCES = ("mlp_op.cpp", "fd_native_api.h")
_lock = threading.Lock()
_ext = None  # the built module, once loaded
enabled = False  # read per call by mlp._mlp_call
_env_tried = False


def _build():
    from torch.utils.cpp_extension import load

    h = hashlib.sha256(torch.__version__.encode())
    for name in _SOURCES:
        with open(os.path.join(_HERE, name), "rb") as f:
            h.update(f.read())
    # the name carries the sources' and torch's hash: a new version of either
    # builds its own module instead of loading a stale one from the cache
    name = "fastdigits_native_" + h.hexdigest()[:16]
    src = _staged_sources(name)
    ext = load(
        name=name,
        sources=[os.path.join(src, "mlp_op.cpp")],  # (its header beside it)
        extra_cflags=["-O2"],
        verbose=False,
    )
    ext.setup(_mlp.native_api())
    return ext


def _staged_sources(name: str) -> str:
    """The folder ``fastdigits_sources/<name>`` under PyTorch's extension
    root (``TORCH_EXTENSIONS_DIR`` or its default), holding a copy of the
    sources: the build's command lines then name the same paths from any
    checkout of this version, and ninja finds the cached module up to date.
    (With the checkout's own paths, each new checkout, such as each of
    CI's clones and build copies, rebuilt it: about 30 s.)  A file is
    written, through a temporary file and a rename, only where it is
    missing or differs, so its time stamp stays that of the first copy."""
    from torch.utils.cpp_extension import get_default_build_root

    root = os.environ.get("TORCH_EXTENSIONS_DIR") or get_default_build_root()
    dst = os.path.join(root, "fastdigits_sources", name)
    os.makedirs(dst, exist_ok=True)
    for fname in _SOURCES:
        with open(os.path.join(_HERE, fname), "rb") as f:
            data = f.read()
        path = os.path.join(dst, fname)
        try:
            with open(path, "rb") as f:
                if f.read() == data:
                    continue
        except OSError:
            pass
        tmp = "%s.%d.%d.tmp" % (path, os.getpid(), threading.get_ident())
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    return dst


def native_ops(enable=None) -> bool:
    """Whether ``fastdigits.torch`` runs its eager training steps through
    the native operators; ``enable=True`` builds them (or loads them from
    ``torch.utils.cpp_extension``'s cache, ``TORCH_EXTENSIONS_DIR``) and
    turns them on, ``False`` turns them off.

    Each native operator is one C++ autograd node for a training step
    (grad mode on, the parameters trained, float32 precision): a
    ``Linear`` layer with no activation or relu, and a two-layer relu
    ``MLP`` whose output layer has at most 16 outputs, on an input that
    needs no gradient (either ``weight_order``).  They run
    the same kernels with the same bits as the Python
    ``autograd.Function`` that runs every other case (other activations,
    bfloat16, deeper MLPs, inference, ``torch.compile``), with none of its
    Python per call.  Building it takes a C++ compiler and ``ninja``
    (``pip install ninja``) and about 30 s, once per PyTorch installation
    (any checkout of this version loads that build); a failed build raises
    ``RuntimeError`` naming the cause and leaves the Python path on.  The
    environment variable ``FASTDIGITS_TORCH_NATIVE=1`` enables it at the
    first such step (a failed build then warns once).  The switch is process-wide, as
    ``torch.backends`` flags.

    >>> from fastdigits.torch import native_ops
    >>> native_ops(False)
    False
    """
    global _ext, enabled
    if enable is None:
        return enabled
    if not enable:
        enabled = False
        return False
    with _lock:
        if _ext is None:
            try:
                _ext = _build()
            except Exception as e:  # (a compiler, ninja or header missing)
                raise RuntimeError(
                    "fastdigits.torch.native_ops: building the native operator failed "
                    "(%s: %s); the Python path stays on" % (type(e).__name__, e)
                ) from e
        enabled = True
    return True


def _from_env() -> None:
    """FASTDIGITS_TORCH_NATIVE=1: enable at the first eligible step, once."""
    global _env_tried
    if _env_tried:
        return
    _env_tried = True
    if os.environ.get("FASTDIGITS_TORCH_NATIVE", "").strip() not in ("", "0"):
        try:
            native_ops(True)
        except RuntimeError as e:
            warnings.warn(str(e), RuntimeWarning, stacklevel=3)


_ACTS = {"identity": 0, "relu": 1}


def _linear_ok(x, weight, bias, act: str, precision: str) -> bool:
    """Whether a Linear layer's training step runs through the native
    operator: identity or relu, float32 precision, a row- or column-major
    weight that is trained (and its bias, if any)."""
    if act not in _ACTS or precision != "float32" or not weight.requires_grad:
        return False
    if bias is not None and not bias.requires_grad:
        return False
    if not _w_dense(weight):
        return False
    _from_env()
    return enabled


def _mlp2_ok(x, params, n_layers: int, act: str, precision: str) -> bool:
    """Whether an MLP's training step runs through the native operator: two
    layers, relu, float32 precision, row- or column-major weights with at
    most SPARSE_HEAD_MAX outputs last, every parameter trained, an input
    that needs no gradient (the rest: mlp._mlp_apply)."""
    if n_layers != 2 or act != "relu" or precision != "float32" or x.requires_grad:
        return False
    w1 = params[-2] if len(params) == 4 else params[1]
    if not (
        _w_dense(params[0])
        and _w_dense(w1)
        and w1.shape[0] <= _mlp.SPARSE_HEAD_MAX
        and all(p.requires_grad for p in params)
    ):
        return False
    _from_env()
    return enabled


def linear(x, weight, bias, act: str):
    """The native Linear layer's forward (its autograd node does the backward)."""
    isa, nt = kernel_context()
    return _ext.linear(x, weight, bias, _ACTS[act], isa, nt, _config._gemm_tile)


def mlp2(x, params, has_bias: bool):
    """The native step's forward (its autograd node does the backward);
    params: [W0, b0, W1, b1], or [W0, W1] without bias."""
    isa, nt = kernel_context()
    if has_bias:
        w0, b0, w1, b1 = params
    else:
        (w0, w1), b0, b1 = params, None, None
    return _ext.mlp2(x, w0, b0, w1, b1, isa, nt, _config._gemm_tile)
