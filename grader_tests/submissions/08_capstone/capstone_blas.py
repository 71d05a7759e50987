"""Hands the matrix products to BLAS (`A @ B` inside matmul_blocked).

The block is correct (full correctness points) and fast, but the speed points are for the
student's own kernels, as in notebook 02: the check finds the `@` and gives none."""

CELLS = {
    "matmul_blocked": '''
def matmul_blocked(A, B, block_size=64):
    return np.ascontiguousarray(A) @ np.ascontiguousarray(B)
''',
}

EXPECTED = {"test_accelerated_block_correctness": 4, "test_accelerated_block_speed": 0,
            "profile_analysis": 0}
