"""Hides a buffer between calls: attention keeps its full (n, m) score matrix in a module-level
cache, allocated by the first call of each shape and reused afterwards, so that a memory
measurement on a second call would see nothing. Memory is now measured on the first call at
the graded size, in a fresh worker after compiling on small inputs: the 128 MiB matrix counts,
and the memory points go."""

CELLS = {
    "fused_attention": '''
_score_buffers = {}


def fused_attention(Q, K, V, causal=False):
    Q, K, V = np.asarray(Q), np.asarray(K), np.asarray(V)
    key = (Q.shape[0], K.shape[0], Q.dtype.str)
    if key not in _score_buffers:
        _score_buffers[key] = np.empty((Q.shape[0], K.shape[0]), dtype=Q.dtype)
    return _attention_into(Q, K, V, bool(causal), Q.dtype.type(1.0 / math.sqrt(Q.shape[1])),
                           _score_buffers[key])


@njit(fastmath={"nsz", "arcp", "contract", "afn", "reassoc"}, error_model="numpy")
def _attention_into(Q, K, V, causal, scale, S):
    n, d = Q.shape
    m, dv = V.shape
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
