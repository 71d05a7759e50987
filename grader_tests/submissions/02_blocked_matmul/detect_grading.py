"""Tries to behave differently under the grader: when NBGRADER_EXECUTION is set, matmul_blocked
returns zeros at once (a "fast" fake); otherwise it is the honest naive loop (as is matmul_reordered). The graded
functions never see that variable, so it is graded as the naive kernel it really is."""

BASE = "naive"  # matmul_reordered is the naive loop
CELLS = {
    "matmul_blocked": '''
import os


def matmul_blocked(A, B, block_size=64):
    if block_size < 1:
        raise ValueError("block_size must be positive")
    if os.environ.get("NBGRADER_EXECUTION"):
        A, B = np.asarray(A), np.asarray(B)
        return np.zeros((A.shape[0], B.shape[1]), dtype=np.result_type(A, B))
    return matmul_reordered(A, B)
''',
}

KERNEL_RUN = True  # its tests need what happens in the student's kernel (make test)

EXPECTED = {
    "test_matmul_reordered_correctness": 2, "test_matmul_reordered_errors": 1,
    "test_matmul_reordered_speed": 0,
    "test_matmul_blocked_correctness": 3, "test_matmul_blocked_errors": 1,
    "test_matmul_blocked_speed": 0, "test_matmul_blocked_tiling": 0,
    "test_autotune_block_size": 2, "test_conv2d_im2col_correctness": 3,
    "test_conv2d_im2col_speed": 0,
    "test_kernel_plan": 2, "test_machine_fingerprint": 1, "test_tuned_block_size": 2,
}
