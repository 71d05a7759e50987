"""Tells the two builds apart: the solution cells run once per build, so top-level code counts
its runs in `sys` and the second run (the build without vectorizers) makes relu and axpy
do extra work, which would look like a SIMD speedup of scalar kernels. Code that can tell the
builds apart (shared state such as builtins or sys, the module's name, numba's settings) gets
no SIMD speed points, with a message naming what it used; dot is honest and keeps its points."""

CELLS = {
    "relu": '''
import sys
sys._accel_builds = getattr(sys, "_accel_builds", 0) + 1
_SECOND_BUILD = sys._accel_builds % 2 == 0


def relu(x):
    xc = np.ascontiguousarray(x)
    out = np.empty(np.shape(x), dtype=xc.dtype)
    _relu_scalar(xc.reshape(-1), out.reshape(-1), 6 if _SECOND_BUILD else 1)
    return out


@njit
def _relu_scalar(x, out, passes):
    for _ in range(passes):
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
    extra = 6 if "nosimd" in __name__ else 1
    _axpy_scalar(xc.dtype.type(alpha), xc.reshape(-1), yc.reshape(-1), out.reshape(-1), extra)
    return out


@njit
def _axpy_scalar(alpha, x, y, out, passes):
    for _ in range(passes):
        for i in range(x.shape[0]):
            v = alpha * x[i] + y[i]
            if not math.isfinite(v):
                raise OverflowError("axpy overflowed")
            out[i] = v
''',
}

EXPECTED = {
    "test_relu_correctness": 2, "test_relu_speed": 0,
    "test_axpy_correctness": 2, "test_axpy_errors": 1, "test_axpy_speed": 0,
    "test_dot_correctness": 2, "test_dot_errors": 1, "test_dot_speed": 2,
    "test_is_simd_vectorized_correctness": 2,
}
