"""Tampers with the notebook: deletes a test cell, empties another, raises points, duplicates
a grade id, unlocks cells and switches the kernel. Its kernels are the naive ones, so it must
score exactly what naive.py scores."""

CELLS = {
    "matmul_reordered": '''
def matmul_reordered(A, B):
    A, B = np.asarray(A), np.asarray(B)
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0]:
        raise ValueError(f"cannot multiply {A.shape} by {B.shape}")
    dtype = np.result_type(A, B)
    C = np.zeros((A.shape[0], B.shape[1]), dtype=dtype)
    _ijk(np.ascontiguousarray(A, dtype=dtype), np.ascontiguousarray(B, dtype=dtype), C)
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
    "matmul_blocked": '''
def matmul_blocked(A, B, block_size=64):
    if block_size < 1:
        raise ValueError("block_size must be positive")
    return matmul_reordered(A, B)
''',
}



def EDIT(nb):
    cells = nb.cells
    ids = [c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in cells]
    cells[ids.index("test_matmul_blocked_correctness")].source = "pass"
    cells[ids.index("test_conv2d_im2col_correctness")].metadata.nbgrader["points"] = 100
    cells[ids.index("test_matmul_reordered_errors")].metadata.nbgrader["locked"] = False
    duplicate = dict(cells[ids.index("test_matmul_blocked_speed")])
    duplicate["source"] = "3.0"
    cells.append(type(cells[0])(duplicate))
    del cells[ids.index("test_matmul_reordered_speed")]
    nb.metadata.kernelspec = {"name": "bash", "display_name": "Bash", "language": "bash"}
    return nb


EXPECTED = {
    "test_matmul_reordered_correctness": 2, "test_matmul_reordered_errors": 1,
    "test_matmul_reordered_speed": 0,
    "test_matmul_blocked_correctness": 3, "test_matmul_blocked_errors": 1,
    "test_matmul_blocked_speed": 0, "test_matmul_blocked_tiling": 0,
    "test_autotune_block_size": 2, "test_conv2d_im2col_correctness": 3,
}
