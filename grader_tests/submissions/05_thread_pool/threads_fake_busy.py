"""Fakes the CPU time: a serial i-k-j kernel plus a helper thread that only spins (GIL released)
while the product is computed, so that the process looks busy on two cores. CPU time alone
would be fooled; the speed against the trusted serial kernel is not (1.0x, below the 1.3x asked
on 2 cores): no speed points."""
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
    with ThreadPoolExecutor(max_workers=2) as pool:
        if num_workers > 1:   # looks like a second worker: as long as the product, no work
            pool.submit(_spin, A.shape[0] * A.shape[1] * B.shape[1] // 64)
        _ikj(np.ascontiguousarray(A, dtype=dtype), np.ascontiguousarray(B, dtype=dtype), C)
    return C


@njit(nogil=True)
def _spin(n):
    x = 0.0
    for i in range(n):
        x = x * 0.999999 + 1e-9
    return x


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
