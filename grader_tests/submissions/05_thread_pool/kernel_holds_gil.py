"""matmul_threaded splits the rows over a real pool, but its numba kernel is compiled without
nogil=True: every call holds the GIL, so the threads take turns. Correct and deterministic, no
speedup (on one core, "no slowdown" still holds)."""
import os

CORES = len(os.sched_getaffinity(0))

CELLS = {
    "matmul_threaded": '''
def matmul_threaded(A, B, num_workers=None):
    if num_workers is None:
        num_workers = cpu_count()
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 1:
        raise ValueError("num_workers must be a positive integer")
    A, B = np.asarray(A), np.asarray(B)
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0]:
        raise ValueError(f"cannot multiply {A.shape} by {B.shape}")
    dtype = np.result_type(A, B)
    A = np.ascontiguousarray(A, dtype=dtype)
    B = np.ascontiguousarray(B, dtype=dtype)
    m = A.shape[0]
    C = np.zeros((m, B.shape[1]), dtype=dtype)
    panels = min(m, 4 * num_workers)
    with ThreadPoolExecutor(max_workers=num_workers) as pool:
        futures = [pool.submit(_panel, A, B, C, m * i // panels, m * (i + 1) // panels)
                   for i in range(panels)]
        for future in futures:
            future.result()
    return C


@njit          # no nogil=True: the thread keeps the GIL for the whole call
def _panel(A, B, C, lo, hi):
    for i in range(lo, hi):
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
