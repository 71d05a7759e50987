"""parallel_map collects the results with as_completed: fast and concurrent, but the results
come back in the order the calls finished, not in input order."""

CELLS = {
    "parallel_map": '''
def parallel_map(fn, items, num_workers=None):
    if num_workers is None:
        num_workers = cpu_count()
    if num_workers < 1:
        raise ValueError("num_workers must be positive")
    with ThreadPoolExecutor(max_workers=num_workers) as pool:
        futures = [pool.submit(fn, item) for item in items]
        return [future.result() for future in as_completed(futures)]
''',
}

EXPECTED = {
    "test_parallel_map_correctness": 0, "test_parallel_map_errors": 1,
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
