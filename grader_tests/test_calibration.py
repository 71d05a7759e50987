"""Calibration: every speed threshold measured here against the reference and a naive kernel,
stored with the machine's fingerprint, and autograde's reaction when there is none that fits."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import nbformat
import pytest
from traitlets.config import Config

from accelkit.grading import calibration
from accelkit import course, student
from accelkit.grading.preprocessors import TrustedGrade
from conftest import REPO


def test_rows_say_how_far_each_side_is_from_a_threshold():
    row = calibration._row("02", "test_x_speed", 0, {"speedup": 9.0}, 3.0, [("naive", 1.2), ("b", 1.0)])
    assert (row["status"], row["margin_above"], row["margin_below"], row["naive_example"]) == (
        "ok", 3.0, 2.5, "naive")
    assert calibration._row("02", "c", 0, {"speedup": 5.0}, 3.0, [])["status"] == "thin"
    assert calibration._row("02", "c", 0, {"speedup": 9.0}, 3.0, [("n", 2.0)])["status"] == "thin"
    assert calibration._row("02", "c", 0, {"speedup": 2.9}, 3.0, [])["status"] == "fails"
    assert calibration._row("02", "c", 0, {"speedup": 9.0}, 3.0, [("n", 3.1)])["status"] == "fails"
    assert calibration._row("02", "c", 0, {"speedup": 9.0}, 3.0, [])["margin_below"] is None


def test_a_guard_comparison_is_checked_on_its_reference_side_only(tmp_path):
    """05's trusted anchor is a floor that serial code passes by design: the naive example
    reaching it is no failure of calibration, the graded comparison still counts it."""
    def graded(student, runs):
        folder = tmp_path / "autograded" / student / course.ASSIGNMENT
        folder.mkdir(parents=True)
        cell = nbformat.v4.new_code_cell("", metadata={
            "nbgrader": {"grade_id": "test_speed"}, "accelkit": {"measured": runs}})
        nbformat.write(nbformat.v4.new_notebook(cells=[cell]), folder / "05_x.ipynb")

    graded("reference", [{"speedup": 1.5, "thresholds": [1.25]},
                         {"speedup": 1.9, "thresholds": [0.9], "guard": True}])
    graded("serial", [{"speedup": 1.0, "thresholds": [1.25]},
                      {"speedup": 1.1, "thresholds": [0.9], "guard": True}])
    examples = [course.Example("05_x", "reference", "", None, {}),
                course.Example("05_x", "serial", "", None, {}, calibration="naive")]
    own, anchor = calibration.assess(tmp_path, examples)
    assert (own["naive"], own["status"]) == (1.0, "thin")
    assert (anchor["naive"], anchor["status"], anchor["margin_above"]) == (None, "ok", 2.111)


def _rows(status="ok"):
    return [{"notebook": "03_vectorized_ops", "cell": "test_relu_speed", "check": 0,
             "threshold": 1.6, "reference": 2.9 if status == "ok" else 1.5, "naive": 1.0,
             "naive_example": "simd_scalar_only", "margin_above": 1.8, "margin_below": 1.6,
             "status": status}]


def test_check_names_what_is_missing_or_wrong(tmp_path):
    assert "accelkit calibrate" in calibration.check(tmp_path)          # none yet
    calibration.record(tmp_path, _rows(), 1.0)
    assert calibration.check(tmp_path) is None                          # this machine, all fit
    data = json.loads((tmp_path / calibration.FILE).read_text())
    data["fingerprint"]["cpu"], data["fingerprint_id"] = "another CPU", "0" * 12
    (tmp_path / calibration.FILE).write_text(json.dumps(data))
    assert "another machine (differs in cpu)" in calibration.check(tmp_path)
    calibration.record(tmp_path, _rows("fails"), 1.0)
    assert "03_vectorized_ops test_relu_speed 1.6x (reference 1.50x" in calibration.check(tmp_path)
    (tmp_path / calibration.FILE).write_text("{")
    assert "unreadable" in calibration.check(tmp_path)


@pytest.mark.skipif("avx" not in student.simd_extensions(), reason="needs a CPU with AVX")
def test_a_calibration_made_with_avx_does_not_fit_numba_without_it(tmp_path):
    """Where numba loses AVX (Linux numba with /proc/cpuinfo hidden) the kernels are other
    code: the calibration of the same CPU no longer fits."""
    calibration.record(tmp_path, _rows(), 1.0)
    code = f"from accelkit.grading import calibration; print(calibration.check({str(tmp_path)!r}))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, NUMBA_ENABLE_AVX="0"), timeout=120)
    assert "another machine (differs in simd)" in proc.stdout, proc.stdout + proc.stderr[-2000:]


def test_autograde_warns_or_refuses_without_a_fitting_calibration(tmp_path, caplog):
    def grader(setting):
        config = Config()
        config.CourseDirectory.root = str(tmp_path)
        config.TrustedGrade.calibration = setting
        return TrustedGrade(config=config)
    with pytest.raises(RuntimeError, match="not graded: no calibration for this machine"):
        grader("required").check_calibration()
    grader("warn").check_calibration()
    assert "speed grades unreliable: no calibration" in caplog.text
    calibration.record(tmp_path, _rows(), 1.0)
    grader("required").check_calibration()                              # fits: grades


def test_batch_grading_refuses_up_front_when_calibration_is_required(tmp_path):
    config = (REPO / "nbgrader_config.py").read_text()
    (tmp_path / "nbgrader_config.py").write_text(config + '\nc.TrustedGrade.calibration = "required"\n')
    (tmp_path / "submitted" / "someone" / course.ASSIGNMENT).mkdir(parents=True)
    proc = subprocess.run([sys.executable, "-m", "accelkit.cli", "--root", str(tmp_path), "grade"],
                          capture_output=True, text=True)
    said = " ".join(proc.stdout.split())  # rich wraps long lines
    assert proc.returncode == 2 and "not grading" in said and "run `accelkit calibrate` here" in said
    assert not (tmp_path / "gradebook.db").exists()                     # nothing was graded


@pytest.mark.needs_examples("@reference", "@naive")
def test_the_graded_examples_calibrate_this_machine(graded_course, graded_examples):
    """What `accelkit calibrate` stores, from the examples make test grades anyway: every timed
    check of every reference has a row, none of them fails here, and check() then agrees."""
    examples = graded_examples
    root, _, seconds = graded_course
    rows = calibration.assess(root, examples)
    timed = set()
    for ref in (e for e in examples if e.role == "reference"):
        nb = nbformat.read(root / "autograded" / "reference" / course.ASSIGNMENT
                           / f"{ref.notebook}.ipynb", 4)
        timed |= {(ref.notebook, c.metadata.nbgrader["grade_id"]) for c in nb.cells
                  if c.cell_type == "code" and "paired rounds" in json.dumps(c.outputs)}
    assert timed and {(r["notebook"], r["cell"]) for r in rows} == timed
    naive_notebooks = {e.notebook for e in examples if e.role == "naive"}
    assert {r["notebook"] for r in rows if r["naive"] is not None} == (
        naive_notebooks & {r["notebook"] for r in rows})         # the slow side is measured too
    table = "\n".join(f"{r['notebook']} {r['cell']} {r['threshold']:g}x: reference "
                      f"{r['reference']:.2f}x, naive {r['naive']} -> {r['status']}" for r in rows)
    assert not [r for r in rows if r["status"] == "fails"], table
    calibration.record(root, rows, seconds)
    assert calibration.check(root) is None
