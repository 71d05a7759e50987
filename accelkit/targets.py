"""How a check calls the function it grades: in this process, or in a worker.

In a student's kernel the checks get the student's live function and call it
here (fast feedback while working). In grading they get a `RemoteFunction`,
which runs the same call in an isolated worker and brings back only plain data.
Both offer the same three operations, so a check is written once.
"""
from __future__ import annotations

import itertools
import time

import numpy as np

from accelkit import analysis
from accelkit.cases import build_all
from accelkit.isolate import DEFAULT_TIMEOUT_S, IsolationError, Worker, _proc_status

_keys = itertools.count()


def reset_peak_rss(pid: str = "self") -> int:
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")
    return _proc_status(pid, "VmRSS")


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
        base = reset_peak_rss("self")
        result = self.fn(*args, **kwargs)
        return result, max(0, _proc_status("self", "VmHWM") - base)

    def runner(self, specs: list, kwargs: dict):
        args = build_all(specs)

        def run(repeat: int) -> float:
            start = time.perf_counter()
            for _ in range(repeat):
                self.fn(*args, **kwargs)
            return time.perf_counter() - start
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
            self._request("run", self.name, key, 1)
            base = self.worker.reset_peak_rss()
            self._request("run", self.name, key, 1)
            peak = self.worker.peak_rss() - base
            reply = self._request("call", self.name, key)
        finally:
            if self.worker.alive():
                self._request("drop", key)
        return reply["result"], max(0, peak)

    def prepare(self, specs: list, kwargs: dict) -> str:
        """Build inputs in the worker once; their key, for `runner`."""
        key = f"k{next(_keys)}"
        self._request("prepare", key, list(specs), dict(kwargs))
        return key

    def runner(self, specs: list, kwargs: dict, key: str | None = None):
        """Times whole requests from this side: the worker reports no times of its own.
        `key`: inputs already prepared in the same worker (shared with another runner)."""
        key = key or self.prepare(specs, kwargs)

        def run(repeat: int) -> float:
            return self._request("run", self.name, key, repeat, timed=True)
        return run

    def sources(self) -> dict:
        return self._sources


def as_target(fn):
    return fn if isinstance(fn, RemoteFunction) else LocalTarget(fn)
