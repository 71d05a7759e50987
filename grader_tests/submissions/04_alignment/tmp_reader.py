"""Takes another student's work: its aligned_empty runs whatever an earlier submission left in
/tmp, /dev/shm or next to the working folder (tmp_leaver.py leaves its solution there), and
looks into other graders' and workers' temporary folders (/tmp/accelkit-*) for solution cells.
In the sandbox it finds nothing – /tmp and /dev/shm are its own, the working folder is a
private copy – so aligned_empty raises, and every cell that needs it scores 0; is_aligned is
its own work and keeps its point."""

NEEDS_SANDBOX = True  # without it the files another student left would really be read
KERNEL_RUN = True
CELLS = {"aligned_empty": '''
import glob, os

def _found():
    places = ["/tmp/accelkit-notes-for-the-next-student.py",
              "/dev/shm/accelkit-notes-for-the-next-student.py",
              os.path.join(os.getcwd(), "..", "accelkit-notes-for-the-next-student.py")]
    mine = os.path.realpath(os.getcwd())   # a worker's own cell files are no one else's
    places += [p for p in glob.glob("/tmp/accelkit-*/solutions*/cell_aligned_empty.py")
               if not os.path.realpath(p).startswith(mine)]
    for path in places:
        try:
            with open(path) as f:
                return f.read()
        except OSError:
            pass
    return None

def aligned_empty(shape, dtype=np.float32, alignment=64):
    code = _found()
    if code is None:
        raise RuntimeError("nobody left an aligned_empty to borrow")
    scope = {"np": np}
    exec(code, scope)
    return scope["aligned_empty"](shape, dtype, alignment)
'''}

EXPECTED = {
    "test_aligned_empty_correctness": 0, "test_aligned_empty_errors": 0,
    "test_is_aligned_correctness": 1,
    "test_aligned_matrix_correctness": 0, "test_aligned_matrix_speed": 0,
}
