"""The shortest prefetching loader there is: `yield from pool.map(load, keys)` inside a
`with ThreadPoolExecutor`. Order, errors, shutdown and speed are right – but `map` submits
every key at once, so with a slow training step the workers decode the whole epoch ahead
(96 MiB where the queue's bound is about 17): no point for bounded memory."""

CELLS = {
    "prefetch": '''
def prefetch(load, keys, num_workers=2, depth=4):
    if not isinstance(num_workers, int) or isinstance(num_workers, bool) or num_workers < 1:
        raise ValueError(f"num_workers must be a positive integer, got {num_workers!r}")
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
        raise ValueError(f"depth must be a positive integer, got {depth!r}")
    return _loader(load, keys, num_workers)


def _loader(load, keys, num_workers):
    with ThreadPoolExecutor(max_workers=num_workers) as pool:
        yield from pool.map(load, keys)
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
    "test_prefetch_memory": 0, "test_prefetch_speed": 1,
}
