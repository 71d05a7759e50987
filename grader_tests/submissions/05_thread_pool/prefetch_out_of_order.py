"""Yields each batch as soon as a worker has it (`as_completed`), the way one collects
results when order does not matter. In a training loop it does: with two or more workers the
epoch's items come out shuffled by the workers' timing, so the order test fails; all keys are
submitted at once, so memory is unbounded as well. Errors and shutdown are right. The speed
point is earned: the speed test times one loader (`num_workers=1`, MARGINS.md, 05), whose
single thread finishes the keys in the order they were submitted, so the timed epochs – which
are verified – are in order, and the overlap it measures is real."""

CELLS = {
    "prefetch": '''
def prefetch(load, keys, num_workers=2, depth=4):
    if not isinstance(num_workers, int) or isinstance(num_workers, bool) or num_workers < 1:
        raise ValueError("num_workers must be a positive integer")
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
        raise ValueError("depth must be a positive integer")
    return _fastest_first(load, list(keys), num_workers)


def _fastest_first(load, keys, num_workers):
    with ThreadPoolExecutor(max_workers=num_workers) as pool:
        futures = [pool.submit(load, key) for key in keys]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()
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
    "test_prefetch_order": 0, "test_prefetch_errors": 1, "test_prefetch_shutdown": 1,
    "test_prefetch_memory": 0, "test_prefetch_speed": 1,
}
