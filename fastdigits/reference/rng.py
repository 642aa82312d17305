"""NumPy twin of ``csrc/common/fd_rng.h``: Philox4x32-10, bit for bit.

``philox4x32_10(c0, c1, c2, c3, seed)`` takes counter words as arrays (broadcast
together) and a 64-bit seed, and returns the four 32-bit output words as
``uint32`` arrays.  ``uniform_f32`` maps a word to ``[0, 1)`` as the C does.
"""

from __future__ import annotations

import numpy as np

STREAM_SHUFFLE = 1
STREAM_AUGMENT = 2
STREAM_DROPOUT = 3
STREAM_INIT = 4

_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = 0x9E3779B9
_W1 = 0xBB67AE85
_LO = np.uint64(0xFFFFFFFF)
_32 = np.uint64(32)


def rng_c3(stream: int, low24) -> np.ndarray:
    """Counter word 3: the stream id in the top 8 bits, the kernel's 24 below."""
    low = np.asarray(low24, dtype=np.uint64) & np.uint64(0xFFFFFF)
    return (np.uint64(stream) << np.uint64(24)) | low


def philox4x32_10(c0, c1, c2, c3, seed: int):
    """Four uint32 arrays: Philox4x32-10 of counter (c0, c1, c2, c3), key seed."""
    c = [np.asarray(x, dtype=np.uint64) & _LO for x in (c0, c1, c2, c3)]
    c0, c1, c2, c3 = np.broadcast_arrays(*c)
    seed = int(seed) & 0xFFFFFFFFFFFFFFFF
    k0, k1 = seed & 0xFFFFFFFF, seed >> 32
    for _ in range(10):
        p0 = _M0 * c0
        p1 = _M1 * c2
        n0 = (p1 >> _32) ^ c1 ^ np.uint64(k0)
        n1 = p1 & _LO
        n2 = (p0 >> _32) ^ c3 ^ np.uint64(k1)
        n3 = p0 & _LO
        c0, c1, c2, c3 = n0, n1, n2, n3
        k0 = (k0 + _W0) & 0xFFFFFFFF
        k1 = (k1 + _W1) & 0xFFFFFFFF
    return tuple(x.astype(np.uint32) for x in (c0, c1, c2, c3))


def uniform_f32(u) -> np.ndarray:
    """Uniform float32 in [0, 1) from the top 24 bits of a uint32 word."""
    return (np.asarray(u, dtype=np.uint32) >> np.uint32(8)).astype(np.float32) * np.float32(
        1.0 / 16777216.0
    )
