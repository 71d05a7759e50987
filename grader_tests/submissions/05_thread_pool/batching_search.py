"""An honest batching solution written differently from the instructor's: the minima per batch
size through np.minimum.at, the line by np.linalg.lstsq, and the batch found by doubling and
then bisection on the modelled throughput instead of the closed form. Full marks."""

CELLS = {
    "fit_latency": '''
def fit_latency(batch_sizes, seconds):
    sizes = np.asarray(batch_sizes, dtype=np.int64).ravel()
    times = np.asarray(seconds, dtype=np.float64).ravel()
    if len(sizes) != len(times):
        raise ValueError(f"{len(sizes)} batch sizes but {len(times)} times")
    if len(sizes) and sizes.min() < 1:
        raise ValueError("a batch holds at least one item")
    if np.isnan(times).any() or np.isinf(times).any() or (times < 0).any():
        raise ValueError("every time must be a finite number of seconds >= 0")
    distinct, where = np.unique(sizes, return_inverse=True)
    if len(distinct) < 2:
        raise ValueError("two different batch sizes at least")
    fastest = np.full(len(distinct), np.inf)
    np.minimum.at(fastest, where, times)
    design = np.column_stack([np.ones(len(distinct)), distinct.astype(np.float64)])
    (a, b), *_ = np.linalg.lstsq(design, fastest, rcond=None)
    return float(a), float(b)
''',
    "smallest_batch": '''
def smallest_batch(batch_sizes, seconds, target_items_per_s):
    a, b = fit_latency(batch_sizes, seconds)
    goal = float(target_items_per_s)
    if not (goal > 0 and math.isfinite(goal)):
        raise ValueError("the target must be a positive throughput")
    if b <= 0 or goal >= 1 / b:
        raise ValueError(f"peak throughput 1/b = {1 / b if b > 0 else math.inf:.4g} items/s: "
                         f"{goal:.4g} is out of reach")

    def enough(n):
        return n * (1 - b * goal) >= a * goal    # n / (a + b n) >= goal, without dividing

    hi = 1
    while not enough(hi):
        hi *= 2
    lo = hi // 2                                 # not enough (or 0)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if enough(mid):
            hi = mid
        else:
            lo = mid
    return int(hi)
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
