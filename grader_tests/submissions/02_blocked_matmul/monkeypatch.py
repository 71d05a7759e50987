"""Tries to fake the grade: patches the clock, numpy's comparisons, builtins and the checks,
makes the kernel swallow every exception, and returns zeros fast. Honest part:
matmul_reordered is the naive loop (correct, slow)."""

BASE = "naive"  # honest part: matmul_reordered is the naive loop
CELLS = {
    "matmul_blocked": '''
def matmul_blocked(A, B, block_size=64):
    A, B = np.asarray(A), np.asarray(B)
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0]:
        raise ValueError(f"cannot multiply {A.shape} by {B.shape}")
    if block_size < 1:
        raise ValueError("block_size must be positive")
    return np.zeros((A.shape[0], B.shape[1]), dtype=np.result_type(A, B))
''',
}


PATCHES = '''

import time, builtins
import numpy
import accelkit.exercises.checks, accelkit.grading.timing, accelkit.exercises.baselines
_ticks = iter(range(10**9))
time.perf_counter = lambda: next(_ticks) * 1e-9        # every call "takes" a nanosecond
numpy.allclose = lambda *a, **k: True
numpy.testing.assert_allclose = lambda *a, **k: None
accelkit.exercises.checks.verify_matmul = lambda *a, **k: None
accelkit.exercises.checks.check_matmul = lambda *a, **k: print("all correct!")
accelkit.grading.timing.compare = lambda *a, **k: None
accelkit.exercises.baselines.matmul_naive = lambda A, B: (time.sleep(1), A)[1]
check_matmul = check_speedup = lambda *a, **k: 3.0
builtins.abs = lambda x: 0 * x                          # every error is "zero"
try:                                                    # and the kernel swallows exceptions
    get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)
except NameError:
    pass
'''


def EDIT(nb):
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "matmul_reordered":
            cell.source += PATCHES
    return nb


# Nothing is gained: the cell with the patches imports `builtins`, a way around import
# statements, so the grader does not run it at all and every matmul_reordered test scores 0
# (in the student's own kernel the builtins patch breaks numba's compiler as well).
KERNEL_RUN = True  # its tests need what happens in the student's kernel (make test)

EXPECTED = {
    "test_matmul_reordered_correctness": 0, "test_matmul_reordered_errors": 0,
    "test_matmul_reordered_speed": 0,
    "test_matmul_blocked_correctness": 0, "test_matmul_blocked_errors": 1,
    "test_matmul_blocked_speed": 0, "test_matmul_blocked_tiling": 0,
    "test_autotune_block_size": 2, "test_conv2d_im2col_correctness": 0,
    "test_conv2d_im2col_speed": 0,
    "test_kernel_plan": 2, "test_machine_fingerprint": 1, "test_tuned_block_size": 2,
}
