"""Fixtures that run the real pipeline: nbgrader, a sqlite gradebook, real kernels.

The course is copied to a temporary folder, so tests never touch the working tree's
gradebook or submissions. Autograding every example is the slow part; it happens once
per test session and the tests then read the gradebook.
"""
from __future__ import annotations

import fnmatch
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from accelkit import course
from accelkit.grading import sandbox

REPO = Path(__file__).resolve().parent.parent
SUBMISSIONS = REPO / "grader_tests" / "submissions"
# Short limits keep the hostile examples quick; the course defaults are in nbgrader_config.py.
CALL_TIMEOUT_S = 15  # a hostile example stops after this long, not the 30 s a course gets
FAST_LIMITS = ["--Execute.timeout=20", f"--TrustedGrade.call_timeout={CALL_TIMEOUT_S}"]


def nbgrader(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = course.run_nbgrader(root, *args)
    if check and proc.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


# ACCELKIT_NOTEBOOKS=02_blocked_matmul,03_vectorized_ops limits a run to those notebooks.
SELECTED = [n for n in os.environ.get("ACCELKIT_NOTEBOOKS", "").split(",") if n]
# numba compiling for AVX2 (16 vector registers of 32 bytes) on this CPU: the CPU name alone
# would keep the host's own features, AVX-512 included
AVX2_CODEGEN = {"NUMBA_CPU_NAME": "haswell",
                "NUMBA_CPU_FEATURES": "+64bit,+sse2,+sse3,+ssse3,+sse4.1,+sse4.2,+popcnt,+avx,+avx2,"
                                      "+fma,+f16c,+bmi,+bmi2,+lzcnt,+movbe,+cx16,+xsave"}


def _skip_unselected(folder: str, names: list) -> list:
    if not SELECTED or not folder.endswith(("source/acceleration", "release/acceleration",
                                            "grader_tests/submissions")):
        return [n for n in names if n == "__pycache__"]
    return [n for n in names if Path(n).stem not in SELECTED]


def pytest_sessionstart(session):
    """ACCELKIT_REQUIRE_SANDBOX=1 (CI's run as an ordinary user): no sandbox is a failure."""
    if os.environ.get("ACCELKIT_REQUIRE_SANDBOX") and not sandbox.available():
        raise pytest.UsageError("ACCELKIT_REQUIRE_SANDBOX is set, but student code cannot be "
                                f"confined here ({sandbox._userns_problem() or 'not Linux'})")


def copy_course(dest: Path, only: str | None = None) -> Path:
    """The course in `dest`; only: keep this instructor notebook alone in source/ (a test
    that grades one notebook then generates only that one)."""
    for name in ("source", "release", "grader_tests"):
        shutil.copytree(REPO / name, dest / name, ignore=_skip_unselected)
    if only is not None:
        for path in (dest / "source" / course.ASSIGNMENT).glob("*.ipynb"):
            if path.stem != only:
                path.unlink()
    shutil.copy(REPO / "nbgrader_config.py", dest / "nbgrader_config.py")
    if not sandbox.available():  # the examples that need the sandbox are left out (`usable`);
        with open(dest / "nbgrader_config.py", "a") as config:   # the rest are the course's own
            config.write('\nc.Sandbox.mode = "off"  # the test course grades its own examples\n')
    return dest


def usable(example) -> bool:
    """Selected, and runnable here: escape attempts need the sandbox (root), or they would
    really overwrite the test course's gradebook."""
    return ((not SELECTED or example.notebook in SELECTED)
            and (not example.needs_sandbox or sandbox.available()))


def example_id(example) -> str:
    return f"{example.notebook}/{example.student}"


# Two tiers of example submissions. Grading one example of these notebooks takes about half a
# minute (timed checks at sizes where caches matter), so `make test` grades, of them, only the
# reference, the stub, the slow calibration side and the examples another test reads;
# `make test-exploits` (pytest -m exploits; CI runs both) grades their other hostile examples.
# The examples of the other notebooks grade in seconds and all run in `make test`.
EXPLOITS_TIER = ("02_blocked_matmul", "05_thread_pool", "06_fusion")


def named_by(example, patterns) -> bool:
    """Whether a `needs_examples` pattern names it: "notebook/student" (fnmatch) or "@role"."""
    return any(p == f"@{example.role}" or fnmatch.fnmatch(example_id(example), p)
               for p in patterns)


def _needed_patterns(items) -> list:
    return [p for item in items for mark in item.iter_markers("needs_examples") for p in mark.args]


def _scored_example(item):
    """The example whose scores `item` checks (test_example_scores_exactly_as_expected), or None."""
    return getattr(getattr(item, "callspec", None), "params", {}).get("example")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects
def pytest_collection_modifyitems(config, items):
    """Example score tests of EXPLOITS_TIER get the exploits mark, unless the example is a
    calibration side (reference or naive) or another test names it."""
    named = _needed_patterns(items)
    for item in items:
        example = _scored_example(item)
        if (example is not None and example.notebook in EXPLOITS_TIER and example.role is None
                and not named_by(example, named)):
            item.add_marker(pytest.mark.exploits)


@pytest.fixture(scope="session")
def examples() -> list:
    return [e for e in course.load_examples(SUBMISSIONS) if usable(e)]


@pytest.fixture(scope="session")
def graded_examples(request, examples) -> list:
    """The examples this session's selected tests read: those whose scores are checked and
    those a `needs_examples` mark names."""
    items = request.session.items
    scored = {example_id(e) for e in map(_scored_example, items) if e is not None}
    named = _needed_patterns(items)
    chosen = scored | {example_id(e) for e in examples if named_by(e, named)}
    return [e for e in examples if example_id(e) in chosen]


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory, graded_examples):
    """A course copy with the session's examples (`graded_examples`) autograded once."""
    examples = graded_examples
    root = copy_course(tmp_path_factory.mktemp("course"))
    nbgrader(root, "generate_assignment", course.ASSIGNMENT, "--force")
    course.place_examples(root, examples)
    # The kernel run never changes a score (TrustedGrade decides; test_regrading_gives_the_same
    # _scores grades two examples both ways), so examples whose tests do not read the kernel's
    # outputs are graded without it: about 20 s less each.
    with_kernel = {e.student for e in examples if e.kernel_run}
    everyone = {e.student for e in examples}

    def autograde(students: set, kernel: bool) -> subprocess.CompletedProcess:
        # examples that test the kernel run get all of it, their try-it cells included
        fast = ["--ResilientExecute.teaching_cells=run"] if kernel else \
            ["--ResilientExecute.enabled=False"]
        others = ",".join(sorted(everyone - students))
        return nbgrader(root, "autograde", course.ASSIGNMENT, "--force", *FAST_LIMITS, *fast,
                        f"--CourseDirectory.student_id_exclude={others}", check=False)

    start = time.perf_counter()
    runs = [autograde(students, kernel) for students, kernel in
            ((everyone - with_kernel, False), (with_kernel, True)) if students]
    # As `accelkit grade` does: a cell the grader could not measure (a busy machine) is
    # graded once more; the scores asserted are those of the second try.
    again = {s for s in everyone if course.not_measured(root, s)}
    for students, kernel in ((again - with_kernel, False), (again & with_kernel, True)):
        if students:
            print(f"\nregrading {sorted(students)}: not measured")
            runs.append(autograde(students, kernel))
    elapsed = time.perf_counter() - start
    proc = subprocess.CompletedProcess(runs[-1].args, next((r.returncode for r in runs
                                                            if r.returncode), 0),
                                       "".join(r.stdout for r in runs),
                                       "".join(r.stderr for r in runs))
    print(f"\nautograded {len(examples)} submissions in {elapsed:.0f} s")
    return root, proc, elapsed


def outputs_of(root: Path, student: str, notebook: str, grade_ids) -> str:
    """What the named test cells of an autograded notebook printed (for a failure message)."""
    path = root / "autograded" / student / course.ASSIGNMENT / f"{notebook}.ipynb"
    if not path.exists():
        return f"(no autograded notebook {path.name})"
    shown = []
    for cell in nbformat.read(path, 4).cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") in grade_ids:
            text = "".join(o.get("text", "") if o.output_type == "stream" else
                           f"{o.get('ename')}: {o.get('evalue')}\n" if o.output_type == "error"
                           else "" for o in cell.outputs)
            shown.append(f"[{cell.metadata.nbgrader.grade_id}]\n{text[-1500:]}")
    return "\n".join(shown)


def scores_of(root: Path, student: str, notebook: str, db_url: str | None = None) -> dict:
    """{grade_id: score} of one notebook of a student's autograded submission (in the course's
    SQLite gradebook, or the one db_url names)."""
    return {grade_id: score for (nb, grade_id), (score, _) in
            course.cell_scores(db_url or "sqlite:///" + str(root / "gradebook.db"), student).items()
            if nb == notebook}


def accelkit_cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    """`accelkit --root ROOT ARGS`, as an instructor runs it."""
    return subprocess.run([sys.executable, "-m", "accelkit.cli", "--root", str(root), *args],
                          capture_output=True, text=True)


def _postgres_bin() -> Path | None:
    """The folder of initdb, pg_ctl and createdb: the distribution's newest, else PATH's."""
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if versions:
        return Path(versions[-1]).parent
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


@pytest.fixture(scope="session")
def postgres_server():
    """A fresh PostgreSQL server on a unix socket in a private folder, started once per
    session; calling it with a name creates that database and returns its
    postgresql+psycopg:// URL. The server runs as the user `postgres` where the tests run as
    root (it refuses root)."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        if os.environ.get("ACCELKIT_REQUIRE_POSTGRES"):
            pytest.fail("ACCELKIT_REQUIRE_POSTGRES is set, but PostgreSQL is not installed "
                        "(apt-get install postgresql)")
        pytest.skip("PostgreSQL is not installed here (CI installs it)")
    user = "postgres" if os.geteuid() == 0 else None
    folder = tempfile.mkdtemp(prefix="accelkit-pg-")
    if user:
        import pwd  # Unix only: conftest itself is imported on students' Windows too
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    data, log = os.path.join(folder, "data"), os.path.join(folder, "server.log")

    def run(*cmd):
        return subprocess.run([str(bin_dir / cmd[0]), *cmd[1:]], user=user, cwd=folder,
                              capture_output=True, text=True, check=True)

    def new_database(name: str) -> str:
        run("createdb", "-h", folder, "-U", "grader", name)
        return f"postgresql+psycopg://grader@/{name}?host={folder}"

    run("initdb", "-D", data, "-U", "grader", "-A", "trust", "--no-sync", "-E", "UTF8")
    run("pg_ctl", "-D", data, "-l", log, "-w", "-o",
        f"-k {folder} -c listen_addresses='' -c fsync=off", "start")
    try:
        yield new_database
    finally:
        subprocess.run([str(bin_dir / "pg_ctl"), "-D", data, "-m", "immediate", "stop"],
                       user=user, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
