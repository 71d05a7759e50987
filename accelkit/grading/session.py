"""Runs a notebook's test cells in the trusted grader process.

The test cells come from the instructor's notebook (nbgrader's OverwriteCells
has already restored them), so running them here is safe. The student's
solution cells run only in an isolated worker; the names they define are bound
here to `RemoteFunction` proxies. Outputs are built the way nbgrader reads
them: an error output scores 0, a trailing plain float is partial credit. Charts
that checks show (`accelkit.grading.plots`) become display_data outputs between the printed
text; nbgrader's grading skips those, so they never change a score.
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import io
import traceback

import nbformat
import numpy as np
from threadpoolctl import threadpool_limits

from accelkit.grading import analysis, plots, timing
from accelkit.exercises import checks
from accelkit.grading.isolate import (DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S, IsolationError,
                                      StudentError, Worker, time_budget)
from accelkit.grading.targets import RemoteFunction
from accelkit.grading.worker import PREAMBLE

MAX_PRINTED_CHARS = 20_000
TRUSTED_PACKAGES = ("accelkit.exercises", "accelkit.student")  # what the baseline worker runs
_BUILTIN_NAMES = frozenset(vars(builtins))


class MissingFunction:
    """Stands in for a function whose solution cell failed to run."""

    def __init__(self, name: str, error: dict):
        self.__name__ = self.name = name
        self.error = error

    def __call__(self, *args, **kwargs):
        raise NameError(f"{self.name} is not defined because its cell failed to run: "
                        f"{self.error['type']}: {self.error['message']}")

    call = runner = __call__


class GradingSession:
    """Trusted side of grading one notebook: a student worker, a baseline worker, test cells."""

    def __init__(self, blocks: list, setup: str = PREAMBLE, memory_mb: int = DEFAULT_MEMORY_MB,
                 timeout: float = DEFAULT_TIMEOUT_S, policy: dict | None = None):
        """blocks: (label, source) of the solution cells; setup: the instructor's setup code,
        run before them in the worker and as the test cells' namespace here; policy: the
        sandbox of the student workers (`accelkit.grading.sandbox.policy`), default: limits only."""
        checks.IN_TRUSTED_GRADER = True  # checks never defer to "the grader": this is it
        self.blocks = blocks
        self.setup = setup or PREAMBLE
        self.timeout = timeout
        # solution cells that reach for the engine's internals: not run, flagged for review
        self.flagged = {label: found for label, source in blocks
                        if (found := analysis.import_bypasses(source))}
        self.student = Worker(("load_source", [_guarded(b, self.flagged) for b in blocks],
                               self.setup), memory_mb, label="student", policy=policy)
        self.trusted = Worker(("load_module", *TRUSTED_PACKAGES), memory_mb, label="baseline")
        self._baselines: dict = {}
        self.sources = {**analysis.functions_in_blocks(blocks),
                        analysis.MODULE_LEVEL: analysis.module_level_code(blocks)}
        self.namespace: dict | None = None
        self.load_errors: list = []
        self.measured: list = []  # the timing comparisons of the last test cell run

    def __enter__(self):
        # The grader's own BLAS (expected results) stays on one thread: idle helper threads
        # spin for a while after each call, taking a core from a timed kernel and the canary.
        self._blas = threadpool_limits(limits=1)
        return self

    def __exit__(self, *exc):
        self._blas.restore_original_limits()
        for worker in (self.student, self.trusted):
            worker.close()

    def baseline(self, fn) -> RemoteFunction:
        """A trusted function (any module of the package), run in the trusted worker."""
        name = f"{fn.__module__}:{fn.__name__}"
        if name not in self._baselines:
            self._baselines[name] = RemoteFunction(self.trusted, name, timeout=self.timeout)
            self._baselines[name].__name__ = fn.__name__
        return self._baselines[name]

    def _build_namespace(self) -> dict:
        trusted = {"__name__": "__grader__", "np": np,
                   **{n: getattr(checks, n) for n in checks.__all__}}
        with contextlib.redirect_stdout(io.StringIO()):
            exec(self.setup, trusted)
        namespace = {}
        sources = self.sources
        # The baseline worker is started, has imported every trusted module and is ready
        # before the first solution cell runs: nothing a student does can change what it runs.
        self.trusted.start(self.timeout)
        try:
            loaded = self.student.start(self.timeout)
        except (IsolationError, StudentError) as err:
            loaded = {"names": [], "errors": [{"cell": "solution cells", "type": type(err).__name__,
                                               "message": str(err)}]}
        self.load_errors = loaded["errors"]
        errors = {e["cell"]: e for e in loaded["errors"]}
        for label, source in self.blocks:
            for name in analysis.functions_in_blocks([(label, source)]):
                if name not in loaded["names"]:
                    namespace[name] = MissingFunction(name, errors.get(label, {
                        "type": "NameError", "message": "its cell did not define it"}))
        for name in loaded["names"]:
            if name in _BUILTIN_NAMES:  # a solution cell's `min` or `list` never reaches a test
                continue
            namespace[name] = RemoteFunction(self.student, name, sources, self.timeout,
                                             self.baseline)
        namespace.update(trusted)  # a solution cell cannot rebind a check or a baseline
        return namespace

    def run_cell(self, source: str, budget: float | None = None) -> list:
        """Run one test cell; return its nbformat outputs. budget: seconds the cell's calls
        into the workers may take together (loading the solution cells, before the first
        test cell, is not counted)."""
        if self.namespace is None:
            self.namespace = self._build_namespace()
        printed = io.StringIO()
        shown: list = []
        value = None
        try:
            tree = ast.parse(source)
            last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
            scope = dict(self.namespace)
            with contextlib.redirect_stdout(printed), plots.collect(printed) as shown, \
                    timing.recording() as self.measured, \
                    time_budget(budget, f"this test cell's grading time ({budget or 0:g} s)"):
                exec(compile(tree, "<test cell>", "exec"), scope)
                if last is not None:
                    value = eval(compile(ast.Expression(last.value), "<test cell>", "eval"), scope)
        except StudentError as err:
            error = ("StudentCodeError" if err.info["type"] == "AssertionError" else err.info["type"],
                     err.info["message"], err.info.get("traceback", ""))
        except Exception as err:  # noqa: BLE001 - every failure becomes the cell's error output
            tb = "" if isinstance(err, (AssertionError, IsolationError, NameError)) else \
                traceback.format_exc(limit=-3)
            message = str(err)
            if isinstance(err, NameError) and self.load_errors:
                message += "".join(f"\n  note: {e['cell']} failed to run: {e['type']}: {e['message']}"
                                   for e in self.load_errors)
            error = (type(err).__name__, message, tb)
        else:
            error = None
        outputs = _interleave(printed.getvalue(), shown)
        if error:
            ename, evalue, tb = error
            lines = ([tb] if tb else []) + [f"{ename}: {evalue}"]
            outputs.append(nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                                  traceback=lines))
        elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            outputs.append(nbformat.v4.new_output("execute_result", execution_count=None,
                                                  data={"text/plain": repr(float(value))}))
        return outputs


def _guarded(block: tuple, flagged: dict) -> tuple:
    """A solution cell as the worker loads it: one that goes around its import statements
    (listed in `flagged`) is replaced by an error saying so (its functions then fail with
    that message)."""
    label, source = block
    if label not in flagged:
        return block
    message = (f"{label} uses {', '.join(flagged[label])}: in grading, solution cells import "
               "modules with import statements only (the grader's own modules are not "
               "available to them), so this cell was not run and the submission is flagged "
               "for review")
    return label, f"raise ImportError({message!r})"


def _interleave(text: str, shown: list) -> list:
    """Printed `text` as stream outputs, each shown (offset, output) placed where it was shown."""
    if len(text) > MAX_PRINTED_CHARS:
        text = text[:MAX_PRINTED_CHARS] + "\n... (output truncated)\n"
    outputs, start = [], 0
    for offset, output in [*((min(o, MAX_PRINTED_CHARS), out) for o, out in shown),
                           (len(text), None)]:
        if offset > start:
            outputs.append(nbformat.v4.new_output("stream", name="stdout", text=text[start:offset]))
            start = offset
        if output is not None:
            outputs.append(output)
    return outputs
