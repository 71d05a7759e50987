"""Checks, probes and baselines of notebook 05 (multi-core parallelism with a thread pool).

Probes are small trusted callables that the checks hand to the student's
``parallel_map``. They are module-level classes, so they pickle by reference and
run inside the student's worker; what they observe there (how many calls ran at
once, in which order items finished) comes back inside the returned results.

Speed thresholds scale with the physical cores this process may use (`goal_cores`:
hyperthreads of one core count once): one core only asks for "no slowdown", two cores for
a fixed speedup, more cores for a parallel efficiency (speedup / cores), capped for very
wide machines.
"""
from __future__ import annotations

import ast
import contextlib
import dataclasses
import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from accelkit.grading import analysis, plots, probe_channel, timing
from accelkit.exercises.baselines import matmul_naive, matmul_serial
from accelkit.grading.cases import Matrix, Tensor, describe, rowwise
from accelkit.exercises.checks import NotMeasured, _deferred, _partner, _verify_array
from accelkit.grading.isolate import StudentError
from accelkit.grading.targets import RemoteFunction, as_target

__all__ = ["available_cores", "goal_cores", "physical_cores", "required_speedup", "ParallelProbeError", "Square", "Upper",
           "Staggered", "FailOn", "ConcurrencyProbe", "check_parallel_map",
           "check_parallel_map_errors", "check_worker_limit", "check_deterministic",
           "check_parallel_speedup", "check_pool_and_blas_limit", "check_dense", "verify_dense",
           "check_amdahl", "amdahl_bound", "matmul_serial", "dense_relu_serial", "rows_in_threads",
           "spin_threads",
           "free_cores", "NotMeasured"]


def available_cores() -> int:
    """Cores this process may run on (the affinity mask, not the machine's total)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def physical_cores(cpus=None, topology: str = "/sys/devices/system/cpu") -> int:
    """Physical cores among `cpus` (default: those this process may run on): the hyperthreads
    of one core count once, because two of them share its vector units and caches (Linux's
    topology in sysfs; where it cannot be read, every CPU counts)."""
    if cpus is None:
        cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else \
            range(os.cpu_count() or 1)
    cores = set()
    for cpu in cpus:
        folder = os.path.join(topology, f"cpu{cpu}", "topology")
        try:
            with open(os.path.join(folder, "physical_package_id")) as package, \
                    open(os.path.join(folder, "core_id")) as core:
                cores.add((package.read().strip(), core.read().strip()))
        except OSError:
            return len(cpus)
    return len(cores) or len(cpus)


def goal_cores() -> int:
    """The cores a parallel speed goal is computed for: the physical cores this process may
    use (`physical_cores`), but two wherever two CPUs are available – two hyperthreads of one
    core still run two threads at once, and a 2-CPU grading VM is asked what it always was."""
    return min(available_cores(), max(physical_cores(), 2))


def required_speedup(cores: int, two_core: float, efficiency: float, cap: float,
                     no_slowdown: float = 0.8) -> float:
    """The speedup asked for on `cores` cores: `no_slowdown` on one core, `two_core` on two,
    and on more cores `efficiency * cores` (at least `two_core`, at most `cap`)."""
    if cores <= 1:
        return no_slowdown
    if cores == 2:
        return two_core
    return min(cap, max(two_core, efficiency * cores))


# -- probes: trusted callables that run inside the student's parallel_map ----------
class ParallelProbeError(Exception):
    """Raised on purpose by `FailOn`: parallel_map must hand it to its caller unchanged."""


@dataclass(frozen=True)
class Square:
    """x -> x * x, at once."""

    def __call__(self, x):
        return x * x


@dataclass(frozen=True)
class Upper:
    """s -> s.upper()."""

    def __call__(self, s):
        return s.upper()


@dataclass(frozen=True)
class Staggered:
    """x -> ("item", x) after sleeping longer for earlier items of each group of `slots`,
    so that items finish in a different order than they were given."""

    delay: float = 0.004
    slots: int = 4

    def __call__(self, x):
        time.sleep(self.delay * (self.slots - x % self.slots))
        return ("item", x)


@dataclass(frozen=True)
class FailOn:
    """x -> x, but raises ParallelProbeError for x == bad (after a short sleep)."""

    bad: int
    delay: float = 0.002

    def __call__(self, x):
        time.sleep(self.delay)
        if x == self.bad:
            raise ParallelProbeError(f"fn failed on item {x}")
        return x


_probe_lock = threading.Lock()
_probe_active: dict = {}


@dataclass(frozen=True)
class ConcurrencyProbe:
    """x -> (x, number of probe calls running when this call started), then sleeps `delay`.

    The largest second value over all results is the most calls that ever ran at once
    (the count only grows when a call starts). In a worker each call also sends a start and
    an end event to the grader (`probe_channel`): grading counts those, not the results,
    which the code under test could rewrite."""

    delay: float = 0.1
    token: int = field(default_factory=lambda: int.from_bytes(os.urandom(6), "little"))

    def __call__(self, x):
        probe_channel.send("start", self.token, x)
        try:
            return self._counted(x)
        finally:
            probe_channel.send("end", self.token, x)

    def _counted(self, x):
        with _probe_lock:
            _probe_active[self.token] = _probe_active.get(self.token, 0) + 1
            running = _probe_active[self.token]
        try:
            time.sleep(self.delay)
        finally:
            with _probe_lock:
                _probe_active[self.token] -= 1
        return (x, running)


def _call(target, args: list, kwargs: dict):
    """Call the function under test with plain arguments; returns the result."""
    result, _ = target.call(list(args), dict(kwargs))
    return result


def _signature(name: str, fn, items, kwargs: dict) -> str:
    shown = repr(items) if len(repr(items)) < 60 else f"{type(items).__name__} of {len(items)} items"
    return f"{name}({type(fn).__name__}(), {shown}" + "".join(
        f", {k}={v!r}" for k, v in kwargs.items()) + ")"


# -- parallel_map ------------------------------------------------------------------
def check_parallel_map(fn, cases=None) -> None:
    """parallel_map returns a list of fn(item) in input order, for every case.

    cases: (fn, items, kwargs) triples; the default covers order, empty input, more
    workers than items and items of other types."""
    if _deferred(fn):
        return
    target = as_target(fn)
    if cases is None:
        cases = [(Square(), list(range(10)), {"num_workers": 2}),
                 (Staggered(), list(range(12)), {"num_workers": 4}),
                 (Square(), [], {"num_workers": 2}),
                 (Upper(), ["a", "bc", "def"], {"num_workers": 8})]
    for probe, items, kwargs in cases:
        what = _signature(target.name, probe, items, kwargs)
        quick = dataclasses.replace(probe, delay=0.0) if hasattr(probe, "delay") else probe
        expected = [quick(x) for x in items]
        result = _call(target, [probe, items], kwargs)
        if not isinstance(result, list):
            raise AssertionError(f"{what} returned {type(result).__name__} {result!r:.80}; "
                                 "expected a list (build one with list(...)).")
        if result != expected:
            if sorted(map(repr, result)) == sorted(map(repr, expected)):
                raise AssertionError(
                    f"{what} returned the right results in the wrong order.\n"
                    f"  expected {expected!r:.200}\n  got      {result!r:.200}\n"
                    "  hint: results must follow the order of the items, not the order in "
                    "which the calls finished (as_completed gives completion order)")
            raise AssertionError(f"{what} returned wrong results.\n  expected {expected!r:.200}"
                                 f"\n  got      {result!r:.200}")
    print(f"✓ {target.name}: {len(cases)} cases return fn(item) for every item, in input order")


def check_parallel_map_errors(fn, items=8, bad=5, num_workers=3) -> None:
    """An exception raised by fn reaches the caller of parallel_map, with its own type."""
    if _deferred(fn):
        return
    target = as_target(fn)
    probe, data, kwargs = FailOn(bad), list(range(items)), {"num_workers": num_workers}
    what = _signature(target.name, probe, data, kwargs)
    try:
        result = _call(target, [probe, data], kwargs)
    except StudentError as err:
        if err.is_a(ParallelProbeError):
            print(f"✓ {what} raised {err.info['type']}: {err.info['message']}")
            return
        raise AssertionError(f"{what} raised {err.info['type']}: {err.info['message']}\n"
                             "  expected the ParallelProbeError that fn raised on item "
                             f"{bad}: let the exception of fn propagate unchanged") from None
    except ParallelProbeError as err:
        print(f"✓ {what} raised ParallelProbeError: {err}")
        return
    except Exception as err:
        raise AssertionError(f"{what} raised {type(err).__name__}: {err}\n  expected the "
                             f"ParallelProbeError that fn raised on item {bad}") from None
    raise AssertionError(f"{what} returned {result!r:.120} although fn raised "
                         f"ParallelProbeError on item {bad}.\n  hint: future.result() re-raises "
                         "the exception of its task; do not catch it")


def check_worker_limit(fn, num_workers, items: int, delay: float = 0.1) -> None:
    """parallel_map runs exactly min(num_workers, len(items)) calls of fn at once: never more
    (the limit) and not fewer (it really runs them concurrently). num_workers=None means the
    cores this process may use."""
    if _deferred(fn):
        return
    target = as_target(fn)
    probe, data = ConcurrencyProbe(delay), list(range(items))
    kwargs = {} if num_workers is None else {"num_workers": num_workers}
    limit = available_cores() if num_workers is None else num_workers
    wanted = min(limit, items)
    what = f"{target.name}(fn, {items} items" + (f", num_workers={num_workers})" if kwargs else ")")
    remote = isinstance(target, RemoteFunction)
    with (probe_channel.listening(target.worker.probe_events) if remote
          else contextlib.nullcontext([])) as events:
        result = _call(target, [probe, data], kwargs)
    ok = isinstance(result, list) and len(result) == items and all(
        isinstance(r, tuple) and len(r) == 2 for r in result)
    if not ok or sorted(r[0] for r in result) != data:
        raise AssertionError(f"{what} did not return one result per item: got {result!r:.120}")
    peak = max((r[1] for r in result), default=0)
    if remote:  # the grader's own count, from the probe's events (the results are the kernel's)
        peak = _peak_from_events(what, events, probe.token, data)
    if peak > limit:
        raise AssertionError(f"{what} ran up to {peak} calls of fn at the same time; the limit "
                             f"is {limit}" + (" (the cores available)" if num_workers is None else "")
                             + ".\n  hint: create the pool with max_workers=num_workers")
    if peak < wanted:
        raise AssertionError(
            f"{what}: at most {peak} call(s) of fn ran at the same time, expected {wanted}.\n"
            "  Each call sleeps for a while, so a pool of that many workers overlaps them.\n"
            "  hint: submit all tasks first, then collect the results; calling .result() right "
            "after each submit waits for that task and makes the pool serial")
    print(f"✓ {what}: {peak} call{'s' if peak != 1 else ''} of fn ran at once (limit {limit})")


def _peak_from_events(what: str, events: list, token: int, items: list) -> int:
    """The most probe calls that ran at once, counted from their start and end events; every
    item's call must have started and ended exactly once."""
    running = peak = 0
    starts, ends = [], []
    for _, fields in events:
        if len(fields) != 3 or fields[1] != str(token):
            continue
        kind, item = fields[0], fields[2]
        if kind == "start":
            starts.append(item)
            running += 1
            peak = max(peak, running)
        elif kind == "end":
            ends.append(item)
            running -= 1
    wanted = sorted(map(str, items))
    if sorted(starts) != wanted or sorted(ends) != wanted:
        raise AssertionError(
            f"{what}: fn was not called exactly once for every item (the grader saw "
            f"{len(starts)} calls begin and {len(ends)} end, for {len(items)} items).\n"
            "  hint: call fn once per item and return what it returns")
    return peak


# -- kernels: determinism and speed ------------------------------------------------
def check_deterministic(fn, inputs: list, verify, thread_counts=(1, 2, 3, 4),
                        kwarg: str = "num_workers", repeats: int = 2) -> None:
    """Correct, and bit-for-bit the same result for every thread count and every repeat."""
    if _deferred(fn):
        return
    target = as_target(fn)
    first, first_kw = None, None
    for count in thread_counts:
        for _ in range(repeats):
            result, modified = target.call(inputs, {kwarg: count})
            verify(target.name, result, *inputs, modified=modified)
            if first is None:
                first, first_kw = result, count
            elif not np.array_equal(result, first):
                diff = int(np.sum(result != first))
                raise AssertionError(
                    f"{target.name} gave different results with {kwarg}={first_kw} and "
                    f"{kwarg}={count} (or in a repeated call): {diff} of {first.size} entries "
                    "differ, although all are within rounding.\n  hint: every entry of the output "
                    "should be computed by exactly one thread, with the same loop order whatever "
                    "the number of threads (split the rows, not the sum over k)")
    shape = " @ ".join(describe(s) for s in inputs if hasattr(s, "describe"))
    print(f"✓ {target.name} on {shape}: identical results for {kwarg} in {tuple(thread_counts)}")


@njit(nogil=True, cache=True)
def _spin(iterations):
    x = 0.0
    for i in range(iterations):
        x = x * 0.999999 + 1e-9 * (i & 7)  # a dependency chain: nothing to vectorize or skip
    return x


_spin_rate: list = []  # iterations per second of one thread, measured once per process


def spin_threads(threads: int, seconds: float) -> float:
    """Trusted canary: `threads` threads each busy for about `seconds` (GIL released)."""
    if not _spin_rate:
        _spin(1000)  # compiled first
        start = time.perf_counter()
        _spin(2_000_000)
        _spin_rate.append(2_000_000 / max(time.perf_counter() - start, 1e-6))
    iterations = max(1, int(seconds * _spin_rate[0]))
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return sum(pool.map(_spin, [iterations] * threads))


def _cpu_clock(target):
    """CPU seconds of the process that runs `target`, read by the grader."""
    return target.worker.cpu_seconds if isinstance(target, RemoteFunction) else time.process_time


def free_cores(target, cores: int, seconds: float = 0.25) -> float:
    """How many cores a trusted canary gets right now: `cores` spinning threads, CPU seconds
    over wall seconds. A busy machine gives fewer than `cores`."""
    spin = _partner(target, spin_threads)
    run, cpu = getattr(spin, "fn", spin), _cpu_clock(spin)
    run(1, 0.001)  # compiled before it is measured
    before, start = cpu(), time.perf_counter()
    run(cores, seconds)
    return (cpu() - before) / (time.perf_counter() - start)


def parallelism_floor(cores: int, cap: float) -> float:
    """CPU seconds per wall second a parallel kernel must keep busy: 1 + 0.25 per extra core
    (serial parts – allocation, the pool's start – keep honest code well below all cores)."""
    return 1.0 + 0.25 * (min(cores, cap) - 1)


def _wait_for_free_cores(target, cores: int, what: str, tries: int = 3) -> float:
    """The canary's cores; retried a few seconds apart, NotMeasured when the machine stays busy."""
    for attempt in range(tries):
        if attempt:
            time.sleep(2.0 * attempt)
        free = free_cores(target, cores)
        if free >= FREE_SHARE * cores:
            return free
    raise NotMeasured(f"{what}: not measured – the grading machine was busy (a trusted canary got "
                      f"only {free:.2f} of {cores} cores, {tries} times). Regrade this submission "
                      "on a quiet machine; this is not a verdict on the code.")


STARTED, MAIN, LIBRARY = "on threads your code started", "on the calling thread", "on BLAS's threads"
LIBRARY_SHARE = 0.3   # BLAS's helper threads: idle when each worker runs BLAS on one thread
STARTED_SHARE = 0.3   # the pool's threads (or numba's): a pool that also works on the caller
                      # thread still gives them half of the work on 2 cores


def thread_shares(usage: dict) -> dict:
    """Shares of the CPU time of timed calls by the threads that ran it, as the grader reads
    them from /proc (`Worker.cpu_split`); empty where no worker was measured."""
    if "library_s" not in usage or usage["cpu_s"] <= 0:
        return {}
    main, library = usage["main_s"], usage["library_s"]
    shares = {STARTED: usage["cpu_s"] - main - library, MAIN: main, LIBRARY: library}
    return {who: max(0.0, s) / usage["cpu_s"] for who, s in shares.items()}


FREE_SHARE = 0.85  # a machine whose canary gets less than this share of the cores is busy
# Measurements a parallel kernel gets before it fails for speed: two threads of honest code on
# this VM's shared memory bus once ran at half speed each through two attempts (docs/MARGINS.md).
PARALLEL_ATTEMPTS = 3
SERIAL_ATTEMPTS = 2  # a kernel that did not run in parallel: no neighbour explains its miss
# The trusted serial kernel runs in another process, where memory placement alone moved
# identical i-k-j code by 0.72-1.39x at 1024x1024 (docs/MARGINS.md): against it a kernel
# must reach the goal divided by this (the goal itself is judged against its own one-thread
# run, in one process).
LAYOUT_NOISE = 1.4


def _trusted_parallel_speedup(target, baseline, inputs: list, cores: int, need: float):
    """`rows_in_threads` of `baseline` on `cores` threads against one thread, in the trusted
    worker, on the inputs of the check: the speedup this machine allows right now."""
    twin = _partner(target, rows_in_threads)
    kwargs = {"serial": baseline.__name__}
    return timing.compare(twin.runner(inputs, {**kwargs, "workers": 1}),
                          twin.runner(inputs, {**kwargs, "workers": cores}), [need],
                          record=False)


def check_parallel_speedup(fn, inputs: list, verify, *, two_core: float, efficiency: float,
                           cap: float, baseline, kwarg: str = "num_workers",
                           cores: int | None = None) -> None:
    """fn with its default number of threads is faster than fn with kwarg=1, by a factor that
    depends on the cores available (see `required_speedup`), measured in one process; it
    reaches that factor over the trusted serial `baseline` too, within LAYOUT_NOISE (so a
    one-thread mode slowed on purpose gains nothing); and it really runs in parallel: the
    grader reads the CPU time of fn's process around the timed calls.

    fn called with kwarg=1 must stay on one thread (CPU time ≤ 1.25 x wall time). Before and
    after the measurement a trusted canary checks that the cores are free; when they are not,
    the check says "not measured" (NotMeasured) instead of failing the kernel.
    """
    if _deferred(fn):
        return
    target = as_target(fn)
    cores = goal_cores() if cores is None else cores
    need = required_speedup(cores, two_core, efficiency, cap)
    for kw in ({}, {kwarg: 1}):
        result, modified = target.call(inputs, kw)
        verify(target.name, result, *inputs, modified=modified)
    shape = ", ".join(describe(s) for s in inputs if hasattr(s, "describe"))
    serial_name = f"{baseline.__name__} (trusted)"
    anchor = need / LAYOUT_NOISE
    print(f"Speed of {target.name} on {shape} with {cores} core(s) available:")
    one, parallel = {}, {}
    outside = isinstance(target, RemoteFunction)
    for attempt in range(PARALLEL_ATTEMPTS):
        if attempt:  # the attempt before did not decide: measured again
            timing.set_aside(marker)
        _wait_for_free_cores(target, cores, f"{target.name} speed")
        marker = timing.attempt_marker()
        one.clear()
        parallel.clear()
        own = timing.compare(target.runner(inputs, {kwarg: 1}, verify, usage=one),
                             target.runner(inputs, {}, verify, usage=parallel), [need])
        res = timing.compare(_partner(target, baseline).runner(inputs, {}),
                             target.runner(inputs, {}, verify), [anchor], guard=True)
        if free_cores(target, cores) < FREE_SHARE * cores:
            busy_reason = "the grading machine became busy during the measurement"
            continue
        if cores > 1 and outside and not (own.meets(need) and res.meets(anchor)):
            # Before a parallel kernel fails for speed, the grader shows that this machine lets
            # a parallel kernel reach the goal right now: a trusted twin of the serial
            # baseline, split over the same cores. The canary sees free CPU time, not a
            # neighbour on the shared cache and memory bus, which can halve two threads' speed.
            # A kernel that kept fewer cores busy than a parallel one does, while the canary
            # found them free, did not run in parallel: no neighbour explains that.
            ran_parallel = parallel["cpu_s"] >= parallelism_floor(cores, cap) * parallel["wall_s"]
            reach = _trusted_parallel_speedup(target, baseline, inputs, cores, need) \
                if ran_parallel else None
            if reach is not None and not reach.meets(need):
                busy_reason = (f"a trusted parallel kernel reached only {reach.speedup:.2f}x of "
                               f"the {need:g}x asked for on this machine at that moment")
                continue
            # a kernel fails for speed only when it misses every attempt it gets, in a row
            if attempt < (PARALLEL_ATTEMPTS if ran_parallel else SERIAL_ATTEMPTS) - 1:
                print(f"  {target.name} missed the goal; measured again")
                continue
        break
    else:
        timing.set_aside(marker)
        raise NotMeasured(f"{target.name} speed: not measured – {busy_reason}, in every attempt. "
                          "Regrade this submission on a quiet machine; this is not a verdict on "
                          "the code.")
    busy = parallel["cpu_s"] / parallel["wall_s"]
    floor = parallelism_floor(cores, cap) if cores > 1 else 0.0
    print(own.table(f"{target.name} ({kwarg}=1)", f"{target.name} (default)"))
    print(res.table(serial_name, f"{target.name} (default)")
          .replace("  speedup ", "  against the trusted kernel ", 1))
    print(f"  CPU time / wall time of the timed calls: {busy:.2f} with default threads "
          f"(needed: ≥ {floor:.2f}), {one['cpu_s'] / one['wall_s']:.2f} with {kwarg}=1")
    shares = thread_shares(parallel)
    if shares:
        print("  who did the work (CPU time of the default run): " + ", ".join(
            f"{share:.0%} {who}" for who, share in shares.items()))
    plots.show_speedup(target.name, own, [(need, f"≥ {need:g}x")],
                       f"{target.name}: default vs {kwarg}=1\n{cores} core(s)")
    # CPU time is judged only where the grader reads it from outside (a worker): in the
    # student's own kernel, other threads of that process (BLAS helpers, Jupyter) count too.
    if outside and one["cpu_s"] > 1.25 * one["wall_s"] + 0.02:
        raise AssertionError(
            f"{target.name}({kwarg}=1) kept {one['cpu_s'] / one['wall_s']:.2f} cores busy: asked "
            "for one thread, it must use one.\n  hint: pass num_workers on to the pool (and to "
            "numba.set_num_threads for a prange kernel)")
    if cores <= 1:
        goal = f"no slowdown (≥ {need:g}x) on 1 core"
    elif cores == 2:
        goal = f"≥ {need:g}x on 2 cores"
    else:
        goal = f"≥ {need:.2f}x on {cores} cores ({efficiency:g} x cores, at most {cap:g}x)"
    slow = None
    if not own.meets(need):
        slow = (f"{target.name} runs {own.speedup:.2f}x as fast as with {kwarg}=1; needed {goal}.\n"
                "  hint: is the work really split over threads that run at the same time? A "
                "numba kernel releases the GIL only with @njit(nogil=True), and a pool that "
                "waits for each task before submitting the next one is serial")
    elif not res.meets(anchor):
        slow = (f"{target.name} runs {res.speedup:.2f}x as fast as {serial_name}; with the "
                f"threads it must reach at least {anchor:.2f}x of that one-thread kernel (its "
                f"own one-thread run may not be slow on purpose).\n  hint: write the "
                "per-thread part as a plain cache-friendly loop")
    if slow and not outside:
        # In the student's own kernel the pool, the trusted baseline and the checks share one
        # process (and one BLAS thread setting): the grader measures in separate processes.
        print(f"⚠ {slow.splitlines()[0]} In this notebook your pool shares its process with "
              "the trusted kernel and the checks, so this is a rough figure – grading measures "
              "it in separate processes. Speed up the parallel part if it stays near 1x.")
    elif slow:
        raise AssertionError(slow)
    if shares and cores > 1 and shares[LIBRARY] > LIBRARY_SHARE:
        raise AssertionError(
            f"{shares[LIBRARY]:.0%} of {target.name}'s CPU time ran on BLAS's own threads: the "
            "speedup came from the library's threads, not from your pool (at most "
            f"{LIBRARY_SHARE:.0%} may).\n  hint: limit BLAS to one thread around the pool "
            "(`with threadpool_limits(limits=1):`), so that each of your workers runs one")
    if shares and cores > 1 and shares[STARTED] < STARTED_SHARE:
        raise AssertionError(
            f"Threads your code started did only {shares[STARTED]:.0%} of {target.name}'s work "
            f"(at least {STARTED_SHARE:.0%} in a parallel kernel); the rest ran on the calling "
            "thread or BLAS's threads.\n  hint: the work must run in the pool's threads")
    if outside and busy < floor:
        raise AssertionError(
            f"{target.name} kept only {busy:.2f} cores busy on average while it was timed; a "
            f"parallel kernel on {cores} cores keeps at least {floor:.2f} busy. Its speedup "
            "comes from somewhere else, and this exercise grades parallelism.\n  hint: do the "
            "threads run at the same time, or one after another (the GIL, .result() after each "
            "submit)?")
    if not slow:
        print(f"✓ speedup {own.speedup:.2f}x over {kwarg}=1 (needed {goal}), "
              f"{res.speedup:.2f}x the trusted kernel, {busy:.2f} cores busy"
              + ("" if outside else " (CPU time is checked again, from outside, when graded)"))


def check_pool_and_blas_limit(fn) -> None:
    """Static check: fn (or a notebook function it calls) uses a thread pool and limits the
    BLAS threads with threadpoolctl."""
    if _deferred(fn):
        return
    target = as_target(fn)
    sources = target.sources()
    names = set()
    for name in analysis.reachable(target.name, sources):
        names.update(_names_in(sources[name]))
    pool = {"ThreadPoolExecutor", "parallel_map", "Thread"} & names
    limit = {"threadpool_limits", "ThreadpoolController"} & names
    if not pool:
        raise AssertionError(f"{target.name} does not use a thread pool (ThreadPoolExecutor or "
                             "your parallel_map): this exercise is about splitting the batch "
                             "into chunks that run in parallel.")
    if not limit:
        raise AssertionError(
            f"{target.name} does not limit the BLAS threads. Each of your workers calls numpy's "
            "matmul, and BLAS starts its own threads for every call: workers x BLAS threads "
            "oversubscribe the cores.\n  hint: wrap the pool in `with threadpool_limits(1):`")
    print(f"✓ {target.name} uses a thread pool ({', '.join(sorted(pool))}) and limits BLAS "
          f"threads ({', '.join(sorted(limit))})")


def _names_in(source: str) -> set:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
    return found


# -- dense layer -------------------------------------------------------------------
@rowwise(0)
def verify_dense(name: str, result, X: Matrix, W: Matrix, b: Tensor, modified=()) -> None:
    """Assert that `result` is relu(X @ W + b) to within rounding, in the right dtype."""
    x, w, bias = X.build(), W.build(), b.build()
    context = f"X = {X.describe()}, W = {W.describe()}, b = {b.describe()}"
    if modified:
        raise AssertionError(f"{name} modified its input {'XWb'[modified[0]]}: leave the inputs "
                             f"unchanged.\n  inputs: {context}")
    dtype = np.result_type(x, w, bias)
    x64, w64, b64 = (np.asarray(a, np.float64) for a in (x, w, bias))
    expected = np.maximum(x64 @ w64 + b64, 0.0)
    k = x.shape[1]
    bound = 2 * (k + 1) * np.finfo(dtype).eps * (np.abs(x64) @ np.abs(w64) + np.abs(b64)) \
        + 4 * np.finfo(dtype).tiny
    _verify_array(name, result, expected, bound, dtype, context,
                  "relu(X @ W + b): b is added to every row; check that every chunk of rows "
                  "lands in its own place of the output")


def check_dense(fn, shapes, dtypes=("float32",), seed: int = 0, **kwargs) -> None:
    """`fn(X, W, b, **kwargs)` equals relu(X @ W + b) for every (batch, n_in, n_out) shape and
    dtype (a dtype or an (X, W, b) triple)."""
    if _deferred(fn):
        return
    target = as_target(fn)
    count = 0
    for i, (batch, n_in, n_out) in enumerate(shapes):
        for j, dt in enumerate(dtypes):
            dx, dw, db = dt if isinstance(dt, (tuple, list)) else (dt, dt, dt)
            s = seed + 3 * (i * len(dtypes) + j)
            specs = [Matrix(batch, n_in, dx, seed=s), Matrix(n_in, n_out, dw, seed=s + 1),
                     Tensor((n_out,), db, seed=s + 2)]
            result, modified = target.call(specs, kwargs)
            verify_dense(target.name, result, *specs, modified=modified)
            count += 1
    extra = f" with {kwargs}" if kwargs else ""
    print(f"✓ {target.name}{extra}: {count} cases correct (shapes "
          f"{', '.join('x'.join(map(str, s)) for s in shapes)})")


# -- Amdahl's law ------------------------------------------------------------------
def amdahl_bound(parallel_fraction: float, n_workers: int) -> float:
    """1 / ((1 - p) + p / n)."""
    return 1.0 / ((1.0 - parallel_fraction) + parallel_fraction / n_workers)


def check_amdahl(fn, cases) -> None:
    """fn(p, n) equals the Amdahl bound for every (p, n) case, to 1e-9 relative."""
    if _deferred(fn):
        return
    target = as_target(fn)
    for p, n in cases:
        got = _call(target, [p, n], {})
        want = amdahl_bound(p, n)
        if isinstance(got, bool) or not isinstance(got, (int, float, np.integer, np.floating)):
            raise AssertionError(f"{target.name}({p!r}, {n!r}) returned {got!r:.80}, expected "
                                 f"a number ({want:.6g})")
        if not math.isclose(float(got), want, rel_tol=1e-9, abs_tol=0.0):
            raise AssertionError(f"{target.name}({p!r}, {n!r}) returned {float(got):.6g}, "
                                 f"expected {want:.6g} = 1 / ((1 - p) + p / n)")
    print(f"✓ {target.name}: {len(cases)} cases match Amdahl's law")


# -- trusted serial baselines and their parallel twin --------------------------------
_controller = None


def _blas_one_thread():
    """A context in which BLAS runs on one thread (threadpoolctl, loaded on first use)."""
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController
        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")


def _dense_relu(X, W, b):
    out = np.matmul(X, W).astype(np.result_type(X, W, b), copy=False)
    out += b
    np.maximum(out, 0, out=out)
    return out


def dense_relu_serial(X: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """relu(X @ W + b) with numpy, BLAS limited to one thread."""
    with _blas_one_thread():
        return _dense_relu(X, W, b)


_ROWWISE = {"matmul_serial": matmul_serial, "matmul_naive": matmul_naive,
            "dense_relu_serial": _dense_relu}


def rows_in_threads(first, *rest, serial: str, workers: int) -> np.ndarray:
    """The trusted parallel twin of a row-wise serial baseline (`_ROWWISE`): the rows of the
    first argument split into `workers` chunks, each computed by the baseline on its own
    thread (BLAS on one thread each). It shows what this machine lets a parallel kernel gain
    right now (see `check_parallel_speedup`)."""
    kernel = _ROWWISE[serial]
    bounds = np.linspace(0, len(first), workers + 1).astype(int)
    with _blas_one_thread(), ThreadPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(lambda lo, hi: kernel(first[lo:hi], *rest), bounds[:-1], bounds[1:]))
    return np.concatenate(parts)
