"""Widens to float32 and hands the product to numpy (BLAS): accurate and fast, but the
exercise is to write the loops, so every matmul test scores 0."""

CELLS = {
    "matmul_fp16_acc32": '''
def matmul_fp16_acc32(A16, B16):
    A16, B16 = np.asarray(A16), np.asarray(B16)
    if A16.ndim != 2 or B16.ndim != 2 or A16.shape[1] != B16.shape[0]:
        raise ValueError("bad shapes")
    if A16.dtype != np.float16 or B16.dtype != np.float16:
        raise ValueError("expected float16")
    return A16.astype(np.float32) @ B16.astype(np.float32)
''',
}

EXPECTED = {
    "test_matmul_fp16_acc32_correctness": 0, "test_matmul_fp16_acc32_errors": 0,
    "test_matmul_fp16_acc32_speed": 0,
    "test_loss_scale_update_correctness": 2, "test_loss_scale_update_errors": 1,
    "test_has_overflow_correctness": 2,
}
