"""Optimizes what is easy instead of what the profile shows: every element-wise step is fused,
but the matrix products stay the textbook i-j-k loop (pasted into the matmul_blocked cell).

Correct, so full correctness points; the products are about 93% of the reference's time, so
Amdahl caps the speedup at about 1.07x (measured about 1.1x): no speed points."""

CELLS = {
    "matmul_blocked": '''
def matmul_blocked(A, B, block_size=64):
    dtype = np.result_type(A, B)
    A = np.ascontiguousarray(A, dtype=dtype)
    B = np.ascontiguousarray(B, dtype=dtype)
    C = np.empty((A.shape[0], B.shape[1]), dtype=dtype)
    _ijk(A, B, C)
    return C


@njit
def _ijk(A, B, C):
    for i in range(A.shape[0]):
        for j in range(B.shape[1]):
            acc = C.dtype.type(0)
            for p in range(A.shape[1]):
                acc += A[i, p] * B[p, j]
            C[i, j] = acc
''',
}

CALIBRATION = "naive"  # `accelkit calibrate`: the slow side of every speed threshold here

EXPECTED = {"test_accelerated_block_correctness": 4, "test_accelerated_block_speed": 0,
            "profile_analysis": 0}
