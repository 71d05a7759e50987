"""A student on the core path only: writes aligned_empty and is_aligned, and leaves the padded
matrix.

The optional-depth solution cells stay as released (they raise NotImplementedError, and the
teaching cells that call them fail): every core point is earned all the same, none of the
optional ones."""

CELLS = {}
CORE_ONLY = True

EXPECTED = {
    "test_aligned_empty_correctness": 3, "test_aligned_empty_errors": 1,
    "test_is_aligned_correctness": 1, "test_aligned_matrix_correctness": 0,
    "test_aligned_matrix_speed": 0,
}
