"""Correct but scalar: a finiteness check inside each hot loop (an early exit) and a strict
single-accumulator dot product keep LLVM from vectorizing, so no SIMD speedup points."""

CELLS = {
    "relu": '''
def relu(x):
    xc = np.ascontiguousarray(x)
    out = np.empty(np.shape(x), dtype=xc.dtype)
    _relu_checked(xc.reshape(-1), out.reshape(-1))
    return out


@njit
def _relu_checked(x, out):
    for i in range(x.shape[0]):
        v = x[i]
        if not math.isfinite(v):
            raise ValueError("relu: input is not finite")
        out[i] = v if v > 0 else 0
''',
    "axpy": '''
def axpy(alpha, x, y):
    x, y = np.asarray(x), np.asarray(y)
    if x.shape != y.shape or x.dtype != y.dtype:
        raise ValueError(f"x and y differ: {x.shape} {x.dtype} and {y.shape} {y.dtype}")
    xc, yc = np.ascontiguousarray(x), np.ascontiguousarray(y)
    out = np.empty(np.shape(x), dtype=xc.dtype)
    _axpy_checked(xc.dtype.type(alpha), xc.reshape(-1), yc.reshape(-1), out.reshape(-1))
    return out


@njit
def _axpy_checked(alpha, x, y, out):
    for i in range(x.shape[0]):
        v = alpha * x[i] + y[i]
        if not math.isfinite(v):
            raise OverflowError("axpy overflowed")
        out[i] = v
''',
    "dot": '''
def dot(x, y):
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 1 or y.ndim != 1 or x.shape != y.shape or x.dtype != y.dtype:
        raise ValueError("dot needs two 1-D arrays of the same length and dtype")
    return float(_dot_strict(x, y))


@njit
def _dot_strict(x, y):
    acc = 0.0
    for i in range(x.shape[0]):
        acc += x[i] * y[i]
    return acc
''',
}

CALIBRATION = "naive"  # `accelkit calibrate`: the slow side of every speed threshold here

EXPECTED = {
    "test_relu_correctness": 2, "test_relu_speed": 0,
    "test_axpy_correctness": 2, "test_axpy_errors": 1, "test_axpy_speed": 0,
    "test_dot_correctness": 2, "test_dot_errors": 1, "test_dot_speed": 0,
    "test_is_simd_vectorized_correctness": 2,
}
