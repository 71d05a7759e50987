"""Correct but naive: both matmul kernels are the textbook i-j-k loop (no reordering, no tiles)."""

CELLS = {
    "matmul_reordered": '''
def matmul_reordered(A, B):
    A, B = np.asarray(A), np.asarray(B)
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0]:
        raise ValueError(f"cannot multiply {A.shape} by {B.shape}")
    dtype = np.result_type(A, B)
    C = np.zeros((A.shape[0], B.shape[1]), dtype=dtype)
    _ijk(np.ascontiguousarray(A, dtype=dtype), np.ascontiguousarray(B, dtype=dtype), C)
    return C


@njit
def _ijk(A, B, C):
    for i in range(A.shape[0]):
        for j in range(B.shape[1]):
            acc = 0.0
            for p in range(A.shape[1]):
                acc += A[i, p] * B[p, j]
            C[i, j] = acc
''',
    "matmul_blocked": '''
def matmul_blocked(A, B, block_size=64):
    if block_size < 1:
        raise ValueError("block_size must be positive")
    return matmul_reordered(A, B)
''',
}

CALIBRATION = "naive"  # `accelkit calibrate`: the slow side of every speed threshold here

EXPECTED = {
    "test_matmul_reordered_correctness": 2, "test_matmul_reordered_errors": 1,
    "test_matmul_reordered_speed": 0,
    "test_matmul_blocked_correctness": 3, "test_matmul_blocked_errors": 1,
    "test_matmul_blocked_speed": 0, "test_matmul_blocked_tiling": 0,
    "test_autotune_block_size": 2, "test_conv2d_im2col_correctness": 3,
    "test_conv2d_im2col_speed": 0,
    "test_kernel_plan": 2, "test_machine_fingerprint": 1, "test_tuned_block_size": 2,
}
