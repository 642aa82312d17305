"""Replay every IDX fuzz regression (tests/fuzz/regressions/: inputs that once
crashed or failed the fuzz target) and the seed corpus through the same
checks the fuzzer applies (tests/fuzz/idx_target.py).

To add a crash found by .ci/fuzz: copy the artifact file into
tests/fuzz/regressions/ (keep the crash-<sha1> name or give it a telling one).
"""

import io
import os
import struct
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
FUZZ = os.path.join(HERE, "fuzz")
sys.path.insert(0, FUZZ)

import idx_target  # noqa: E402


def _files(sub):
    d = os.path.join(FUZZ, sub)
    return sorted(os.path.join(d, n) for n in os.listdir(d) if not n.startswith("."))


REGRESSIONS = _files("regressions")
SEEDS = _files(os.path.join("corpus", "idx"))


@pytest.mark.parametrize("path", REGRESSIONS, ids=os.path.basename)
def test_fuzz_regression(path):
    with open(path, "rb") as f:
        data = f.read()
    assert idx_target.check(data) in ("valid", "invalid")


def test_seed_corpus_replays_clean():
    verdicts = {}
    for path in SEEDS:
        with open(path, "rb") as f:
            verdicts[os.path.basename(path)] = idx_target.check(f.read())
    # The corpus holds both kinds, so the checks see real data and real errors.
    assert verdicts["mnist_images_2.gz"] == "valid"
    assert verdicts["mnist_labels_16"] == "valid"
    assert verdicts["gz_bad_crc"] == "invalid"
    assert verdicts["trunc_data"] == "invalid"
    assert len(SEEDS) >= 40


def test_known_regressions_raise_idxerror():
    from fastdigits.idx import IDXError, read_idx

    for data in (
        bytes([0, 0, 0x0E, 3]) + struct.pack(">3I", 0, 2**32 - 1, 2**32 - 1),
        bytes([0, 0, 0x08, 65]) + struct.pack(">65I", *([1] * 65)) + b"\x07",
    ):
        with pytest.raises(IDXError):
            read_idx(io.BytesIO(data))


def test_checker_catches_a_wrong_decoder(monkeypatch):
    """The target's checks can fail: a decoder returning wrong values is caught."""
    good = open(os.path.join(FUZZ, "corpus", "idx", "be_i4_33"), "rb").read()
    real = idx_target.read_idx

    def off_by_one(src, **kw):
        return real(src, **kw) + np.int32(1)

    monkeypatch.setattr(idx_target, "read_idx", off_by_one)
    with pytest.raises(AssertionError):
        idx_target.check(good)
