"""`fastdigits bench`: the side-by-side against NumPy and PyTorch.

Every public kernel is timed against its NumPy twin in
:mod:`fastdigits.reference` and, when installed, the equivalent PyTorch CPU
code, with the same thread count for every contender (``fastdigits.threads``,
threadpoolctl for NumPy's BLAS, ``torch.set_num_threads``; each is read back
and reported).  Timing: warm-up, several rounds, contender order rotated and
reversed from round to round, a pause between contenders (OpenBLAS and
libgomp threads spin for a while after a call and would slow the next one on
a small machine), medians with min-max.  Each row also shows a limit: GFLOP/s
as a percentage of the FMA peak measured at start by a calibrated loop, or
GB/s as a percentage of a measured memory-copy rate.

Modules: ``machine`` (facts, thread checks, peak and copy rate), ``timing``,
``cases`` (one per kernel, shape, batch size), ``runner``, ``report`` (text),
``schema`` (the JSON document's schema and a validator), ``plot``.
"""

from .runner import Options, run  # noqa: F401
from .schema import SCHEMA, SCHEMA_ID, validate  # noqa: F401

__all__ = ["Options", "run", "SCHEMA", "SCHEMA_ID", "validate"]
