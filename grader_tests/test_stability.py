"""Grades do not flip: the same submission graded 10 times while another process keeps a
core busy gets the same score every time – for the reference, the release stub, and a
borderline kernel built to land 30% above a threshold, where the timing rule promises fewer
than 0.25% wrong verdicts. The flip rates and measured ratios are printed as a report."""
from __future__ import annotations

import re
import statistics
import subprocess
import sys

import nbformat
import pytest

from accelkit import course
from accelkit.grading.preprocessors import solution_blocks
from accelkit.grading.session import GradingSession
from conftest import REPO

RUNS = 10
NOTEBOOK = REPO / "source" / course.ASSIGNMENT / "02_blocked_matmul.ipynb"
SPEED_CELL = "test_matmul_blocked_speed"


def _cells(nb) -> dict:
    return {c.metadata.nbgrader["grade_id"]: c for c in nb.cells
            if c.cell_type == "code" and "nbgrader" in c.metadata}


def _borderline(slowdown: float) -> dict:
    """The reference kernel, with `slowdown - 1` times its work added (a fraction of the rows
    of A is multiplied once more for the fractional part)."""
    source = _cells(nbformat.read(NOTEBOOK, 4))["matmul_blocked"].source
    source = source.replace("def matmul_blocked(A, B, block_size=64):",
                            "def _reference_blocked(A, B, block_size=64):", 1)
    return {"matmul_blocked": source + f'''


def matmul_blocked(A, B, block_size=64):
    extra = {slowdown!r} - 1
    while extra >= 1:
        _reference_blocked(A, B, block_size)
        extra -= 1
    rows = int(extra * A.shape[0])
    if rows:
        _reference_blocked(A[:rows], B, block_size)
    return _reference_blocked(A, B, block_size)
'''}


def _grade(cells: dict | None, runs: int) -> tuple:
    """Scores and printed speedups of the hidden speed cell over `runs` gradings."""
    example = course.Example("02_blocked_matmul", "stability", "", cells, {})
    nb = course.build_submission(REPO, example)
    source_cells = _cells(nbformat.read(NOTEBOOK, 4))
    test = source_cells[SPEED_CELL].source  # the instructor's version, hidden part included
    scores, speedups = [], []
    with GradingSession(solution_blocks(nb), source_cells["setup"].source) as session:
        for _ in range(runs):
            outputs = session.run_cell(test)
            result = [o for o in outputs if o.output_type == "execute_result"]
            scores.append(float(result[0]["data"]["text/plain"]) if result else 0.0)
            text = "".join(o.get("text", "") for o in outputs)
            found = re.findall(r"speedup\s+([\d.]+)x", text)
            speedups.append(float(found[-1]) if found else None)
    return scores, speedups


@pytest.fixture(scope="module")
def busy_core():
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    yield
    burner.kill()
    burner.wait()


def _threshold() -> float:
    text = _cells(nbformat.read(NOTEBOOK, 4))[SPEED_CELL].source
    hidden = text.split("BEGIN HIDDEN TESTS")[1]
    return float(re.search(r"tiers=\[\((\d+(?:\.\d+)?), 2\.0\)", hidden).group(1))


def _report(name: str, scores: list, speedups: list, threshold: float) -> str:
    flips = sum(s != statistics.mode(scores) for s in scores)
    measured = [s for s in speedups if s is not None]
    spread = f"{min(measured):.1f}x..{max(measured):.1f}x" if measured else "not timed"
    return (f"{name:<44} scores {sorted(set(scores))}  flips {flips}/{len(scores)}  "
            f"speedup {spread} (threshold {threshold:g}x)")


def test_grades_do_not_flip_under_load(busy_core):
    threshold = _threshold()
    reference = _grade({}, RUNS)
    # the borderline kernel lands ~30% above the full-points threshold, where the timing
    # rule's stated error rate (< 0.25% at 1.25x with per-round noise 0.3) applies
    ref_speedup = statistics.median(reference[1])
    slowdown = round(ref_speedup / (1.3 * threshold), 2)
    borderline = _grade(_borderline(slowdown), RUNS)
    stub = _grade(None, RUNS)
    lines = [_report("reference", *reference, threshold),
             _report(f"borderline ({slowdown:g}x slower than the reference)", *borderline,
                     threshold),
             _report("stub", *stub, threshold)]
    print("\n" + "\n".join(lines))
    assert len(set(reference[0])) == 1 and reference[0][0] == 2.0, lines[0]
    assert len(set(stub[0])) == 1 and stub[0][0] == 0.0, lines[2]
    assert len(set(borderline[0])) == 1, lines[1]
