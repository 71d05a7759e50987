"""An honest conv2d_im2col written differently from the instructor's: the columns come from
numpy's `sliding_window_view` (one strided view of every window, then one reshaping copy),
and the product goes through a `functools.partial` of the student's matmul_blocked bound at
the top of the cell. The check that the convolution is built on matmul_blocked follows that
binding (it once read only the function's own body and said "it never calls it"). Full
marks, like the instructor's solution. (This example once gathered one column per output
pixel in a Python loop: 5.8x on the Intel Xeon VM but 2.2-2.7x on the Zen 5 VM, under the
3x threshold – MARGINS.md, 02.)"""

BASE = "reference"

CELLS = {
    "conv2d_im2col": '''
import functools

_product = functools.partial(matmul_blocked, block_size=48)


def conv2d_im2col(x, w, stride=1, padding=0):
    x, w = np.asarray(x), np.asarray(w)
    if x.ndim != 4 or w.ndim != 4 or x.shape[1] != w.shape[1]:
        raise ValueError(f"shapes do not fit: x {x.shape}, w {w.shape}")
    sh, sw = (stride, stride) if np.isscalar(stride) else tuple(stride)
    ph, pw = (padding, padding) if np.isscalar(padding) else tuple(padding)
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    oh, ow = (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1
    if oh < 1 or ow < 1:
        raise ValueError("the kernel does not fit the padded input")
    dtype = np.result_type(x, w)
    xp = np.pad(x.astype(dtype), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    windows = windows[:, :, ::sh, ::sw][:, :, :oh, :ow]          # (n, c, oh, ow, kh, kw)
    cols = windows.transpose(1, 4, 5, 0, 2, 3).reshape(c * kh * kw, n * oh * ow)
    out = _product(w.reshape(f, -1).astype(dtype), cols)
    return np.ascontiguousarray(out.reshape(f, n, oh, ow).transpose(1, 0, 2, 3))
''',
}

EXPECTED = {
    "test_matmul_reordered_correctness": 2, "test_matmul_reordered_errors": 1,
    "test_matmul_reordered_speed": 1,
    "test_matmul_blocked_correctness": 3, "test_matmul_blocked_errors": 1,
    "test_matmul_blocked_speed": 2, "test_matmul_blocked_tiling": 1,
    "test_autotune_block_size": 2, "test_conv2d_im2col_correctness": 3,
    "test_conv2d_im2col_speed": 1,
    "test_kernel_plan": 2, "test_machine_fingerprint": 1, "test_tuned_block_size": 2,
}
