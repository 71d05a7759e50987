"""A student on the core path only: fuses bias + GELU and layer norm, and leaves softmax and
attention.

The optional-depth solution cells stay as released (they raise NotImplementedError, and the
teaching cells that call them fail): every core point is earned all the same, none of the
optional ones."""

CELLS = {}
CORE_ONLY = True

EXPECTED = {
    "test_fused_bias_gelu_correctness": 2, "test_fused_bias_gelu_memory": 1,
    "test_fused_bias_gelu_speed": 1, "test_fused_layernorm_correctness": 2,
    "test_fused_layernorm_memory": 1, "test_fused_layernorm_speed": 1,
    "test_fused_softmax_correctness": 0, "test_fused_softmax_stability": 0,
    "test_fused_softmax_memory": 0, "test_fused_softmax_speed": 0,
    "test_fused_attention_correctness": 0, "test_fused_attention_memory": 0,
}
