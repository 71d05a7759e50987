"""Delegates matmul_blocked to BLAS without writing its name as an attribute or an operator: the
function is looked up in numpy's namespace by key, at module level, under a harmless name.
The syntax tree still shows the key: fast and correct, but not the exercise – the same
scores as blas.py."""

CELLS = {
    "matmul_blocked": '''
_product = vars(np)["matmul"]


def matmul_blocked(A, B, block_size=64):
    A, B = np.asarray(A), np.asarray(B)
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0]:
        raise ValueError(f"cannot multiply {A.shape} by {B.shape}")
    if block_size < 1:
        raise ValueError("block_size must be positive")
    return _product(A, B)
''',
}

EXPECTED = {
    "test_matmul_reordered_correctness": 2, "test_matmul_reordered_errors": 1,
    "test_matmul_reordered_speed": 1,
    "test_matmul_blocked_correctness": 0, "test_matmul_blocked_errors": 0,
    "test_matmul_blocked_speed": 0, "test_matmul_blocked_tiling": 0,
    "test_autotune_block_size": 2, "test_conv2d_im2col_correctness": 0,
    "test_conv2d_im2col_speed": 0,
    "test_kernel_plan": 2, "test_machine_fingerprint": 1, "test_tuned_block_size": 2,
}
