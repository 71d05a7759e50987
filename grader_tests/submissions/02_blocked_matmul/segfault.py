"""matmul_blocked writes far out of bounds in a numba kernel and crashes its process."""

CELLS = {
    "matmul_blocked": '''
def matmul_blocked(A, B, block_size=64):
    A, B = np.asarray(A), np.asarray(B)
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0]:
        raise ValueError(f"cannot multiply {A.shape} by {B.shape}")
    if block_size < 1:
        raise ValueError("block_size must be positive")
    C = np.zeros((A.shape[0], B.shape[1]), dtype=np.result_type(A, B))
    _scribble(C)
    return C


@njit
def _scribble(C):
    for i in range(C.shape[0]):
        C[i + 100_000_000, 0] = 1.0   # no bounds check in numba: a write far outside C
''',
}

KERNEL_RUN = True  # its tests need what happens in the student's kernel (make test)

EXPECTED = {
    "test_matmul_reordered_correctness": 2, "test_matmul_reordered_errors": 1,
    "test_matmul_reordered_speed": 1,
    "test_matmul_blocked_correctness": 0, "test_matmul_blocked_errors": 1,
    "test_matmul_blocked_speed": 0, "test_matmul_blocked_tiling": 0,
    "test_autotune_block_size": 0, "test_conv2d_im2col_correctness": 0,
    "test_conv2d_im2col_speed": 0,
    "test_kernel_plan": 2, "test_machine_fingerprint": 1, "test_tuned_block_size": 2,
}
