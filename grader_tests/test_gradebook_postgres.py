"""A shared gradebook in PostgreSQL: a real server, started here on a private socket.

The course names it in nbgrader_config.py (`c.CourseDirectory.db_url`), as an instructor
would; `accelkit grade` and `accelkit scores` then read and write it, not a SQLite file.
CI installs the distribution's PostgreSQL (`.ci/run`) and sets ACCELKIT_REQUIRE_POSTGRES=1,
so there a missing server fails instead of skipping.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from accelkit import course
from conftest import SELECTED, accelkit_cli, copy_course, nbgrader, scores_of, usable

NOTEBOOK = "01_roofline"
STUDENTS = ("reference", "stub", "roofline_wrong_answers")


def _postgres_bin() -> Path | None:
    """The folder of initdb, pg_ctl and createdb: the distribution's newest, else PATH's."""
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if versions:
        return Path(versions[-1]).parent
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


@pytest.fixture(scope="module")
def postgres_url():
    """postgresql+psycopg:// URL of a fresh server on a unix socket in a private folder; the
    server runs as the user `postgres` where the tests run as root (it refuses root)."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        if os.environ.get("ACCELKIT_REQUIRE_POSTGRES"):
            pytest.fail("ACCELKIT_REQUIRE_POSTGRES is set, but PostgreSQL is not installed "
                        "(apt-get install postgresql)")
        pytest.skip("PostgreSQL is not installed here (CI installs it)")
    user = "postgres" if os.geteuid() == 0 else None
    folder = tempfile.mkdtemp(prefix="accelkit-pg-")
    if user:
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    data, log = os.path.join(folder, "data"), os.path.join(folder, "server.log")

    def run(*cmd):
        return subprocess.run([str(bin_dir / cmd[0]), *cmd[1:]], user=user, cwd=folder,
                              capture_output=True, text=True, check=True)

    run("initdb", "-D", data, "-U", "grader", "-A", "trust", "--no-sync", "-E", "UTF8")
    run("pg_ctl", "-D", data, "-l", log, "-w", "-o",
        f"-k {folder} -c listen_addresses='' -c fsync=off", "start")
    try:
        run("createdb", "-h", folder, "-U", "grader", "gradebook")
        yield f"postgresql+psycopg://grader@/gradebook?host={folder}"
    finally:
        subprocess.run([str(bin_dir / "pg_ctl"), "-D", data, "-m", "immediate", "stop"],
                       user=user, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


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
