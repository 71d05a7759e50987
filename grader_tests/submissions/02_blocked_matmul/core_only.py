"""A student on the core path only: writes matmul_reordered and matmul_blocked, and leaves
autotuning and im2col.

The optional-depth solution cells stay as released (they raise NotImplementedError, and the
teaching cells that call them fail): every core point is earned all the same, none of the
optional ones."""

CELLS = {}
CORE_ONLY = True

EXPECTED = {
    "test_matmul_reordered_correctness": 2, "test_matmul_reordered_errors": 1,
    "test_matmul_reordered_speed": 1, "test_matmul_blocked_correctness": 3,
    "test_matmul_blocked_errors": 1, "test_matmul_blocked_speed": 2,
    "test_matmul_blocked_tiling": 1, "test_autotune_block_size": 0,
    "test_conv2d_im2col_correctness": 0, "test_conv2d_im2col_speed": 0,
    "test_kernel_plan": 0, "test_machine_fingerprint": 0, "test_tuned_block_size": 0,
}
