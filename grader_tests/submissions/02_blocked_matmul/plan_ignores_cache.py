"""Plans the code path from the features but never looks at the caches: every machine gets the
block size 64 that worked on the student's laptop. The variant and the lanes are right, the
block is wrong wherever the L2 is not 512 KiB-1 MiB, so kernel_plan earns nothing."""

CELLS = {
    "kernel_plan": '''
def kernel_plan(facts, dtype=np.float32):
    features = set(facts["features"])
    arch = facts["arch"].lower()
    if arch in ("x86_64", "amd64"):
        variant = "avx512" if "avx512f" in features else "avx2" if {"avx2", "fma"} <= features else "generic"
    elif arch in ("arm64", "aarch64"):
        variant = "neon" if features & {"neon", "asimd"} else "generic"
    else:
        variant = "generic"
    width = {"avx512": 64, "avx2": 32, "neon": 16, "generic": 8}[variant]
    return {"variant": variant, "lanes": max(1, width // np.dtype(dtype).itemsize), "block_size": 64}
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
    "test_kernel_plan": 0, "test_machine_fingerprint": 1, "test_tuned_block_size": 2,
}
