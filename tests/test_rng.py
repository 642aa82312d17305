"""The NumPy twin of the counter-based generator (csrc/common/fd_rng.h) against
Random123's published Philox4x32-10 known answers; tests/c checks the C."""

import numpy as np

from fastdigits.reference.rng import philox4x32_10, rng_c3, uniform_f32

KAT = [
    ((0, 0, 0, 0), 0, (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, 0xFFFFFFFFFFFFFFFF, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0x299F31D0 << 32) | 0xA4093822,
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


def test_known_answers():
    for ctr, key, want in KAT:
        got = philox4x32_10(*ctr, key)
        assert tuple(int(x) for x in got) == want


def test_vectorised_equals_scalar():
    idx = np.arange(5, dtype=np.uint64)
    vec = philox4x32_10(idx, 7, 0, rng_c3(2, 3), 42)
    for i in range(5):
        one = philox4x32_10(i, 7, 0, rng_c3(2, 3), 42)
        assert all(int(v[i]) == int(o) for v, o in zip(vec, one))


def test_uniform_range_and_streams():
    u = uniform_f32(np.array([0, 255, 256, 0xFFFFFFFF], dtype=np.uint32))
    assert u.dtype == np.float32
    assert u[0] == 0 and u[1] == 0 and u[2] == np.float32(2.0**-24) and u[3] < 1
    assert int(rng_c3(3, 0x1234567)) == 0x03234567
