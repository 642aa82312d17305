"""atheris fuzz harness for the IDX decoder (read_idx, read_idx_header, ...).

Run it through .ci/fuzz, which builds fastdigits with ASan+UBSan and preloads
the ASan runtime.  By hand:

    python tests/fuzz/fuzz_idx.py CORPUS_DIR tests/fuzz/corpus/idx \
        -max_total_time=60 -max_len=8192 -timeout=20 -artifact_prefix=ART/

Every input goes through idx_target.check (all sources and inflaters, checked
against an independent decoder).  A structure-aware mutator keeps inputs
interesting: gzip inputs are mutated *decompressed* and usually re-compressed,
and some mutants get a header made consistent with their payload length, so
the fuzzer reaches the data paths (byte swapping, inflate into the result)
instead of only the header checks.
"""

import os
import random
import struct
import sys
import zlib

import atheris

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# Coverage of fastdigits' Python layer (the checks in idx_target need none).
with atheris.instrument_imports(include=["fastdigits"]):
    import fastdigits.idx  # noqa: E402,F401
import idx_target  # noqa: E402

ELSIZE = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}


def _gunzip(data):
    try:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = d.decompress(data, 1 << 16)  # big ones are mutated compressed
        return out if d.eof else None
    except zlib.error:
        return None


def _gzip(data, rng):
    level = rng.choice((0, 1, 6, 9))
    co = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    if rng.random() < 0.15 and len(data) > 8:  # multi-member
        cut = rng.randrange(1, len(data))
        co2 = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        out = co.compress(data[:cut]) + co.flush() + co2.compress(data[cut:]) + co2.flush()
    else:
        out = co.compress(data) + co.flush()
    r = rng.random()
    if r < 0.05:
        out = out[: rng.randrange(len(out))]  # truncated
    elif r < 0.10:
        i = rng.randrange(len(out))
        out = out[:i] + bytes([out[i] ^ (1 << rng.randrange(8))]) + out[i + 1 :]  # bit flip
    elif r < 0.13:
        out += b"\x00" * rng.randrange(1, 9)
    return out


def _fix_header(data, rng):
    """Rewrite the header so the dims match the payload length."""
    if len(data) < 4:
        return data
    code = data[2] if data[2] in ELSIZE else rng.choice(list(ELSIZE))
    rank = data[3] if 1 <= data[3] <= 6 else rng.randint(1, 4)
    hlen = 4 + 4 * rank
    payload = data[hlen:] if len(data) > hlen else b""
    count = len(payload) // ELSIZE[code]
    dims = [1] * rank
    dims[rng.randrange(rank)] = count
    # Spread count over several dims when it factors.
    for i in range(rank):
        for f in (2, 3, 5, 7):
            j = rng.randrange(rank)
            if j != i and dims[j] % f == 0 and rng.random() < 0.5:
                dims[j] //= f
                dims[i] *= f
    if rng.random() < 0.05:
        dims[rng.randrange(rank)] = 0
        count = 0
    head = bytes([0, 0, code, rank]) + struct.pack(">%dI" % rank, *dims)
    return head + payload[: count * ELSIZE[code]]


def mutator(data, max_size, seed):
    rng = random.Random(seed)
    raw = _gunzip(data) if data[:2] == b"\x1f\x8b" else None
    was_gz = raw is not None
    base = raw if was_gz else data
    out = atheris.Mutate(base, max(max_size, len(base)))
    if rng.random() < 0.3:
        out = _fix_header(out, rng)
    if (was_gz and rng.random() < 0.85) or (not was_gz and rng.random() < 0.1):
        out = _gzip(out, rng)
    return out[:max_size]


def test_one_input(data):
    idx_target.check(data, sample=True)


def main():
    atheris.Setup(sys.argv, test_one_input, custom_mutator=mutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
