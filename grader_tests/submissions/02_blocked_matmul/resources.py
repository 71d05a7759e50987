"""Abuses resources: a runaway thread keeps a core busy from matmul_blocked's cell on, the reordered
kernel floods the output, autotune_block_size is a fork bomb and conv2d_im2col asks for 20 GB.
The flood and the spinning thread must not change any grade; the bomb and the blow-up cost
only their own functions' tests."""

CELLS = {
    "autotune_block_size": '''
def autotune_block_size(m, k, n, candidates=(16, 32, 64, 128, 256), dtype=np.float32):
    import os
    while True:
        os.fork()
''',
    "conv2d_im2col": '''
def conv2d_im2col(x, w, stride=1, padding=0):
    hog = np.ones((50_000, 50_000))   # 20 GB
    return hog[:1]
''',
}

FLOOD = '''

for _ in range(100_000):
    print("flood " * 40)
'''

SPIN = '''

import threading


@njit(nogil=True)
def _burn(n):
    s = 0.0
    for i in range(n):
        s += i * 0.5
    return s


def _spin():
    while True:
        _burn(10**9)


threading.Thread(target=_spin, daemon=True).start()
'''


def EDIT(nb):
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id == "matmul_reordered":
            cell.source += FLOOD
        if grade_id == "matmul_blocked":
            cell.source += SPIN
    return nb


KERNEL_RUN = True  # its tests need what happens in the student's kernel (make test)

EXPECTED = {
    "test_matmul_reordered_correctness": 2, "test_matmul_reordered_errors": 1,
    "test_matmul_reordered_speed": 1,
    "test_matmul_blocked_correctness": 3, "test_matmul_blocked_errors": 1,
    "test_matmul_blocked_speed": 2, "test_matmul_blocked_tiling": 1,
    "test_autotune_block_size": 0, "test_conv2d_im2col_correctness": 0,
    "test_conv2d_im2col_speed": 0,
    "test_kernel_plan": 2, "test_machine_fingerprint": 1, "test_tuned_block_size": 2,
}
