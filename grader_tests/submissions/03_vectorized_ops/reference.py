"""The instructor's solution, submitted as it is."""

CELLS = {}

EXPECTED = {
    "test_relu_correctness": 2, "test_relu_speed": 2,
    "test_axpy_correctness": 2, "test_axpy_errors": 1, "test_axpy_speed": 2,
    "test_dot_correctness": 2, "test_dot_errors": 1, "test_dot_speed": 2,
    "test_is_simd_vectorized_correctness": 2,
}
