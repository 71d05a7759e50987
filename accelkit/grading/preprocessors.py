"""nbgrader preprocessors of the course (selected in nbgrader_config.py).

Autograde runs, in order: `ResilientExecute` (the student's cells in their kernel, as
nbgrader does, but inside the sandbox, without the test cells, and a dead kernel no
longer fails the whole notebook), then `TrustedGrade` (every test cell run in the
trusted grader, its outputs becoming the cell's), then nbgrader's own steps that read
the outputs into the gradebook.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import signal
import sys
import threading
import time

from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import DeadKernelError
from nbformat import v4
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import Execute, NbGraderPreprocessor, OverwriteCells
from traitlets import Enum, Float, Integer, List, Unicode

from accelkit.grading import calibration, kernel_sandbox, sandbox
from accelkit.grading.isolate import (DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S, remaining_budget,
                                      time_budget)
from accelkit.grading.session import GradingSession

MAX_KERNEL_OUTPUT_CHARS = 200_000  # per cell; the rest of a flood is dropped, not stored


def is_test_cell(cell) -> bool:
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


def solution_blocks(nb) -> list:
    """(label, source) of every solution code cell, in notebook order."""
    return [(f"cell {cell.metadata.nbgrader.get('grade_id', i)}", cell.source)
            for i, cell in enumerate(nb.cells)
            if cell.cell_type == "code" and utils.is_solution(cell)]


SETUP_CELL_IDS = ["setup"]  # grade_ids of the read-only setup cells
SKIPPED_NOTE = ("(Not run when grading: this cell grades nothing. Its output – your own "
                "measurements – is in the notebook you submitted.)")


def _note(text: str):
    return v4.new_output("stream", name="stdout", text=text + "\n")


def _error(ename: str, text: str):
    return v4.new_output("error", ename=ename, evalue=text, traceback=[f"{ename}: {text}"])


class FolderWatch:
    """Stops a sandboxed kernel whose private folder grows (`with FolderWatch(path, stop)`).

    That folder, on the grader's own disk, is the one place the kernel can write outside its
    size-limited tmpfs: its connection file and unix sockets live there (a few KiB). The
    sandbox bounds each file (RLIMIT_FSIZE), not their number, so it is looked at every
    INTERVAL_S and the kernel is stopped past MAX_BYTES or MAX_ENTRIES; what it wrote by then
    goes with the folder when the run ends."""

    MAX_BYTES, MAX_ENTRIES, INTERVAL_S = 4 << 20, 64, 0.05

    def __init__(self, folder: str, stop):
        self.folder, self.stop, self.tripped = folder, stop, ""
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="accelkit-folder-watch",
                                        daemon=True)

    def usage(self) -> tuple:
        """(bytes on disk, entries) under the folder, counted up to just past the limits."""
        used, entries, pending = 0, 0, [self.folder]
        while pending and entries <= self.MAX_ENTRIES and used <= self.MAX_BYTES:
            with contextlib.suppress(OSError), os.scandir(pending.pop()) as listing:
                for entry in listing:
                    entries += 1
                    with contextlib.suppress(OSError):
                        info = entry.stat(follow_symlinks=False)
                        used += info.st_blocks * 512
                        if entry.is_dir(follow_symlinks=False):
                            pending.append(entry.path)
        return used, entries

    def _run(self) -> None:
        while not self._done.wait(self.INTERVAL_S):
            used, entries = self.usage()
            if used > self.MAX_BYTES or entries > self.MAX_ENTRIES:
                self.tripped = (f"it wrote more than {self.MAX_BYTES >> 20} MiB or "
                                f"{self.MAX_ENTRIES} files into the folder of its sockets "
                                f"({used >> 20} MiB, {entries} entries seen)")
                self.stop()
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()


class SandboxedKernelManager(AsyncKernelManager):
    """Starts the kernel through `accelkit.grading.kernel_sandbox`, talking over unix sockets
    (the kernel has no network) in a private folder the sandboxed user owns."""

    sandbox_uid: int | None = None

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        # -I: a file named accelkit.py next to the notebook must not replace the wrapper
        return [sys.executable, "-I", "-m", "accelkit.grading.kernel_sandbox", *cmd]

    def write_connection_file(self, **kwargs):
        """The kernel, running as the sandbox uid, must be able to read it (mode 600)."""
        result = super().write_connection_file(**kwargs)
        if self.sandbox_uid is not None:  # None: a user namespace, as this user
            os.chown(self.connection_file, self.sandbox_uid, self.sandbox_uid)
        return result


class ResilientExecute(Execute):
    """nbgrader's Execute, in the sandbox, skipping test cells; a kernel that dies only stops
    the kernel run.

    Grades come from `TrustedGrade`, which does not need the kernel, so a segfault or
    ``os._exit`` in a student's cell costs only what it broke.
    """

    memory_mb = Integer(DEFAULT_MEMORY_MB, help="Memory limit of the kernel (MiB)").tag(config=True)
    teaching_cells = Enum(["skip", "run"], "skip", help=(
        "The notebook's other code cells (teaching text's measurements, try-it cells, the "
        "student's own): 'skip' runs only the setup and solution cells and leaves each skipped "
        "cell a note (they grade nothing; their figures are the student's own, in the "
        "submitted notebook); 'run' runs every cell but the tests")).tag(config=True)

    run_budget = Float(60.0, help=(
        "Wall-clock seconds the kernel run of one notebook may take (it grades nothing): a "
        "cell is given at most what is left of it, and cells that would start after it ran "
        "out keep a note instead; 0: no limit")).tag(config=True)

    def _cell_timeout(self, cell) -> int:
        """nbclient's per-cell timeout: Execute.timeout, or what is left of the run's budget."""
        if self._deadline is None:
            return self.timeout
        return max(1, min(self.timeout, math.ceil(self._deadline - time.monotonic())))

    def preprocess(self, nb, resources=None, km=None):
        self._deadline = time.monotonic() + self.run_budget if self.run_budget else None
        self.timeout_func = self._cell_timeout
        self._dead = None
        self._flooded: set = set()
        self._private = None
        policy, warning = sandbox.Sandbox(config=self.config).policy(self.memory_mb)
        if warning:
            self.log.warning("!" * 20 + " kernel: " + warning)
        if not sandbox.confined(policy):
            return self._run_kernel(nb, resources, km)
        kernel_sandbox.remove_stale_private_folders()
        private = kernel_sandbox.private_folder()
        if policy.get("uid") is not None:
            os.chown(private, policy["uid"], policy["uid"])
        # the kernel works in a private copy of the submission's folder (`sandbox.apply`);
        # only its private folder (connection file, sockets) is shared with this process
        settings = {"policy": sandbox.with_writable(policy, private), "private": private}
        self.kernel_manager_class = SandboxedKernelManager
        os.environ[kernel_sandbox.ENV] = json.dumps(settings)
        self._private, self._uid = private, policy.get("uid")
        watch = FolderWatch(private, self._kill_kernel)
        try:
            with watch:
                nb, resources = self._run_kernel(nb, resources, km)
            if watch.tripped:
                self.log.warning("The kernel was stopped: %s", watch.tripped)
                code = [c for c in nb.cells if c.cell_type == "code"]
                if code:
                    code[0].outputs.append(_note(f"The kernel was stopped: {watch.tripped}; the "
                                                 "cells after that were not run, but every test "
                                                 "was graded."))
            return nb, resources
        finally:
            os.environ.pop(kernel_sandbox.ENV, None)
            sandbox.kill_all(policy.get("uid"))
            shutil.rmtree(private, ignore_errors=True)

    def _kill_kernel(self) -> None:
        """End the kernel now (its sandbox's PID namespace ends with the process started)."""
        pid = getattr(getattr(getattr(self, "km", None), "provisioner", None), "pid", None)
        if pid:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    START_ATTEMPTS = 2  # a kernel that dies before its first reply ran no student code yet
    _private = None     # the sandboxed kernel's private folder, while it runs
    _deadline = None    # time.monotonic() when the run's budget ends

    def _run_kernel(self, nb, resources, km):
        """Execute; a kernel that cannot start or dies leaves notes, and grading goes on. A
        kernel that dies while starting (before it replies to kernel_info, so before any cell
        ran: seen now and then as a libzmq assertion) is started once more."""
        for attempt in range(1, self.START_ATTEMPTS + 1):
            started = time.perf_counter()
            try:
                nb, resources = super().preprocess(nb, resources, km)
                self.log.info("The kernel run took %.1f s", time.perf_counter() - started)
                return nb, resources
            except Exception as err:  # noqa: BLE001 - e.g. "Kernel died before replying"
                failure = err
            if "before replying to kernel_info" not in str(failure):
                break
            if attempt < self.START_ATTEMPTS:
                self.log.warning("The notebook's kernel died while starting (%s); starting it "
                                 "again", failure)
                if self._private:  # the dead kernel's sockets and connection file
                    for name in os.listdir(self._private):
                        with contextlib.suppress(OSError):
                            os.unlink(os.path.join(self._private, name))
        self.log.warning("The notebook's kernel failed: %s", failure)
        code = [c for c in nb.cells if c.cell_type == "code"]
        if code:
            code[0].outputs.append(_note(f"The kernel failed ({failure}); the notebook was not "
                                         "run, but its tests were graded."))
        return nb, resources

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if isinstance(km, SandboxedKernelManager):
            km.transport = "ipc"
            km.ip = os.path.join(self._private, "kernel")
            km.connection_file = os.path.join(self._private, "kernel.json")
            km.sandbox_uid = self._uid
        return km

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if is_test_cell(cell):
            # Test cells (hidden parts restored) never run in the student's kernel: code
            # there could read or print their source, and `TrustedGrade` gives them their
            # outputs. Only the student's own cells run here, for the feedback.
            cell.outputs = []
            return cell, resources
        if self._dead is not None:
            cell.outputs = [_note(f"Not run: the kernel died in cell {self._dead}.")]
            return cell, resources
        if self._deadline is not None and time.monotonic() >= self._deadline:
            cell.outputs = [_note(f"Not run: the kernel run's time budget ({self.run_budget:g} s)"
                                  " ran out in the cells above; every test was still graded.")]
            return cell, resources
        setup_ids = self.config.TrustedGrade.get("setup_cell_ids", SETUP_CELL_IDS)  # one setting
        if self.teaching_cells == "skip" and not utils.is_solution(cell) \
                and cell.metadata.get("nbgrader", {}).get("grade_id") not in setup_ids:
            cell.outputs, cell.execution_count = [_note(SKIPPED_NOTE)], None
            return cell, resources
        started = time.perf_counter()
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError as err:
            self._dead = index
            self.log.warning("Kernel died in cell %s: %s", index, err)
            cell.outputs.append(v4.new_output(
                "error", ename="DeadKernelError", evalue=str(err),
                traceback=[f"DeadKernelError: the kernel died while running this cell ({err})"]))
            return cell, resources
        finally:
            took = time.perf_counter() - started
            if took >= self.SLOW_CELL_S:  # where a notebook's kernel run spends its time
                self.log.info("kernel: cell %s took %.1f s", index, took)

    SLOW_CELL_S = 2.0

    def output(self, outs, msg, display_id, cell_index):
        """Keep at most MAX_KERNEL_OUTPUT_CHARS of a cell's printed text in memory."""
        if msg["msg_type"] == "stream":
            size = sum(len(o.get("text", "")) for o in outs if o.get("output_type") == "stream")
            if size > MAX_KERNEL_OUTPUT_CHARS:
                if cell_index not in self._flooded:
                    self._flooded.add(cell_index)
                    return _note("... (output limit reached: the rest of this cell's output "
                                 "was dropped)")
                return None
        return super().output(outs, msg, display_id, cell_index)


class RobustOverwriteCells(OverwriteCells):
    """nbgrader's OverwriteCells, except that a cell left with nbgrader metadata but no grade
    id (a duplicated or unknown id) becomes a plain cell: nbgrader would otherwise fail the
    whole submission when it restores deleted cells."""

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        if "grade_id" not in cell.get("metadata", {}).get("nbgrader", {"grade_id": None}):
            del cell.metadata["nbgrader"]
        return cell, resources


class ClearGraderMetadata(NbGraderPreprocessor):
    """The student version drops the notebook's `accelkit` metadata: the measured margins
    there name hidden tiers and sizes. The instructor's notebook keeps them."""

    def preprocess(self, nb, resources):
        nb.metadata.pop("accelkit", None)
        return nb, resources


class TrustedGrade(NbGraderPreprocessor):
    """Re-run every test cell in the trusted grader; its outputs decide the grade."""

    memory_mb = Integer(DEFAULT_MEMORY_MB, help="Memory limit of a worker process (MiB)"
                        ).tag(config=True)
    call_timeout = Float(DEFAULT_TIMEOUT_S, help="Wall-clock limit of one call into student code (s)"
                         ).tag(config=True)
    setup_cell_ids = List(Unicode(), SETUP_CELL_IDS, help=(
        "grade_ids of read-only setup cells. Their instructor version (from the gradebook) runs "
        "before the solution cells in the worker, and defines the test cells' namespace."
    )).tag(config=True)

    cell_budget = Float(90.0, help=(
        "Wall-clock seconds one test cell may take (its calls into the student's and the "
        "baseline workers end by then); 0: no limit")).tag(config=True)
    notebook_budget = Float(180.0, help=(
        "Wall-clock seconds the trusted grading of one notebook may take; test cells that "
        "start after that score 0 with a note; 0: no limit")).tag(config=True)

    calibration = Enum(["warn", "required", "off"], "warn", help=(
        "Without a calibration of this machine whose thresholds fit (`accelkit calibrate`): "
        "warn in the log, refuse to grade (required), or say nothing (off)")).tag(config=True)

    def check_calibration(self) -> None:
        if self.calibration == "off":
            return
        root = self.config.CourseDirectory.get("root") or os.getcwd()
        problem = calibration.check(root)
        if problem and self.calibration == "required":
            raise RuntimeError(f"not graded: {problem} (TrustedGrade.calibration = 'required')")
        if problem:
            self.log.warning("!" * 20 + " speed grades unreliable: " + problem)

    def trusted_setup(self, resources) -> str:
        """The setup cells as the instructor wrote them, never as submitted."""
        info = resources["nbgrader"]
        sources = []
        with Gradebook(info["db_url"]) as gradebook:
            for grade_id in self.setup_cell_ids:
                try:
                    cell = gradebook.find_source_cell(grade_id, info["notebook"], info["assignment"])
                except MissingEntry:
                    continue
                sources.append(cell.source)
        return "\n".join(sources)

    def preprocess(self, nb, resources):
        started = time.perf_counter()
        self.check_calibration()
        setup = self.trusted_setup(resources)
        policy, warning = sandbox.Sandbox(config=self.config).policy(self.memory_mb)
        if warning:
            self.log.warning("!" * 20 + " grader: " + warning)
        else:
            self.log.info(sandbox.describe(policy))
        self.log.info("grading on CPU %s", ", ".join(map(str, sorted(os.sched_getaffinity(0)))))
        budget = f"the notebook's grading time ({self.notebook_budget:g} s)"
        with time_budget(self.notebook_budget, budget), GradingSession(
                solution_blocks(nb), setup, self.memory_mb, self.call_timeout, policy) as session:
            nb.metadata.pop("accelkit", None)  # only the grader writes it
            if session.flagged:
                nb.metadata["accelkit"] = {"flagged": session.flagged}
                for label, found in session.flagged.items():
                    self.log.warning("!" * 20 + " flagged for review: %s of %s uses %s (not run)",
                                     label, resources["nbgrader"]["notebook"], ", ".join(found))
            for cell in nb.cells:
                cell.metadata.pop("accelkit", None)  # only the grader writes it
                if is_test_cell(cell) and remaining_budget()[0] <= 0:
                    cell.outputs = [_error("TimeBudgetExceeded", f"not graded: {budget} ran out "
                                           "before this test cell (slow kernels in the cells "
                                           "above took it)")]
                elif is_test_cell(cell):
                    t0 = time.perf_counter()
                    cell.outputs = session.run_cell(cell.source, self.cell_budget)
                    if session.measured:  # the speed measurements, for `accelkit calibrate`
                        cell.metadata["accelkit"] = {"measured": session.measured}
                    failed = any(o.output_type == "error" for o in cell.outputs)
                    if any(o.get("ename") == "NotMeasured" for o in cell.outputs):
                        self.log.warning("!" * 20 + " %s not measured: the machine was busy; "
                                         "regrade this submission", cell.metadata.nbgrader["grade_id"])
                    self.log.info("%-40s %s (%.1f s)", cell.metadata.nbgrader["grade_id"],
                                  "failed" if failed else "ran", time.perf_counter() - t0)
        self.log.info("Trusted grading took %.1f s", time.perf_counter() - started)
        return nb, resources
