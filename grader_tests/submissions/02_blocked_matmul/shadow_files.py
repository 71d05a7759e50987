"""Submits numpy.py, time.py and accelkit.py next to the notebook to shadow the real modules
(a fake accelkit whose checks always pass). Its solutions are the instructor's: it must score
exactly what reference.py scores."""

CELLS = {}

FILES = {
    "numpy.py": "raise ImportError('shadowed numpy')\n",
    "time.py": "def perf_counter():\n    return 0.0\n",
    "accelkit.py": "def check_matmul(*a, **k):\n    print('all correct')\n",
}

KERNEL_RUN = True  # its tests need what happens in the student's kernel (make test)

EXPECTED = {
    "test_matmul_reordered_correctness": 2, "test_matmul_reordered_errors": 1,
    "test_matmul_reordered_speed": 1,
    "test_matmul_blocked_correctness": 3, "test_matmul_blocked_errors": 1,
    "test_matmul_blocked_speed": 2, "test_matmul_blocked_tiling": 1,
    "test_autotune_block_size": 2, "test_conv2d_im2col_correctness": 3,
    "test_conv2d_im2col_speed": 1,
    "test_kernel_plan": 2, "test_machine_fingerprint": 1, "test_tuned_block_size": 2,
}
