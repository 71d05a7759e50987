"""The release notebook submitted untouched: every function still raises NotImplementedError."""

CELLS = None  # None: submit the student version as released

EXPECTED = {
    "test_relu_correctness": 0, "test_relu_speed": 0,
    "test_axpy_correctness": 0, "test_axpy_errors": 0, "test_axpy_speed": 0,
    "test_dot_correctness": 0, "test_dot_errors": 0, "test_dot_speed": 0,
    "test_is_simd_vectorized_correctness": 0,
}
