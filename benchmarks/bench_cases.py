"""The cases of `fastdigits bench`, run under pytest-benchmark.

Same case definitions, inputs and contenders as the command (see
fastdigits.bench.cases), one benchmark per case and contender, grouped by
case, so the suite and the command never drift apart.  A contender that is
not in this build (or PyTorch when not installed) is skipped with the reason;
a case whose fastdigits kernel is missing is skipped as a whole.
"""

import pytest

from _helpers import contender, run
from fastdigits.bench import cases as C


def _profile(config):
    return C.PROFILES[config.getoption("bench_profile")]


def pytest_generate_tests(metafunc):
    if "case_name" not in metafunc.fixturenames:
        return
    prof = _profile(metafunc.config)
    data = C.Data(prof)
    try:
        names = [c.name for c in C.build_cases(prof, "float32", data)]
    finally:
        data.close()
    metafunc.parametrize("case_name", names)


@pytest.fixture(scope="module")
def case_table(request):
    prof = _profile(request.config)
    data = C.Data(prof)
    yield prof, {c.name: c for c in C.build_cases(prof, "float32", data)}
    data.close()


@pytest.mark.parametrize("who", C.CONTENDERS)
def bench_case(benchmark, case_table, case_name, who):
    prof, table = case_table
    case = table[case_name]
    factory = case.contenders.get(who)
    if factory is None:
        pytest.skip("no %s contender for %s (%s)" % (who, case.kernel, case.notes))
    try:
        case.contenders["fastdigits"]()  # the row exists only with our kernel
        bench = factory()
    except C.Unavailable as exc:
        pytest.skip(str(exc))
    except ImportError as exc:
        pytest.skip("%s: %s" % (who, exc))
    contender(benchmark, who, group=case.name)
    benchmark.extra_info.update({"kernel": case.kernel, "kind": case.kind, "flops": case.flops})
    if bench.reset is not None or not bench.repeatable:
        run(benchmark, bench.fn, setup=bench.reset, rounds=case.rounds or prof.rounds)
    else:
        run(benchmark, bench.fn)
