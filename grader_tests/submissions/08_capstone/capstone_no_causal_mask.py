"""Forgets the causal mask: every token attends to all tokens, future ones included.

Fast, and row T-1 (which sees everything anyway) is right, but every earlier row is wrong:
no correctness points, and no speed points (the timed output is wrong too)."""

CELLS = {
    "causal_softmax_inplace": '''
def causal_softmax_inplace(s, scale):
    e = np.exp((s - s.max(axis=1, keepdims=True)) * s.dtype.type(scale))
    s[...] = e / e.sum(axis=1, keepdims=True)
    return s
''',
}

EXPECTED = {"test_accelerated_block_correctness": 0, "test_accelerated_block_speed": 0,
            "profile_analysis": 0}
