"""A serial pool in disguise: every function uses a ThreadPoolExecutor, but waits for each task
(submit(...).result()) before submitting the next – prefetch too, so nothing loads ahead.
Correct, deterministic, and no faster than one thread: no points for concurrency or speed (on
one core, "no slowdown" still holds)."""
import os

CORES = len(os.sched_getaffinity(0))

CELLS = {
    "parallel_map": '''
def parallel_map(fn, items, num_workers=None):
    if num_workers is None:
        num_workers = cpu_count()
    if num_workers < 1:
        raise ValueError("num_workers must be positive")
    with ThreadPoolExecutor(max_workers=num_workers) as pool:
        return [pool.submit(fn, item).result() for item in items]
''',
    "matmul_threaded": '''
def matmul_threaded(A, B, num_workers=None):
    if num_workers is None:
        num_workers = cpu_count()
    if num_workers < 1:
        raise ValueError("num_workers must be positive")
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
        for i in range(panels):
            pool.submit(_rows, A, B, C, m * i // panels, m * (i + 1) // panels).result()
    return C


@njit(nogil=True)
def _rows(A, B, C, lo, hi):
    for i in range(lo, hi):
        for p in range(A.shape[1]):
            a = A[i, p]
            for j in range(B.shape[1]):
                C[i, j] += a * B[p, j]
''',
    "batch_forward": '''
def batch_forward(X, W, b, num_workers=None):
    if num_workers is None:
        num_workers = cpu_count()
    if num_workers < 1:
        raise ValueError("num_workers must be positive")
    X, W, b = np.asarray(X), np.asarray(W), np.asarray(b)
    if X.ndim != 2 or W.ndim != 2 or b.ndim != 1 or X.shape[1] != W.shape[0] \\
            or W.shape[1] != b.shape[0]:
        raise ValueError("shapes do not fit")
    dtype = np.result_type(X, W, b)
    out = np.empty((X.shape[0], W.shape[1]), dtype=dtype)
    chunks = min(X.shape[0], 2 * num_workers)
    bounds = [(X.shape[0] * i // chunks, X.shape[0] * (i + 1) // chunks) for i in range(chunks)]

    def chunk(lo, hi):
        out[lo:hi] = np.maximum(X[lo:hi].astype(dtype) @ W.astype(dtype) + b, 0)

    with threadpool_limits(limits=1, user_api="blas"):
        with ThreadPoolExecutor(max_workers=num_workers) as pool:
            for lo, hi in bounds:
                pool.submit(chunk, lo, hi).result()
    return out
''',
    "prefetch": '''
def prefetch(load, keys, num_workers=2, depth=4):
    for value in (num_workers, depth):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"expected a positive integer, got {value!r}")
    return _one_at_a_time(load, keys, num_workers)


def _one_at_a_time(load, keys, num_workers):
    with ThreadPoolExecutor(max_workers=num_workers) as pool:
        for key in keys:
            yield pool.submit(load, key).result()
''',
}

SPEED = 1 if CORES == 1 else 0

CALIBRATION = "naive"  # `accelkit calibrate`: the slow side of every speed threshold here

EXPECTED = {
    "test_parallel_map_correctness": 2, "test_parallel_map_errors": 1,
    "test_parallel_map_workers": 0,
    "test_matmul_threaded_correctness": 2, "test_matmul_threaded_errors": 1,
    "test_matmul_threaded_determinism": 1, "test_matmul_threaded_speed": 3 * SPEED,
    "test_batch_forward_correctness": 2, "test_batch_forward_errors": 1,
    "test_batch_forward_speed": 2 * SPEED,
    "test_amdahl_speedup_correctness": 1, "test_amdahl_speedup_errors": 1,
    "test_fit_latency": 2, "test_smallest_batch": 2,
    "test_prefetch_order": 2, "test_prefetch_errors": 1, "test_prefetch_shutdown": 1,
    "test_prefetch_memory": 1, "test_prefetch_speed": SPEED,
}
