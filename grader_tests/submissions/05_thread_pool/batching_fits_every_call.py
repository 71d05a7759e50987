"""A common slip: fit_latency fits a line through every measured call, the disturbed repeats
included, instead of the fastest call of each batch size. The outliers pull the line up, so
the fit is wrong and the message names the slip; smallest_batch is right itself, but it is
built on that fit and answers for the wrong line."""

CELLS = {
    "fit_latency": '''
def fit_latency(batch_sizes, seconds):
    n = np.asarray(batch_sizes, dtype=float)
    t = np.asarray(seconds, dtype=float)
    if n.shape != t.shape or n.ndim != 1:
        raise ValueError("batch_sizes and seconds differ in length")
    if np.any(n < 1) or not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError("bad measurement")
    if len(set(n.tolist())) < 2:
        raise ValueError("need two different batch sizes")
    slope, intercept = np.polyfit(n, t, 1)
    return float(intercept), float(slope)
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
    "test_fit_latency": 0, "test_smallest_batch": 0,
    "test_prefetch_order": 2, "test_prefetch_errors": 1, "test_prefetch_shutdown": 1,
    "test_prefetch_memory": 1, "test_prefetch_speed": 1,
}
