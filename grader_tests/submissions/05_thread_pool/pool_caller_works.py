"""Honest, written differently from the instructor's solution: one pool per worker count,
made on first use and kept for later calls (its threads outlive a call), BLAS limited through
a ThreadpoolController, and the calling thread computes the last chunk itself while the pool
works on the others. Full marks: the pool's threads still do most of the work."""

CELLS = {
    "batch_forward": '''
from threadpoolctl import ThreadpoolController

_pools = {}
_blas = ThreadpoolController()


def _dense_rows(X, W, b, out, lo, hi):
    np.matmul(X[lo:hi], W, out=out[lo:hi])
    out[lo:hi] += b
    np.maximum(out[lo:hi], 0, out=out[lo:hi])


def batch_forward(X, W, b, num_workers=None):
    workers = cpu_count() if num_workers is None else num_workers
    if type(workers) is bool or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"num_workers must be a positive int or None, not {num_workers!r}")
    X, W, b = (np.asarray(a) for a in (X, W, b))
    if (X.ndim, W.ndim, b.ndim) != (2, 2, 1) or X.shape[1] != W.shape[0] \\
            or W.shape[1] != b.shape[0]:
        raise ValueError(f"bad shapes: X {X.shape}, W {W.shape}, b {b.shape}")
    dtype = np.result_type(X, W, b)
    X, W, b = X.astype(dtype, copy=False), W.astype(dtype, copy=False), b.astype(dtype, copy=False)
    out = np.empty((X.shape[0], W.shape[1]), dtype=dtype)
    edges = np.linspace(0, X.shape[0], int(workers) + 1).astype(int)
    with _blas.limit(limits=1, user_api="blas"):
        if workers == 1:
            _dense_rows(X, W, b, out, 0, X.shape[0])
            return out
        pool = _pools.get(int(workers))
        if pool is None:
            pool = _pools[int(workers)] = ThreadPoolExecutor(max_workers=int(workers) - 1)
        jobs = [pool.submit(_dense_rows, X, W, b, out, edges[i], edges[i + 1])
                for i in range(int(workers) - 1)]
        _dense_rows(X, W, b, out, edges[-2], edges[-1])
        for job in jobs:
            job.result()
    return out
''',
}

EXPECTED = {
    "test_parallel_map_correctness": 2, "test_parallel_map_errors": 1,
    "test_parallel_map_workers": 2,
    "test_matmul_threaded_correctness": 2, "test_matmul_threaded_errors": 1,
    "test_matmul_threaded_determinism": 1, "test_matmul_threaded_speed": 3,
    "test_batch_forward_correctness": 2, "test_batch_forward_errors": 1,
    "test_batch_forward_speed": 2,
    "test_amdahl_speedup_correctness": 1, "test_amdahl_speedup_errors": 1,
    "test_fit_latency": 2, "test_smallest_batch": 2,
    "test_prefetch_order": 2, "test_prefetch_errors": 1, "test_prefetch_shutdown": 1,
    "test_prefetch_memory": 1, "test_prefetch_speed": 1,
}
