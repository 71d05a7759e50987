"""The trusted side of process isolation: start a worker, talk to it, survive it.

A `Worker` runs either student source (the solution cells) or a trusted module
(the baselines) in a fresh ``python -I`` process with resource limits, a private
working directory and a minimal environment. Every request has a wall-clock
limit; a worker that crashes, hangs or exits is killed and restarted on the next
request, so one broken kernel costs only the checks that call it.
"""
from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import json
from multiprocessing.connection import Connection

from accelkit.grading import probe_channel, sandbox, wire

DEFAULT_MEMORY_MB = 4096
DEFAULT_TIMEOUT_S = 60.0
_ENV_KEEP = ("PATH", "LANG", "LC_ALL", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
             "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
             "NUMBA_OPT", "NUMBA_LOOP_VECTORIZE", "NUMBA_SLP_VECTORIZE", "SYSTEMROOT")


class IsolationError(Exception):
    """The worker process itself failed: it crashed, exited or ran out of time."""


class WorkerUnavailable(RuntimeError):
    """This platform cannot start a worker process (Windows): the check says so and stops."""


class TimeBudgetExceeded(IsolationError):
    """A grading time budget (`time_budget`: a test cell's, a notebook's) ran out."""


_budgets: list = []  # (deadline, what) of the budgets in force, innermost last


@contextlib.contextmanager
def time_budget(seconds: float | None, what: str):
    """Inside the block, every request to any worker ends by the deadline `seconds` from now:
    one still running then is stopped with TimeBudgetExceeded naming `what`. Budgets nest;
    the one that ends first applies. None or 0: no budget."""
    if not seconds:
        yield
        return
    _budgets.append((time.monotonic() + seconds, what))
    try:
        yield
    finally:
        _budgets.pop()


def remaining_budget() -> tuple:
    """(seconds left, what) of the budget that ends first, or (inf, None)."""
    if not _budgets:
        return float("inf"), None
    deadline, what = min(_budgets)
    return deadline - time.monotonic(), what


class StudentError(Exception):
    """An exception raised by code running in the worker, with its traceback as text."""

    def __init__(self, info: dict):
        self.info = info
        super().__init__(f"{info['type']}: {info['message']}")

    def is_a(self, exc_type: type) -> bool:
        return exc_type.__name__ in self.info["mro"]

    def __str__(self) -> str:
        tb = self.info.get("traceback", "")
        head = f"{self.info['type']}: {self.info['message']}"
        return f"{head}\n{tb}" if tb else head


def _proc_status(pid: int | str, field: str) -> int:
    """A memory figure of /proc/<pid>/status, in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def _stat_cpu_seconds(path: str) -> float:
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _schedstat_seconds(path: str) -> float:
    """The first field of a task's schedstat: nanoseconds it ran on a CPU."""
    with open(path) as f:
        return int(f.read().split()[0]) / 1e9


def process_cpu_seconds(pid: int | str = "self") -> float:
    """CPU seconds of a whole process, its ended threads too. On Linux the kernel's count in
    nanoseconds (the process's CPU-time clock, which any process may read); else utime +
    stime from /proc, in clock ticks of 10 ms – too coarse for timed windows of a few tenths
    of a second, where it read 0.70–1.21 cores for one busy thread."""
    if pid == "self":
        return time.process_time()
    if sys.platform.startswith("linux"):
        try:
            return time.clock_gettime(((~int(pid)) << 3) | 2)  # CPUCLOCK_SCHED of the process
        except OSError:
            pass
    return _stat_cpu_seconds(f"/proc/{pid}/stat")


def threads_cpu_seconds(pid: int, tids) -> float:
    """CPU seconds of those threads `tids` of process `pid` that still run: their schedstat
    (nanoseconds, the same count as the process's clock), else utime + stime in ticks."""
    total = 0.0
    for tid in tids:
        task = f"/proc/{pid}/task/{tid}"
        try:
            total += (_schedstat_seconds(f"{task}/schedstat") if os.path.exists(f"{task}/schedstat")
                      else _stat_cpu_seconds(f"{task}/stat"))
        except OSError:  # the thread has ended
            pass
    return total


def _signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def _threads(pid: int) -> list:
    try:
        return [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except FileNotFoundError:
        return []


def _cpus_of(tid: int) -> set:
    try:
        return os.sched_getaffinity(tid)
    except (ProcessLookupError, PermissionError):
        return set()


@contextlib.contextmanager
def on_one_cpu(workers: list):
    """Run the block with every thread of these workers on the same CPU (the last one this
    process may use), then give them back the CPUs they had.

    For comparisons of single-threaded kernels across two processes: each process otherwise
    keeps to the CPU it last ran on, and on a shared machine the two CPUs differ. Threads a
    worker starts inside the block inherit the CPU. Yields a function that says whether any
    thread of the workers left that CPU (a kernel that widened its own affinity) – then the
    measurement does not compare like with like."""
    if not hasattr(os, "sched_setaffinity"):  # macOS: no CPU affinity; the OS places threads
        yield lambda: False
        return
    cpu = max(os.sched_getaffinity(0))
    pids = [w.pid for w in workers if w.alive()]
    before = {pid: _cpus_of(pid) or os.sched_getaffinity(0) for pid in pids}

    def moved() -> bool:
        return any(_cpus_of(tid) - {cpu} for pid in pids for tid in _threads(pid))

    for pid in pids:
        _set_cpus(pid, {cpu})
    try:
        yield moved
    finally:
        for pid, cpus in before.items():
            _set_cpus(pid, cpus)


def _set_cpus(pid: int, cpus: set) -> None:
    """Every thread of process `pid` on `cpus` (threads that end meanwhile are skipped)."""
    for tid in _threads(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
            os.sched_setaffinity(tid, cpus)


def _wait_until_gone(pid: int, timeout: float = 10.0) -> None:
    """Wait until process `pid` (not a child of ours) has ended."""
    import psutil
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.01)


class Worker:
    """One isolated process; `load` is ("load_source", blocks) or ("load_module", name)."""

    def __init__(self, load: tuple, memory_mb: int = DEFAULT_MEMORY_MB, label: str = "worker",
                 policy: dict | None = None):
        self.load = load
        self.memory_mb = memory_mb
        self.policy = policy or sandbox.policy(memory_mb, None, "off")[0]
        self.label = label
        self.skipped: dict = {}  # solution cells that killed or hung the process at load
        self.loaded: dict = {"names": [], "errors": []}
        self.proc: subprocess.Popen | None = None  # what was started (the sandbox's outer process)
        self.pid: int | None = None  # the process that serves requests, read from /proc
        self.conn: Connection | None = None
        self.workdir: str | None = None
        self.probe_events = None  # the grader's end of the probes' channel (probe_channel)
        self.library_threads: set = set()  # threads the libraries started before any student code
        self.starts = 0

    # -- life cycle -------------------------------------------------------
    def start(self, timeout: float = DEFAULT_TIMEOUT_S) -> dict:
        if sys.platform == "win32":
            raise WorkerUnavailable(
                "this check runs your function in a separate worker process, which accelkit "
                "starts on Linux and macOS only: run the notebook in WSL 2 to see it here "
                "(grading measures it on the grading machine either way)")
        parent_sock, child_sock = socket.socketpair()
        if self.workdir:  # a restart: the crashed worker's folder goes
            shutil.rmtree(self.workdir, ignore_errors=True)
        self.workdir = tempfile.mkdtemp(prefix=f"accelkit-{self.label}-")
        uid = self.policy.get("uid")
        if uid is not None:
            os.chown(self.workdir, uid, uid)
        env = {k: os.environ[k] for k in _ENV_KEEP if k in os.environ}
        env.update(HOME=self.workdir, TMPDIR=self.workdir, PYTHONDONTWRITEBYTECODE="1",
                   NUMBA_CACHE_DIR=os.path.join(self.workdir, "numba-cache"), MPLBACKEND="Agg")
        self.stderr_path = os.path.join(self.workdir, "stderr.txt")
        if self.probe_events is not None:
            self.probe_events.close()
        self.probe_events, probe_end = probe_channel.pair()
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-m", "accelkit.grading.confined", json.dumps(self.policy),
                 "accelkit.grading.worker", str(child_sock.fileno()), str(probe_end.fileno())],
                pass_fds=[child_sock.fileno(), probe_end.fileno()], cwd=self.workdir, env=env,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                start_new_session=True)
        child_sock.close()
        probe_end.close()
        self.conn = Connection(parent_sock.detach())
        self.starts += 1
        if self.load[0] != "load_source":
            self.loaded = self._exchange(self.load, timeout)
            self.pid = self._server_pid()
            return self.loaded
        return self._load_cells(timeout)

    def _server_pid(self) -> int:
        """The pid (here) of the process that answers: in the sandbox, the child that the
        started process forked as the first of a new PID namespace (`sandbox.apply`). Read
        after its first reply, before any student code ran."""
        if not sandbox.confined(self.policy):
            return self.proc.pid
        import psutil
        children = psutil.Process(self.proc.pid).children()
        if len(children) != 1:
            raise IsolationError(f"the {self.label} worker's sandbox did not start "
                                 f"({len(children)} processes inside)")
        return children[0].pid

    def _load_cells(self, timeout: float) -> dict:
        """Run the solution cells one request at a time. A cell that kills or hangs the
        process (os._exit, a segfault, an endless loop at top level) is recorded and
        skipped on a fresh start, so it costs only the functions it defines."""
        _, blocks, *setup = self.load
        self._exchange(("load_source", [], *setup), timeout)
        self.pid = self._server_pid()
        self.rss_after_setup = _proc_status(self.pid, "VmRSS")
        self.library_threads = set(_threads(self.pid)) - {self.pid}
        errors = list(self.skipped.values())
        for label, source in blocks:
            if label in self.skipped:
                continue
            try:
                error = self._exchange(("exec_block", label, source), timeout)
            except TimeBudgetExceeded:
                raise  # not this cell's fault alone: the time was spent before it, too
            except IsolationError as err:
                self.skipped[label] = {"cell": label, "type": "IsolationError",
                                       "mro": ["IsolationError"], "message": str(err)}
                self.kill()
                return self.start(timeout)
            if error:
                errors.append(error)
        self.loaded = {"names": self._exchange(("defined_names",), timeout), "errors": errors}
        self.rss_after_cells = _proc_status(self.pid, "VmRSS")
        return self.loaded

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """Stop the worker; in the sandbox, every process of its PID namespace with it (they
        end when its first process does; this waits until they have)."""
        if self.proc is not None:
            for pid, kill in ((self.pid, os.kill), (self.proc.pid, os.killpg)):
                if pid is not None:  # no pid yet: killed before its first reply
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        kill(pid, signal.SIGKILL)
            self.proc.wait()
            if self.pid is not None and self.pid != self.proc.pid:
                _wait_until_gone(self.pid)
            self.proc, self.pid = None, None
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def fresh_copy(self, label: str) -> "Worker":
        """A new, unstarted worker that loads the same code under the same sandbox."""
        return Worker(self.load, self.memory_mb, label=label, policy=self.policy)

    def close(self) -> None:
        """Stop for good: this worker and whatever its sandbox uid still runs (a fork bomb's
        children may have left its process group) – sibling workers of the uid included, so
        a session closes its workers only when all of them are done."""
        self.kill()
        sandbox.kill_all(self.policy.get("uid"))
        if self.probe_events is not None:
            self.probe_events.close()
            self.probe_events = None
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- memory, read by this side from /proc (Linux) ----------------------
    def reset_peak_rss(self) -> int:
        """Reset the worker's peak resident memory to its current size; returns that size."""
        with open(f"/proc/{self.pid}/clear_refs", "w") as f:
            f.write("5")
        return _proc_status(self.pid, "VmRSS")

    def peak_rss(self) -> int:
        return _proc_status(self.pid, "VmHWM")

    def cpu_split(self) -> dict:
        """CPU seconds of the whole process, of its main thread (where calls run) and of the
        threads the libraries started before the solution cells ran (BLAS's helpers), read
        from /proc; the rest ran on threads the student's code started."""
        pid = self.pid
        return {"cpu_s": process_cpu_seconds(pid),
                "main_s": threads_cpu_seconds(pid, [pid]),
                "library_s": threads_cpu_seconds(pid, self.library_threads)}

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the worker has used, all its threads together, ended
        ones included – read by this side from /proc/<pid>/stat."""
        return process_cpu_seconds(self.pid)

    # -- requests ---------------------------------------------------------
    def request(self, *msg, timeout: float = DEFAULT_TIMEOUT_S):
        """Send one request and return its value; restarts a dead worker first."""
        if not self.alive():
            self.kill()
            self.start(timeout)
        return self._exchange(msg, timeout)

    def timed_request(self, *msg, timeout: float = DEFAULT_TIMEOUT_S) -> float:
        """Seconds from sending `msg` until its answer arrived, measured here."""
        if not self.alive():
            self.kill()
            self.start(timeout)
        payload = pickle.dumps(msg)
        start = time.perf_counter()
        self.conn.send_bytes(payload)
        reply = self._receive(msg, timeout)
        elapsed = time.perf_counter() - start
        self._unpack(reply, msg)
        return elapsed

    def _exchange(self, msg: tuple, timeout: float):
        self.conn.send_bytes(pickle.dumps(msg))
        return self._unpack(self._receive(msg, timeout), msg)

    def _receive(self, msg: tuple, timeout: float) -> bytes:
        left, budget = remaining_budget()
        try:
            if left < timeout and not self.conn.poll(max(0.0, left)):
                self.kill()
                raise TimeBudgetExceeded(f"{self._what(msg)} was stopped: {budget} ran out")
            if not self.conn.poll(timeout):
                self.kill()
                raise IsolationError(
                    f"{self._what(msg)} did not finish within {timeout:.0f} s and was stopped "
                    "(an infinite loop, or far too slow?)")
            return self.conn.recv_bytes(wire.MAX_REPLY_BYTES)
        except OSError as err:
            if "bad message length" not in str(err):
                raise IsolationError(self._death_note(msg)) from None
            self.kill()  # the rest of the reply is still in the socket
            raise IsolationError(self._too_large(msg, "a reply")) from None
        except EOFError:
            raise IsolationError(self._death_note(msg)) from None

    def _too_large(self, msg: tuple, what: str) -> str:
        return (f"{self._what(msg)} sent {what} over the grader's limit of "
                f"{wire.MAX_REPLY_BYTES >> 20} MiB per reply: refused, and the worker stopped "
                "(return only the result asked for)")

    def _unpack(self, reply: bytes, msg: tuple = ("reply",)):
        try:
            status, value = wire.decode(reply)
        except wire.ReplyTooLarge as err:
            self.kill()
            raise IsolationError(self._too_large(msg, str(err))) from None
        except (ValueError, KeyError) as err:
            self.kill()
            raise IsolationError(f"{self._what(msg)} sent {err}: refused, and the worker "
                                 "stopped") from None
        if status == "error":
            raise StudentError(value)
        return value

    def _what(self, msg: tuple) -> str:
        if msg[0] in ("call", "call_args", "run_sets", "run_kept", "drain"):
            return f"{msg[1]}()"
        return f"loading the {self.label} code"

    def _death_note(self, msg: tuple) -> str:
        proc = self.proc
        code = proc.wait(timeout=10) if proc is not None else None
        self.kill()
        if code is not None and code < 0:
            how = f"was killed by {_signal_name(code)}"
            if -code == signal.SIGSEGV:
                how += " (a segmentation fault: an out-of-bounds read or write in a numba kernel?)"
        elif code is not None:
            how = f"ended the process with exit code {code} (os._exit or sys.exit outside a function?)"
        else:
            how = "closed its connection"
        tail = ""
        try:
            with open(self.stderr_path, "rb") as err:
                err.seek(0, os.SEEK_END)
                err.seek(max(0, err.tell() - 1500))
                tail = err.read().decode(errors="replace").strip()
        except OSError:
            pass
        if "MemoryError" in tail or (code == 1 and "memory" in tail.lower()):
            how += f" (the memory limit is {self.memory_mb} MiB)"
        note = f"{self._what(msg)} {how}."
        return note + (f"\nLast words on stderr:\n{tail}" if tail else "")

