"""Rebinds the probe: the grader reads the layout of the student's arrays through
`grading_probe`, which the setup cell binds in the same namespace the solution cells run in.
This submission's aligned_empty does not align at all, and a solution cell replaces the
probe with one that reports every array as starting on a page boundary. Requests for the
probe reach the object the setup cell made, so the lie is never heard: aligned_empty scores
what plain np.empty scores (its error handling is right), and aligned_matrix, built on it,
loses its points too."""

BASE = "reference"

CELLS = {
    "aligned_empty": '''
def aligned_empty(shape, dtype=np.float32, alignment=64):
    if isinstance(alignment, bool) or not isinstance(alignment, (int, np.integer)) \\
            or alignment < 1 or alignment & (alignment - 1):
        raise ValueError(f"alignment must be a power of two, got {alignment!r}")
    return np.empty(shape, dtype)


def _perfect_report(op, name, *args, **kwargs):
    """What the grader would like to see."""
    arr = globals()[name](*args, **kwargs)
    return {"ndarray": True, "shape": tuple(arr.shape), "dtype": str(arr.dtype),
            "strides": tuple(arr.strides), "address": 0, "writeable": True,
            "c_contiguous": True, "referenced": True, "alive": True}


grading_probe = _perfect_report
''',
}

EXPECTED = {
    "test_aligned_empty_correctness": 0, "test_aligned_empty_errors": 1,
    "test_is_aligned_correctness": 1,
    "test_aligned_matrix_correctness": 0, "test_aligned_matrix_speed": 0,
}
