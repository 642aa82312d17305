"""A short run of every kernel for valgrind memcheck (.ci/valgrind runs it).

Not a pytest module: it calls every public kernel through the spec table on
small inputs (each SIMD path valgrind can run, 1 and 2 threads), the
error paths (a sample of bad inputs), and the IDX decoder on the fuzz seed
corpus, then exits.  Results are checked too, so a silent miscompute under
valgrind also fails.
"""

import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "fuzz")]
sys.path.append(os.path.dirname(HERE))  # the in-place build, unless PYTHONPATH has one

import numpy as np  # noqa: E402

import fastdigits  # noqa: E402
import _specs  # noqa: E402


def main():
    calls = 0
    with tempfile.TemporaryDirectory() as tmp:
        for spec, dt in _specs.cases():
            shared = _specs.freeze(spec.make(dt, np.random.default_rng(1), 2, tmp))
            want = None
            for isa in fastdigits.available_simd():
                for n in (1, 2):
                    with fastdigits.simd(isa), fastdigits.threads(n):
                        got = spec.call(spec.fast(), shared, tmp)
                        calls += 1
                    if want is None:
                        want = got
                    elif isa == fastdigits.available_simd()[0]:
                        assert _specs.same(got, want), spec.label
    import test_bad_inputs as bad

    errors = 0
    for case in bad.CASES[::3]:
        if case[-1] == "huge":
            continue  # a 2**40-row copy attempt is pointless under valgrind
        try:
            bad._run_case(case)
        except AssertionError:
            raise
        errors += 1
    import idx_target

    seeds = os.path.join(HERE, "fuzz", "corpus", "idx")
    for name in sorted(os.listdir(seeds)):
        with open(os.path.join(seeds, name), "rb") as f:
            idx_target.check(f.read())
    print(
        "memcheck driver: %d kernel calls, %d bad-input cases, %d IDX seeds, simd %s"
        % (calls, errors, len(os.listdir(seeds)), ",".join(fastdigits.available_simd()))
    )


if __name__ == "__main__":
    main()
