"""Edits the grading engine: finds where accelkit is installed (the editable install's finder
next to numpy names the folder) and appends a line to every module of its exercises – the
place where the trusted baselines live, which a later baseline worker would load for this and
every later student. In the sandbox the engine and the environment are mounted read-only, so
every write fails: the functions are the instructor's and score exactly what reference.py
scores, and no engine file changes."""

NEEDS_SANDBOX = True  # without it the engine would really be changed
KERNEL_RUN = True
CELLS = {}
APPEND = {"aligned_empty": '''
import glob, os, re

def _edit_engine():
    site = os.path.dirname(os.path.dirname(np.__file__))
    roots = {os.path.join(site, "accelkit")}
    for finder in glob.glob(os.path.join(site, "__editable__*accelkit*finder.py")):
        roots.update(re.findall(r"'accelkit': '([^']+)'", open(finder).read()))
    for root in roots:
        for path in glob.glob(os.path.join(root, "exercises", "*.py")):
            try:
                with open(path, "a") as f:
                    f.write("\\n# EDITED BY engine_edit\\n")
            except OSError:
                pass

_edit_engine()
'''}

EXPECTED = {
    "test_aligned_empty_correctness": 3, "test_aligned_empty_errors": 1,
    "test_is_aligned_correctness": 1,
    "test_aligned_matrix_correctness": 2, "test_aligned_matrix_speed": 2,
}
