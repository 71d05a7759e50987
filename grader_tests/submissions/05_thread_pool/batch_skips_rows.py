"""Does half the work once it has been checked: batch_forward is right for its first calls,
then computes only every other chunk of rows of a big batch and leaves the rest zero (ReLU
outputs many zeros, so a quick look at the output does not show it). The timed calls'
results are verified on rows the grader draws after the call, so the skipped half is found
(it escapes with probability 2^-32 per verified call): no speed points; the rest stays."""

CELLS = {
    "batch_forward": '''
_calls = {"big": 0}

def batch_forward(X, W, b, num_workers=None):
    workers = cpu_count() if num_workers is None else num_workers
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"bad num_workers: {num_workers!r}")
    X, W, b = np.asarray(X), np.asarray(W), np.asarray(b)
    if X.ndim != 2 or W.ndim != 2 or b.ndim != 1 or X.shape[1] != W.shape[0] \\
            or W.shape[1] != b.shape[0]:
        raise ValueError(f"shapes do not fit: {X.shape}, {W.shape}, {b.shape}")
    dtype = np.result_type(X, W, b)
    out = np.zeros((X.shape[0], W.shape[1]), dtype)
    step = 256
    starts = list(range(0, X.shape[0], step))
    if X.shape[0] >= 4096:
        _calls["big"] += 1
        if _calls["big"] > 4:          # checked enough by now: half the chunks will do
            starts = starts[::2]

    def chunk(lo):
        y = X[lo:lo + step].astype(dtype) @ W.astype(dtype) + b.astype(dtype)
        out[lo:lo + step] = np.maximum(y, 0)

    with threadpool_limits(limits=1, user_api="blas"):
        with ThreadPoolExecutor(max_workers=int(workers)) as pool:
            list(pool.map(chunk, starts))
    return out
''',
}

EXPECTED = {
    "test_parallel_map_correctness": 2, "test_parallel_map_errors": 1,
    "test_parallel_map_workers": 2,
    "test_matmul_threaded_correctness": 2, "test_matmul_threaded_errors": 1,
    "test_matmul_threaded_determinism": 1, "test_matmul_threaded_speed": 3,
    "test_batch_forward_correctness": 2, "test_batch_forward_errors": 1,
    "test_batch_forward_speed": 0,
    "test_amdahl_speedup_correctness": 1, "test_amdahl_speedup_errors": 1,
    "test_fit_latency": 2, "test_smallest_batch": 2,
    "test_prefetch_order": 2, "test_prefetch_errors": 1, "test_prefetch_shutdown": 1,
    "test_prefetch_memory": 1, "test_prefetch_speed": 1,
}
