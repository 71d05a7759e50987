"""Fills the one folder its kernel shares with the grader: the folder of the kernel's
connection file and sockets, found through the kernel's own command line (`-f <file>`), lies on
the grading server's disk, and the sandbox bounds each file's size, not their number. A
solution cell writes 1 MiB files there until writing fails (up to 2 GiB). The grader watches
that folder and stops the kernel once it holds more than 4 MiB or 64 files; the folder goes
when the run ends, the tests are graded as always, and the functions are the instructor's
(reference.py's scores)."""

NEEDS_SANDBOX = True  # without it the files would really be written
KERNEL_RUN = True
CELLS = {}
APPEND = {"aligned_empty": '''
import os
import sys


def _fill_socket_folder():
    if "-f" not in sys.argv:      # only where a Jupyter kernel runs this cell
        return
    folder = os.path.dirname(os.path.abspath(sys.argv[sys.argv.index("-f") + 1]))
    chunk = bytes(1 << 20)
    for i in range(2048):
        try:
            with open(os.path.join(folder, f"filler-{i}.bin"), "wb") as f:
                f.write(chunk)
        except OSError:
            break


_fill_socket_folder()
'''}

EXPECTED = {
    "test_aligned_empty_correctness": 3, "test_aligned_empty_errors": 1,
    "test_is_aligned_correctness": 1,
    "test_aligned_matrix_correctness": 2, "test_aligned_matrix_speed": 2,
}
