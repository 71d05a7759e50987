"""Accumulates in float16: every partial sum is rounded to float16, then the result is widened.

Fine to three digits on short sums, wrong on the hidden long sums of positive values (and it
fails the float32 accuracy bound already on k = 64). It also uses the `sum` shortcut in
has_overflow, which a float16 array of large finite values overflows; and the loss scaler
forgets to reset the good-step count after growing.
"""

CELLS = {
    "matmul_fp16_acc32": '''
def matmul_fp16_acc32(A16, B16):
    A16, B16 = np.asarray(A16), np.asarray(B16)
    if A16.ndim != 2 or B16.ndim != 2 or A16.shape[1] != B16.shape[0]:
        raise ValueError("bad shapes")
    if A16.dtype != np.float16 or B16.dtype != np.float16:
        raise ValueError("expected float16")
    C = np.zeros((A16.shape[0], B16.shape[1]), dtype=np.float16)
    for p in range(A16.shape[1]):
        C += A16[:, p:p + 1] * B16[p:p + 1, :]      # float16 accumulator
    return C.astype(np.float32)
''',
    "loss_scale_update": '''
def loss_scale_update(scale, grads_finite, good_steps, growth_interval=2000, factor=2.0):
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise ValueError("bad scale")
    if not factor > 1 or growth_interval < 1 or good_steps < 0:
        raise ValueError("bad arguments")
    if not grads_finite:
        return scale / factor, 0
    good_steps += 1
    if good_steps % growth_interval == 0:
        return scale * factor, good_steps        # the count is not reset
    return scale, good_steps
''',
    "has_overflow": '''
def has_overflow(arrays):
    return any(not np.isfinite(np.sum(a)) for a in arrays)
''',
}

EXPECTED = {
    "test_matmul_fp16_acc32_correctness": 0, "test_matmul_fp16_acc32_errors": 1,
    "test_matmul_fp16_acc32_speed": 0,
    "test_loss_scale_update_correctness": 0, "test_loss_scale_update_errors": 1,
    "test_has_overflow_correctness": 0,
}
