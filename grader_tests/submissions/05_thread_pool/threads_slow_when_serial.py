"""Steers the old comparison (the kernel against itself with num_workers=1): matmul_threaded
never starts a thread, runs a good serial i-k-j loop, and wastes time only when asked for one
thread – which made it "faster with its default threads". It is now compared with the trusted
serial kernel (1.0x, below the 1.3x asked on 2 cores) and the grader reads its CPU time (one
core busy, not two): no speed points on 2 or more cores. It is correct and deterministic, so those points stay."""


import os

CORES = len(os.sched_getaffinity(0))

CELLS = {
    "matmul_threaded": '''
def matmul_threaded(A, B, num_workers=None):
    if num_workers is None:
        num_workers = cpu_count()
    if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) \\
            or num_workers < 1:
        raise ValueError(f"num_workers must be a positive integer, got {num_workers!r}")
    A, B = np.asarray(A), np.asarray(B)
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0]:
        raise ValueError(f"cannot multiply {A.shape} by {B.shape}")
    dtype = np.result_type(A, B)
    C = np.zeros((A.shape[0], B.shape[1]), dtype=dtype)
    _ikj(np.ascontiguousarray(A, dtype=dtype), np.ascontiguousarray(B, dtype=dtype), C)
    if num_workers == 1:
        time.sleep(0.002 + 1e-11 * C.size * A.shape[1])   # "the serial run is slow"
    return C


@njit(nogil=True)
def _ikj(A, B, C):
    for i in range(A.shape[0]):
        for p in range(A.shape[1]):
            a = A[i, p]
            for j in range(B.shape[1]):
                C[i, j] += a * B[p, j]
''',
}

EXPECTED = {
    "test_parallel_map_correctness": 2, "test_parallel_map_errors": 1,
    "test_parallel_map_workers": 2,
    "test_matmul_threaded_correctness": 2, "test_matmul_threaded_errors": 1,
    "test_matmul_threaded_determinism": 1, "test_matmul_threaded_speed": 3 if CORES == 1 else 0,
    "test_batch_forward_correctness": 2, "test_batch_forward_errors": 1,
    "test_batch_forward_speed": 2,
    "test_amdahl_speedup_correctness": 1, "test_amdahl_speedup_errors": 1,
    "test_fit_latency": 2, "test_smallest_batch": 2,
    "test_prefetch_order": 2, "test_prefetch_errors": 1, "test_prefetch_shutdown": 1,
    "test_prefetch_memory": 1, "test_prefetch_speed": 1,
}
