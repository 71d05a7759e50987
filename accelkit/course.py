"""Course plumbing for instructors: example submissions and the gradebook by function.

Example submissions are small files (``<notebook>/<student>.py``) that say which
solution cells differ from the instructor's solution (``CELLS``) and the score
each grade cell must get (``EXPECTED``). `build_submission` turns one into a real
notebook, starting from the student version in ``release/``.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader import utils

ASSIGNMENT = "acceleration"


@dataclass(frozen=True)
class Example:
    notebook: str          # e.g. "02_blocked_matmul"
    student: str           # e.g. "naive"
    doc: str
    cells: dict | None     # grade_id -> source; None = the release notebook untouched
    expected: dict         # grade_id -> points
    files: dict | None = None   # extra files submitted next to the notebook: name -> text
    edit: object = None         # optional function(nb) -> nb applied last (tampering)
    raw: str | None = None      # if set, the notebook file is exactly this text (malformed)
    needs_sandbox: bool = False  # it attacks the course folder: grade it only inside the sandbox
    calibration: str | None = None  # "naive": the slow side of the speed thresholds (calibrate)
    kernel_run: bool = False    # its tests read what happened in the student's kernel
    append: dict | None = None  # grade_id -> code added at the end of that solution cell
    core_only: bool = False     # only the core path's solution cells are filled in
    only: tuple | None = None   # the solution cells filled in; the others keep their stubs

    @property
    def role(self) -> str | None:
        """Its part in `accelkit calibrate`: "reference", "naive", or None."""
        return "reference" if self.student == "reference" else self.calibration


def load_examples(folder: Path) -> list:
    """Every example submission under `folder` (one sub-folder per notebook).

    An example may name another of its folder as ``BASE``: it then starts from that
    example's cells and replaces only its own ``CELLS``.
    """
    modules = {}
    for path in sorted(Path(folder).glob("*/*.py")):
        spec = importlib.util.spec_from_file_location(f"example_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules[(path.parent.name, path.stem)] = module

    def cells_of(notebook: str, module):
        base = getattr(module, "BASE", None)
        if base is None:
            return module.CELLS
        return {**cells_of(notebook, modules[(notebook, base)]), **(module.CELLS or {})}

    return [Example(notebook, student, (module.__doc__ or "").strip(), cells_of(notebook, module),
                    module.EXPECTED, getattr(module, "FILES", None), getattr(module, "EDIT", None),
                    getattr(module, "RAW", None), getattr(module, "NEEDS_SANDBOX", False),
                    getattr(module, "CALIBRATION", None),
                    getattr(module, "KERNEL_RUN", False) or student == "stub",
                    getattr(module, "APPEND", None), getattr(module, "CORE_ONLY", False),
                    getattr(module, "ONLY", None))
            for (notebook, student), module in modules.items()]


def solution_sources(nb) -> dict:
    return {c.metadata.nbgrader["grade_id"]: c.source for c in nb.cells
            if c.cell_type == "code" and utils.is_solution(c)}


def build_submission(root: Path, example: Example):
    """The example as a student notebook: release version + instructor solutions + its cells."""
    release = nbformat.read(root / "release" / ASSIGNMENT / f"{example.notebook}.ipynb", 4)
    if example.cells is None:
        return example.edit(release) if example.edit else release
    source = nbformat.read(root / "source" / ASSIGNMENT / f"{example.notebook}.ipynb", 4)
    answers = {**solution_sources(source), **example.cells}
    if example.core_only:  # the optional depth keeps the released stubs
        answers = {k: v for k, v in answers.items() if k in core_functions(source)}
    if example.only is not None:  # one section written, the rest as released
        answers = {k: v for k, v in answers.items() if k in example.only}
    unknown = set(example.cells) - set(solution_sources(source))
    if unknown:
        raise ValueError(f"{example.student}: no solution cell named {sorted(unknown)}")
    for cell in release.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and utils.is_solution(cell) and grade_id in answers:
            cell.source = answers[grade_id].strip("\n")
            if grade_id in (example.append or {}):
                cell.source += "\n\n" + example.append[grade_id].strip("\n")
    return example.edit(release) if example.edit else release


def place_examples(root: Path, examples: list, submitted: Path | None = None) -> list:
    """Write each example into submitted/<student>/acceleration/; returns the student ids."""
    submitted = Path(submitted or root / "submitted")
    students = []
    for example in examples:
        folder = submitted / example.student / ASSIGNMENT
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{example.notebook}.ipynb"
        if example.raw is not None:
            target.write_text(example.raw)
        else:
            nbformat.write(build_submission(root, example), target)
        for name, text in (example.files or {}).items():
            (folder / name).write_text(text)
        students.append(example.student)
    return sorted(set(students))


# nbgrader started through this: on Linux it dies with the process that started it (a killed
# Dask worker or `accelkit grade` leaves no grader behind), optionally on a set of CPUs, and
# then nbgrader replaces this process
_TRAMPOLINE = """import os, sys
if sys.platform.startswith("linux"):
    import ctypes, signal
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != {parent}:
        sys.exit("the process that started nbgrader has ended")
cpus = {cpus}
if cpus:
    os.sched_setaffinity(0, cpus)
os.execv(sys.executable, [sys.executable, "-m", "nbgrader", *sys.argv[1:]])
"""


def run_nbgrader(root: Path, *args: str, cpus: set | None = None,
                 timeout: float | None = None) -> subprocess.CompletedProcess:
    """`nbgrader ARGS` in course folder `root`, with this environment's bin/ first on PATH
    (nbgrader runs `alembic` from there when it creates a gradebook). cpus: run it, and every
    process it starts, on these CPUs only, with numba's and BLAS's threads sized to them (a
    grading lane). timeout: past it, nbgrader and its whole session are killed and
    `subprocess.TimeoutExpired` is raised (with what it printed)."""
    env = dict(os.environ, PATH=os.pathsep.join([os.path.dirname(sys.executable),
                                                 os.environ.get("PATH", "")]))
    if cpus:
        threads = str(len(cpus))
        env.update(NUMBA_NUM_THREADS=threads, OMP_NUM_THREADS=threads,
                   OPENBLAS_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    code = _TRAMPOLINE.format(parent=os.getpid(), cpus=sorted(cpus) if cpus else None)
    command = [sys.executable, "-c", code, *args]
    with subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, start_new_session=True) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except BaseException as stop:  # a timeout, or the caller interrupted
            _kill_tree(proc.pid)
            try:
                out, err = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:  # a process we could not reach holds the pipes
                out, err = "", ""
            from accelkit.grading import kernel_sandbox
            kernel_sandbox.remove_stale_private_folders()  # nbgrader had no time to
            if isinstance(stop, subprocess.TimeoutExpired):
                raise subprocess.TimeoutExpired(args, timeout, out, err) from None
            raise
    return subprocess.CompletedProcess(["nbgrader", *args], proc.returncode, out, err)


def _kill_tree(pid: int) -> None:
    """SIGKILL a process, its session and every process below it (a kernel runs in a session
    of its own, and its sandbox may be another uid)."""
    import psutil
    try:
        tree = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        tree = []
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    for process in tree:
        with contextlib.suppress(psutil.Error):
            process.kill()


def function_of(grade_id: str, functions=()) -> str:
    """test_matmul_blocked_speed -> matmul_blocked (grade ids are test_<function>_<aspect>).

    With the notebook's function names, the longest one the id starts with; otherwise the
    last ``_<aspect>`` is dropped."""
    if not grade_id.startswith("test_"):  # e.g. a manually graded answer cell
        return grade_id
    name = grade_id.removeprefix("test_")
    known = [f for f in functions if name.startswith(f + "_")]
    if known:
        return max(known, key=len)
    return name.rsplit("_", 1)[0] if "_" in name else name


def student_functions(root: Path) -> list:
    """Grade ids of every solution cell of the instructor notebooks: the student functions."""
    return [grade_id for path in sorted((root / "source" / ASSIGNMENT).glob("*.ipynb"))
            for grade_id in solution_sources(nbformat.read(path, 4))]


def core_functions(nb) -> list:
    """The solution cells on a notebook's core path (metadata accelkit.core of the instructor
    notebook: the 6–8 hours the module promises; the rest is optional depth)."""
    return nb.metadata.get("accelkit", {}).get("core", {}).get("functions", [])


def core_path(root: Path) -> dict:
    """{notebook: {"minutes": ..., "functions": [...]}} of the instructor notebooks."""
    return {path.stem: nbformat.read(path, 4).metadata.get("accelkit", {}).get("core", {})
            for path in sorted((root / "source" / ASSIGNMENT).glob("*.ipynb"))}


def lane_cpus(lanes: int) -> list:
    """The CPUs this process may use, split into `lanes` contiguous sets of nearly equal size:
    one per grading lane."""
    cpus = sorted(os.sched_getaffinity(0))
    if not 1 <= lanes <= len(cpus):
        raise ValueError(f"{lanes} grading lanes need a CPU each at least; this process may use "
                         f"{len(cpus)} ({', '.join(map(str, cpus))})")
    size, extra = divmod(len(cpus), lanes)
    sets, start = [], 0
    for lane in range(lanes):
        end = start + size + (lane < extra)
        sets.append(set(cpus[start:end]))
        start = end
    return sets


def share_sqlite(db_url: str) -> None:
    """Let several graders write one SQLite gradebook: write-ahead logging, so that a grader
    reading never blocks another one's short writes (a no-op for other databases)."""
    if db_url.startswith("sqlite:///"):
        import sqlite3
        with contextlib.closing(sqlite3.connect(db_url[len("sqlite:///"):])) as db:
            db.execute("PRAGMA journal_mode=WAL")


def register_students(db_url: str, students: list) -> None:
    """Every student of a batch in the gradebook before grading starts, so graders that write
    to one shared gradebook never race to insert the same student."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gradebook:
        for student in students:
            gradebook.update_or_create_student(student)


def cell_scores(db_url: str, student: str) -> dict:
    """{(notebook, grade_id): (score, max_score)} of a student's autograded submission."""
    from nbgrader.api import Gradebook

    from nbgrader.api import MissingEntry

    scores = {}
    with Gradebook(db_url) as gradebook:
        try:
            submission = gradebook.find_submission(ASSIGNMENT, student)
        except MissingEntry:
            return {}
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                scores[(notebook.name, grade.name)] = (grade.score, grade.max_score)
    return scores


def unmeasured_cells(files: dict) -> list:
    """"notebook: grade_id" of every test cell the grader could not measure (a busy machine:
    `checks.NotMeasured`) in autograded notebooks `files` ({name: bytes})."""
    found = []
    for name, data in sorted(files.items()):
        if name.endswith(".ipynb"):
            nb = nbformat.reads(data.decode(), 4)
            found += [f"{Path(name).stem}: {c.metadata.get('nbgrader', {}).get('grade_id')}"
                      for c in nb.cells
                      if any(o.get("ename") == "NotMeasured" for o in c.get("outputs", []))]
    return found


def not_measured(root: Path, student: str) -> list:
    """`unmeasured_cells` of a student's autograded submission in the course folder."""
    folder = Path(root) / "autograded" / student / ASSIGNMENT
    return unmeasured_cells({p.name: p.read_bytes() for p in sorted(folder.glob("*.ipynb"))})


def setting(root: Path, section: str, name: str, default):
    """c.<section>.<name> as the course's nbgrader_config.py sets it (`default` where it does
    not, or where the file cannot be read: nbgrader itself will say why)."""
    from traitlets.config.loader import PyFileConfigLoader
    try:
        config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    except Exception:  # noqa: BLE001 - no or broken config: nbgrader itself will say so
        return default
    return config[section].get(name, default)
