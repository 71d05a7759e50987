"""Correct but slow: widens the inputs and runs the textbook i-j-k loop (the trusted baseline's
own algorithm), so the speedup is about 1x. Everything else is the instructor's solution."""

CELLS = {
    "matmul_fp16_acc32": '''
def matmul_fp16_acc32(A16, B16):
    A16, B16 = np.asarray(A16), np.asarray(B16)
    if A16.ndim != 2 or B16.ndim != 2 or A16.shape[1] != B16.shape[0]:
        raise ValueError("bad shapes")
    if A16.dtype != np.float16 or B16.dtype != np.float16:
        raise ValueError("expected float16")
    A = np.ascontiguousarray(A16, dtype=np.float32)
    B = np.ascontiguousarray(B16, dtype=np.float32)
    C = np.empty((A.shape[0], B.shape[1]), dtype=np.float32)
    _ijk(A, B, C)
    return C


@njit
def _ijk(A, B, C):
    for i in range(A.shape[0]):
        for j in range(B.shape[1]):
            acc = np.float32(0.0)
            for p in range(A.shape[1]):
                acc += A[i, p] * B[p, j]
            C[i, j] = acc
''',
}

CALIBRATION = "naive"  # `accelkit calibrate`: the slow side of every speed threshold here

EXPECTED = {
    "test_matmul_fp16_acc32_correctness": 3, "test_matmul_fp16_acc32_errors": 1,
    "test_matmul_fp16_acc32_speed": 0,
    "test_loss_scale_update_correctness": 2, "test_loss_scale_update_errors": 1,
    "test_has_overflow_correctness": 2,
}
