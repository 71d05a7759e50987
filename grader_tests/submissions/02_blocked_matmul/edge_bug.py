"""Fast tiles, but the partial tiles at the bottom/right edges are never computed."""

CELLS = {
    "matmul_blocked": '''
def matmul_blocked(A, B, block_size=64):
    A, B = np.asarray(A), np.asarray(B)
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0]:
        raise ValueError(f"cannot multiply {A.shape} by {B.shape}")
    if block_size < 1:
        raise ValueError("block_size must be positive")
    dtype = np.result_type(A, B)
    C = np.zeros((A.shape[0], B.shape[1]), dtype=dtype)
    _tiles(np.ascontiguousarray(A, dtype=dtype), np.ascontiguousarray(B, dtype=dtype), C,
           block_size)
    return C


@njit
def _tiles(A, B, C, bs):
    m, K = A.shape
    n = B.shape[1]
    # BUG: stops before the last partial tile in every direction
    for i0 in range(0, m - m % bs, bs):
        for p0 in range(0, K - K % bs, bs):
            for j0 in range(0, n - n % bs, bs):
                for i in range(i0, i0 + bs):
                    for p in range(p0, p0 + bs):
                        a = A[i, p]
                        for j in range(j0, j0 + bs):
                            C[i, j] += a * B[p, j]
''',
}

EXPECTED = {
    "test_matmul_reordered_correctness": 2, "test_matmul_reordered_errors": 1,
    "test_matmul_reordered_speed": 1,
    "test_matmul_blocked_correctness": 0, "test_matmul_blocked_errors": 1,
    "test_matmul_blocked_speed": 0, "test_matmul_blocked_tiling": 0,
    "test_autotune_block_size": 2, "test_conv2d_im2col_correctness": 0,
    "test_conv2d_im2col_speed": 0,
    "test_kernel_plan": 2, "test_machine_fingerprint": 1, "test_tuned_block_size": 2,
}
