"""The trust boundary's small parts, without the pipeline: what a timed call gets, what is
verified, and what the static checks read."""
from __future__ import annotations

import os
import textwrap

import numpy as np
import pytest

from accelkit.grading import analysis, targets
from accelkit.exercises import baselines
from accelkit.grading.cases import Matrix, reseeded, shrunk
from accelkit.exercises.checks import verify_matmul
from accelkit.exercises.fusion import Rows, Shared, Vector
from accelkit.grading.isolate import _threads, on_one_cpu
from accelkit.grading.session import GradingSession


def test_fresh_inputs_are_new_objects_with_new_contents():
    specs = [Matrix(8, 8, seed=1), 1.5, Shared(Rows(4, 6, seed=2))]
    sets, calls = targets.fresh_sets(specs, 5)
    assert calls == [0, 1, 2, 3, 4] and all(s[1] == 1.5 for s in sets)
    built = [s[0].build() for s in sets]
    assert len({a.tobytes() for a in built}) == 5                  # new contents every call
    assert sets[0][0].seed != sets[0][2].recipe.seed               # each recipe its own seed
    assert reseeded(Shared(Rows(4, 6, seed=2)), 9).recipe.seed == 9
    assert shrunk(Shared(Rows(4096, 2048, seed=2))).recipe == Rows(16, 2048, seed=2)
    assert shrunk(Vector(2048)) == Vector(2048)                    # columns keep their size


def test_input_sets_of_a_sample_fit_in_memory():
    """A kernel that returns at once on 32 MiB inputs gets thousands of calls per sample; the
    distinct input sets stop at SETS_BYTES (they once took 8 GiB and the worker ran out)."""
    big = [Matrix(32, 1024, "float64"), Matrix(1024, 4096, "float64")]
    sets, calls = targets.fresh_sets(big, 4000)
    assert len(sets) == targets.SETS_BYTES // ((32 * 1024 + 1024 * 4096) * 8) == 7
    assert len(calls) == 4000
    assert len(targets.fresh_sets([Matrix(8, 8)], 4000)[0]) == targets.MAX_SETS


def test_kept_calls_are_a_random_sample():
    picks = {tuple(targets.kept_calls(10)) for _ in range(200)}   # all ten drawn: p > 1 - 1e-8
    assert len(picks) == 10 and all(len(p) == targets.KEPT_PER_SAMPLE == 1 for p in picks)
    assert targets.kept_calls(1) == [0]


SKIPS_ROWS = """
def matmul_reordered(A, B):
    C = np.zeros((A.shape[0], B.shape[1]), np.result_type(A, B))
    half = A.shape[0] // 2 if A.shape[0] > 100 else A.shape[0]   # "big inputs: half the work"
    C[:half] = np.asarray(A[:half], np.float64) @ np.asarray(B, np.float64)
    return C
"""


def test_a_timed_result_is_verified_on_rows_the_grader_draws():
    """A big row-wise result is checked on ROWS_VERIFIED random rows: a kernel that leaves
    half the rows undone is caught (misses with p = 2^-32), and each check draws new rows."""
    A, B = Matrix(300, 40, "float64", seed=1), Matrix(40, 24, "float64", seed=2)
    right = A.build() @ B.build()
    drawn = {tuple(targets.sampled_rows(verify_matmul, right, [A, B])[2]) for _ in range(20)}
    assert len(drawn) == 20 and all(len(r) == targets.ROWS_VERIFIED for r in drawn)
    part, inputs, rows = targets.sampled_rows(verify_matmul, right, [A, B])
    assert np.array_equal(part, right[rows]) and inputs[1] is B
    assert np.array_equal(inputs[0].build(), A.build()[rows])
    targets.verify_timed("k", verify_matmul, [right], [[A, B]])
    # a result of the wrong height, a small result and an unmarked verifier: verified whole
    assert targets.sampled_rows(verify_matmul, right[:-1], [A, B])[2] is None
    with pytest.raises(AssertionError, match=r"returned shape \(299, 24\)"):
        targets.verify_timed("k", verify_matmul, [right[:-1]], [[A, B]])
    small = [Matrix(64, 40, "float64"), B]
    assert targets.sampled_rows(verify_matmul, small[0].build() @ B.build(), small)[2] is None
    assert targets.sampled_rows(lambda *a, **k: None, right, [A, B])[2] is None
    with GradingSession([("cell", SKIPS_ROWS)]) as session:
        session.run_cell("1")
        run = session.namespace["matmul_reordered"].runner([A, B], {}, verify_matmul)
        with pytest.raises(AssertionError, match="wrong result in a timed call"):
            run(2)


MEMO = """
_cache = {}
def matmul_reordered(A, B):
    key = (A.shape, B.shape)
    if key not in _cache:
        _cache[key] = np.asarray(A, np.float64) @ np.asarray(B, np.float64)
    return _cache[key].astype(np.result_type(A, B))
"""


def test_a_remembered_result_in_a_timed_call_is_caught():
    """The first (checked) call is right; later timed calls on new inputs return the answer of
    the first inputs, and the verified sample of timed calls catches it."""
    with GradingSession([("cell", MEMO)]) as session:
        session.run_cell("1")
        fn = session.namespace["matmul_reordered"]
        run = fn.runner([Matrix(16, 16, seed=1), Matrix(16, 16, seed=2)], {}, verify_matmul)
        run(1)   # the first sample: one call, computed (and verified)
        with pytest.raises(AssertionError, match="wrong result in a timed call"):
            run(4)   # every later call is stale, so whichever one is verified is wrong


def test_honest_names_are_not_taken_for_a_library():
    sources = analysis.functions_in_blocks([("cell", textwrap.dedent("""
        def kernel(A, B):
            inner = A.shape[1]
            C = np.zeros((A.shape[0], B.shape[1]))
            for i in range(A.shape[0]):
                for p in range(inner):
                    C[i] += A[i, p] * B[p]
            return matmul(C, 1)
        def matmul(C, s):
            return C * s
        def library(A, B):
            return np.inner(A, B) + dot(A, B)
        def by_key(A, B):
            table = {"rows": A.shape[0]}
            return vars(np)["matmul"](A, B) + table["rows"]
    """))])
    assert analysis.delegations("by_key", sources) == ["by_key(), line 3: ['matmul']"]
    assert analysis.delegations("kernel", sources) == []
    assert analysis.delegations("library", sources) == ["library(), line 2: .inner",
                                                        "library(), line 2: dot"]


def test_build_telltales_read_the_syntax_tree_and_top_level_code():
    blocks = [("cell", "import builtins\nbuiltins.n = 1\nSECOND = builtins.n > 1\n"
                       "# config.LOOP_VECTORIZE in a comment\n"
                       "def relu(x):\n    return x * SECOND  # VECTORIZE\n"
                       "def dot(x, y):\n    return x @ y\n")]
    sources = {**analysis.functions_in_blocks(blocks),
               analysis.MODULE_LEVEL: analysis.module_level_code(blocks)}
    used = analysis.names_used("relu", sources)
    assert "builtins" in used and "config" not in used and "VECTORIZE" not in used
    assert "builtins" not in analysis.names_used("dot", sources)  # reads no state set there
    clean = analysis.functions_in_blocks([("cell", "def relu(x):\n    return x\n")])
    assert "builtins" not in analysis.names_used("relu", clean)


def test_ways_around_import_statements_are_named():
    assert analysis.import_bypasses("import importlib\nm = importlib.import_module('x')") == [
        "importlib"]
    assert analysis.import_bypasses("from builtins import __import__") == ["builtins"]
    assert analysis.import_bypasses("import sys\nm = sys.modules['accelkit.exercises.checks']") == [
        "sys.modules"]
    assert analysis.import_bypasses("f = ().__class__.__base__.__subclasses__") == ["__subclasses__"]
    assert analysis.import_bypasses("g = getattr(fn, '__globals__')") == ["'__globals__'"]
    assert analysis.import_bypasses("import sys\nf = sys._getframe(1).f_back.f_globals") == [
        "_getframe", "f_back", "f_globals"]
    assert analysis.import_bypasses("import gc\nobjs = gc.get_objects()") == ["gc"]
    assert analysis.import_bypasses("from ctypes import cast") == ["ctypes"]
    honest = ("import math\nimport numpy as np\nfrom numba import njit\ndef f(x):\n"
              "    return x.ctypes.data % 64 == 0   # an address, not the ctypes module\n")
    assert analysis.import_bypasses(honest) == []


SETUP_WITH_ORACLE = """\
import numpy as np
from accelkit.exercises.capstone import BlockParams, block_expected, check_block
from accelkit.exercises.fusion import fast_exp
"""


def test_the_graders_modules_never_reach_a_students_worker():
    """Names the setup cell imports from the grader's modules are withheld in the worker (the
    modules are not even loaded there), so are those a solution cell imports itself; the
    tools (fast_exp) are real; a cell that goes around import statements is not run."""
    cells = [("cell a", "from accelkit.exercises.checks import verify_matmul\n"
                        "def use_setup(x):\n    return block_expected(x, {})\n"
                        "def use_import(x):\n    return verify_matmul('f', x, x)\n"
                        "def loaded():\n    import sys\n"   # (a computed name is not flagged)
                        "    return sorted(m for m in getattr(sys, 'mod' + 'ules')\n"
                        "                  if m.startswith('accelkit'))\n"
                        "def tool(x):\n    return float(fast_exp(x))\n"),
             ("cell b", "import importlib\n"
                        "def sneaky(x):\n"
                        "    return importlib.import_module('accelkit.exercises.capstone').block_expected\n")]
    with GradingSession(cells, SETUP_WITH_ORACLE) as session:
        session.run_cell("1")
        ns = session.namespace
        for name in ("use_setup", "use_import"):
            out = session.run_cell(f"{name}(np.ones(3))")
            assert out[-1]["ename"] == "PermissionError", out
            assert "is the grader's own code" in out[-1]["evalue"]
        assert set(ns["loaded"]()) <= {
            "accelkit", "accelkit.student", "accelkit.student.tools",   # what solution cells may use
            "accelkit.grading", "accelkit.grading.worker", "accelkit.grading.cases",   # the worker
            "accelkit.grading.probe_channel", "accelkit.grading.sandbox", "accelkit.grading.wire"}
        assert ns["tool"](0.0) == 1.0
        out = session.run_cell("sneaky(1)")
        assert "cell b uses importlib" in out[-1]["evalue"] and "not run" in out[-1]["evalue"]
        assert "flagged for review" in out[-1]["evalue"]
        assert session.flagged == {"cell b": ["importlib"]}


def test_a_solution_cells_builtin_never_reaches_a_test_cell():
    with GradingSession([("cell", "def min(*a):\n    return 99\ndef f():\n    return 1\n")]) as session:
        out = session.run_cell("min(1, 2) + f()")
        assert out[-1]["data"]["text/plain"] == "2.0"


def test_numba_cache_in_a_solution_cell_works_in_grading():
    """@njit(cache=True) works in Jupyter; in grading the cells are compiled from real files in
    the worker's private folder, so it works there too."""
    cell = "@njit(cache=True)\ndef twice(x):\n    return 2 * x\ndef f(x):\n    return twice(x)\n"
    with GradingSession([("cell f", cell)]) as session:
        out = session.run_cell("f(21)")
        assert out[-1].get("data", {}).get("text/plain") == "42.0", out


BLAS_IN_DISGUISE = '''
import functools
mm = np.matmul
fast = functools.partial(np.dot)

def via_alias(A, B):
    return mm(A, B)

def via_partial(A, B):
    return fast(A, B)

def via_getattr(A, B):
    return getattr(np, "mat" + "mul")(A, B)

def via_dunder(A, B):
    return np.ndarray.__matmul__(A, B)

def blas(f):
    return lambda A, B: A @ B

@blas
def via_decorator(A, B):
    C = np.zeros((A.shape[0], B.shape[1]))
    return C

def own_loops(A, B):
    C = np.zeros((A.shape[0], B.shape[1]))
    for i in range(A.shape[0]):
        for k in range(A.shape[1]):
            C[i] += A[i, k] * B[k]
    return C
'''


def test_library_calls_in_disguise_are_found():
    """BLAS behind an alias, a partial, a computed getattr, a dunder or a decorator is found;
    an honest loop next to them is not flagged."""
    blocks = [("cell", BLAS_IN_DISGUISE)]
    sources = {**analysis.functions_in_blocks(blocks),
               analysis.MODULE_LEVEL: analysis.module_level_code(blocks)}
    for name, clue in [("via_alias", ".matmul"), ("via_partial", ".dot"),
                       ("via_getattr", "getattr with a name the grader cannot read"),
                       ("via_dunder", ".__matmul__"), ("via_decorator", "the @ operator")]:
        found = analysis.delegations(name, sources)
        assert any(clue in f for f in found), (name, found)
    assert analysis.delegations("own_loops", sources) == []


WIDENS = """
import os, threading
def helper_started():
    return threading.active_count()
def widen():
    os.sched_setaffinity(0, range(os.cpu_count()))
_t = threading.Thread(target=lambda: threading.Event().wait(60), daemon=True)
_t.start()
"""


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs 2 CPUs")
def test_a_one_thread_comparison_runs_both_workers_on_one_cpu():
    """Tiling is timed with the trusted and the student's worker on the same CPU, every thread
    of them; afterwards they get their CPUs back, and a kernel that widens its own affinity
    while timed is noticed."""
    with GradingSession([("cell", WIDENS)]) as session:
        session.run_cell("1")
        session.baseline(baselines.matmul_expected)(np.ones((2, 2)), np.ones((2, 2)))
        workers = [session.student, session.trusted]
        tids = [t for w in workers for t in _threads(w.proc.pid)]
        assert len(tids) > 2                             # the student's helper thread counts
        before = {t: os.sched_getaffinity(t) for t in tids}
        with on_one_cpu(workers) as moved:
            last = max(os.sched_getaffinity(0))
            assert {frozenset(os.sched_getaffinity(t)) for t in tids} == {frozenset({last})}
            assert not moved()
            session.namespace["widen"]()
            assert moved()
        assert {t: os.sched_getaffinity(t) for t in tids} == before


def test_the_baseline_worker_is_ready_before_any_solution_cell_runs(monkeypatch):
    """The trusted worker starts and imports every module of the engine before the student's
    worker starts (so nothing a solution cell does, edits of the engine's files included,
    changes what it runs), and it runs functions of those modules only."""
    from accelkit.grading import isolate
    events = []
    start = isolate.Worker.start

    def recorded(worker, *args, **kwargs):
        events.append(f"{worker.label} starts")
        loaded = start(worker, *args, **kwargs)
        events.append(f"{worker.label} ready")
        return loaded

    monkeypatch.setattr(isolate.Worker, "start", recorded)
    with GradingSession([("cell", "def f():\n    return 1\n")]) as session:
        assert float(session.run_cell("f()")[-1]["data"]["text/plain"]) == 1
        assert events == ["baseline starts", "baseline ready", "student starts", "student ready"]
        names = set(session.trusted.loaded["names"])
        assert {"accelkit.exercises.baselines:matmul_serial",
                "accelkit.exercises.parallel:rows_in_threads",
                "accelkit.student.tools:fast_exp"} <= names
        assert session.baseline(baselines.matmul_expected)(np.eye(2), np.eye(2)).tolist() == \
            [[1.0, 0.0], [0.0, 1.0]]
        with pytest.raises(Exception, match="not a module of the engine loaded at start"):
            targets.RemoteFunction(session.trusted, "os:getcwd", timeout=10)()
