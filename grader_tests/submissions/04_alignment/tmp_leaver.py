"""Leaves a solution for the next student: a solution cell writes an aligned_empty to /tmp and /dev/shm (and into the working folder's parent), where the next
submission's kernel would find it (see tmp_reader.py). In the sandbox /tmp and /dev/shm are
private tmpfs that end with the process, and the working folder is a private copy: nothing
is left. Its own functions are the instructor's (reference.py's scores)."""

NEEDS_SANDBOX = True  # without it the files would really be left in the shared /tmp
KERNEL_RUN = True
CELLS = {}
APPEND = {"aligned_empty": '''
import os

NOTES = """
def aligned_empty(shape, dtype=np.float32, alignment=64):
    dtype = np.dtype(dtype)
    count = int(np.prod(shape))
    raw = np.empty(count * dtype.itemsize + alignment, dtype=np.uint8)
    start = -raw.ctypes.data % alignment
    return raw[start:start + count * dtype.itemsize].view(dtype).reshape(shape)
"""

def _leave():
    notes = NOTES
    for path in ("/tmp/accelkit-notes-for-the-next-student.py",
                 "/dev/shm/accelkit-notes-for-the-next-student.py",
                 os.path.join(os.getcwd(), "..", "accelkit-notes-for-the-next-student.py")):
        try:
            with open(path, "w") as f:
                f.write(notes)
        except OSError:
            pass

try:
    _leave()
except Exception:
    pass
'''}

EXPECTED = {
    "test_aligned_empty_correctness": 3, "test_aligned_empty_errors": 1,
    "test_is_aligned_correctness": 1,
    "test_aligned_matrix_correctness": 2, "test_aligned_matrix_speed": 2,
}
