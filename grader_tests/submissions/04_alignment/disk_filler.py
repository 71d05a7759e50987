"""Fills the disk: a solution cell writes 16 MiB files into its working folder, /tmp and
/dev/shm until writing fails (up to 1 GiB in each), and leaves them there – on a grading
server that would stop every later submission. In the sandbox all three are private tmpfs
of a bounded size that end with the process: the writes stop there, nothing reaches the disk,
and the functions are the instructor's (reference.py's scores)."""

NEEDS_SANDBOX = True  # without it 3 GiB would really be written
KERNEL_RUN = True
CELLS = {}
APPEND = {"aligned_empty": '''
import os

def _fill():
    chunk = bytes(16 << 20)
    for folder in (os.getcwd(), "/tmp", "/dev/shm"):
        for i in range(64):
            try:
                with open(os.path.join(folder, f"filler-{i}.bin"), "wb") as f:
                    f.write(chunk)
            except OSError:
                break

_fill()
'''}

EXPECTED = {
    "test_aligned_empty_correctness": 3, "test_aligned_empty_errors": 1,
    "test_is_aligned_correctness": 1,
    "test_aligned_matrix_correctness": 2, "test_aligned_matrix_speed": 2,
}
