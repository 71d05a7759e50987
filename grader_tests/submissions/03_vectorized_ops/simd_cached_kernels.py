"""Honest kernels that ask numba to cache their machine code (`@njit(cache=True)`, which saves
compilation in a student's next session), written differently from the instructor's: relu
with a select, axpy and dot on explicit contiguous copies. Caching needs a source file, which
the grader gives every solution cell in its private folder – one folder per build, so the
build without vectorizers never loads the cached SIMD code. Full marks."""

BASE = "reference"

CELLS = {
    "relu": '''
def relu(x):
    arr = np.asarray(x)
    flat = np.ascontiguousarray(arr).ravel()
    result = np.empty_like(flat)
    _relu_select(flat, result)
    return result.reshape(arr.shape)


@njit(cache=True)
def _relu_select(src, dst):
    zero = src.dtype.type(0)
    for k in range(src.size):
        v = src[k]
        dst[k] = v if v > zero else zero
''',
    "axpy": '''
def axpy(alpha, x, y):
    x, y = np.asarray(x), np.asarray(y)
    if x.shape != y.shape:
        raise ValueError(f"shapes differ: {x.shape} vs {y.shape}")
    if x.dtype != y.dtype:
        raise ValueError(f"dtypes differ: {x.dtype} vs {y.dtype}")
    xs, ys = np.ascontiguousarray(x).ravel(), np.ascontiguousarray(y).ravel()
    result = np.empty_like(xs)
    _axpy_loop(x.dtype.type(alpha), xs, ys, result)
    return result.reshape(x.shape)


@njit(cache=True)
def _axpy_loop(a, xs, ys, dst):
    for k in range(xs.size):
        dst[k] = a * xs[k] + ys[k]
''',
    "dot": '''
def dot(x, y):
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError("dot takes two 1-D arrays")
    if len(x) != len(y) or x.dtype != y.dtype:
        raise ValueError(f"lengths or dtypes differ: {len(x)} {x.dtype}, {len(y)} {y.dtype}")
    return float(_dot_loop(np.ascontiguousarray(x), np.ascontiguousarray(y)))


@njit(fastmath=True, cache=True)
def _dot_loop(xs, ys):
    total = 0.0
    for k in range(xs.size):
        total += xs[k] * ys[k]
    return total
''',
}

EXPECTED = {
    "test_relu_correctness": 2, "test_relu_speed": 2,
    "test_axpy_correctness": 2, "test_axpy_errors": 1, "test_axpy_speed": 2,
    "test_dot_correctness": 2, "test_dot_errors": 1, "test_dot_speed": 2,
    "test_is_simd_vectorized_correctness": 2,
}
