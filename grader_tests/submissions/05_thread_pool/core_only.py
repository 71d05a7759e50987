"""A student on the core path only: writes the pool, the row-panel matmul and Amdahl's law, and
leaves oversubscription, batching and the data loader.

The optional-depth solution cells stay as released (they raise NotImplementedError, and the
teaching cells that call them fail): every core point is earned all the same, none of the
optional ones."""

CELLS = {}
CORE_ONLY = True

EXPECTED = {
    "test_parallel_map_correctness": 2, "test_parallel_map_errors": 1,
    "test_parallel_map_workers": 2, "test_matmul_threaded_correctness": 2,
    "test_matmul_threaded_errors": 1, "test_matmul_threaded_determinism": 1,
    "test_matmul_threaded_speed": 3, "test_batch_forward_correctness": 0,
    "test_batch_forward_errors": 0, "test_batch_forward_speed": 0,
    "test_amdahl_speedup_correctness": 1, "test_amdahl_speedup_errors": 1, "test_fit_latency": 0,
    "test_smallest_batch": 0, "test_prefetch_order": 0, "test_prefetch_errors": 0,
    "test_prefetch_shutdown": 0, "test_prefetch_memory": 0, "test_prefetch_speed": 0,
}
