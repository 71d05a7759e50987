"""How a check calls the function it grades: in this process, or in a worker.

In a student's kernel the checks get the student's live function and call it
here (fast feedback while working). In grading they get a `RemoteFunction`,
which runs the same call in an isolated worker and brings back only plain data.
Both offer the same three operations, so a check is written once.
"""
from __future__ import annotations

import itertools
import random
import shutil
import time

import numpy as np
from threadpoolctl import threadpool_limits

from accelkit.grading import analysis
from accelkit.grading.cases import Picked, build_all, describe, reseeded, shrunk
from accelkit.grading.isolate import DEFAULT_TIMEOUT_S, IsolationError, Worker, _proc_status
from accelkit.grading.worker import drain_items, run_calls

_keys = itertools.count()
_draw = random.SystemRandom()  # seeds and samples of the grader: nothing the kernel can predict
MAX_SETS = 256       # distinct input sets per timed sample (beyond that, calls cycle through them)
KEPT_PER_SAMPLE = 1  # timed calls per sample whose results are verified: one, drawn at random
ROWS_VERIFIED = 32   # rows of a big row-wise result verified, drawn at random (see `sampled_rows`)


def fresh_specs(specs: list) -> list:
    """`specs` with new contents drawn by the grader (each recipe its own seed)."""
    base = _draw.getrandbits(40)
    return [reseeded(s, base + 7919 * i) for i, s in enumerate(specs)]


SETS_BYTES = 256 << 20  # the distinct input sets of one sample take at most this much memory


def _bytes_of(specs: list) -> int:
    return sum(a.nbytes for a in build_all(specs) if isinstance(a, np.ndarray))


def fresh_sets(specs: list, repeat: int) -> tuple:
    """(sets, calls) for `repeat` timed calls: distinct sets of new inputs, one per call, as
    many as MAX_SETS and SETS_BYTES allow (a kernel that returns at once on big inputs gets
    many calls per sample; their inputs must still fit in the worker)."""
    count = min(repeat, MAX_SETS)
    if count > 1:
        count = max(1, min(count, SETS_BYTES // max(1, _bytes_of(specs))))
    sets = [fresh_specs(specs) for _ in range(count)]
    return sets, [i % len(sets) for i in range(repeat)]


def kept_calls(repeat: int) -> list:
    """Which of `repeat` timed calls have their results verified: a random sample."""
    return sorted(_draw.sample(range(repeat), min(KEPT_PER_SAMPLE, repeat)))


def _add_usage(usage: dict | None, wall_s: float, before: dict, after: dict) -> None:
    """Adds the wall seconds and the CPU seconds between two readings (`Worker.cpu_split`)."""
    if usage is not None:
        usage["wall_s"] = usage.get("wall_s", 0.0) + wall_s
        for key in after:
            usage[key] = usage.get(key, 0.0) + after[key] - before[key]


def sampled_rows(verify, result, specs: list) -> tuple:
    """(result, specs, rows): result and specs cut to ROWS_VERIFIED rows the grader draws once the result is back, when
    `verify` checks rows independently (`cases.rowwise`) and the result has the inputs' row
    count; else unchanged, with rows None. The full float64 reference of a big product costs the grader more
    than the timed call itself, and a kernel that skips a share f of the rows still fails one
    sampled check with probability 1 - (1 - f)^32 (f = 5 %: 81 %; every sample has one)."""
    inputs = getattr(verify, "row_inputs", ())
    if not inputs or not isinstance(result, np.ndarray) or result.ndim == 0:
        return result, specs, None
    built = {i: specs[i].build() for i in inputs}
    n = result.shape[0]
    if n <= 2 * ROWS_VERIFIED or any(a.ndim == 0 or a.shape[0] != n for a in built.values()):
        return result, specs, None
    rows = sorted(_draw.sample(range(n), ROWS_VERIFIED))
    text = f"{ROWS_VERIFIED} rows drawn at random of "
    return result[rows], [Picked(built[i][rows], text + describe(s)) if i in built else s
                          for i, s in enumerate(specs)], rows


def verify_timed(name: str, verify, results: list, specs_of: list) -> None:
    """Each kept result of a timed call must be right for the inputs that call got (on rows
    drawn at random, for a big row-wise result: `sampled_rows`)."""
    for result, specs in zip(results, specs_of):
        try:
            part, inputs, rows = sampled_rows(verify, result, list(specs))
            verify(name, part, *inputs, modified=())
        except AssertionError as err:
            where = ("" if rows is None else "\n  (rows are counted within the sample; it holds "
                     f"rows {', '.join(map(str, rows[:6]))}, ... of the result)")
            raise AssertionError(
                f"{name} returned a wrong result in a timed call. The grader verifies a random "
                "sample of the timed calls, each made on new inputs, so a speedup counts only "
                f"for results that are really computed.\n{err}{where}") from None


def reset_peak_rss(pid: str = "self") -> int:
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")
    return _proc_status(pid, "VmRSS")


def local_peak(call) -> tuple:
    """(call(), the peak extra resident bytes of this process while it ran). Exact from /proc
    on Linux; where there is no /proc (macOS, Windows: a student's laptop) the larger of
    tracemalloc's peak (every numpy allocation) and the resident size psutil samples every
    millisecond (allocations inside numba kernels too): close, not exact."""
    try:
        base = reset_peak_rss("self")
    except OSError:
        return _sampled_peak(call)
    result = call()
    return result, max(0, _proc_status("self", "VmHWM") - base)


def _sampled_peak(call) -> tuple:
    import threading
    import tracemalloc

    import psutil

    process = psutil.Process()
    base = process.memory_info().rss
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.001):
            peak[0] = max(peak[0], process.memory_info().rss)

    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    tracemalloc.reset_peak()
    traced_before = tracemalloc.get_traced_memory()[0]
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = call()
    finally:
        done.set()
        sampler.join()
        traced_peak = tracemalloc.get_traced_memory()[1] - traced_before
        if started:
            tracemalloc.stop()
    return result, max(0, max(peak[0], process.memory_info().rss) - base, traced_peak)


class LocalTarget:
    """A live function in this process."""

    remote = False

    def __init__(self, fn):
        self.fn = fn
        self.name = getattr(fn, "__name__", repr(fn))

    def call(self, specs: list, kwargs: dict) -> tuple:
        args = build_all(specs)
        result = self.fn(*args, **kwargs)
        fresh = build_all(specs)
        modified = [i for i, (a, b) in enumerate(zip(args, fresh))
                    if isinstance(a, np.ndarray) and not np.array_equal(a, b)]
        return result, modified

    def call_peak(self, specs: list, kwargs: dict) -> tuple:
        """Like `call`, plus the peak extra resident memory (bytes) of one call (after a
        warm-up call, so compilation is not counted)."""
        args = build_all(specs)
        self.fn(*args, **kwargs)
        return local_peak(lambda: self.fn(*args, **kwargs))

    def runner(self, specs: list, kwargs: dict, verify=None, usage: dict | None = None):
        """`run(repeat)`: seconds for `repeat` calls on the same inputs, built once (quick
        feedback in the student's own kernel; grading gives every call new inputs, see
        `RemoteFunction.runner`); with `verify`, a random sample of the results is checked;
        `usage` adds up the CPU and wall seconds of the timed calls."""
        args = build_all(specs)

        def run(repeat: int) -> float:
            keep = kept_calls(repeat) if verify else []
            cpu, start = time.process_time(), time.perf_counter()
            kept = run_calls(self.fn, [args] * repeat, kwargs, keep)
            elapsed = time.perf_counter() - start
            _add_usage(usage, elapsed, {"cpu_s": cpu}, {"cpu_s": time.process_time()})
            if verify:  # on one BLAS thread: idle helper threads would spin into the next sample
                with threadpool_limits(limits=1):
                    verify_timed(self.name, verify, kept, [specs] * len(keep))
            return elapsed
        return run

    def drain(self, specs: list, kwargs: dict, step, stop_after: int | None = None) -> list:
        """A training loop over what the function returns (`worker.drain_items`)."""
        return drain_items(self.fn(*build_all(specs), **kwargs), step, stop_after)

    def drain_runner(self, specs: list, kwargs: dict, step, verify=None):
        """`run(repeat)`: seconds for `repeat` training loops, each on new inputs built
        before the clock starts; `verify(results, specs)` checks every loop's results."""
        def run(repeat: int) -> float:
            elapsed = 0.0
            for _ in range(repeat):
                used = fresh_specs(specs)
                args = build_all(used)
                start = time.perf_counter()
                results = drain_items(self.fn(*args, **kwargs), step)
                elapsed += time.perf_counter() - start
                del args
                if verify:
                    verify(self.name, results, used)
            return elapsed
        return run

    def sources(self) -> dict:
        return analysis.functions_of_live(self.fn)


class RemoteFunction:
    """A function that lives in a worker process; callable like the original."""

    remote = True

    def __init__(self, worker: Worker, name: str, sources: dict | None = None,
                 timeout: float = DEFAULT_TIMEOUT_S, baseline=None):
        self.worker = worker
        self.name = self.__name__ = name
        self._sources = sources or {}
        self.timeout = timeout
        self.baseline = baseline  # function -> RemoteFunction in a trusted worker
        self.timed_out: str | None = None

    def __repr__(self) -> str:
        return f"<{self.name} running in an isolated {self.worker.label} process>"

    def _request(self, *msg, timed: bool = False):
        """One request about this function. After a timeout, later calls fail at once:
        the function is not given the full time limit again in every test."""
        if self.timed_out:
            raise IsolationError(f"{self.name}() was not run again: {self.timed_out}")
        send = self.worker.timed_request if timed else self.worker.request
        try:
            return send(*msg, timeout=self.timeout)
        except IsolationError as err:
            if "did not finish" in str(err):
                self.timed_out = str(err)
            raise

    def __call__(self, *args, **kwargs):
        return self._request("call_args", self.name, args, kwargs)

    def call(self, specs: list, kwargs: dict) -> tuple:
        key = f"k{next(_keys)}"
        self._request("prepare", key, list(specs), dict(kwargs))
        try:
            reply = self._request("call", self.name, key)
        finally:
            if self.worker.alive():
                self._request("drop", key)
        return reply["result"], reply["modified"]

    def call_peak(self, specs: list, kwargs: dict) -> tuple:
        """Like `call`, plus the peak extra resident memory (bytes) of one call, read by this
        process from /proc: the worker cannot under-report it. The measured call is a bare
        run on prepared inputs after a warm-up (no compilation, no reply encoding counted)."""
        key = f"k{next(_keys)}"
        self._request("prepare", key, list(specs), dict(kwargs))
        try:
            self._request("run_kept", self.name, key, 1, [])
            base = self.worker.reset_peak_rss()
            self._request("run_kept", self.name, key, 1, [])
            peak = self.worker.peak_rss() - base
            reply = self._request("call", self.name, key)
        finally:
            if self.worker.alive():
                self._request("drop", key)
        return reply["result"], max(0, peak)

    def first_call_peak(self, specs: list, kwargs: dict) -> tuple:
        """(result, its inputs, peak extra bytes of the call, bytes the solution cells took at
        load), in a fresh worker: the solution cells loaded anew and compiled on small inputs
        of the same types (`cases.shrunk`), then one call at full size on new inputs – the
        first at that size, so buffers a kernel keeps between calls count. Read from /proc by
        this side."""
        worker = self.worker.fresh_copy("memory")
        try:
            worker.start(self.timeout)
            fresh = RemoteFunction(worker, self.name, self._sources, self.timeout)
            fresh.call([shrunk(s) for s in specs], kwargs)
            used = fresh_specs(specs)
            key = fresh.prepare(used, kwargs)
            base = worker.reset_peak_rss()
            fresh._request("run_kept", self.name, key, 1, [0])
            peak = worker.peak_rss() - base
            result = fresh._request("take_kept", key)[0]
            held = worker.rss_after_cells - worker.rss_after_setup
            return result, used, max(0, peak), max(0, held)
        finally:
            worker.kill()  # not close(): the sandbox uid still runs the session's workers
            shutil.rmtree(worker.workdir or "", ignore_errors=True)

    def prepare(self, specs: list, kwargs: dict) -> str:
        """Build inputs in the worker once; their key, for `runner`."""
        key = f"k{next(_keys)}"
        self._request("prepare", key, list(specs), dict(kwargs))
        return key

    def runner(self, specs: list, kwargs: dict, verify=None, key: str | None = None,
               usage: dict | None = None):
        """`run(repeat)`: seconds for `repeat` calls, timed from this side around the whole
        request (the worker reports no times of its own). Every call gets new inputs,
        prepared in the worker before the clock starts; with `verify`, a random sample of the
        timed results is brought back and checked.

        `key`: inputs already prepared in the same worker and shared with another runner
        (the SIMD twins, two builds of the same code): both sides run on the same memory,
        whose layout decides their ratio; their timed results are verified all the same.
        `usage` adds up the wall seconds of the timed requests and the worker's CPU seconds
        (from /proc; split as `Worker.cpu_split` does)."""
        def run(repeat: int) -> float:
            keep = kept_calls(repeat) if verify else []
            if key is None:
                sets, calls = fresh_sets(specs, repeat)
                sample = f"k{next(_keys)}"
                self._request("prepare_sets", sample, sets, calls, dict(kwargs))
                request, specs_of = ("run_sets", sample, keep), [sets[calls[i]] for i in keep]
            else:  # the last call only: keeping earlier results would change where later
                # outputs are allocated, and with it the ratio of the two builds
                keep = [repeat - 1] if verify else []
                sample, request, specs_of = key, ("run_kept", key, repeat, keep), [specs] * len(keep)
            try:
                cpu = self.worker.cpu_split() if usage is not None else None
                elapsed = self._request(request[0], self.name, *request[1:], timed=True)
                if usage is not None:
                    _add_usage(usage, elapsed, cpu, self.worker.cpu_split())
                kept = self._request("take_kept", sample) if verify else []
            finally:
                if key is None and self.worker.alive():
                    self._request("drop", sample)
            if verify:
                verify_timed(self.name, verify, kept, specs_of)
            return elapsed
        return run

    def drain(self, specs: list, kwargs: dict, step, stop_after: int | None = None) -> list:
        """A training loop over what the function returns, run in the worker
        (`worker.drain_items`): the step's results, in the order the items came."""
        key = self.prepare(specs, kwargs)
        try:
            self._request("drain", self.name, key, step, stop_after)
            return self._request("take_kept", key)
        finally:
            if self.worker.alive():
                self._request("drop", key)

    def drain_peak(self, specs: list, kwargs: dict, step) -> tuple:
        """(results, peak extra resident bytes) of one training loop, the peak read by this
        process from /proc from the moment the inputs are ready."""
        key = self.prepare(specs, kwargs)
        try:
            base = self.worker.reset_peak_rss()
            self._request("drain", self.name, key, step, None)
            peak = self.worker.peak_rss() - base
            return self._request("take_kept", key), max(0, peak)
        finally:
            if self.worker.alive():
                self._request("drop", key)

    def drain_runner(self, specs: list, kwargs: dict, step, verify=None):
        """`run(repeat)`: seconds for `repeat` training loops, timed from this side around
        each whole request; every loop gets new inputs, prepared in the worker before the
        clock starts, and with `verify(name, results, specs)` every loop's results are checked."""
        def run(repeat: int) -> float:
            elapsed = 0.0
            for _ in range(repeat):
                used = fresh_specs(specs)
                key = self.prepare(used, kwargs)
                try:
                    elapsed += self._request("drain", self.name, key, step, None, timed=True)
                    results = self._request("take_kept", key) if verify else None
                finally:
                    if self.worker.alive():
                        self._request("drop", key)
                if verify:
                    verify(self.name, results, used)
            return elapsed
        return run

    def sources(self) -> dict:
        return self._sources


def as_target(fn):
    return fn if isinstance(fn, RemoteFunction) else LocalTarget(fn)
