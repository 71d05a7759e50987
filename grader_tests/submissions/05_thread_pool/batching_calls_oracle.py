"""Reaches for the grader's answers: fit_latency and smallest_batch import the grader's own
oracles from accelkit.exercises.batching and return what they say. In a grading worker the
grader's modules are not loaded: the imports give withheld names, the calls fail with a
message that says why, and both functions earn nothing."""

CELLS = {
    "fit_latency": '''
from accelkit.exercises.batching import latency_fit_expected


def fit_latency(batch_sizes, seconds):
    if len(batch_sizes) != len(seconds) or len(set(np.asarray(batch_sizes).tolist())) < 2:
        raise ValueError("need matching measurements of two batch sizes or more")
    return latency_fit_expected(batch_sizes, seconds)
''',
    "smallest_batch": '''
from accelkit.exercises.batching import smallest_batch_expected


def smallest_batch(batch_sizes, seconds, target_items_per_s):
    a, b = fit_latency(batch_sizes, seconds)
    n, _ = smallest_batch_expected(a, b, target_items_per_s)
    if n is None or target_items_per_s <= 0:
        raise ValueError("the target is beyond the peak")
    return n
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
