"""Writes to the gradebook from a solution cell: finds gradebook.db in the course folder (three
levels above the submission's working copy, or a test course in /tmp) and appends code to the
setup cell stored there – the instructor's setup, which the trusted grader runs in its own
process. In the sandbox the course folder is an empty, read-only tmpfs, so there is nothing to
open: the functions are the instructor's and score exactly what reference.py scores, and the
gradebook's setup cells stay as the instructor wrote them."""

NEEDS_SANDBOX = True  # without it the gradebook would really be changed
KERNEL_RUN = True     # the attack runs in the student's kernel as well as in the workers
CELLS = {}
APPEND = {"aligned_empty": '''
import glob, os, sqlite3

def _inject():
    here = os.getcwd()
    roots = [os.path.abspath(os.path.join(here, "../../..")), *glob.glob("/tmp/pytest-of-*/*/course*")]
    for root in roots:
        db = os.path.join(root, "gradebook.db")
        if os.path.exists(db):
            try:
                with sqlite3.connect(db) as con:
                    con.execute("UPDATE source_cell SET source = source || ? WHERE name = 'setup'",
                                ("\\n_INJECTED_BY_gradebook_inject = True\\n",))
            except sqlite3.Error:
                pass

_inject()
'''}

EXPECTED = {
    "test_aligned_empty_correctness": 3, "test_aligned_empty_errors": 1,
    "test_is_aligned_correctness": 1,
    "test_aligned_matrix_correctness": 2, "test_aligned_matrix_speed": 2,
}
