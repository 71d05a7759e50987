"""A student who wants to read the hidden tests: a solution cell registers an IPython hook that
prints the source of every cell the kernel runs, hoping autograde runs the test cells (hidden
parts restored) in the student's kernel and keeps the printout in the feedback. Test cells never
run in the kernel, so the hook prints only the student's own cells; has_overflow itself is
honest (written differently from the instructor's: one pass over the flattened arrays) and the
submission gets full marks."""

BASE = "reference"

CELLS = {"has_overflow": '''
try:  # in JupyterLab: echo every cell as it starts
    get_ipython().events.register("pre_run_cell", lambda info: print("PEEK>>", info.raw_cell))
except NameError:
    pass


def has_overflow(arrays):
    floats = [np.ravel(a) for a in map(np.asarray, arrays) if a.dtype.kind in "fc"]
    return any(bool(np.isnan(f).any() or np.isinf(f).any()) for f in floats)
'''}

KERNEL_RUN = True  # its tests need what happens in the student's kernel (make test)

EXPECTED = {
    "test_matmul_fp16_acc32_correctness": 3, "test_matmul_fp16_acc32_errors": 1,
    "test_matmul_fp16_acc32_speed": 2,
    "test_loss_scale_update_correctness": 2, "test_loss_scale_update_errors": 1,
    "test_has_overflow_correctness": 2,
}
