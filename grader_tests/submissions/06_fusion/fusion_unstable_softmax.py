"""A fused, fast softmax that forgets to subtract the row maximum.

Fine for values within ±3, so the ordinary correctness, memory and speed tests pass; exp(1e4)
saturates (and a row of -inf with one large entry has no finite sum), so the stability test fails.
"""

CELLS = {
    "fused_softmax": '''
def fused_softmax(x):
    x = np.asarray(x)
    out = np.empty(x.shape, dtype=x.dtype)
    _softmax_no_max(x, out)
    return out


@njit(fastmath={"nnan", "nsz", "arcp", "contract", "afn", "reassoc"}, error_model="numpy")
def _softmax_no_max(x, out):
    for i in range(x.shape[0]):
        s = 0.0
        for j in range(x.shape[1]):
            e = fast_exp(x[i, j])          # no "- max": overflows for large entries
            out[i, j] = e
            s += e
        inv = 1.0 / s
        for j in range(x.shape[1]):
            out[i, j] *= inv
''',
}

EXPECTED = {
    "test_fused_bias_gelu_correctness": 2, "test_fused_bias_gelu_memory": 1,
    "test_fused_bias_gelu_speed": 1,
    "test_fused_layernorm_correctness": 2, "test_fused_layernorm_memory": 1,
    "test_fused_layernorm_speed": 1,
    "test_fused_softmax_correctness": 1, "test_fused_softmax_stability": 0,
    "test_fused_softmax_memory": 1, "test_fused_softmax_speed": 1,
    "test_fused_attention_correctness": 3, "test_fused_attention_memory": 2,
}
