"""The release notebook submitted untouched: every function still raises NotImplementedError."""

CELLS = None  # None: submit the student version as released

EXPECTED = {
    "test_aligned_empty_correctness": 0, "test_aligned_empty_errors": 0,
    "test_is_aligned_correctness": 0,
    "test_aligned_matrix_correctness": 0, "test_aligned_matrix_speed": 0,
}
