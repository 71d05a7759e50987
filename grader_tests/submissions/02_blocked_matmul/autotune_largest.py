"""autotune_block_size measures nothing: "bigger tiles mean fewer loop iterations", so it
returns the largest candidate. The graded candidate sets include one where the largest tile
covers whole matrices of a product that leaves the cache (32 x 1024 @ 1024 x 4096 float64:
B is 32 MiB), where that untiled run is several times slower than small tiles: no autotune
points. Everything else is the instructor's solution."""

BASE = "reference"

CELLS = {
    "autotune_block_size": '''
def autotune_block_size(m, k, n, candidates=(16, 32, 64, 128, 256), dtype=np.float32):
    if not candidates:
        raise ValueError("candidates must not be empty")
    if min(m, k, n) < 1:
        raise ValueError("m, k, n must be positive")
    return int(max(candidates))   # bigger tiles: fewer loop iterations
''',
}

EXPECTED = {
    "test_matmul_reordered_correctness": 2, "test_matmul_reordered_errors": 1,
    "test_matmul_reordered_speed": 1,
    "test_matmul_blocked_correctness": 3, "test_matmul_blocked_errors": 1,
    "test_matmul_blocked_speed": 2, "test_matmul_blocked_tiling": 1,
    "test_autotune_block_size": 0, "test_conv2d_im2col_correctness": 3,
    "test_conv2d_im2col_speed": 1,
    "test_kernel_plan": 2, "test_machine_fingerprint": 1, "test_tuned_block_size": 2,
}
