"""Hashes the repr of the whole facts dictionary: the key then depends on the order of the facts
and on the host name, so a tuning result would never be found again on an identical node.
machine_fingerprint earns nothing; the store still works (it only needs one key per call), so
tuned_block_size keeps its points."""

CELLS = {
    "machine_fingerprint": '''
def machine_fingerprint(facts):
    return hashlib.md5(repr(facts).encode()).hexdigest()
''',
}

# Only §7 is written (it needs none of the other functions): the rest keeps the released stubs.
ONLY = ("kernel_plan", "machine_fingerprint", "tuned_block_size")

EXPECTED = {
    "test_matmul_reordered_correctness": 0, "test_matmul_reordered_errors": 0,
    "test_matmul_reordered_speed": 0,
    "test_matmul_blocked_correctness": 0, "test_matmul_blocked_errors": 0,
    "test_matmul_blocked_speed": 0, "test_matmul_blocked_tiling": 0,
    "test_autotune_block_size": 0, "test_conv2d_im2col_correctness": 0,
    "test_conv2d_im2col_speed": 0,
    "test_kernel_plan": 2, "test_machine_fingerprint": 0, "test_tuned_block_size": 2,
}
