"""The release notebook submitted untouched: every function still raises NotImplementedError."""

CELLS = None  # None: submit the student version as released

EXPECTED = {
    "test_parallel_map_correctness": 0, "test_parallel_map_errors": 0,
    "test_parallel_map_workers": 0,
    "test_matmul_threaded_correctness": 0, "test_matmul_threaded_errors": 0,
    "test_matmul_threaded_determinism": 0, "test_matmul_threaded_speed": 0,
    "test_batch_forward_correctness": 0, "test_batch_forward_errors": 0,
    "test_batch_forward_speed": 0,
    "test_amdahl_speedup_correctness": 0, "test_amdahl_speedup_errors": 0,
    "test_fit_latency": 0, "test_smallest_batch": 0,
    "test_prefetch_order": 0, "test_prefetch_errors": 0, "test_prefetch_shutdown": 0,
    "test_prefetch_memory": 0, "test_prefetch_speed": 0,
}
