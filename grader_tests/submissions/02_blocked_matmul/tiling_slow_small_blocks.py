"""Steers the old tiling test: an untiled i-k-j kernel that ignores block_size for the
arithmetic but wastes time on purpose when block_size is small, so that tiny tiles look
slow. Tiling is now judged against the trusted untiled loop at its default tiles: this
kernel runs at 1.0x of it and gets no tiling point (its i-k-j order still earns the speed
points of a reordered kernel)."""

CELLS = {
    "matmul_blocked": '''
def matmul_blocked(A, B, block_size=64):
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) \\
            or block_size < 1:
        raise ValueError(f"block_size must be a positive int, got {block_size!r}")
    C = matmul_reordered(A, B)
    if block_size < 32:
        _busy(C.shape[0] * C.shape[1] * (64 // block_size))   # "tiny tiles are slow"
    return C


@njit
def _busy(n):
    x = 0.0
    for i in range(n):
        x += math.sqrt(i)
    return x
''',
}

EXPECTED = {
    "test_matmul_reordered_correctness": 2, "test_matmul_reordered_errors": 1,
    "test_matmul_reordered_speed": 1,
    "test_matmul_blocked_correctness": 3, "test_matmul_blocked_errors": 1,
    "test_matmul_blocked_speed": 2, "test_matmul_blocked_tiling": 0,
    "test_autotune_block_size": 2, "test_conv2d_im2col_correctness": 3,
    "test_conv2d_im2col_speed": 1,
    "test_kernel_plan": 2, "test_machine_fingerprint": 1, "test_tuned_block_size": 2,
}
