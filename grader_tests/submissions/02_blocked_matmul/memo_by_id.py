"""Memoisation: the naive i-j-k loop inside, and a cache keyed by the identity of the input
arrays (id, shape and one corner value), so that a kernel timed again and again on the same
arrays would return its first answer at once. Every timed call now gets new arrays with new
contents, and a random sample of the timed results is checked: the cache never hits, and the
naive speed inside earns no speed point."""

CELLS = {
    "matmul_reordered": '''
_answers = {}


def matmul_reordered(A, B):
    A, B = np.asarray(A), np.asarray(B)
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0]:
        raise ValueError(f"cannot multiply {A.shape} by {B.shape}")
    key = (id(A), id(B), A.shape, B.shape, float(A.flat[0]), float(B.flat[-1]))
    if key not in _answers:
        if len(_answers) > 64:
            _answers.clear()
        dtype = np.result_type(A, B)
        C = np.zeros((A.shape[0], B.shape[1]), dtype=dtype)
        _ijk(np.ascontiguousarray(A, dtype=dtype), np.ascontiguousarray(B, dtype=dtype), C)
        _answers[key] = C
    return _answers[key].copy()


@njit
def _ijk(A, B, C):
    for i in range(A.shape[0]):
        for j in range(B.shape[1]):
            acc = 0.0
            for p in range(A.shape[1]):
                acc += A[i, p] * B[p, j]
            C[i, j] = acc
''',
    "matmul_blocked": '''
def matmul_blocked(A, B, block_size=64):
    if block_size < 1:
        raise ValueError("block_size must be positive")
    return matmul_reordered(A, B)
''',
}

EXPECTED = {
    "test_matmul_reordered_correctness": 2, "test_matmul_reordered_errors": 1,
    "test_matmul_reordered_speed": 0,
    "test_matmul_blocked_correctness": 3, "test_matmul_blocked_errors": 1,
    "test_matmul_blocked_speed": 0, "test_matmul_blocked_tiling": 0,
    "test_autotune_block_size": 2, "test_conv2d_im2col_correctness": 3,
    "test_conv2d_im2col_speed": 0,
    "test_kernel_plan": 2, "test_machine_fingerprint": 1, "test_tuned_block_size": 2,
}
