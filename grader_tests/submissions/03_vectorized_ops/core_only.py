"""A student on the core path only: writes relu and axpy, and leaves dot and the SIMD detector.

The optional-depth solution cells stay as released (they raise NotImplementedError, and the
teaching cells that call them fail): every core point is earned all the same, none of the
optional ones."""

CELLS = {}
CORE_ONLY = True

EXPECTED = {
    "test_relu_correctness": 2, "test_relu_speed": 2, "test_axpy_correctness": 2,
    "test_axpy_errors": 1, "test_axpy_speed": 2, "test_dot_correctness": 0, "test_dot_errors": 0,
    "test_dot_speed": 0, "test_is_simd_vectorized_correctness": 0,
}
