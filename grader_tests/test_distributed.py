"""Grading on Dask distributed (`accelkit grade`, accelkit/batch.py): a real scheduler and real
workers started here with Dask's own command line, a grading lane killed in the middle of a
batch, a batch whose client is killed and restarted, and a submission past its time limit."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from accelkit import batch, course
from accelkit.grading import kernel_sandbox
from conftest import REPO, SELECTED, accelkit_cli, copy_course, nbgrader, scores_of, usable

NOTEBOOK = "01_roofline"
pytestmark = pytest.mark.skipif(SELECTED and NOTEBOOK not in SELECTED,
                                reason=f"{NOTEBOOK} not selected")
DASK = str(Path(sys.executable).with_name("dask"))


def course_with(tmp_path: Path, students=None, db_url: str | None = None) -> tuple:
    """A course of 01 alone with its usable examples (or those named) placed in submitted/."""
    root = copy_course(tmp_path / "course", only=NOTEBOOK)
    if db_url:
        with open(root / "nbgrader_config.py", "a") as config:
            config.write(f"\nc.CourseDirectory.db_url = {db_url!r}\n")
    nbgrader(root, "generate_assignment", course.ASSIGNMENT, "--force")
    examples = [e for e in course.load_examples(root / "grader_tests" / "submissions")
                if e.notebook == NOTEBOOK and usable(e) and (students is None or e.student in students)]
    course.place_examples(root, examples)
    return root, examples


def grader_cli(root: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "accelkit.cli", "--root", str(root), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def statuses(root: Path) -> dict:
    try:
        return json.loads((root / batch.STATUS_FILE).read_text())["submissions"]
    except (OSError, ValueError, KeyError):
        return {}


def grading_now(process: psutil.Process) -> bool:
    """Whether an nbgrader started by `process` (or its children) is running."""
    try:
        return any("nbgrader" in " ".join(p.cmdline()) for p in process.children(recursive=True))
    except psutil.Error:
        return False


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {timeout:g} s")
        time.sleep(0.1)


def all_gone(pids: list, timeout: float = 20) -> list:
    """The processes of `pids` still alive (zombies count as gone) after up to `timeout` s."""
    def alive():
        left = []
        for pid in pids:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    left.append(pid)
            except psutil.NoSuchProcess:
                pass
        return left
    deadline = time.monotonic() + timeout
    while alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    return alive()


@pytest.fixture
def dask_cluster(tmp_path):
    """A Dask scheduler and two grading lanes (`dask worker --nthreads 1 --resources lane=1`,
    without a nanny, so that a killed one stays dead), as an instructor starts them; yields
    (scheduler address, {name: worker process})."""
    scheduler_file = tmp_path / "scheduler.json"
    started = [subprocess.Popen([DASK, "scheduler", "--scheduler-file", str(scheduler_file),
                                 "--host", "127.0.0.1", "--port", "0", "--no-dashboard"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        wait_until(scheduler_file.exists, 60, "the scheduler")
        workers = {}
        for name in ("lane-a", "lane-b"):
            workers[name] = subprocess.Popen(
                [DASK, "worker", "--scheduler-file", str(scheduler_file), "--name", name,
                 "--nthreads", "1", "--resources", "lane=1", "--no-nanny", "--no-dashboard"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            started.append(workers[name])
        from distributed import Client
        with Client(scheduler_file=str(scheduler_file), timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
            address = client.scheduler.address
        yield address, workers
    finally:
        for proc in started:
            proc.kill()
            proc.wait()


def test_a_dask_cluster_grades_into_postgresql_and_a_killed_lane_loses_nothing(
        tmp_path, postgres_server, dask_cluster):
    """Two `dask worker` lanes grade four of 01's examples into PostgreSQL; one lane is killed while
    it grades. The scheduler hands its submission to the other lane: every example gets its
    exact scores, every status is "graded", and the killed lane's nbgrader and kernel die
    with it."""
    db_url = postgres_server("distributed")
    root, examples = course_with(tmp_path, db_url=db_url, students=(
        "reference", "stub", "roofline_wrong_answers", "roofline_wrong_units"))
    address, workers = dask_cluster
    grading = grader_cli(root, "grade", "--scheduler", address)
    victims = {name: psutil.Process(p.pid) for name, p in workers.items()}
    wait_until(lambda: any(grading_now(w) for w in victims.values()), 120, "a lane to grade")
    name, victim = next((n, w) for n, w in victims.items() if grading_now(w))
    left_behind = [p.pid for p in victim.children(recursive=True)]
    victim.kill()
    out, _ = grading.communicate(timeout=600)
    assert grading.returncode == 0, out[-4000:]
    assert f"grading on 2 lane(s) of {address}" in out
    for example in examples:
        assert scores_of(root, example.student, NOTEBOOK, db_url=db_url) == pytest.approx(
            example.expected), example.student
    ended = statuses(root)
    assert {s: e["status"] for s, e in ended.items()} == {e.student: "graded" for e in examples}
    results = re.findall(r"^\s+graded  (\S+)  ", out, re.M)  # one line per result received
    assert sorted(results) == sorted(e.student for e in examples), "a submission came back twice"
    survivor = next(n for n in workers if n != name)
    assert any(survivor in e["lane"] for e in ended.values())
    assert left_behind and not all_gone(left_behind), "the killed lane left its grader running"
    assert (root / "autograded" / examples[0].student / course.ASSIGNMENT
            / f"{NOTEBOOK}.ipynb").exists() and (root / "feedback").is_dir()
    assert kernel_sandbox.remove_stale_private_folders() == [], "the killed grader's kernel " \
        "folder was left in /tmp"


def test_a_cluster_sqlite_cannot_reach_is_refused_before_grading(tmp_path):
    root = tmp_path
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")  # a SQLite gradebook
    (root / "submitted" / "someone" / course.ASSIGNMENT).mkdir(parents=True)
    proc = accelkit_cli(root, "grade", "--scheduler", "tcp://127.0.0.1:1")
    said = " ".join(proc.stdout.split())
    assert proc.returncode == 2 and "is a SQLite file here" in said, proc.stdout
    assert not statuses(root) and not (root / "autograded").exists()


def test_a_restarted_batch_grades_only_what_is_missing_or_changed(tmp_path):
    """The client is killed in the middle of a batch: its lane and every grader die with it.
    Run again, it grades only the submissions without a "graded" status; after one
    submission changes, only that one."""
    students = ("reference", "stub", "roofline_wrong_answers")
    root, examples = course_with(tmp_path, students=students)
    grading = grader_cli(root, "grade")
    client = psutil.Process(grading.pid)
    wait_until(lambda: statuses(root), 180, "the first result")
    descendants = [p.pid for p in client.children(recursive=True)]
    grading.kill()
    grading.communicate()
    assert not all_gone(descendants), "a killed batch left graders behind"
    first = statuses(root)
    assert 1 <= len(first) < len(students) and all(e["status"] == "graded" for e in first.values())
    logs = {s: (root / "logs" / f"autograde-{s}.log").stat().st_mtime_ns for s in first}

    again = accelkit_cli(root, "grade")
    said = " ".join(again.stdout.split())
    assert again.returncode == 0, again.stdout[-3000:]
    assert (f"resuming: {len(first)} of {len(students)} submissions are graded already"
            in said and f"grading {len(students) - len(first)}" in said), said
    assert {s: (root / "logs" / f"autograde-{s}.log").stat().st_mtime_ns for s in first} == logs
    for example in examples:
        assert scores_of(root, example.student, NOTEBOOK) == pytest.approx(example.expected)

    changed = next(iter(first))
    path = root / "submitted" / changed / course.ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    nb = nbformat.read(path, 4)
    nb.cells.append(nbformat.v4.new_markdown_cell("One more note before the deadline."))
    nbformat.write(nb, path)
    third = accelkit_cli(root, "grade")
    said = " ".join(third.stdout.split())
    assert third.returncode == 0 and f"resuming: {len(students) - 1} of {len(students)}" in said
    assert (root / "logs" / f"autograde-{changed}.log").stat().st_mtime_ns != logs[changed]
    assert kernel_sandbox.remove_stale_private_folders() == [], "the killed batch's kernel " \
        "folders were left in /tmp"


def test_a_submission_past_its_time_limit_is_stopped_and_reported(tmp_path):
    """A solution cell that sleeps for a minute, stopped after 6 s while the kernel sleeps:
    reported "timed out", and nothing it started – nbgrader, the sandboxed kernel in a session
    of its own, grading workers – is left."""
    root, _ = course_with(tmp_path, students=("reference",))
    path = root / "submitted" / "reference" / course.ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    nb = nbformat.read(path, 4)
    cell = next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution"))
    cell.source += "\n\nimport time\ntime.sleep(60)  # still loading when the grader gives up"
    nbformat.write(nb, path)
    started = time.time()
    proc = accelkit_cli(root, "grade", "--timeout", "6")
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "TIMED OUT reference" in proc.stdout and "graded 0 of 1 submissions" in proc.stdout
    assert statuses(root)["reference"]["status"] == "timed out"
    left = []
    for p in psutil.process_iter(["cmdline", "create_time"]):
        command = " ".join(p.info["cmdline"] or [])
        if (p.info["create_time"] or 0) >= started - 1 and any(
                word in command for word in ("nbgrader", "ipykernel", "kernel_sandbox", "accelkit.grading")):
            left.append(p.pid)
    assert not all_gone(left, timeout=10), "a stopped submission left its grader running"
    assert kernel_sandbox.remove_stale_private_folders() == [], "the stopped kernel's folder " \
        "was left in /tmp"
