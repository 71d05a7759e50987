"""Trusted baselines and reference results, shipped in the package.

Speed is graded as a ratio to these kernels, measured in the same run on the
grading machine. They live here, not in a notebook, so a student cannot edit
or slow them down; in grading they run in a worker that never runs student code.
"""
from __future__ import annotations

import numpy as np
from numba import njit
from numpy.lib.stride_tricks import sliding_window_view


@njit(cache=True, nogil=True)
def _matmul_ijk(A, B, C):
    m, k = A.shape
    n = B.shape[1]
    for i in range(m):
        for j in range(n):
            acc = C.dtype.type(0)
            for p in range(k):
                acc += A[i, p] * B[p, j]  # B walked down a column: a new cache line per step
            C[i, j] = acc


def run_matmul_kernel(kernel, A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """A @ B by a numba `kernel(A, B, C)` that adds into C: contiguous operands of the result
    dtype, C starting at zero."""
    dtype = np.result_type(A, B)
    A = np.ascontiguousarray(A, dtype=dtype)
    B = np.ascontiguousarray(B, dtype=dtype)
    C = np.zeros((A.shape[0], B.shape[1]), dtype=dtype)
    kernel(A, B, C)
    return C


def matmul_naive(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """The textbook i-j-k triple loop in numba: the speed everyone starts from."""
    return run_matmul_kernel(_matmul_ijk, A, B)


@njit(cache=True, nogil=True)  # nogil: threads of the trusted parallel twin run it side by side
def _matmul_ikj(A, B, C):
    m, k = A.shape
    n = B.shape[1]
    for i in range(m):
        for p in range(k):
            a = A[i, p]
            for j in range(n):
                C[i, j] += a * B[p, j]  # a row of B and a row of C: contiguous, vectorized


def matmul_serial(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """The cache-friendly i-k-j loop in numba, untiled, on one thread: the baseline of tiling
    (notebook 02) and of threading (05)."""
    return run_matmul_kernel(_matmul_ikj, A, B)


def matmul_expected(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """The exact-enough answer: the product in float64."""
    return np.asarray(A, dtype=np.float64) @ np.asarray(B, dtype=np.float64)


def matmul_error_bound(A: np.ndarray, B: np.ndarray, dtype) -> np.ndarray:
    """Worst-case rounding error of any summation order: 2 k eps (|A| @ |B|) + a tiny floor."""
    k = A.shape[1]
    eps = np.finfo(dtype).eps
    scale = np.abs(np.asarray(A, np.float64)) @ np.abs(np.asarray(B, np.float64))
    return 2 * max(k, 1) * eps * scale + 4 * np.finfo(dtype).tiny


def conv2d_output_shape(x_shape, w_shape, stride: int, padding: int) -> tuple:
    n, _, h, w = x_shape
    f, _, kh, kw = w_shape
    return (n, f, (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1)


@njit(cache=True, nogil=True)
def _conv2d_loops(xp, w, out, stride):
    n_img, chans, kh, kw = xp.shape[0], w.shape[1], w.shape[2], w.shape[3]
    for n in range(n_img):
        for f in range(w.shape[0]):
            for y in range(out.shape[2]):
                for x in range(out.shape[3]):
                    acc = out.dtype.type(0)
                    for c in range(chans):
                        for i in range(kh):
                            for j in range(kw):  # KW steps: too short to vectorize
                                acc += w[f, c, i, j] * xp[n, c, y * stride + i, x * stride + j]
                    out[n, f, y, x] = acc


def conv2d_direct(x: np.ndarray, w: np.ndarray, stride: int = 1, padding: int = 0) -> np.ndarray:
    """The textbook convolution in numba, one output at a time (seven nested loops, one
    thread): the speed that im2col + a blocked matmul is measured against (notebook 02)."""
    dtype = np.result_type(x, w)
    x = np.asarray(x, dtype)
    xp = np.ascontiguousarray(np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding))))
    out = np.empty(conv2d_output_shape(x.shape, w.shape, stride, padding), dtype)
    _conv2d_loops(xp, np.ascontiguousarray(w, dtype), out, stride)
    return out


def conv2d_expected(x: np.ndarray, w: np.ndarray, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Direct 2-D cross-correlation (as in deep-learning frameworks), in float64."""
    x = np.pad(np.asarray(x, np.float64), ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    kh, kw = w.shape[2:]
    windows = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    # windows: (N, C, OH, OW, KH, KW); w: (F, C, KH, KW) -> (N, F, OH, OW)
    return np.einsum("ncxyij,fcij->nfxy", windows, np.asarray(w, np.float64), optimize=True)


def conv2d_error_bound(x: np.ndarray, w: np.ndarray, stride: int, padding: int, dtype) -> np.ndarray:
    k = int(np.prod(w.shape[1:]))
    scale = conv2d_expected(np.abs(x), np.abs(w), stride, padding)
    return 2 * k * np.finfo(dtype).eps * scale + 4 * np.finfo(dtype).tiny
