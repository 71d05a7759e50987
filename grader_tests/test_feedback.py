"""Speed charts in the feedback: the mechanism (`accelkit.grading.plots`) and the real pipeline."""
from __future__ import annotations

import base64

import nbformat
import pytest
from nbgrader import utils

from accelkit.grading import calibration, plots
from accelkit import course
from accelkit.grading.session import GradingSession
from accelkit.grading.worker import PREAMBLE
from conftest import SELECTED, nbgrader, scores_of

NOTEBOOK = "02_blocked_matmul"
SPEED_CELLS = {"test_matmul_reordered_speed", "test_matmul_blocked_speed",
               "test_matmul_blocked_tiling", "test_conv2d_im2col_speed"}

KERNEL = '''
def broadcast(A, B):
    return (A[:, :, None] * B[None, :, :]).sum(axis=1)
'''
SPEED = ("score = check_speedup(broadcast, matmul_naive, [Matrix(48, 48, seed=1), "
         "Matrix(48, 48, seed=2)], verify_matmul, tiers=[(1e6, 1.0), (1e-6, 0.5)])\n")


def _images(outputs) -> list:
    return [o["data"]["image/png"] for o in outputs
            if o["output_type"] == "display_data" and "image/png" in o["data"]]


def _graded(outputs, points: float = 1.0):
    cell = nbformat.v4.new_code_cell("", outputs=[nbformat.from_dict(o) for o in outputs])
    cell.metadata.nbgrader = {"grade": True, "solution": False, "points": points,
                              "grade_id": "test_speed"}
    return utils.determine_grade(cell)


def test_run_cell_shows_a_chart_and_nbgrader_still_reads_the_score():
    setup = PREAMBLE + "from accelkit.exercises.baselines import matmul_naive\n"
    with GradingSession([("cell", KERNEL)], setup) as session:
        scored = session.run_cell(SPEED + "score")
        failed = session.run_cell(SPEED + "assert False, 'after the chart'")
    assert [o["output_type"] for o in scored] == ["stream", "display_data", "execute_result"]
    assert "speedup" in scored[0]["text"] and "→ 0.5 of 1 points" in scored[0]["text"]
    (image,) = _images(scored)
    png = base64.b64decode(image)
    assert png.startswith(b"\x89PNG") and len(png) < 30_000
    alt = scored[1]["data"]["text/plain"]
    assert "broadcast vs matmul_naive on float32 48x48" in alt and "1e+06x → 1 pt not met" in alt \
        and "1e-06x → 0.5 pt met" in alt
    assert _graded(scored) == (0.5, 1.0)   # the trailing number is still the partial credit
    assert [o["output_type"] for o in failed] == ["stream", "display_data", "error"]
    assert _graded(failed) == (0, 1.0)     # and an error still scores 0


def test_show_closes_the_figure_and_shows_it_only_inside_the_grader():
    import io

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure()
    plots.show(fig, "alt")   # plain python: nothing to show it to
    assert not plt.fignum_exists(fig.number)
    printed = io.StringIO("before")
    printed.seek(6)
    with plots.collect(printed) as shown:
        fig = plt.figure()
        plots.show(fig, "alt")
    assert not plt.fignum_exists(fig.number)
    [(offset, output)] = shown
    assert offset == 6 and output["data"]["text/plain"] == "alt" and "image/png" in output["data"]


@pytest.mark.skipif(SELECTED and NOTEBOOK not in SELECTED, reason=f"{NOTEBOOK} not selected")
@pytest.mark.needs_examples(f"{NOTEBOOK}/reference")
def test_feedback_has_a_chart_per_speed_test_and_scores_are_unchanged(graded_course, examples):
    root, _, _ = graded_course
    before = scores_of(root, "reference", NOTEBOOK)
    nbgrader(root, "generate_feedback", course.ASSIGNMENT, "--student", "reference", "--force")
    html = (root / "feedback" / "reference" / course.ASSIGNMENT / f"{NOTEBOOK}.html").read_text()
    graded = root / "autograded" / "reference" / course.ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    cells = {c.metadata.nbgrader["grade_id"]: c for c in nbformat.read(graded, 4).cells
             if c.cell_type == "code" and utils.is_grade(c)}
    timed = calibration.measured(graded)   # what the grader kept of its speed measurements
    assert set(timed) == SPEED_CELLS
    for grade_id, found in timed.items():
        images = _images(cells[grade_id].outputs)
        charted = [run for run in found if not run.get("guard")]  # a guard has no chart
        assert len(images) == len(charted), f"{grade_id}: one chart per graded speedup"
        for image in images:
            assert f"data:image/png;base64,{image}" in html
            assert len(base64.b64decode(image)) < 30_000
        for run in found:
            assert f"{run['speedup']:.2f}x" in html    # the text table is still there too
    assert [o.output_type for o in cells["test_matmul_blocked_speed"].outputs] == [
        "stream", "display_data", "stream", "display_data", "execute_result"]
    for hidden in ("HIDDEN TESTS", "seed=500", "seed=600", "Matrix(512, 512"):
        assert hidden not in html
    expected = next(e.expected for e in examples if (e.notebook, e.student) == (NOTEBOOK, "reference"))
    assert before == pytest.approx(expected)
    assert scores_of(root, "reference", NOTEBOOK) == before
