"""The trusted engine on its own: real worker processes, real numba, no mocks."""
from __future__ import annotations

import os
import textwrap

import numpy as np
import pytest

from accelkit import analysis, timing
from accelkit.cases import Matrix
from accelkit.isolate import IsolationError, StudentError, Worker
from accelkit.session import GradingSession


def student(source: str) -> Worker:
    return Worker(("load_source", [("cell", textwrap.dedent(source))]), label="student")


def test_worker_survives_crashes_exits_and_hangs():
    with student("""
        import ctypes, os, sys
        def segfault(): return ctypes.string_at(0)
        def hard_exit(): os._exit(3)
        def soft_exit(): sys.exit(0)
        def hang():
            while True: pass
        def ok(x): return x + 1
    """) as w:
        w.start()
        with pytest.raises(IsolationError, match="SIGSEGV"):
            w.request("call_args", "segfault", (), {})
        with pytest.raises(IsolationError, match="exit code 3"):
            w.request("call_args", "hard_exit", (), {})
        with pytest.raises(StudentError, match="SystemExit"):
            w.request("call_args", "soft_exit", (), {})
        with pytest.raises(IsolationError, match="did not finish within 1 s"):
            w.request("call_args", "hang", (), {}, timeout=1)
        assert w.request("call_args", "ok", (41,), {}) == 42  # restarted after each death
        assert w.starts == 4


def test_replies_are_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    with student(f"""
        import os
        class Evil:
            def __reduce__(self):
                return (os.system, ("touch {marker}",))
        def evil(): return Evil()
        def arrays(): return {{"a": np.arange(3), "t": (1.5, float("inf"), None)}}
    """) as w:
        w.start()
        result = w.request("call_args", "evil", (), {})
        assert "unsupported return value" in repr(result)
        assert not marker.exists()
        value = w.request("call_args", "arrays", (), {})
        assert value["a"].tolist() == [0, 1, 2] and value["t"] == (1.5, float("inf"), None)


def test_memory_blowup_is_contained():
    with Worker(("load_source", [("cell", "def hog():\n    return np.ones(2**33)\n")]),
                memory_mb=1024) as w:
        w.start()
        with pytest.raises(StudentError, match="MemoryError|Unable to allocate"):
            w.request("call_args", "hog", (), {})


def test_files_next_to_the_grader_do_not_shadow_modules(tmp_path, monkeypatch):
    (tmp_path / "numpy.py").write_text("raise SystemExit('shadowed numpy imported')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    with student("def version(): return np.__version__\n") as w:
        w.start()
        assert w.request("call_args", "version", (), {}) == np.__version__


def test_prints_and_output_floods_do_not_reach_the_protocol():
    with student("""
        def chatty(x):
            for _ in range(200_000):
                print("spam " * 20)
            return x
    """) as w:
        w.start()
        assert w.request("call_args", "chatty", (7,), {}, timeout=60) == 7


def test_solution_cells_cannot_rebind_trusted_names():
    blocks = [("cell", "def check_matmul(*a, **k):\n    return 'faked'\n"
                       "def matmul_naive(A, B):\n    return A\n")]
    with GradingSession(blocks) as session:
        outputs = session.run_cell("check_matmul(matmul_naive, shapes=[(3, 4, 5)])")
    assert outputs[-1]["output_type"] == "error"  # the real check ran against the fake kernel
    assert "wrong" in outputs[-1]["evalue"] or "returned shape" in outputs[-1]["evalue"]


def test_a_broken_cell_is_reported_by_name():
    blocks = [("cell matmul_blocked", "def matmul_blocked(A, B, block_size=64)\n    return A\n")]
    with GradingSession(blocks) as session:
        outputs = session.run_cell("matmul_blocked(1, 2)")
    assert outputs[-1]["ename"] == "NameError"
    assert "SyntaxError" in outputs[-1]["evalue"]


def test_trailing_value_becomes_partial_credit_and_stdout_is_kept():
    with GradingSession([("cell", "def f():\n    return 1\n")]) as session:
        outputs = session.run_cell("print('hello')\nscore = 0.5 * f()\nscore")
    assert outputs[0]["text"] == "hello\n"
    assert outputs[1]["data"]["text/plain"] == "0.5"


def test_delegation_is_found_through_helpers():
    sources = analysis.functions_in_blocks([("a", textwrap.dedent("""
        def helper(A, B):
            return np.dot(A, B)
        def kernel(A, B):
            return helper(A, B)
        def clean(A, B):
            C = np.zeros((A.shape[0], B.shape[1]))
            for i in range(A.shape[0]):
                C[i] = A[i, 0] * B[0]
            return C
        def operator(A, B):
            return A @ B
    """))])
    assert analysis.delegations("kernel", sources) == ["helper(), line 2: .dot"]
    assert analysis.delegations("clean", sources) == []
    assert analysis.delegations("operator", sources) == ["operator(), line 2: the @ operator"]


def fixed(seconds: float):
    return lambda repeat: seconds * repeat


def test_compare_takes_more_rounds_only_near_a_threshold():
    far = timing.compare(fixed(0.010), fixed(0.001), thresholds=[4.0])
    near = timing.compare(fixed(0.010), fixed(0.0026), thresholds=[4.0])
    assert far.rounds == 7 and far.speedup == pytest.approx(10.0) and far.meets(4.0)
    assert near.rounds == 35 and near.speedup == pytest.approx(10 / 2.6) and not near.meets(4.0)


def test_a_quarter_of_the_rounds_decides():
    """Paired ratios; the verdict is the upper quartile, so a few disturbed rounds don't fail
    a kernel that is above the line in most of them."""
    candidate_times = iter([0.0024] * 4 + [0.0024] * 3 + [0.0030] * 5)  # warm-ups, then rounds
    result = timing.compare(fixed(0.010), lambda repeat: next(candidate_times) * repeat,
                            thresholds=[4.0], min_rounds=8, max_rounds=8, min_sample_s=0)
    assert result.rounds == 8
    assert result.speedup == pytest.approx(10 / 3) and result.meets(4.0)


def test_a_missing_function_fails_its_checks_during_autograde(monkeypatch):
    """In the grader a function whose cell died is missing; its checks must fail, not defer."""
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    blocks = [("cell matmul_blocked", "def matmul_blocked(A, B, block_size=64):\n"
                                      "    return A\nimport os\nos._exit(1)\n")]
    with GradingSession(blocks) as session:
        outputs = session.run_cell("check_matmul(matmul_blocked, shapes=[(2, 3, 4)])")
    assert outputs[-1]["output_type"] == "error" and "exit code 1" in outputs[-1]["evalue"]
