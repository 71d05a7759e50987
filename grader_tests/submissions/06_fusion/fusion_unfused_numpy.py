"""Correct but unfused: every function is a chain of whole-array numpy operations.

Right answers everywhere (the softmax subtracts the row maximum), but each step allocates a
temporary as large as the input and attention builds the full (n, m) score matrix: every memory
test fails, and the speed tests fail (it *is* the baseline chain, ratio about 1).
"""

CELLS = {
    "fused_bias_gelu": '''
def fused_bias_gelu(x, bias):
    y = x + bias
    return 0.5 * y * (1 + np.tanh(np.sqrt(2 / np.pi).astype(x.dtype) * (y + 0.044715 * (y * y * y))))
''',
    "fused_layernorm": '''
def fused_layernorm(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=1, keepdims=True)
    centered = x - mean
    var = (centered ** 2).mean(axis=1, keepdims=True)
    return (centered / np.sqrt(var + eps) * gamma + beta).astype(x.dtype)
''',
    "fused_softmax": '''
def fused_softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
''',
    "fused_attention": '''
def fused_attention(Q, K, V, causal=False):
    scores = Q @ K.T / np.sqrt(Q.shape[1]).astype(Q.dtype)
    if causal:
        scores = np.where(np.tri(*scores.shape, dtype=bool), scores, -np.inf)
    return fused_softmax(scores) @ V
''',
}

CALIBRATION = "naive"  # `accelkit calibrate`: the slow side of every speed threshold here

EXPECTED = {
    "test_fused_bias_gelu_correctness": 2, "test_fused_bias_gelu_memory": 0,
    "test_fused_bias_gelu_speed": 0,
    "test_fused_layernorm_correctness": 2, "test_fused_layernorm_memory": 0,
    "test_fused_layernorm_speed": 0,
    "test_fused_softmax_correctness": 1, "test_fused_softmax_stability": 2,
    "test_fused_softmax_memory": 0, "test_fused_softmax_speed": 0,
    "test_fused_attention_correctness": 3, "test_fused_attention_memory": 0,
}
