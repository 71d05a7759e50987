"""Slows the trusted baseline down from outside: a thread started by a solution cell looks in
/proc for the grader's other worker processes (the trusted baseline runs in one) and keeps
stopping them (SIGSTOP for 9 ms, SIGCONT for 1 ms), so the widened i-j-k loop it is compared
with would look ten times slower. Its own kernel is the naive loop (precision_naive_loop.py).
In the sandbox its worker is the first process of its own PID namespace: it sees no other
process and can signal none, so it scores exactly what precision_naive_loop.py scores."""

BASE = "precision_naive_loop"
NEEDS_SANDBOX = True  # without it the baseline worker (same user) could really be stopped
CELLS = {}
APPEND = {"matmul_fp16_acc32": '''
import os, signal, threading, time

def _other_workers():
    me, found = os.getpid(), []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != me:
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    if b"accelkit.grading.worker" in f.read():
                        found.append(int(name))
            except OSError:
                pass
    return found

def _throttle():
    while True:
        for pid in _other_workers():
            try:
                os.kill(pid, signal.SIGSTOP)
                time.sleep(0.009)
                os.kill(pid, signal.SIGCONT)
            except OSError:
                pass
        time.sleep(0.001)

threading.Thread(target=_throttle, daemon=True).start()
'''}

EXPECTED = {
    "test_matmul_fp16_acc32_correctness": 3, "test_matmul_fp16_acc32_errors": 1,
    "test_matmul_fp16_acc32_speed": 0,
    "test_loss_scale_update_correctness": 2, "test_loss_scale_update_errors": 1,
    "test_has_overflow_correctness": 2,
}
