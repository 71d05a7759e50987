"""The instructor pipeline end to end: generate, autograde, gradebook, re-grade."""
from __future__ import annotations

import json
import os
import time

import nbformat
import pytest
from nbgrader import utils
from nbgrader.api import Gradebook

from accelkit import course
from accelkit.grading import sandbox
from conftest import (CALL_TIMEOUT_S, FAST_LIMITS, REPO, SELECTED, SUBMISSIONS, accelkit_cli,
                      copy_course, example_id, nbgrader, outputs_of, scores_of, usable)

EXAMPLES = sorted((e for e in course.load_examples(SUBMISSIONS) if usable(e)), key=example_id)
NOTEBOOKS = sorted(p.stem for p in (REPO / "source" / course.ASSIGNMENT).glob("*.ipynb")
                   if not SELECTED or p.stem in SELECTED)


@pytest.mark.parametrize("example", EXAMPLES, ids=example_id)
def test_example_scores_exactly_as_expected(graded_course, example):
    root, proc, _ = graded_course
    student = example.student
    got = scores_of(root, student, example.notebook)
    if example.expected is None:  # cannot be graded: reported, no points, the batch went on
        assert not any(got.values()) and f"for student '{student}'" in proc.stderr
        return
    differ = sorted(k for k in set(got) | set(example.expected)
                    if k not in got or k not in example.expected
                    or got[k] != pytest.approx(example.expected[k]))
    assert not differ, (
        f"{student} ({example.doc}): per-cell scores differ\n  expected {example.expected}\n"
        f"  got      {got}\n--- what those cells printed ---\n"
        f"{outputs_of(root, student, example.notebook, differ)}\n"
        f"--- autograde log tail ---\n{proc.stderr[-2000:]}")


@pytest.mark.parametrize("notebook", NOTEBOOKS)
@pytest.mark.needs_examples("*/stub")
def test_stub_runs_every_cell_without_crashing(graded_course, notebook):
    root, _, _ = graded_course
    nb = nbformat.read(root / "autograded" / "stub" / course.ASSIGNMENT / f"{notebook}.ipynb", 4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None or c.outputs for c in code), "a cell was not run"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert errors and all(o.ename != "DeadKernelError" for o in errors)
    assert any("NotImplementedError" in o.ename for o in errors)


@pytest.mark.skipif(SELECTED and "02_blocked_matmul" not in SELECTED, reason="02 not selected")
@pytest.mark.needs_examples("02_blocked_matmul/segfault", "02_blocked_matmul/infinite_loop")
def test_crashes_cost_only_their_own_tests(graded_course):
    """The segfault kills the student's kernel in a try-it cell, yet grading goes on."""
    root, _, _ = graded_course
    nb = nbformat.read(root / "autograded" / "segfault" / course.ASSIGNMENT / "02_blocked_matmul.ipynb", 4)
    texts = {c.metadata.nbgrader["grade_id"]: json.dumps(c.outputs) for c in nb.cells
             if c.cell_type == "code" and utils.is_grade(c)}
    assert "SIGSEGV" in texts["test_matmul_blocked_correctness"]
    assert "DeadKernelError" in json.dumps([c.get("outputs") for c in nb.cells])
    loop = nbformat.read(root / "autograded" / "infinite_loop" / course.ASSIGNMENT / "02_blocked_matmul.ipynb", 4)
    text = json.dumps([c.get("outputs") for c in loop.cells if utils.is_grade(c)])
    assert f"did not finish within {CALL_TIMEOUT_S} s" in text


@pytest.mark.skipif(SELECTED and "02_blocked_matmul" not in SELECTED, reason="02 not selected")
@pytest.mark.skipif(not sandbox.available(), reason="no sandbox here; CI runs this as root and "
                    "as an ordinary user")
@pytest.mark.needs_examples("02_blocked_matmul/escape", "02_blocked_matmul/reference")
def test_escape_attempts_change_nothing_outside_the_submission(graded_course):
    root, _, _ = graded_course
    assert not list(root.rglob("ESCAPED.txt"))
    reference = root / "autograded" / "reference" / course.ASSIGNMENT / "02_blocked_matmul.ipynb"
    assert "overwritten by escape" not in reference.read_text()
    assert "overwritten by escape" not in (root / "gradebook.db").read_bytes().decode(errors="replace")
    assert scores_of(root, "reference", "02_blocked_matmul")  # the gradebook still works


@pytest.mark.skipif(SELECTED and "02_blocked_matmul" not in SELECTED, reason="02 not selected")
@pytest.mark.needs_examples("02_blocked_matmul/tiled_clamped", "02_blocked_matmul/edge_bug")
def test_regrading_gives_the_same_scores(graded_course):
    """A regrade, now with the kernel run (the fixture graded these two without it), gives the
    first scores: the kernel run never changes a grade. One full-marks submission and one
    with wrong and right cells (edge_bug: its kernels fail fast, so the regrade is short);
    both submit 02 only (the reference submits all eight notebooks)."""
    root, _, _ = graded_course
    first = {s: scores_of(root, s, "02_blocked_matmul") for s in ("tiled_clamped", "edge_bug")}
    assert set(first["tiled_clamped"].values()) != {0}
    assert len(set(first["edge_bug"].values())) > 1            # some points, not all
    for student in first:
        nbgrader(root, "autograde", course.ASSIGNMENT, "--force", "--student", student, *FAST_LIMITS)
        assert scores_of(root, student, "02_blocked_matmul") == first[student]
    # the kernel run as configured: setup and solution cells ran, every other cell has a note
    nb = nbformat.read(root / "autograded" / "tiled_clamped" / course.ASSIGNMENT
                       / "02_blocked_matmul.ipynb", 4)
    ran = {("solution" if utils.is_solution(c) else "test" if utils.is_grade(c) else
            "setup" if c.metadata.get("nbgrader", {}).get("grade_id") == "setup" else "other",
            c.execution_count is not None) for c in nb.cells if c.cell_type == "code"}
    assert ran == {("setup", True), ("solution", True), ("test", False), ("other", False)}
    skipped = [c for c in nb.cells if c.cell_type == "code" and "nbgrader" not in c.metadata]
    assert skipped and all(c.outputs[0]["text"].startswith("(Not run when grading") for c in skipped)


def test_release_is_in_sync_with_source(tmp_path):
    root = copy_course(tmp_path)
    nbgrader(root, "generate_assignment", course.ASSIGNMENT, "--force")
    for fresh in sorted((root / "release" / course.ASSIGNMENT).glob("*.ipynb")):
        committed = REPO / "release" / course.ASSIGNMENT / fresh.name
        assert committed.exists(), f"{fresh.name} is missing from release/: run make release"
        assert nbformat.read(fresh, 4) == nbformat.read(committed, 4), (
            f"release/{course.ASSIGNMENT}/{fresh.name} is out of date with source/: run make release")


def test_release_hides_hidden_tests_and_solutions():
    for path in (REPO / "release" / course.ASSIGNMENT).glob("*.ipynb"):
        text = path.read_text()
        assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text
        assert "NotImplementedError" in text
        assert "accelkit" not in nbformat.reads(text, 4).metadata   # margins name hidden tiers
        assert "check_answers(" not in text     # visible tests check the form of answers only


@pytest.mark.skipif(SELECTED and "02_blocked_matmul" not in SELECTED, reason="02 not selected")
@pytest.mark.needs_examples("02_blocked_matmul/reference")
def test_feedback_shows_results_but_not_hidden_test_source(graded_course):
    root, _, _ = graded_course
    nbgrader(root, "generate_feedback", course.ASSIGNMENT, "--student", "reference", "--force")
    html = (root / "feedback" / "reference" / course.ASSIGNMENT / "02_blocked_matmul.html").read_text()
    assert "60 cases correct" in html           # what the hidden tests printed
    assert "seed=200" not in html and "HIDDEN TESTS" not in html   # but not their source


def test_instructor_solutions_pass_nbgrader_validate(tmp_path):
    root = copy_course(tmp_path)
    proc = accelkit_cli(root, "validate")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.skipif(SELECTED and "01_roofline" not in SELECTED, reason="01 not selected")
def test_validate_fails_on_an_error_in_a_teaching_cell(tmp_path):
    """A demo cell that raises (as 01's roofline table once did with every solution in place)
    fails `accelkit validate`, although no test cell fails."""
    root = copy_course(tmp_path, only="01_roofline")
    path = root / "source" / course.ASSIGNMENT / "01_roofline.ipynb"
    nb = nbformat.read(path, 4)
    nb.cells.append(nbformat.v4.new_code_cell("def total():\n    s += 1\ntotal()"))
    nbformat.write(nb, path)
    proc = accelkit_cli(root, "validate")
    assert proc.returncode == 1 and "FAILED 01_roofline.ipynb" in proc.stdout
    assert "UnboundLocalError" in proc.stdout


@pytest.mark.skipif(SELECTED and "02_blocked_matmul" not in SELECTED, reason="02 not selected")
def test_batch_grading_reports_failures_and_goes_on(tmp_path, examples):
    root = copy_course(tmp_path)
    nbgrader(root, "generate_assignment", course.ASSIGNMENT, "--force")
    chosen = [e for e in examples if e.notebook == "02_blocked_matmul"
              and e.student in ("malformed", "edge_bug")]
    course.place_examples(root, chosen)
    proc = accelkit_cli(root, "grade")
    assert proc.returncode == 1
    assert "graded 1 of 2 submissions" in proc.stdout and "FAILED malformed" in proc.stdout
    assert (root / "grades.csv").exists() and (root / "feedback" / "edge_bug").is_dir()
    assert scores_of(root, "edge_bug", "02_blocked_matmul") == next(
        e.expected for e in chosen if e.student == "edge_bug")


@pytest.mark.skipif(SELECTED and "07_mixed_precision" not in SELECTED, reason="07 not selected")
@pytest.mark.needs_examples("07_mixed_precision/peek_hidden_tests")
def test_hidden_tests_never_reach_the_students_kernel(graded_course):
    """A hook in a solution cell echoes every cell the kernel runs: it ran (the try-it cell's
    echo is there), yet no test cell's source, hidden part included, was echoed."""
    root, _, _ = graded_course
    nb = nbformat.read(root / "autograded" / "peek_hidden_tests" / course.ASSIGNMENT
                       / "07_mixed_precision.ipynb", 4)
    outputs = json.dumps([c.get("outputs") for c in nb.cells])
    assert "PEEK>> # Try it" in outputs
    test_cells = [c for c in nb.cells if c.cell_type == "code" and utils.is_grade(c)
                  and not utils.is_solution(c)]
    assert test_cells and "HIDDEN TESTS" in "".join(c.source for c in test_cells)
    assert "HIDDEN TESTS" not in outputs
    for cell in test_cells:
        assert cell.source.splitlines()[0] not in outputs.replace("\\n", "\n")


@pytest.mark.skipif(SELECTED and "01_roofline" not in SELECTED, reason="01 not selected")
@pytest.mark.needs_examples("01_roofline/roofline_reuses_grader", "01_roofline/reference")
def test_cells_that_reach_for_the_engine_are_flagged_for_review(graded_course):
    """roofline_reuses_grader fetches the grader's module through importlib: its autograded
    notebook records the cell, nbgrader's log and the score table say "flagged"; the
    reference is not flagged."""
    from accelkit.cli import flagged_cells
    root, proc, _ = graded_course
    assert flagged_cells(root, "roofline_reuses_grader", "01_roofline") == {
        "cell measure_peak_gflops": ["importlib"]}
    assert flagged_cells(root, "reference", "01_roofline") == {}
    assert ("flagged for review: cell measure_peak_gflops of 01_roofline uses importlib"
            in proc.stderr + proc.stdout)
    scores = accelkit_cli(root, "scores").stdout
    assert ("flagged for review: roofline_reuses_grader, cell measure_peak_gflops of 01_roofline "
            "uses importlib" in scores)
    assert "flagged for review: reference," not in scores


# nbgrader as a grader that is neither root nor allowed user namespaces would run it
AS_NORMAL_USER = ("import os, sys; os.geteuid = lambda: 1000; sys.argv[0] = 'nbgrader'; "
                  "from accelkit.grading import sandbox; "
                  "sandbox._userns = 'user namespaces: [Errno 1] Operation not permitted'; "
                  "from nbgrader.apps.nbgraderapp import main; main()")


@pytest.mark.skipif(SELECTED and "04_alignment" not in SELECTED, reason="04 not selected")
def test_where_no_sandbox_can_confine_nothing_is_graded(tmp_path):
    """Secure by default: a grader that cannot confine student code refuses to autograde with
    the course's own settings (Sandbox.mode "auto"), says why in nbgrader's log, and no score
    reaches the gradebook; --Sandbox.mode=off grades, and says that it runs unconfined."""
    import shutil
    import subprocess
    import sys

    root = copy_course(tmp_path, only="04_alignment")
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")  # mode "auto"
    nbgrader(root, "generate_assignment", course.ASSIGNMENT, "--force")
    reference = [e for e in EXAMPLES if e.notebook == "04_alignment" and e.student == "reference"]
    course.place_examples(root, reference)
    env = dict(os.environ, PATH=os.pathsep.join([os.path.dirname(sys.executable),
                                                 os.environ.get("PATH", "")]))

    def autograde(*extra):
        return subprocess.run([sys.executable, "-c", AS_NORMAL_USER, "autograde",
                               course.ASSIGNMENT, "--force", *FAST_LIMITS, *extra], cwd=root,
                              env=env, capture_output=True, text=True)

    refused = autograde()
    assert "NOT GRADED: student code cannot be confined on this machine" in refused.stderr
    assert 'c.Sandbox.mode = \\"off\\"' in refused.stderr or 'c.Sandbox.mode = "off"' in refused.stderr
    assert not any(scores_of(root, "reference", "04_alignment").values())
    unconfined = autograde("--Sandbox.mode=off")
    assert "SANDBOX OFF" in unconfined.stderr
    assert scores_of(root, "reference", "04_alignment") == pytest.approx(reference[0].expected)


ATTACKS = ("04_alignment/gradebook_inject", "04_alignment/engine_edit",
           "04_alignment/lingering_daemon", "04_alignment/tmp_leaver", "04_alignment/tmp_reader",
           "04_alignment/disk_filler", "04_alignment/socket_folder_filler")


@pytest.mark.skipif(SELECTED and "04_alignment" not in SELECTED, reason="04 not selected")
@pytest.mark.skipif(not sandbox.available(), reason="no sandbox here; CI runs this as root and "
                    "as an ordinary user")
@pytest.mark.needs_examples(*ATTACKS)
def test_attacks_from_inside_the_sandbox_leave_no_trace(graded_course):
    """After grading the attacks on the course, the engine and later students (their scores are
    checked by test_example_scores_exactly_as_expected): the gradebook's setup cells are the
    instructor's, the course's notebooks and the engine are unchanged, no process of theirs
    is left, and nothing they wrote is in the shared /tmp, /dev/shm or the course folder."""
    import glob

    import psutil

    root, _, _ = graded_course
    with Gradebook("sqlite:///" + str(root / "gradebook.db")) as gradebook:
        for notebook in gradebook.find_assignment(course.ASSIGNMENT).notebooks:
            for cell in notebook.source_cells:
                assert "_INJECTED_BY_" not in cell.source
    for path in sorted((REPO / "source" / course.ASSIGNMENT).glob("*.ipynb")):
        copy = root / "source" / course.ASSIGNMENT / path.name
        assert not copy.exists() or copy.read_bytes() == path.read_bytes()
    engine = [p for p in (REPO / "accelkit").rglob("*.py") if "EDITED BY" in p.read_text()]
    assert engine == []
    left = [p.info["cmdline"] for p in psutil.process_iter(["cmdline"])
            if any("LEFT-BEHIND-BY" in part for part in p.info["cmdline"] or [])]
    assert left == []
    written = (glob.glob("/tmp/accelkit-notes*") + glob.glob("/dev/shm/accelkit-notes*")
               + [str(p) for p in root.rglob("accelkit-notes*")] + glob.glob("/tmp/filler-*")
               + glob.glob("/dev/shm/filler-*") + [str(p) for p in root.rglob("filler-*")])
    assert written == []
    # the folder of the kernel's sockets, on the grader's disk: watched, the kernel stopped
    filler = nbformat.read(root / "autograded" / "socket_folder_filler" / course.ASSIGNMENT
                           / "04_alignment.ipynb", 4)
    notes = [o.get("text", "") for c in filler.cells if c.cell_type == "code" for o in c.outputs]
    assert any("The kernel was stopped: it wrote more than 4 MiB or 64 files" in n for n in notes)
    assert glob.glob("/tmp/accelkit-kernel-*") == []


PURE_PYTHON_MATMUL = '''
def matmul_reordered(A, B):
    A, B = np.asarray(A), np.asarray(B)
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0]:
        raise ValueError(f"cannot multiply {A.shape} by {B.shape}")
    C = np.zeros((A.shape[0], B.shape[1]), np.result_type(A, B, np.float32))
    for i in range(A.shape[0]):          # no @njit: every step runs in the interpreter
        for k in range(A.shape[1]):
            a = A[i, k]
            for j in range(B.shape[1]):
                C[i, j] += a * B[k, j]
    return C
'''


@pytest.mark.skipif(SELECTED and "02_blocked_matmul" not in SELECTED, reason="02 not selected")
def test_grading_time_is_bounded_whatever_the_submission_does(tmp_path):
    """A student who forgot @njit: every call of the pure-Python loops stays under the call
    timeout, but there are many. With budgets of 20 s per test cell, 45 s for the trusted
    grading and 5 s for the kernel run (a solution cell that sleeps 8 s at top level), the
    notebook is graded within them: the cell that spent its budget and the cells after the
    notebook's ran out score 0 and say why, the kernel run notes where it stopped."""
    import re
    root = copy_course(tmp_path, only="02_blocked_matmul")
    nbgrader(root, "generate_assignment", course.ASSIGNMENT, "--force")
    slow = course.Example(
        "02_blocked_matmul", "forgot_njit", "pure-Python loops", expected={}, cells={
            "matmul_reordered": PURE_PYTHON_MATMUL + "\ntime.sleep(8)  # at top level\n",
            "matmul_blocked": "def matmul_blocked(A, B, block_size=64):\n"
                              "    if not isinstance(block_size, int) or block_size < 1:\n"
                              "        raise ValueError('block_size must be a positive int')\n"
                              "    return matmul_reordered(A, B)\n"})
    course.place_examples(root, [slow])
    budgets = ["--TrustedGrade.cell_budget=20", "--TrustedGrade.notebook_budget=45",
               "--ResilientExecute.run_budget=5"]
    started = time.monotonic()
    proc = nbgrader(root, "autograde", course.ASSIGNMENT, "--force", *FAST_LIMITS, *budgets)
    took = time.monotonic() - started
    trusted = float(re.search(r"Trusted grading took ([\d.]+) s", proc.stderr).group(1))
    assert trusted < 45 + 5, proc.stderr[-3000:]
    assert took < 5 + 45 + 60  # + starting nbgrader, the kernel and the workers
    nb = nbformat.read(root / "autograded" / "forgot_njit" / course.ASSIGNMENT /
                       "02_blocked_matmul.ipynb", 4)
    said = {cell.metadata.get("nbgrader", {}).get("grade_id", i): "".join(
        o.get("evalue", "") + o.get("text", "") for o in cell.get("outputs", []))
        for i, cell in enumerate(nb.cells) if cell.cell_type == "code"}
    assert any("this test cell's grading time (20 s) ran out" in s for s in said.values()), said
    assert any("not graded: the notebook's grading time (45 s) ran out" in s
               for s in said.values()), said
    assert "the kernel run's time budget (5 s) ran out" in said["matmul_blocked"]
    scores = scores_of(root, "forgot_njit", "02_blocked_matmul")
    for grade_id, text in said.items():
        if "ran out" in text and grade_id in scores:
            assert scores[grade_id] == 0, (grade_id, text)
    for speed in ("test_matmul_reordered_speed", "test_matmul_blocked_speed",
                  "test_matmul_blocked_tiling"):
        assert scores[speed] == 0
