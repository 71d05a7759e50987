"""Reaches outside its submission from the kernel and from the graded functions: reads the
instructor's notebooks and the gradebook, overwrites the gradebook, other students' results and
plants files in the course folder. With the sandbox all of it fails, and the functions are the
instructor's: it must score exactly what reference.py scores, and nothing outside changes."""

ESCAPE = '''
import glob, os

def _escape():
    """Every attempt that works leaves a trace; the grader tests look for traces."""
    here = os.getcwd()
    roots = [os.path.abspath(os.path.join(here, "../../..")), "/work/main"]
    roots += glob.glob("/tmp/pytest-of-*/*/course*")
    stolen = []
    for root in roots:
        for pattern in ("source/*/*.ipynb", "gradebook.db"):
            for path in glob.glob(os.path.join(root, pattern)):
                try:
                    stolen.append(open(path, "rb").read(100))
                except OSError:
                    pass
        for target in ("gradebook.db", "autograded/reference/acceleration/02_blocked_matmul.ipynb",
                       "ESCAPED.txt"):
            try:
                with open(os.path.join(root, target), "w") as f:
                    f.write("overwritten by escape")
            except OSError:
                pass
    return stolen

_escape()
'''

NEEDS_SANDBOX = True  # without it these attempts would succeed
CELLS = {}  # filled below: the instructor's matmul_reordered with the escape attempts after it


def EDIT(nb):
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "matmul_reordered":
            cell.source += "\n" + ESCAPE
    return nb


KERNEL_RUN = True  # its tests need what happens in the student's kernel (make test)

EXPECTED = {
    "test_matmul_reordered_correctness": 2, "test_matmul_reordered_errors": 1,
    "test_matmul_reordered_speed": 1,
    "test_matmul_blocked_correctness": 3, "test_matmul_blocked_errors": 1,
    "test_matmul_blocked_speed": 2, "test_matmul_blocked_tiling": 1,
    "test_autotune_block_size": 2, "test_conv2d_im2col_correctness": 3,
    "test_conv2d_im2col_speed": 1,
    "test_kernel_plan": 2, "test_machine_fingerprint": 1, "test_tuned_block_size": 2,
}
