"""The floating-point environment the kernels compute in (csrc/common/fd_fpenv.h).

Every kernel computes in the calling thread's denormal setting (x86: FTZ and
DAZ in MXCSR, which ``torch.set_flush_denormal`` sets; AArch64: FZ in FPCR),
in its OpenMP workers too, and leaves every thread's setting as it found it.  The MLP's
training and inference run with denormals flushed to zero (a converged
model's gradients fade into the denormal range, where every FMA takes a
microcode assist), and put the caller's setting back.

The products below make denormals on purpose: operands of 1e-22 (float32)
or 1e-160 (float64) give products below the smallest normal number, which
a flushing thread turns into 0 and an IEEE one keeps.
"""

import threading

import numpy as np
import pytest

import fastdigits
from fastdigits import _runtime
from fastdigits.nn import MLP

pytestmark = pytest.mark.skipif(
    not _runtime.flush_denormals_supported(),
    reason="denormal controls on x86 (MXCSR) and AArch64 (FPCR) only; elsewhere "
    "kernels use the thread's own",
)

TINY = {np.float32: 1e-22, np.float64: 1e-160}


@pytest.fixture
def flushing_caller():
    """The calling thread with FTZ and DAZ on, off again afterwards.  The
    OpenMP workers are started first, while it is off (a thread started
    later would inherit the caller's setting)."""
    before = _runtime.fpenv_controls()
    with fastdigits.threads(3):
        fastdigits.matmul(*_denormal_product(np.float32))
    _runtime._set_flush_denormals(True)
    try:
        yield
    finally:
        _runtime._set_flush_denormals(False)
        assert _runtime.fpenv_controls() == before


def _bits(a):
    """a's bit patterns as unsigned integers: +0.0 is 0, a denormal is not."""
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


def _denormal_product(dtype):
    """A and B whose 512 x 64 x 384 product is denormal everywhere (IEEE),
    large enough to be split over threads."""
    t = TINY[dtype]
    A = np.full((512, 64), t, dtype=dtype)
    B = np.full((64, 384), t, dtype=dtype)
    return A, B


def _kernels(dtype):
    A, B = _denormal_product(dtype)
    bias = np.zeros(B.shape[1], dtype=dtype)
    return {
        "matmul": lambda: fastdigits.matmul(A, B),
        "matmul_Fout": lambda: fastdigits.matmul(A, B, out=np.empty((512, 384), dtype, order="F")),
        "dense_forward": lambda: fastdigits.dense_forward(A, B, bias, activation="relu"),
    }


@pytest.mark.parametrize("kernel", ["matmul", "matmul_Fout", "dense_forward"])
@pytest.mark.parametrize("threads", [2, 3])
def test_every_block_is_computed_in_the_callers_denormal_setting(
    kernel, isa, dtype, threads, flushing_caller
):
    # Before fd_fpenv, the caller's blocks were flushed and the workers'
    # were not: a mix of zeros and denormals in one result.  (Bits, not
    # values: with DAZ on, this thread's NumPy reads a denormal as 0.)
    with fastdigits.simd(isa), fastdigits.threads(threads):
        C = _kernels(dtype)[kernel]()
    assert np.count_nonzero(_bits(C)) == 0


@pytest.mark.parametrize("kernel", ["matmul", "matmul_Fout", "dense_forward"])
def test_an_ieee_caller_gets_denormals_in_every_block(kernel, isa, dtype):
    assert _runtime.fpenv_controls() & _runtime.flush_denormals_bits() == 0
    with fastdigits.simd(isa), fastdigits.threads(3):
        C = _kernels(dtype)[kernel]()
    assert np.all(C > 0) and np.all(C < np.finfo(dtype).tiny)


def _denormal_model(dtype, n_in=784, hidden=64, n_out=10):
    """An MLP whose hidden activations are denormal (IEEE) and whose output
    weights (a different one for each class) scale them back into the
    normal range: its logits are 0 when the hidden layer is flushed and
    positive when it is not."""
    t = TINY[dtype]
    m = MLP((n_in, hidden, n_out), dtype=dtype)
    W1, b1, W2, b2 = m.params
    W1[...] = t
    b1[...] = 0
    W2[...] = np.arange(1, n_out + 1) / t
    b2[...] = 0
    X = np.full((300, n_in), t, dtype=dtype)
    return m, X


def _dense_chain(m, X):
    W1, b1, W2, b2 = m.params
    h = fastdigits.dense_forward(X, W1, b1, activation="relu")
    return fastdigits.dense_forward(h, W2, b2)


def test_mlp_inference_flushes_denormals_and_restores_the_caller(dtype, threads):
    m, X = _denormal_model(dtype)
    before = _runtime.fpenv_controls()
    with fastdigits.threads(threads):
        logits = m.decision_function(X)
        chain = _dense_chain(m, X)  # the same layers, in the caller's (IEEE) setting
    assert _runtime.fpenv_controls() == before
    assert np.count_nonzero(logits) == 0
    assert np.all(chain > 0)  # workers were not left flushing either
    assert np.float32(1e-40) * np.float32(1.0) > 0  # nor was this thread


def test_mlp_training_flushes_denormals_and_runs_callbacks_in_the_callers_setting(dtype):
    m, X = _denormal_model(dtype)
    y = np.arange(X.shape[0]) % 10
    before = _runtime.fpenv_controls()
    seen = []

    def callback(epoch, steps_done, steps_per_epoch):
        seen.append(_runtime.fpenv_controls())

    with fastdigits.threads(2):
        m.fit(X, y, epochs=1, batch_size=64, lr=1e-3, callback=callback, callback_every=1)
    assert _runtime.fpenv_controls() == before
    assert seen and all(s == before for s in seen)
    # Flushed, the hidden pre-activations are 0, where relu's gradient is 0:
    # the first layer's gradients are 0 (IEEE: positive pre-activations,
    # and a bias gradient of about 1e22 / 64 per unit).
    W1_grad, b1_grad = m.grads[0], m.grads[1]
    assert np.count_nonzero(W1_grad) == 0 and np.count_nonzero(b1_grad) == 0


def test_a_flushing_callers_setting_is_kept(flushing_caller):
    m, X = _denormal_model(np.float32)
    controls = _runtime.fpenv_controls()
    logits = m.decision_function(X)
    assert _runtime.fpenv_controls() == controls
    assert np.count_nonzero(_bits(logits)) == 0


def test_concurrent_callers_each_get_their_own_setting():
    # Each Python thread is the master of its own OpenMP team; each team's
    # workers must follow their own caller, started (by the warm-up call)
    # while that caller was IEEE.
    A, B = _denormal_product(np.float32)
    results, errors = {}, []

    def run(flush):
        try:
            with fastdigits.threads(2):
                fastdigits.matmul(A, B)  # start this thread's team
                if flush:
                    _runtime._set_flush_denormals(True)
                try:
                    results[flush] = [fastdigits.matmul(A, B) for _ in range(20)]
                finally:
                    _runtime._set_flush_denormals(False)
        except BaseException as e:  # re-raised in the main thread below
            errors.append(e)

    workers = [threading.Thread(target=run, args=(flush,)) for flush in (True, False)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors:
        raise errors[0]
    assert all(np.count_nonzero(_bits(C)) == 0 for C in results[True])
    assert all(np.all(C > 0) for C in results[False])
