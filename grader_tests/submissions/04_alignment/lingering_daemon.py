"""Leaves a process behind: a solution cell forks twice, starts a new session (out of the
kernel's process group) and becomes a long sleep, named so that it can be found; a process
left like this could disturb the timing of later students. In the sandbox each kernel and
worker is the first process of its own PID namespace, and all its processes end with it: none
of these survives the grading. The functions are the instructor's (reference.py's scores)."""

NEEDS_SANDBOX = True  # without it the processes would really outlive the grading
KERNEL_RUN = True
CELLS = {}
APPEND = {"aligned_empty": '''
import os, sys

def _linger():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)",
                                      "LEFT-BEHIND-BY-lingering_daemon"])
        os._exit(0)

_linger()
'''}

EXPECTED = {
    "test_aligned_empty_correctness": 3, "test_aligned_empty_errors": 1,
    "test_is_aligned_correctness": 1,
    "test_aligned_matrix_correctness": 2, "test_aligned_matrix_speed": 2,
}
