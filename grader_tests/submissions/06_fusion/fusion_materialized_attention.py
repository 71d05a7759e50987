"""Attention in one numba kernel that still fills a full (n, m) score matrix.

Correct (it subtracts each row's maximum), but for n = 2048, m = 8192 in float64 the score
matrix alone is 128 MiB, allocated inside the numba kernel: the memory test sees it and fails.
"""

CELLS = {
    "fused_attention": '''
def fused_attention(Q, K, V, causal=False):
    Q, K, V = np.asarray(Q), np.asarray(K), np.asarray(V)
    return _attention_with_scores(Q, K, V, bool(causal), Q.dtype.type(1.0 / math.sqrt(Q.shape[1])))


@njit(fastmath={"nsz", "arcp", "contract", "afn", "reassoc"}, error_model="numpy")
def _attention_with_scores(Q, K, V, causal, scale):
    n, d = Q.shape
    m, dv = V.shape
    S = np.empty((n, m), dtype=Q.dtype)        # the full score matrix
    out = np.zeros((n, dv), dtype=Q.dtype)
    for i in range(n):
        stop = min(m, i + 1) if causal else m
        mx = -np.inf
        for j in range(stop):
            acc = 0.0
            for c in range(d):
                acc += Q[i, c] * K[j, c]
            S[i, j] = acc * scale
            mx = max(mx, S[i, j])
        total = 0.0
        for j in range(stop):
            S[i, j] = fast_exp(S[i, j] - mx)
            total += S[i, j]
        for j in range(stop):
            p = S[i, j] / total
            for c in range(dv):
                out[i, c] += p * V[j, c]
    return out
''',
}

EXPECTED = {
    "test_fused_bias_gelu_correctness": 2, "test_fused_bias_gelu_memory": 1,
    "test_fused_bias_gelu_speed": 1,
    "test_fused_layernorm_correctness": 2, "test_fused_layernorm_memory": 1,
    "test_fused_layernorm_speed": 1,
    "test_fused_softmax_correctness": 1, "test_fused_softmax_stability": 2,
    "test_fused_softmax_memory": 1, "test_fused_softmax_speed": 1,
    "test_fused_attention_correctness": 3, "test_fused_attention_memory": 0,
}
