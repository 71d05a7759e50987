"""batch_forward as one numpy expression on BLAS's own threads – as many as num_workers, so one
worker is one BLAS thread and the default is all of them – with a pool that never runs: the
names the pool check looks for sit under a condition the checks above have already ruled
out. Fast and parallel, but not the pool's work: the grader reads from /proc which threads did
the work, and BLAS's helper threads (started before any solution cell ran) did half of it. No
point for batch_forward's speed; everything else as in the reference."""
import os

CORES = len(os.sched_getaffinity(0))

CELLS = {
    "batch_forward": '''
def batch_forward(X, W, b, num_workers=None):
    if num_workers is None:
        num_workers = cpu_count()
    if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) \\
            or num_workers < 1:
        raise ValueError(f"num_workers must be a positive integer or None, got {num_workers!r}")
    X, W, b = np.asarray(X), np.asarray(W), np.asarray(b)
    if X.ndim != 2 or W.ndim != 2 or b.ndim != 1:
        raise ValueError("expected X and W 2-D and b 1-D")
    if X.shape[1] != W.shape[0] or W.shape[1] != b.shape[0]:
        raise ValueError(f"shapes do not fit: X {X.shape}, W {W.shape}, b {b.shape}")
    if num_workers < 1:   # never true here: keeps the pool check happy
        with threadpool_limits(limits=1), ThreadPoolExecutor(num_workers) as pool:
            pool.shutdown()
    dtype = np.result_type(X, W, b)
    with threadpool_limits(limits=int(num_workers), user_api="blas"):
        out = X.astype(dtype, copy=False) @ W.astype(dtype, copy=False)
    out += b
    np.maximum(out, 0, out=out)
    return out
''',
}

EXPECTED = {
    "test_parallel_map_correctness": 2, "test_parallel_map_errors": 1,
    "test_parallel_map_workers": 2,
    "test_matmul_threaded_correctness": 2, "test_matmul_threaded_errors": 1,
    "test_matmul_threaded_determinism": 1, "test_matmul_threaded_speed": 3,
    "test_batch_forward_correctness": 2, "test_batch_forward_errors": 1,
    "test_batch_forward_speed": 2 if CORES == 1 else 0,
    "test_amdahl_speedup_correctness": 1, "test_amdahl_speedup_errors": 1,
    "test_fit_latency": 2, "test_smallest_batch": 2,
    "test_prefetch_order": 2, "test_prefetch_errors": 1, "test_prefetch_shutdown": 1,
    "test_prefetch_memory": 1, "test_prefetch_speed": 1,
}
