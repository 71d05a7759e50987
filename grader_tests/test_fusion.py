"""accelkit.exercises.fusion on its own: fast_exp, the read-only recipes, the memory check (real workers)."""
from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from accelkit.exercises.fusion import Rows, Shared, fast_exp
from accelkit.grading.session import GradingSession


@njit(error_model="numpy")
def _exp_all(x, out):
    for i in range(x.size):
        out[i] = fast_exp(x[i])


@pytest.mark.parametrize("dtype, low", [(np.float32, -87.0), (np.float64, -700.0)])
def test_fast_exp_is_accurate_and_handles_infinities(dtype, low):
    x = np.random.default_rng(0).uniform(low, 80, 100_000).astype(dtype)
    out = np.empty_like(x)
    _exp_all(x, out)
    ref = np.exp(x.astype(np.float64))
    assert (np.abs(out - ref) / ref).max() < 2 * np.finfo(dtype).eps
    special = np.array([-np.inf, 0.0], dtype=dtype)
    _exp_all(special, out[:2])
    assert out[0] == 0.0 and out[1] == 1.0


def test_shared_inputs_are_built_once_and_read_only():
    spec = Shared(Rows(8, 5, "float64", special="neginf", seed=3))
    a, b = spec.build(), spec.build()
    assert a is b and not a.flags.writeable
    assert (np.isfinite(a).sum(axis=1) == 1).all()


SOFTMAXES = '''
def fused(x):
    out = np.empty(x.shape, dtype=x.dtype)
    _kernel(x, out)
    return out

@njit
def _kernel(x, out):
    for i in range(x.shape[0]):
        m = x[i].max()
        s = 0.0
        for j in range(x.shape[1]):
            out[i, j] = math.exp(x[i, j] - m)
            s += out[i, j]
        for j in range(x.shape[1]):
            out[i, j] /= s

def chain(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
'''


def test_memory_check_sees_temporaries_in_the_worker():
    cell = ("from accelkit.exercises.fusion import check_fused_memory, Rows, verify_softmax\n"
            "check_fused_memory({}, [Rows(2048, 2048, 'float32', seed=1)], verify_softmax)")
    with GradingSession([("cell", SOFTMAXES)]) as session:
        fused = session.run_cell(cell.format("fused"))
        chain = session.run_cell(cell.format("chain"))
    assert not any(o["output_type"] == "error" for o in fused), fused
    assert chain[-1]["output_type"] == "error" and "MiB of extra memory" in chain[-1]["evalue"]
