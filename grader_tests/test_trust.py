"""The trust boundary's small parts, without the pipeline: what a timed call gets, what is
verified, and what the static checks read."""
from __future__ import annotations

import textwrap

import numpy as np
import pytest

from accelkit import analysis, targets
from accelkit.cases import Matrix, reseeded, shrunk
from accelkit.checks import verify_matmul
from accelkit.fusion import Rows, Shared, Vector
from accelkit.session import GradingSession


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


def test_kept_calls_are_a_random_sample():
    picks = {tuple(targets.kept_calls(10)) for _ in range(50)}
    assert len(picks) > 10 and all(len(p) == 2 and p[0] < p[1] for p in picks)
    assert targets.kept_calls(1) == [0]


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
        with pytest.raises(AssertionError, match="wrong result in a timed call"):
            run(4)


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
    """))])
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
