"""Tampers with the notebook: deletes a test cell, empties another, raises points, duplicates
a grade id, unlocks cells and switches the kernel. Its kernels are the naive ones, so it must
score exactly what naive.py scores."""

BASE = "naive"  # its kernels are the naive ones
CELLS = {}


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


KERNEL_RUN = True  # its tests need what happens in the student's kernel (make test)

EXPECTED = {
    "test_matmul_reordered_correctness": 2, "test_matmul_reordered_errors": 1,
    "test_matmul_reordered_speed": 0,
    "test_matmul_blocked_correctness": 3, "test_matmul_blocked_errors": 1,
    "test_matmul_blocked_speed": 0, "test_matmul_blocked_tiling": 0,
    "test_autotune_block_size": 2, "test_conv2d_im2col_correctness": 3,
    "test_conv2d_im2col_speed": 0,
    "test_kernel_plan": 2, "test_machine_fingerprint": 1, "test_tuned_block_size": 2,
}
