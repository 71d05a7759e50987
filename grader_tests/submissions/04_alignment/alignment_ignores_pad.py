"""aligned_matrix that ignores pad: always the tight row stride, so a 1024-wide float32 matrix
has 4096-byte rows either way and the transpose gains nothing from "padding"."""

CELLS = {
    "aligned_matrix": '''
def aligned_matrix(rows, cols, dtype=np.float32, alignment=64, pad=True):
    dtype = np.dtype(dtype)
    stride = -(-cols * dtype.itemsize // alignment) * alignment
    buffer = aligned_empty(rows * stride, np.uint8, alignment)
    return np.ndarray((rows, cols), dtype=dtype, buffer=buffer, strides=(stride, dtype.itemsize))
''',
}


EXPECTED = {
    "test_aligned_empty_correctness": 3, "test_aligned_empty_errors": 1,
    "test_is_aligned_correctness": 1,
    "test_aligned_matrix_correctness": 0, "test_aligned_matrix_speed": 0,
}
