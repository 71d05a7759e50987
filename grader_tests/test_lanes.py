"""Grading lanes: several graders side by side, each on its own CPUs (`accelkit grade --lanes`)."""
from __future__ import annotations

import os
import re

import pytest

from accelkit import course
from conftest import SELECTED, accelkit_cli, copy_course, nbgrader, scores_of, usable

NOTEBOOK = "01_roofline"


def test_lanes_split_the_cpus_into_disjoint_nearly_equal_sets(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4})
    assert course.lane_cpus(2) == [{0, 1, 2}, {3, 4}]
    assert course.lane_cpus(5) == [{0}, {1}, {2}, {3}, {4}]
    assert course.lane_cpus(1) == [{0, 1, 2, 3, 4}]
    with pytest.raises(ValueError, match="6 grading lanes need a CPU each"):
        course.lane_cpus(6)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="two lanes need two CPUs")
@pytest.mark.skipif(SELECTED and NOTEBOOK not in SELECTED, reason=f"{NOTEBOOK} not selected")
def test_two_lanes_of_one_cpu_give_every_example_its_exact_scores(tmp_path):
    """Every example of 01 graded with two lanes of one CPU each into one SQLite gradebook:
    the same scores as the examples expect (those of one lane), both lanes used, each
    grader and its workers on its own CPU."""
    root = copy_course(tmp_path, only=NOTEBOOK)
    nbgrader(root, "generate_assignment", course.ASSIGNMENT, "--force")
    examples = [e for e in course.load_examples(root / "grader_tests" / "submissions")
                if e.notebook == NOTEBOOK and usable(e)]
    course.place_examples(root, examples)
    proc = accelkit_cli(root, "grade", "--lanes", "2")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for example in examples:
        assert scores_of(root, example.student, NOTEBOOK) == pytest.approx(example.expected), \
            example.student
    expected = [", ".join(map(str, sorted(cpus))) for cpus in course.lane_cpus(2)]
    lanes = re.findall(r"lane (\d) \(CPU ([\d, ]+)\): (\d+) submissions", proc.stdout)
    assert [(n, c) for n, c, _ in lanes] == [("1", expected[0]), ("2", expected[1])], proc.stdout
    assert all(int(count) > 0 for *_, count in lanes)
    assert sum(int(count) for *_, count in lanes) == len({e.student for e in examples})
    seen = {re.search(r"grading on CPU ([\d, ]+)", (root / "logs" / f"autograde-{e.student}.log")
                      .read_text()).group(1) for e in examples}
    assert seen == set(expected)
