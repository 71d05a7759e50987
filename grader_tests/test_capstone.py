"""accelkit.exercises.capstone on its own: the reference against the oracle, the error bound, the profiler."""
from __future__ import annotations

import numpy as np
import pytest

from accelkit.exercises.capstone import BlockParams, Matrix, block_expected, block_reference, profile_calls, verify_block


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_reference_block_agrees_with_the_float64_oracle(dtype):
    x, params = Matrix(33, 24, dtype, seed=1), BlockParams(24, 3, 40, dtype, seed=2)
    result = block_reference(x.build(), params.build())
    assert result.dtype == np.dtype(dtype) and result.shape == (33, 24)
    verify_block("block_reference", result, x, params)


def test_verify_block_hints_at_the_mask_when_only_later_rows_are_wrong():
    """(The real unmasked block is the example submission capstone_no_causal_mask.)"""
    x, params = Matrix(16, 8, "float32", seed=3), BlockParams(8, 2, 16, "float32", seed=4)
    right = block_reference(x.build(), params.build())
    later_rows_off = right.copy()
    later_rows_off[1:] += 0.01
    with pytest.raises(AssertionError, match="row 0 is right but later rows are not"):
        verify_block("f", later_rows_off, x, params)
    everything_off = right * 1.01
    with pytest.raises(AssertionError, match="compare each stage"):
        verify_block("f", everything_off, x, params)


def test_verify_block_rejects_a_wrong_dtype_and_a_modified_input():
    x, params = Matrix(4, 8, "float32", seed=5), BlockParams(8, 2, 16, "float32", seed=6)
    right = block_reference(x.build(), params.build())
    with pytest.raises(AssertionError, match="dtype float64"):
        verify_block("f", right.astype(np.float64), x, params)
    with pytest.raises(AssertionError, match="modified its input"):
        verify_block("f", right, x, params, modified=[0])


def test_profile_calls_attributes_time_to_the_ops_a_block_calls():
    x, params = Matrix(64, 64, seed=7).build(), BlockParams(64, 4, 256, seed=8).build()
    rows = profile_calls(block_reference, x, params, repeat=2)
    by_op = {r["op"]: r for r in rows}
    assert by_op["matmul_naive"]["calls"] == 12            # qkv, 2 per head x 4, proj, up, down
    assert by_op["layernorm_unfused"]["calls"] == 2 and by_op["softmax_unfused"]["calls"] == 4
    assert rows[0]["op"] == "matmul_naive"                 # the textbook loops dominate
    assert sum(r["share"] for r in rows) == pytest.approx(1.0, abs=0.02)
    with pytest.raises(ValueError, match="did not show up"):
        profile_calls(np.add, x, x)
