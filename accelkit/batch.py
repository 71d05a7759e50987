"""Grading a batch of submissions on Dask distributed (`accelkit grade`).

Every submission is one task for a grading lane: a Dask worker that declares the resource
``lane=1`` and runs one task at a time, so timings never overlap inside a lane. The task
carries the submission and the course's material (source/, release/, nbgrader_config.py,
calibration.json), autogrades it with nbgrader in a scratch course on the worker against the
course's gradebook, and returns the autograded notebooks and nbgrader's log, which the client
writes into the course folder. Without a scheduler the cluster is a `LocalCluster` of lanes,
each pinned to its own CPUs; with one (``--scheduler tcp://HOST:8786``) the workers are
wherever the instructor started them (`dask worker`, `dask-jobqueue`).

Each submission ends with a status – graded, not measured (a busy machine), failed with a
reason, or timed out – kept in logs/batch.json after every result, so a restarted batch
grades only what is missing, changed or not graded.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from accelkit import course

LANE = "lane"                    # the Dask worker resource of a grading lane
STATUS_FILE = Path("logs") / "batch.json"
MATERIAL = ("source", "release", "nbgrader_config.py", "calibration.json")
SCRATCH = ".grading"             # scratch courses of a local cluster, inside the course folder
GRADED, NOT_MEASURED, FAILED, TIMED_OUT = "graded", "not measured", "failed", "timed out"
ERROR_LINE = "There was an error processing assignment"


@dataclass
class Outcome:
    """How one submission's grading ended, and what it produced."""
    student: str
    status: str
    reason: str = ""
    seconds: float = 0.0
    lane: str = ""
    digest: str = ""
    files: dict = field(default_factory=dict, repr=False)  # autograded/<student>/ relpath -> bytes
    log: str = field(default="", repr=False)


def folder_files(folder: Path) -> dict:
    """{relative path: bytes} of every file under `folder` (caches and checkpoints left out)."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not {"__pycache__", ".ipynb_checkpoints"} & set(p.parts)}


def digest(files: dict) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return h.hexdigest()


def course_material(root: Path) -> dict:
    """What a worker needs of the course to autograde: {relative path: bytes}."""
    material = {}
    for name in MATERIAL:
        path = Path(root) / name
        if path.is_dir():
            material.update({f"{name}/{k}": v for k, v in folder_files(path).items()})
        elif path.is_file():
            material[name] = path.read_bytes()
    return material


def engine_digest() -> str:
    """A fingerprint of the installed engine's code: a worker must grade with the same one."""
    package = Path(__file__).resolve().parent
    return digest({str(p.relative_to(package)): p.read_bytes()
                   for p in sorted(package.rglob("*.py"))})


def submission_timeout(root: Path) -> float:
    """c.AccelkitGrade.submission_timeout, else the budgets' worst case for every notebook
    (kernel run + trusted grading + a minute for nbgrader itself) and two minutes more."""
    configured = course.setting(root, "AccelkitGrade", "submission_timeout", None)
    if configured:
        return float(configured)
    notebooks = len(list((Path(root) / "source" / course.ASSIGNMENT).glob("*.ipynb")))
    per_notebook = (float(course.setting(root, "ResilientExecute", "run_budget", 60))
                    + float(course.setting(root, "TrustedGrade", "notebook_budget", 180)) + 60)
    return notebooks * per_notebook + 120


def _write_files(folder: Path, files: dict) -> None:
    for name, data in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _this_lane(lanes: dict) -> tuple:
    """(CPUs, name) of the Dask worker running this task: a local lane's own CPU set, or for
    a worker started elsewhere the CPUs it was started on (e.g. under `taskset`)."""
    from distributed import get_worker
    worker = get_worker()
    if worker.name in lanes:
        number = int(worker.name) + 1
        cpus = set(lanes[worker.name])
        return cpus, f"lane {number} (CPU {', '.join(map(str, sorted(cpus)))})"
    cpus = os.sched_getaffinity(0)
    return cpus, f"worker {worker.name} (CPU {', '.join(map(str, sorted(cpus)))})"


def grade_on_lane(student: str, submission: dict, material: dict, db_url: str, engine: str,
                  timeout_s: float, lanes: dict, shared_root: str | None,
                  extra_args: tuple = ()) -> Outcome:
    """Autograde one submission on this Dask worker (a grading lane) and return the result.

    The scratch course lies inside the course folder when the worker shares it (a local
    cluster: the sandbox then hides the whole course folder), else in the worker's temporary
    folder. Its gradebook is the course's (`db_url`)."""
    started = time.monotonic()
    if engine != engine_digest():
        return Outcome(student, FAILED, "this worker's accelkit differs from the client's: "
                       "install the same version of the course package on every worker")
    cpus, lane = _this_lane(lanes)
    if shared_root:
        (Path(shared_root) / SCRATCH).mkdir(exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"{student}-", dir=(
        Path(shared_root) / SCRATCH if shared_root else None)))
    try:
        _write_files(scratch, material)
        _write_files(scratch / "submitted" / student / course.ASSIGNMENT, submission)
        with open(scratch / "nbgrader_config.py", "a") as config:
            config.write(f"\n# accelkit grade: this scratch course grades into the course's gradebook\n"
                         f"c.CourseDirectory.db_url = {db_url!r}\n")
            if shared_root:
                config.write(f"c.Sandbox.course_root = {str(shared_root)!r}\n")
        try:
            proc = course.run_nbgrader(scratch, "autograde", course.ASSIGNMENT, "--student",
                                       student, "--force", *extra_args, cpus=cpus,
                                       timeout=timeout_s)
        except subprocess.TimeoutExpired as expired:
            log = expired.stderr.decode(errors="replace") if isinstance(expired.stderr, bytes) \
                else (expired.stderr or "")
            return Outcome(student, TIMED_OUT, f"still grading after {timeout_s:g} s: stopped",
                           time.monotonic() - started, lane, log=log)
        graded = scratch / "autograded" / student / course.ASSIGNMENT
        status, reason = classify(proc)
        return Outcome(student, status, reason, time.monotonic() - started, lane,
                       files=folder_files(graded), log=proc.stderr)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def classify(proc: subprocess.CompletedProcess) -> tuple:
    """(status, reason) of one `nbgrader autograde` of one submission."""
    from accelkit.grading import sandbox
    if sandbox.REFUSAL[:40] in proc.stderr:
        return FAILED, "not graded: no sandbox on this machine (see the message above)"
    if proc.returncode != 0 or ERROR_LINE in proc.stderr:
        errors = [line for line in proc.stderr.splitlines() if "| ERROR]" in line]
        return FAILED, "\n".join(errors[-3:]) or proc.stderr[-500:]
    return GRADED, ""


class Batch:
    """The statuses of a course's batch (logs/batch.json), saved after every result. A status
    holds while the course material, the engine and the gradebook stay the same."""

    def __init__(self, root: Path, key: str):
        self.path = Path(root) / STATUS_FILE
        self.key = key
        try:
            saved = json.loads(self.path.read_text())
        except (OSError, ValueError):
            saved = {}
        self.statuses = saved.get("submissions", {}) if saved.get("key") == key else {}

    def done(self, student: str, submission_digest: str) -> bool:
        entry = self.statuses.get(student, {})
        return entry.get("status") == GRADED and entry.get("digest") == submission_digest

    def record(self, outcome: Outcome) -> None:
        entry = {k: v for k, v in asdict(outcome).items() if k not in ("files", "log", "student")}
        self.statuses[outcome.student] = entry
        self.path.parent.mkdir(exist_ok=True)
        partial = self.path.with_suffix(".json.partial")
        partial.write_text(json.dumps({"key": self.key, "submissions": self.statuses}, indent=1))
        partial.replace(self.path)


def batch_key(root: Path, material: dict, db_url: str) -> str:
    return digest({"material": digest(material).encode(), "engine": engine_digest().encode(),
                   "gradebook": db_url.encode()})


def graded_students(db_url: str) -> set:
    """Students with a submission of the assignment in the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry
    with Gradebook(db_url) as gradebook:
        try:
            return {s.student.id for s in gradebook.find_assignment(course.ASSIGNMENT).submissions}
        except MissingEntry:
            return set()


@contextlib.contextmanager
def cluster(scheduler: str | None, lanes: int, cpu_sets: list):
    """(Dask client, {worker name: CPUs}, shared course folder?) for a batch: a LocalCluster
    of `lanes` one-thread workers (named 0, 1, ...) without a scheduler, else a client of it."""
    import logging

    from distributed import Client, LocalCluster

    if scheduler is None:
        with LocalCluster(n_workers=lanes, threads_per_worker=1, processes=True,
                          resources={LANE: 1}, dashboard_address=":0", memory_limit=0,
                          silence_logs=logging.ERROR) as local, Client(local) as client:
            names = {n: sorted(cpus) for n, cpus in enumerate(cpu_sets) if cpus}
            yield client, names, True
        return
    target = ({"scheduler_file": scheduler} if scheduler.endswith(".json")
              else {"address": scheduler})
    with Client(**target, timeout="30s") as client:
        yield client, {}, False


def lane_workers(client) -> list:
    """Addresses of the workers that declare the grading-lane resource."""
    return [address for address, info in client.scheduler_info()["workers"].items()
            if info.get("resources", {}).get(LANE, 0) >= 1]


def write_back(root: Path, outcome: Outcome) -> None:
    """The autograded notebooks and nbgrader's log of one submission into the course folder."""
    graded = Path(root) / "autograded" / outcome.student / course.ASSIGNMENT
    if outcome.files:
        shutil.rmtree(graded, ignore_errors=True)
        _write_files(graded, outcome.files)
    logs = Path(root) / "logs"
    logs.mkdir(exist_ok=True)
    (logs / f"autograde-{outcome.student}.log").write_text(outcome.log)


def grade(root: Path, students: list, db_url: str, *, lanes: int = 1, cpu_sets=None,
          scheduler: str | None = None, force: bool = False, timeout_s: float | None = None,
          extra_args: tuple = (), report=print, on_result=None, on_running=None) -> tuple:
    """Grade `students`' submissions: ({student: Outcome} of this run, {student: saved status}
    of all of them, from logs/batch.json). A busy machine's "not measured" submissions get one
    more try at the end. `report(text)` says what happens; `on_result(outcome)` is called
    after each result is saved, `on_running({lane: student})` about once a second."""
    root = Path(root)
    material = course_material(root)
    run = _Run(root, db_url, Batch(root, batch_key(root, material, db_url)),
               {s: folder_files(root / "submitted" / s / course.ASSIGNMENT) for s in students},
               timeout_s or submission_timeout(root), tuple(extra_args), on_result, on_running)
    in_gradebook = graded_students(db_url)
    todo = [s for s in students if force or not run.batch.done(s, digest(run.submissions[s]))
            or s not in in_gradebook or not (root / "autograded" / s).is_dir()]
    if len(todo) < len(students):
        report(f"resuming: {len(students) - len(todo)} of {len(students)} submissions are "
               f"graded already ({STATUS_FILE}); grading {len(todo)}")
    if todo:
        with cluster(scheduler, lanes, cpu_sets or [None]) as (client, names, shared):
            if scheduler is not None:
                workers = lane_workers(client)
                if not workers:
                    raise RuntimeError(
                        f"no worker of {scheduler} declares the resource {LANE}=1: start each "
                        f"grading lane as `dask worker {scheduler} --nthreads 1 --resources "
                        f"{LANE}=1`")
                report(f"grading on {len(workers)} lane(s) of {scheduler}")
            run.on(client, names, shared, material)
            retry = run.round(todo)
            if retry:
                report(f"regrading {', '.join(retry)}: the machine was busy during a speed test")
                run.round(retry)
    return run.outcomes, {s: run.batch.statuses.get(s, {"status": FAILED, "reason": "not graded"})
                          for s in students}


@dataclass
class _Run:
    """One `grade` call: what it grades with, and what it got."""
    root: Path
    db_url: str
    batch: Batch
    submissions: dict
    timeout_s: float
    extra_args: tuple
    on_result: object
    on_running: object
    outcomes: dict = field(default_factory=dict)

    def on(self, client, names: dict, shared: bool, material: dict) -> None:
        self.client, self.names, self.shared = client, names, shared
        # a task, not scattered data: when the worker holding it dies, Dask computes it again
        self.material = client.submit(dict, material, key=f"course-material-{digest(material)}")

    def round(self, students: list) -> list:
        """Grade `students` on the cluster; those not measured (a busy machine)."""
        from distributed import wait

        engine = engine_digest()
        futures = {self.client.submit(
            grade_on_lane, s, self.submissions[s], self.material, self.db_url, engine,
            self.timeout_s, self.names, str(self.root) if self.shared else None,
            self.extra_args, resources={LANE: 1}, pure=False,
            key=f"grade-{s}-{os.urandom(4).hex()}"): s for s in students}
        unmeasured = []
        pending = dict(futures)
        while pending:
            try:
                done, _ = wait(list(pending), timeout=1, return_when="FIRST_COMPLETED")
            except TimeoutError:
                done = set()
            if self.on_running:
                self.on_running(self.running(pending))
            for future in done:
                student = pending.pop(future)
                unmeasured += self.finish(student, future)
        return unmeasured

    def running(self, pending: dict) -> dict:
        """{lane: student} of the submissions being graded now."""
        keys = {f.key: s for f, s in pending.items()}
        names = {a: w.get("name") for a, w in self.client.scheduler_info()["workers"].items()}
        now = {}
        for address, tasks in self.client.processing().items():
            for key in tasks:
                if key in keys:
                    name = names.get(address, address)
                    lane = f"lane {int(name) + 1}" if name in self.names else str(name)
                    now[lane] = keys[key]
        return dict(sorted(now.items()))

    def finish(self, student: str, future) -> list:
        """Save one submission's result; [student] if the grader could not measure it."""
        from distributed.scheduler import KilledWorker

        try:
            outcome = future.result()
        except KilledWorker as err:
            outcome = Outcome(student, FAILED, "the Dask workers grading it died again and "
                              f"again ({err}); see the workers' logs")
        except Exception as err:  # noqa: BLE001 - one submission, not the batch
            outcome = Outcome(student, FAILED,
                              f"the grader could not run: {type(err).__name__}: {err}")
        outcome.digest = digest(self.submissions[student])
        cells = course.unmeasured_cells(outcome.files) if outcome.status == GRADED else []
        if cells:
            outcome.status, outcome.reason = NOT_MEASURED, ", ".join(cells)
        write_back(self.root, outcome)
        self.batch.record(outcome)
        self.outcomes[student] = outcome
        if self.on_result:
            self.on_result(outcome)
        return [student] if cells else []
