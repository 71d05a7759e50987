"""The easy fake: validates the alignment argument, then returns a plain np.empty, which is
aligned only by luck (large blocks come from mmap, small ones from malloc or numpy's cache).
aligned_matrix, built on it, inherits the luck. is_aligned is right."""

CELLS = {
    "aligned_empty": '''
def aligned_empty(shape, dtype=np.float32, alignment=64):
    if alignment <= 0 or alignment & (alignment - 1):
        raise ValueError(f"alignment must be a power of two, got {alignment}")
    return np.empty(shape, dtype=dtype)   # numpy allocations are aligned anyway... aren't they?
''',
}

EXPECTED = {
    "test_aligned_empty_correctness": 0, "test_aligned_empty_errors": 1,
    "test_is_aligned_correctness": 1,
    "test_aligned_matrix_correctness": 0, "test_aligned_matrix_speed": 0,
}
