"""Regenerate the IDX fuzz seed corpus (tests/fuzz/corpus/idx/).

Seeds are real MNIST headers (from the bundled files) with small payloads,
every element type and a few ranks, gzip variants, and the known bad-file
cases (bad magic, unknown type, rank 0, truncated header/data, trailing
bytes, zero and huge dimensions, product overflow, corrupt or truncated
gzip, multi-member gzip, a gzip "bomb" header).  Deterministic: running it
again rewrites identical files.
"""

import gzip
import os
import struct
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "idx")
MNIST = os.path.join(HERE, "..", "..", "fastdigits", "data", "mnist")
CODES = {"u1": 0x08, "i1": 0x09, ">i2": 0x0B, ">i4": 0x0C, ">f4": 0x0D, ">f8": 0x0E}


def idx(arr, dtype):
    arr = np.asarray(arr, dtype=dtype)
    code = CODES[dtype]
    return (
        bytes([0, 0, code, arr.ndim])
        + b"".join(struct.pack(">I", d) for d in arr.shape)
        + arr.tobytes()
    )


def gz(data, level=6):
    return gzip.compress(data, compresslevel=level, mtime=0)


def real(name, n):
    """The real header of an MNIST file with its first dimension set to n, and
    the first n items."""
    with gzip.open(os.path.join(MNIST, name), "rb") as f:
        head = f.read(4)
        rank = head[3]
        dims = list(struct.unpack(">%dI" % rank, f.read(4 * rank)))
        item = int(np.prod(dims[1:]))
        payload = f.read(n * item)
    dims[0] = n
    return head + struct.pack(">%dI" % rank, *dims) + payload


def seeds():
    s = {}
    s["mnist_labels_16"] = real("t10k-labels-idx1-ubyte.gz", 16)
    s["mnist_images_2"] = real("t10k-images-idx3-ubyte.gz", 2)
    s["mnist_labels_16.gz"] = gz(s["mnist_labels_16"])
    s["mnist_images_2.gz"] = gz(s["mnist_images_2"], 9)
    s["mnist_images_1.gz_stored"] = gz(real("train-images-idx3-ubyte.gz", 1), 0)
    rng = np.random.default_rng(1234)
    for dt, shape in [
        ("u1", (3, 5)),
        ("i1", (7,)),
        (">i2", (2, 3, 2)),
        (">i4", (5, 1)),
        (">f4", (4, 3)),
        (">f8", (3,)),
        ("u1", (2, 1, 1, 3)),
        (">i4", (33,)),
        (">f4", (17,)),
        ("u1", (65,)),
    ]:
        a = rng.integers(-100, 100, size=shape) if dt[-2] != "f" else rng.standard_normal(shape)
        name = "%s_%s" % (dt.replace(">", "be_"), "x".join(map(str, shape)))
        s[name] = idx(a, dt)
    s["f4_specials"] = idx(np.array([np.nan, -np.inf, np.inf, -0.0, 1e-45, 3.4e38], ">f4"), ">f4")
    s["f8_specials"] = idx(np.array([np.nan, -np.inf, 5e-324, -0.0], ">f8"), ">f8")
    s["i4_zero_dim"] = bytes([0, 0, 0x0C, 2]) + struct.pack(">II", 0, 5)
    s["u1_zero_len"] = bytes([0, 0, 0x08, 1, 0, 0, 0, 0])
    s["rank255_ones"] = bytes([0, 0, 0x08, 255]) + struct.pack(">255I", *([1] * 255)) + b"\x07"
    # Known bad files.
    good = s["be_i2_2x3x2"]
    s["bad_magic"] = b"\x01" + good[1:]
    s["bad_magic2"] = b"\x00\x01" + good[2:]
    s["bad_type_0a"] = good[:2] + b"\x0a" + good[3:]
    s["bad_type_ff"] = good[:2] + b"\xff" + good[3:]
    s["rank0"] = bytes([0, 0, 0x08, 0])
    s["trunc_header"] = good[:9]
    s["trunc_data"] = good[:-1]
    s["trailing_byte"] = good + b"\x00"
    s["empty"] = b""
    s["one_byte"] = b"\x00"
    s["huge_dim"] = bytes([0, 0, 0x08, 1]) + struct.pack(">I", 0xFFFFFFFF) + b"\x01" * 16
    s["huge_dims_overflow"] = bytes([0, 0, 0x0E, 4]) + struct.pack(">4I", *([0xFFFFFFFF] * 4))
    s["dims_product_2p64"] = (
        bytes([0, 0, 0x08, 2]) + struct.pack(">2I", 1 << 31, 1 << 31) + b"\x00" * 8
    )
    s["rank_says_more_dims"] = bytes([0, 0, 0x08, 9]) + struct.pack(">2I", 1, 1)
    g = gz(good)
    s["gz_trunc"] = g[:-5]
    s["gz_trunc_header"] = g[:12]
    s["gz_bad_crc"] = g[:-8] + bytes([g[-8] ^ 0xFF]) + g[-7:]
    s["gz_bad_isize"] = g[:-4] + struct.pack("<I", 12345)
    s["gz_corrupt_deflate"] = g[:14] + bytes([g[14] ^ 0x55]) + g[15:]
    s["gz_multi_member"] = gz(good[:7]) + gz(good[7:])
    s["gz_trailing_garbage"] = g + b"garbage"
    s["gz_trailing_zeros"] = g + b"\x00" * 8
    s["gz_of_bad_magic"] = gz(s["bad_magic"])
    s["gz_of_trailing"] = gz(s["trailing_byte"])
    s["gz_of_trunc"] = gz(s["trunc_data"])
    s["gz_bomb_header"] = gz(bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 60000, 28, 28))
    s["gz_bomb_zeros"] = gz(
        bytes([0, 0, 0x08, 1]) + struct.pack(">I", 1 << 16) + b"\x00" * (1 << 16), 9
    )
    s["gz_only_magic"] = b"\x1f\x8b"
    s["gz_fhcrc_fextra"] = _gz_with_flags(good)
    s["raw_deflate"] = zlib.compress(good)
    return s


def _gz_with_flags(data):
    """gzip member with FEXTRA, FNAME, FCOMMENT and FHCRC set."""
    body = zlib.compressobj(6, zlib.DEFLATED, -15)
    comp = body.compress(data) + body.flush()
    head = bytearray(b"\x1f\x8b\x08" + bytes([0x1E]) + b"\x00" * 4 + b"\x00\x03")
    head += struct.pack("<H", 4) + b"ab\x00\x00"  # FEXTRA
    head += b"name.idx\x00" + b"a comment\x00"
    head += struct.pack("<H", zlib.crc32(bytes(head)) & 0xFFFF)
    return bytes(head) + comp + struct.pack("<II", zlib.crc32(data), len(data))


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in sorted(seeds().items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(seeds()), OUT))


if __name__ == "__main__":
    main()
