"""Kills its own processes: matmul_reordered's cell calls os._exit at top level (the kernel
dies; in grading that cell is skipped), autotune_block_size SIGKILLs its process when called.
Only the tests of those two functions may fail."""

CELLS = {
    "matmul_reordered": '''
def matmul_reordered(A, B):
    raise RuntimeError("never defined in grading")


import os
os._exit(1)
''',
    "autotune_block_size": '''
def autotune_block_size(m, k, n, candidates=(16, 32, 64, 128, 256), dtype=np.float32):
    import os, signal
    os.kill(os.getpid(), signal.SIGKILL)
''',
}

KERNEL_RUN = True  # its tests need what happens in the student's kernel (make test)

EXPECTED = {
    "test_matmul_reordered_correctness": 0, "test_matmul_reordered_errors": 0,
    "test_matmul_reordered_speed": 0,
    "test_matmul_blocked_correctness": 3, "test_matmul_blocked_errors": 1,
    "test_matmul_blocked_speed": 2, "test_matmul_blocked_tiling": 1,
    "test_autotune_block_size": 0, "test_conv2d_im2col_correctness": 3,
    "test_conv2d_im2col_speed": 1,
    "test_kernel_plan": 2, "test_machine_fingerprint": 1, "test_tuned_block_size": 2,
}
