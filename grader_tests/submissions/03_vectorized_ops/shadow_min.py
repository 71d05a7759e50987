"""A dot that vectorizes only for float32 (a strict scalar loop for float64), plus a solution
cell that defines its own `min` – the hidden speed test keeps the lower of the float32 and
float64 scores with `min(...)`, and this `min` returns the higher one. Test cells never see a
solution cell's builtins, so the float64 build's 0 stands; everything else is the
instructor's solution."""

BASE = "reference"

CELLS = {
    "dot": '''
def dot(x, y):
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 1 or y.ndim != 1 or x.shape != y.shape or x.dtype != y.dtype:
        raise ValueError(f"dot needs two 1-D arrays of one length and dtype, got "
                         f"{x.shape} {x.dtype} and {y.shape} {y.dtype}")
    x, y = np.ascontiguousarray(x), np.ascontiguousarray(y)
    if x.dtype == np.float32:
        return float(_dot_reassociated(x, y))
    return float(_dot_in_order(x, y))


@njit(fastmath=True)
def _dot_reassociated(x, y):
    acc = 0.0
    for i in range(x.shape[0]):
        acc += x[i] * y[i]
    return acc


@njit
def _dot_in_order(x, y):
    acc = 0.0
    for i in range(x.shape[0]):
        acc += x[i] * y[i]
    return acc


def min(*scores):
    """The better of my scores."""
    return max(scores)
''',
}

EXPECTED = {
    "test_relu_correctness": 2, "test_relu_speed": 2,
    "test_axpy_correctness": 2, "test_axpy_errors": 1, "test_axpy_speed": 2,
    "test_dot_correctness": 2, "test_dot_errors": 1, "test_dot_speed": 0,
    "test_is_simd_vectorized_correctness": 2,
}
