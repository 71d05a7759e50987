"""The instructor's solution, submitted as it is."""

CELLS = {}

EXPECTED = {
    "test_aligned_empty_correctness": 3, "test_aligned_empty_errors": 1,
    "test_is_aligned_correctness": 1,
    "test_aligned_matrix_correctness": 2, "test_aligned_matrix_speed": 2,
}
