"""Keeps the tuning results in a dictionary of the module and writes the file only for show:
once a shape is tuned, every later call returns the remembered value, whatever the file at
`path` says. Its first answer is right; on a copy of its file whose entry the grader changed it
returns the stale value from memory, so tuned_block_size earns nothing."""

CELLS = {
    "tuned_block_size": '''
_tuned = {}


def tuned_block_size(m, k, n, dtype, facts, path, tune):
    key = (machine_fingerprint(facts), m, k, n, np.dtype(dtype).name)
    if key not in _tuned:
        _tuned[key] = int(tune(m, k, n, dtype))
        with open(path, "w") as f:
            json.dump({key[0]: {f"{m}x{k}x{n}:{key[4]}": _tuned[key]}}, f)
    return _tuned[key]
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
    "test_kernel_plan": 2, "test_machine_fingerprint": 1, "test_tuned_block_size": 0,
}
