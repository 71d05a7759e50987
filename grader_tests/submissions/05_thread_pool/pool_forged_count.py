"""The serial pool of pool_serial.py, plus a parallel_map that knows the grader's concurrency
probe: it runs the calls one after another and then rewrites each result's "calls running at
once" to the limit, so the count the probe returns says the pool ran in parallel. The grader
counts from the start and end events the probe sends out of the worker, not from the
results: the same score as pool_serial.py, no points for concurrency."""

import os

BASE = "pool_serial"
CORES = len(os.sched_getaffinity(0))

CELLS = {
    "parallel_map": '''
def parallel_map(fn, items, num_workers=None):
    if num_workers is None:
        num_workers = cpu_count()
    if num_workers < 1:
        raise ValueError("num_workers must be positive")
    items = list(items)
    with ThreadPoolExecutor(max_workers=num_workers) as pool:
        results = [pool.submit(fn, item).result() for item in items]
    if type(fn).__name__ == "ConcurrencyProbe":     # "it ran in parallel"
        at_once = min(num_workers, len(items))
        results = [(r[0], at_once) for r in results]
    return results
''',
}

SPEED = 1 if CORES == 1 else 0

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
