"""A shared gradebook in PostgreSQL: a real server, started here on a private socket.

The course names it in nbgrader_config.py (`c.CourseDirectory.db_url`), as an instructor
would; `accelkit grade` and `accelkit scores` then read and write it, not a SQLite file.
The server is conftest's `postgres_server`: CI installs the distribution's PostgreSQL
(`.ci/run`) and sets ACCELKIT_REQUIRE_POSTGRES=1, so there a missing server fails instead of
skipping.
"""
from __future__ import annotations

import pytest

from accelkit import course
from conftest import SELECTED, accelkit_cli, copy_course, nbgrader, scores_of, usable

NOTEBOOK = "01_roofline"
STUDENTS = ("reference", "stub", "roofline_wrong_answers")


@pytest.fixture
def postgres_url(postgres_server):
    return postgres_server("gradebook")


@pytest.mark.skipif(SELECTED and NOTEBOOK not in SELECTED, reason=f"{NOTEBOOK} not selected")
def test_a_course_graded_into_postgresql_gets_the_examples_exact_scores(tmp_path, postgres_url):
    root = copy_course(tmp_path, only=NOTEBOOK)
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.CourseDirectory.db_url = {postgres_url!r}\n")
    nbgrader(root, "generate_assignment", course.ASSIGNMENT, "--force")
    examples = [e for e in course.load_examples(root / "grader_tests" / "submissions")
                if e.notebook == NOTEBOOK and e.student in STUDENTS and usable(e)]
    assert len(examples) == len(STUDENTS)
    course.place_examples(root, examples)
    graded = accelkit_cli(root, "grade")
    assert graded.returncode == 0, graded.stdout[-3000:] + graded.stderr[-3000:]
    assert not (root / "gradebook.db").exists()  # nothing went to a SQLite file
    for example in examples:
        scores = scores_of(root, example.student, NOTEBOOK, db_url=postgres_url)
        assert scores == pytest.approx(example.expected), example.student
    table = accelkit_cli(root, "scores")
    # the table reads the same gradebook (names are cut to the column's width)
    assert table.returncode == 0 and all(s[:6] in table.stdout for s in STUDENTS), table.stdout
    assert (root / "grades.csv").read_text().count("\n") >= len(STUDENTS)
