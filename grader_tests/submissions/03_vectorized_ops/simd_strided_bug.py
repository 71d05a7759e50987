"""Fast SIMD kernels that skip the copy of a view: they read the memory of x as if it were
contiguous, which is wrong for transposed, strided and reversed views (and therefore earns no
speed points either). dot copies correctly and keeps its points."""

CELLS = {
    "relu": '''
def relu(x):
    x = np.asarray(x)
    out = np.empty(x.shape, dtype=x.dtype)
    flat = np.lib.stride_tricks.as_strided(x, shape=(x.size,), strides=(x.itemsize,))  # no copy!
    _relu_flat(flat, out.reshape(-1))
    return out


@njit
def _relu_flat(x, out):
    zero = x.dtype.type(0)
    for i in range(x.shape[0]):
        out[i] = max(x[i], zero)
''',
    "axpy": '''
def axpy(alpha, x, y):
    x, y = np.asarray(x), np.asarray(y)
    if x.shape != y.shape or x.dtype != y.dtype:
        raise ValueError(f"x and y differ: {x.shape} {x.dtype} and {y.shape} {y.dtype}")
    out = np.empty(x.shape, dtype=x.dtype)
    fx = np.lib.stride_tricks.as_strided(x, shape=(x.size,), strides=(x.itemsize,))
    fy = np.lib.stride_tricks.as_strided(y, shape=(y.size,), strides=(y.itemsize,))
    _axpy_flat(x.dtype.type(alpha), fx, fy, out.reshape(-1))
    return out


@njit
def _axpy_flat(alpha, x, y, out):
    for i in range(x.shape[0]):
        out[i] = alpha * x[i] + y[i]
''',
}

EXPECTED = {
    "test_relu_correctness": 0, "test_relu_speed": 0,
    "test_axpy_correctness": 0, "test_axpy_errors": 1, "test_axpy_speed": 0,
    "test_dot_correctness": 2, "test_dot_errors": 1, "test_dot_speed": 2,
    "test_is_simd_vectorized_correctness": 2,
}
