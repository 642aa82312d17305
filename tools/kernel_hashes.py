"""SHA-256 of every public kernel's output on fixed, seeded inputs, per
(kernel, case, SIMD path, thread count): a bit-identity check for changes
that must not change behaviour (issue 12, "One kernel layout").

    python tools/kernel_hashes.py --paths generic,avx2,avx512 > /tmp/after.txt
    diff tools/kernel_hashes.before.txt /tmp/after.txt

It hashes the fastdigits that `import fastdigits` finds: the installed (or
editable) one, whichever tree the script is run from.  To hash another
build (a second worktree), put that tree first:
`PYTHONPATH=/path/to/tree python tools/kernel_hashes.py ...`.

Runs every SIMD path this machine has (fastdigits.available_simd()) and
1 and 2 threads.  Each line: kernel case path threads sha256 (of every
output array's dtype, shape and bytes, in order).  Inputs are made once
with numpy.random.default_rng(fixed seed) before any kernel runs, so they
do not depend on the path or the thread count.
"""

import argparse
import hashlib
import os
import sys

import numpy as np

import fastdigits as fd
from fastdigits import nn

ACTS = (None, "identity", "relu", "sigmoid", "tanh", "gelu")
DTYPES = (np.float32, np.float64)


def digest(*outs):
    h = hashlib.sha256()
    for o in outs:
        if o is None:
            h.update(b"None;")
            continue
        a = np.asarray(o)
        h.update(("%s%s;" % (a.dtype.str, a.shape)).encode())
        # order='A' keeps an F-contiguous result's memory order (its layout
        # is part of the output)
        h.update(a.tobytes(order="A"))
    return h.hexdigest()


def rng(*key):
    return np.random.default_rng([12, *key])


def randn(r, shape, dt, order="C"):
    a = r.standard_normal(shape).astype(dt)
    return np.asfortranarray(a) if order == "F" else a


def build_cases():
    """[(kernel, case, fn)]: fn() runs the kernel on fresh copies of fixed
    inputs and returns the outputs to hash."""
    cases = []
    mnist = os.path.join(os.path.dirname(fd.__file__), "data", "mnist")

    # --- IDX decode (gzip files bundled with the package) -----------------
    for name in (
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
    ):
        path = os.path.join(mnist, name)
        cases.append(("read_idx", name, lambda p=path: [fd.read_idx(p)]))
    img = os.path.join(mnist, "t10k-images-idx3-ubyte.gz")
    for dt in DTYPES:
        for kw, tag in (
            ({}, "default"),
            (dict(mean=fd.MNIST_MEAN, std=fd.MNIST_STD, flatten=True), "mnist-flat"),
            (dict(scale=1.0 / 127.0, mean=0.3, std=0.7), "odd"),
        ):
            cases.append(
                (
                    "read_idx_normalized",
                    "%s-%s" % (np.dtype(dt).name, tag),
                    lambda kw=kw, dt=dt: [fd.read_idx_normalized(img, dtype=dt, **kw)],
                )
            )
    # raw (uncompressed) IDX via a temporary file written once
    raw_u8 = rng(1).integers(0, 256, size=(97, 13, 11), dtype=np.uint8)
    raw_path = os.path.join(_TMP, "raw.idx")
    fd.write_idx(raw_path, raw_u8, compress=False)
    gz_path = os.path.join(_TMP, "raw.idx.gz")
    fd.write_idx(gz_path, raw_u8, compress=True)
    for p, tag in ((raw_path, "raw"), (gz_path, "gz")):
        cases.append(("read_idx", "odd-" + tag, lambda p=p: [fd.read_idx(p)]))
        for dt in DTYPES:
            cases.append(
                (
                    "read_idx_normalized",
                    "odd-%s-%s" % (tag, np.dtype(dt).name),
                    lambda p=p, dt=dt: [
                        fd.read_idx_normalized(p, dtype=dt, mean=0.1307, std=0.3081)
                    ],
                )
            )

    # --- normalize ---------------------------------------------------------
    for shape in ((1, 1), (37, 13), (1000, 28, 28), (3, 1031)):
        u8 = rng(2, *shape).integers(0, 256, size=shape, dtype=np.uint8)
        for dt in DTYPES:
            for kw, tag in (
                ({}, "default"),
                (dict(mean=0.1307, std=0.3081, flatten=True), "mnist"),
                (dict(scale=0.5, mean=-3.0, std=7.0), "odd"),
            ):
                cases.append(
                    (
                        "normalize",
                        "%s-%s-%s" % ("x".join(map(str, shape)), np.dtype(dt).name, tag),
                        lambda u8=u8, dt=dt, kw=kw: [fd.normalize(u8, dtype=dt, **kw)],
                    )
                )

    # --- matmul ------------------------------------------------------------
    for m, k, n in (
        (1, 1, 1),
        (7, 13, 5),
        (65, 129, 33),
        (257, 300, 190),
        (3, 1000, 17),
        (513, 64, 700),
    ):
        for dt in DTYPES:
            for oa in "CF":
                for ob in "CF":
                    r = rng(3, m, k, n)
                    a = randn(r, (m, k), dt, oa)
                    b = randn(r, (k, n), dt, ob)
                    cases.append(
                        (
                            "matmul",
                            "%dx%dx%d-%s-%s%s" % (m, k, n, np.dtype(dt).name, oa, ob),
                            lambda a=a, b=b: [fd.matmul(a, b)],
                        )
                    )
            r = rng(4, m, k, n)
            a = randn(r, (m, k), dt)
            b = randn(r, (k, n), dt)
            cases.append(
                (
                    "matmul",
                    "%dx%dx%d-%s-outF" % (m, k, n, np.dtype(dt).name),
                    lambda a=a, b=b, m=m, n=n, dt=dt: [
                        fd.matmul(a, b, out=np.zeros((m, n), dt, order="F"))
                    ],
                )
            )

    # --- dense forward / backward -------------------------------------------
    sizes = ((1, 3, 2), (17, 33, 9), (129, 70, 130), (200, 301, 65), (70, 40, 257))
    for m, k, n in sizes:
        for dt in DTYPES:
            for wo in "CF":
                for act in ACTS:
                    r = rng(5, m, k, n)
                    x = randn(r, (m, k), dt)
                    W = randn(r, (k, n), dt, wo) * dt(0.2)
                    W = np.asfortranarray(W) if wo == "F" else W
                    b = randn(r, (n,), dt)
                    dy = randn(r, (m, n), dt)
                    tag = "%dx%dx%d-%s-W%s-%s" % (m, k, n, np.dtype(dt).name, wo, act)

                    def fwd(x=x, W=W, b=b, act=act, m=m, n=n, dt=dt):
                        z = np.empty((m, n), dt)
                        y = fd.dense_forward(x, W, b, act, preact_out=z)
                        y0 = fd.dense_forward(x, W, None, act)
                        return [y, z, y0]

                    cases.append(("dense_forward", tag, fwd))

                    def bwd(x=x, W=W, b=b, act=act, dy=dy):
                        z = np.empty(dy.shape, dy.dtype)
                        y = fd.dense_forward(x, W, b, act, preact_out=z)
                        if act == "gelu":
                            yz = dict(z=z)
                        elif act in (None, "identity"):
                            yz = {}
                        else:
                            yz = dict(y=y)
                        dx, dW, db = fd.dense_backward(dy, x, W, activation=act, **yz)
                        dx2, dW2, db2 = fd.dense_backward(
                            dy, x, W, activation=act, need_dx=False, **yz
                        )
                        # accumulate into given buffers
                        dxa = np.ones_like(dx)
                        dWa = np.ones_like(dW)
                        dba = np.ones_like(db)
                        fd.dense_backward(
                            dy,
                            x,
                            W,
                            activation=act,
                            dx_out=dxa,
                            dW_out=dWa,
                            db_out=dba,
                            accumulate=True,
                            **yz,
                        )
                        return [dx, dW, db, dx2, dW2, db2, dxa, dWa, dba]

                    cases.append(("dense_backward", tag, bwd))
    # special values through forward/backward
    for dt in DTYPES:
        r = rng(6)
        x = randn(r, (40, 24), dt) * dt(30)
        x[3, 5] = np.nan
        x[7, 1] = np.inf
        x[9, 2] = -np.inf
        W = randn(r, (24, 36), dt)
        dy = randn(r, (40, 36), dt)
        for act in ACTS[1:]:

            def special(x=x, W=W, dy=dy, act=act):
                with np.errstate(all="ignore"):
                    z = np.empty(dy.shape, dy.dtype)
                    y = fd.dense_forward(x, W, None, act, preact_out=z)
                    yz = dict(z=z) if act == "gelu" else ({} if act == "identity" else dict(y=y))
                    return [y, z] + list(fd.dense_backward(dy, x, W, activation=act, **yz))

            cases.append(("dense_special", "%s-%s" % (np.dtype(dt).name, act), special))

    # --- softmax cross-entropy -----------------------------------------------
    for m, c in ((1, 1), (5, 3), (1000, 10), (33, 37), (300, 129), (4099, 17)):
        for dt in DTYPES:
            r = rng(7, m, c)
            logits = randn(r, (m, c), dt) * dt(4)
            labels = r.integers(0, c, size=m)
            for red in ("mean", "sum", "none"):
                cases.append(
                    (
                        "softmax_cross_entropy",
                        "%dx%d-%s-%s" % (m, c, np.dtype(dt).name, red),
                        lambda lg=logits, lb=labels, red=red: list(
                            fd.softmax_cross_entropy(lg, lb, reduction=red)
                        ),
                    )
                )
                cases.append(
                    (
                        "softmax_cross_entropy",
                        "%dx%d-%s-%s-nograd" % (m, c, np.dtype(dt).name, red),
                        lambda lg=logits, lb=labels, red=red: [
                            fd.softmax_cross_entropy(lg, lb, reduction=red, need_grad=False)[0]
                        ],
                    )
                )
    for dt in DTYPES:
        logits = randn(rng(8), (50, 12), dt) * dt(100)
        logits[1, 2] = np.nan
        logits[4, :] = -np.inf
        logits[4, 3] = 0
        logits[6, 0] = np.inf
        labels = rng(8).integers(0, 12, size=50)
        cases.append(
            (
                "softmax_cross_entropy",
                "special-%s" % np.dtype(dt).name,
                lambda lg=logits, lb=labels: list(
                    fd.softmax_cross_entropy(lg, lb, reduction="none")
                ),
            )
        )

    # --- optimisers ------------------------------------------------------------
    for n in (1, 31, 10007, 100003):
        for dt in DTYPES:
            r = rng(9, n)
            p0 = randn(r, (n,), dt)
            g0 = randn(r, (n,), dt)
            v0 = randn(r, (n,), dt) * dt(0.1)
            m0 = randn(r, (n,), dt) * dt(0.1)
            s0 = np.abs(randn(r, (n,), dt)) * dt(0.01)
            for mom, nest, wd in (
                (0.0, False, 0.0),
                (0.0, False, 1e-4),
                (0.9, False, 0.0),
                (0.9, True, 5e-4),
                (0.5, False, 1e-2),
            ):

                def sgd(p0=p0, g0=g0, v0=v0, mom=mom, nest=nest, wd=wd):
                    p, v = p0.copy(), v0.copy()
                    for _ in range(3):
                        fd.sgd_step(
                            p,
                            g0,
                            lr=0.05,
                            momentum=mom,
                            velocity=v if mom else None,
                            weight_decay=wd,
                            nesterov=nest,
                        )
                    return [p, v]

                cases.append(
                    ("sgd_step", "n%d-%s-m%s-n%d-wd%s" % (n, np.dtype(dt).name, mom, nest, wd), sgd)
                )
            for wd, step in ((0.0, 1), (1e-2, 7)):

                def adam(p0=p0, g0=g0, m0=m0, s0=s0, wd=wd, step=step):
                    p, m, v = p0.copy(), m0.copy(), s0.copy()
                    for s in range(step, step + 3):
                        fd.adam_step(p, g0, m, v, lr=1e-3, step=s, weight_decay=wd)
                    return [p, m, v]

                cases.append(
                    ("adam_step", "n%d-%s-wd%s-s%d" % (n, np.dtype(dt).name, wd, step), adam)
                )

    # --- one MLP epoch, fast backend ---------------------------------------------
    X = fd.read_idx_normalized(img, mean=fd.MNIST_MEAN, std=fd.MNIST_STD, flatten=True)[:1500]
    y = fd.read_idx(os.path.join(mnist, "t10k-labels-idx1-ubyte.gz"))[:1500].astype(np.int64)
    for dt in DTYPES:
        for act, opt, sizes_ in (
            ("relu", "sgd", (784, 64, 10)),
            ("gelu", "adam", (784, 48, 33, 10)),
            ("tanh", "sgd", (784, 40, 10)),
            ("sigmoid", "adam", (784, 30, 10)),
        ):

            def epoch(dt=dt, act=act, opt=opt, sizes_=sizes_):
                model = nn.MLP(sizes_, activation=act, dtype=dt, seed=3)
                Xd = X.astype(dt)
                hist = model.fit(
                    Xd,
                    y,
                    epochs=1,
                    batch_size=64,
                    optimizer=opt,
                    weight_decay=1e-4 if opt == "sgd" else 0.0,
                )
                return (
                    list(model.params)
                    + [np.array([hist[-1]["loss"], hist[-1]["train_acc"]])]
                    + [model.decision_function(Xd[:300])]
                )

            cases.append(
                (
                    "mlp_epoch",
                    "%s-%s-%s-%s" % (np.dtype(dt).name, act, opt, "-".join(map(str, sizes_))),
                    epoch,
                )
            )
    # --- bfloat16 products (precision="bfloat16"; on generic/avx2/avx512
    # the portable emulation, on avx512_bf16 vdpbf16ps, on amx the tiles) --
    for m, k, n in ((7, 30, 5), (64, 784, 256), (33, 2101, 45), (300, 785, 33), (1024, 784, 256)):
        r = rng(9, m, k, n)
        a = randn(r, (m, k), np.float32)
        b = randn(r, (k, n), np.float32) * np.float32(0.1)
        bias = randn(r, (n,), np.float32)
        dy = randn(r, (m, n), np.float32)
        tag = "%dx%dx%d" % (m, k, n)

        def bmm(a=a, b=b, m=m, n=n):
            outs = [fd.matmul(a, b, precision="bfloat16")]
            outs.append(fd.matmul(np.asfortranarray(a), b, precision="bfloat16"))
            outs.append(fd.matmul(a, np.asfortranarray(b), precision="bfloat16"))
            f = np.zeros((m, n), np.float32, order="F")
            outs.append(fd.matmul(a, b, out=f, precision="bfloat16"))
            return outs

        cases.append(("matmul_bf16", tag, bmm))

        def bfwd(a=a, b=b, bias=bias):
            outs = []
            for act in ("relu", "gelu", None):
                outs.append(fd.dense_forward(a, b, bias, act, precision="bfloat16"))
            outs.append(
                fd.dense_forward(a, np.asfortranarray(b), bias, "relu", precision="bfloat16")
            )
            outs.append(fd.dense_forward(a, fd.pack_weights(b), bias, "relu", precision="bfloat16"))
            return outs

        cases.append(("dense_forward_bf16", tag, bfwd))

        def bbwd(a=a, b=b, dy=dy):
            dx, dW, db = fd.dense_backward(dy, a, b, precision="bfloat16")
            dWa = np.ones_like(dW)
            dba = np.ones_like(db)
            dxa = np.ones_like(dx)
            fd.dense_backward(
                dy, a, b, dx_out=dxa, dW_out=dWa, db_out=dba, accumulate=True, precision="bfloat16"
            )
            return [dx, dW, db, dxa, dWa, dba]

        cases.append(("dense_backward_bf16", tag, bbwd))
    Xb = randn(rng(10), (500, 784), np.float32)
    yb = rng(11).integers(0, 10, size=500)
    for opt in ("sgd", "adam"):

        def bepoch(opt=opt):
            model = nn.MLP((784, 64, 10), seed=3, precision="bfloat16")
            model.fit(Xb, yb, epochs=1, batch_size=64, optimizer=opt)
            return list(model.params) + [model.decision_function(Xb[:300])]

        cases.append(("mlp_epoch_bf16", "784-64-10-" + opt, bepoch))
    return cases


_TMP = None


def main(argv=None):
    global _TMP
    import tempfile

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="run only kernels whose name contains this")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument(
        "--paths",
        help="comma-separated SIMD paths (default: every path available); the "
        "before file has generic,avx2,avx512 (the float32 kernels run the same "
        "code on avx512_bf16 and amx; the *_bf16 kernels differ there) and "
        "predates the *_bf16 kernels",
    )
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kernel-hashes-") as tmp:
        _TMP = tmp
        cases = build_cases()
        if args.only:
            cases = [c for c in cases if args.only in c[0]]
        paths = args.paths.split(",") if args.paths else fd.available_simd()
        nthreads = [int(t) for t in args.threads.split(",")]
        for kernel, case, fn in cases:
            for path in paths:
                for t in nthreads:
                    with fd.simd(path), fd.threads(t):
                        outs = fn()
                    print(kernel, case, path, t, digest(*outs))
        sys.stdout.flush()
        print(
            "# %d cases x %d paths (%s) x %d thread counts"
            % (len(cases), len(paths), ",".join(paths), len(nthreads)),
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
