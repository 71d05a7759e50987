"""Tells checked calls from timed ones: the first call for a pair of shapes is computed (with
the naive loop), every later call with the same shapes returns the same array object at once –
the answer to the inputs it saw first, or nothing computed at all. Timed calls are verified
on a random sample, each on new inputs, so the stale answers are caught: no speed points (and
the cells that call it again on other inputs fail too)."""

CELLS = {
    "matmul_reordered": '''
_seen = {}


def matmul_reordered(A, B):
    A, B = np.asarray(A), np.asarray(B)
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0]:
        raise ValueError(f"cannot multiply {A.shape} by {B.shape}")
    dtype = np.result_type(A, B)
    key = (A.shape, B.shape, dtype)
    if key in _seen and _seen[key][0] >= 1:
        _seen[key][0] += 1
        return _seen[key][1]            # "surely the same inputs as last time"
    C = np.zeros((A.shape[0], B.shape[1]), dtype=dtype)
    _ijk(np.ascontiguousarray(A, dtype=dtype), np.ascontiguousarray(B, dtype=dtype), C)
    _seen[key] = [1, C]
    return C


@njit
def _ijk(A, B, C):
    for i in range(A.shape[0]):
        for j in range(B.shape[1]):
            acc = 0.0
            for p in range(A.shape[1]):
                acc += A[i, p] * B[p, j]
            C[i, j] = acc
''',
}

EXPECTED = {
    "test_matmul_reordered_correctness": 0, "test_matmul_reordered_errors": 1,
    "test_matmul_reordered_speed": 0,
    "test_matmul_blocked_correctness": 3, "test_matmul_blocked_errors": 1,
    "test_matmul_blocked_speed": 2, "test_matmul_blocked_tiling": 1,
    "test_autotune_block_size": 2, "test_conv2d_im2col_correctness": 3,
    "test_conv2d_im2col_speed": 1,
    "test_kernel_plan": 2, "test_machine_fingerprint": 1, "test_tuned_block_size": 2,
}
