"""nbgrader preprocessors of the course (selected in nbgrader_config.py).

Autograde runs, in order: `ResilientExecute` (the notebook in its kernel, as
nbgrader always does, but a dead kernel no longer fails the whole notebook),
then `TrustedGrade` (every test cell re-run in the trusted grader, its outputs
replacing what the student's kernel printed), then nbgrader's own steps that
read the outputs into the gradebook.
"""
from __future__ import annotations

import time

from nbclient.exceptions import DeadKernelError
from nbformat import v4
from nbgrader import utils
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from nbgrader.api import Gradebook, MissingEntry
from traitlets import Float, Integer, List, Unicode

from accelkit.isolate import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S
from accelkit.session import GradingSession


def is_test_cell(cell) -> bool:
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


def solution_blocks(nb) -> list:
    """(label, source) of every solution code cell, in notebook order."""
    return [(f"cell {cell.metadata.nbgrader.get('grade_id', i)}", cell.source)
            for i, cell in enumerate(nb.cells)
            if cell.cell_type == "code" and utils.is_solution(cell)]


class ResilientExecute(Execute):
    """nbgrader's Execute, except that a kernel that dies only stops the kernel run.

    Grades come from `TrustedGrade`, which does not need the kernel, so a
    segfault or ``os._exit`` in a student's cell costs only what it broke.
    """

    def preprocess(self, nb, resources=None, km=None):
        self._dead = None
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self._dead is not None:
            cell.outputs = [_note(f"Not run: the kernel died in cell {self._dead}.")]
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError as err:
            self._dead = index
            self.log.warning("Kernel died in cell %s: %s", index, err)
            cell.outputs.append(v4.new_output(
                "error", ename="DeadKernelError", evalue=str(err),
                traceback=[f"DeadKernelError: the kernel died while running this cell ({err})"]))
            return cell, resources


def _note(text: str):
    return v4.new_output("stream", name="stdout", text=text + "\n")


class TrustedGrade(NbGraderPreprocessor):
    """Re-run every test cell in the trusted grader; its outputs decide the grade."""

    memory_mb = Integer(DEFAULT_MEMORY_MB, help="Memory limit of a worker process (MiB)"
                        ).tag(config=True)
    call_timeout = Float(DEFAULT_TIMEOUT_S, help="Wall-clock limit of one call into student code (s)"
                         ).tag(config=True)

    setup_cell_ids = List(Unicode(), ["setup"], help=(
        "grade_ids of read-only setup cells. Their instructor version (from the gradebook) runs "
        "before the solution cells in the worker, and defines the test cells' namespace."
    )).tag(config=True)

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
        setup = self.trusted_setup(resources)
        with GradingSession(solution_blocks(nb), setup, self.memory_mb,
                            self.call_timeout) as session:
            for cell in nb.cells:
                if is_test_cell(cell):
                    t0 = time.perf_counter()
                    cell.outputs = session.run_cell(cell.source)
                    failed = any(o.output_type == "error" for o in cell.outputs)
                    self.log.info("%-40s %s (%.1f s)", cell.metadata.nbgrader["grade_id"],
                                  "failed" if failed else "ran", time.perf_counter() - t0)
        self.log.info("Trusted grading took %.1f s", time.perf_counter() - started)
        return nb, resources
