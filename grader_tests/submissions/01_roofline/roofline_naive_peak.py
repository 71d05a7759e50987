"""Measures the "peak" with a slow kernel: a numba i-j-k loop instead of a tuned, compute-bound
one. It reports a small fraction of what the core can do (about 20x too low), far outside the
accepted band. Everything else is the instructor's solution; the written answer is left empty."""

CELLS = {
    "measure_peak_gflops": '''
def measure_peak_gflops(dtype=np.float32):
    n = 192
    A = np.random.rand(n, n).astype(dtype)
    B = np.random.rand(n, n).astype(dtype)
    C = np.zeros((n, n), dtype=dtype)
    _ijk(A, B, C)
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        _ijk(A, B, C)
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


@njit
def _ijk(A, B, C):
    for i in range(A.shape[0]):
        for j in range(B.shape[1]):
            acc = 0.0
            for p in range(A.shape[1]):
                acc += A[i, p] * B[p, j]
            C[i, j] = acc
''',
}

EXPECTED = {
    "test_measure_bandwidth_gbs_correctness": 2, "test_measure_peak_gflops_correctness": 0,
    "test_arithmetic_intensity_correctness": 1, "test_arithmetic_intensity_errors": 1,
    "test_attainable_gflops_correctness": 1, "test_attainable_gflops_errors": 1,
    "test_bottleneck_correctness": 2, "test_bottleneck_errors": 1,
    "test_kernel_intensity_correctness": 2, "test_kernel_intensity_errors": 1,
    "test_systems_answers_roofline": 1, "test_systems_answers_amdahl": 1,
    "test_systems_answers_blocking": 1, "blocking_explanation": 0,
}
