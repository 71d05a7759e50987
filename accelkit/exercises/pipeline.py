"""05 · A data-loading pipeline: the checks of `prefetch(load, keys, num_workers, depth)`.

The grader hands the student's `prefetch` a trusted loader (`ShardSet`: shards of uint8
images written as .npy files when the recipe is built, read and decoded with numpy on each
call) and drives what it returns with a trusted training step (`TrainStep`: a dense layer in
BLAS), as a training loop would (`worker.drain_items`). What decides a grade is measured or
checked on the grader's side: the step's results (each item's checksum, in order, and the
layer's output for a sample of them) against values computed here from the same seeds; the
worker's peak memory and its threads, read from /proc; the time of whole epochs against the
trusted sequential loader in the baseline worker.
"""
from __future__ import annotations

import math
import os
import random
import shutil
import tempfile
import time
import weakref
from dataclasses import dataclass

import numpy as np

from accelkit.exercises.checks import _deferred, _partner
from accelkit.exercises.parallel import _blas_one_thread, _wait_for_free_cores, available_cores
from accelkit.grading import plots, timing
from accelkit.grading.isolate import StudentError, _threads
from accelkit.grading.targets import RemoteFunction, as_target

__all__ = ["ShardSet", "ShardError", "TrainStep", "check_prefetch_order", "check_prefetch_errors",
           "check_prefetch_shutdown", "check_prefetch_memory", "check_prefetch_speedup",
           "sequential_loader", "write_shards"]

MEAN, STD, GAMMA = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), 2.2


class ShardError(Exception):
    """Raised by a `ShardSet` loader for the shard it was told to fail on."""


def _raw_shard(seed: int, index: int, images: int, size: int) -> np.ndarray:
    rng = np.random.default_rng([seed, index])
    return rng.integers(0, 256, (images, 3, size, size), dtype=np.uint8)


def decode(raw: np.ndarray) -> np.ndarray:
    """uint8 images (N, 3, H, W) -> float32: gamma-expanded, normalised per channel, every
    other image mirrored (numpy throughout: the work releases the GIL)."""
    x = raw.astype(np.float32)
    x *= np.float32(1 / 255)
    np.power(x, np.float32(GAMMA), out=x)
    x -= np.asarray(MEAN, np.float32)[:, None, None]
    x /= np.asarray(STD, np.float32)[:, None, None]
    x[1::2] = x[1::2, :, :, ::-1]
    return x


def write_shards(folder: str, count: int, images: int = 32, size: int = 64,
                 seed: int = 0) -> list:
    """`count` shards of random uint8 images as .npy files in `folder`; their paths."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i in range(count):
        path = os.path.join(folder, f"shard-{i:05d}.npy")
        np.save(path, _raw_shard(seed, i, images, size))
        paths.append(path)
    return paths


def _array_layout(path: str) -> tuple:
    """(offset of the data, dtype, shape) of a .npy file, read once in the building thread.

    numpy parses a .npy header with `ast.literal_eval`, and CPython 3.11's AST conversion
    keeps one recursion counter per interpreter: threads parsing at once can fail with
    "SystemError: AST constructor recursion depth mismatch". The loader therefore reads
    each header once here and the data, in the workers, with `np.fromfile` (what `np.load`
    itself does for a file on disk)."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                       (2, 0): np.lib.format.read_array_header_2_0}[version]
        shape, fortran_order, dtype = read_header(f)
        if fortran_order:
            raise ValueError(f"{path}: Fortran order is not expected in a shard")
        return f.tell(), dtype, shape


class ShardLoader:
    """load(i): read shard i from disk and decode it (a new float32 array each call)."""

    def __init__(self, paths: list, fail_on: int | None, stagger_s: float = 0.0):
        self.paths, self.fail_on, self.stagger_s = paths, fail_on, stagger_s
        self.layouts = [_array_layout(path) for path in paths]

    def __call__(self, index):
        if index == self.fail_on:
            raise ShardError(f"shard {index} is corrupt")
        if self.stagger_s:  # a slow disk for some shards: later ones may be ready first
            time.sleep(self.stagger_s * ((7 * index) % 5) / 4)
        offset, dtype, shape = self.layouts[index]
        raw = np.fromfile(self.paths[index], dtype=dtype, count=math.prod(shape), offset=offset)
        return decode(raw.reshape(shape))

    def __repr__(self) -> str:
        return f"<load: {len(self.paths)} shards>"


@dataclass(frozen=True)
class ShardSet:
    """A recipe: `count` shards written to a new folder when built, and the trusted `load`
    that reads and decodes one (`ShardLoader`); the folder goes with the loader. `stagger_s`:
    shard i takes up to that much longer to read, by i (workers then finish out of order)."""
    count: int = 32
    images: int = 32
    size: int = 64
    seed: int = 0
    fail_on: int | None = None
    stagger_s: float = 0.0

    def build(self) -> ShardLoader:
        folder = tempfile.mkdtemp(prefix="accelkit-shards-")
        loader = ShardLoader(write_shards(folder, self.count, self.images, self.size, self.seed),
                             self.fail_on, self.stagger_s)
        weakref.finalize(loader, shutil.rmtree, folder, True)
        return loader

    def item(self, index: int) -> np.ndarray:
        """What load(index) returns (computed here, for the checks)."""
        return decode(_raw_shard(self.seed, index, self.images, self.size))

    @property
    def item_bytes(self) -> int:
        return self.images * 3 * self.size * self.size * 4

    def describe(self) -> str:
        return (f"{self.count} shards of {self.images} images 3x{self.size}x{self.size} "
                f"({self.item_bytes / 2**20:.1f} MiB each decoded)")


_weights: dict = {}


@dataclass(frozen=True)
class TrainStep:
    """One training-like step on a decoded batch: a dense layer tanh(x W) in BLAS (one
    thread), then an
    optional pause (a slow consumer). Returns (checksum of the batch, checksum of the
    layer's output), which the grader recomputes."""
    hidden: int = 128
    pause_s: float = 0.0
    seed: int = 7

    def weights(self, features: int) -> np.ndarray:
        key = (features, self.hidden, self.seed)
        if key not in _weights:
            rng = np.random.default_rng(self.seed)
            _weights[key] = (rng.standard_normal((features, self.hidden)) / math.sqrt(features)
                             ).astype(np.float32)
        return _weights[key]

    def layer(self, batch) -> np.ndarray:
        """The step's arithmetic: tanh(x W), one row of x per image of the batch."""
        x = np.asarray(batch).reshape(len(batch), -1)
        with _blas_one_thread():  # the step is one core's work; the loaders have the others
            return np.tanh(x @ self.weights(x.shape[1]))

    def __call__(self, batch) -> tuple:
        x = np.asarray(batch)
        out = self.layer(x)
        if self.pause_s:
            time.sleep(self.pause_s)
        return float(x.sum(dtype=np.float64)), float(out.sum(dtype=np.float64))


def sequential_loader(load, keys, num_workers=None, depth=None):
    """The trusted baseline: load(k) for each key, one after another, nothing ahead."""
    for key in keys:
        yield load(key)


# -- checks ----------------------------------------------------------------------------
def _call_text(name: str, shards: ShardSet, kwargs: dict) -> str:
    return (f"{name}(load, keys) over {shards.describe()}"
            + "".join(f", {k}={v!r}" for k, v in kwargs.items()))


def _verify_epoch(shards: ShardSet, step: TrainStep, what: str, results, keys=None,
                  sampled: int = 3, ordered: bool = True) -> None:
    """Every item's checksum, in order, once each; the layer's output for a sample.
    With `ordered=False` (the shutdown test) any order of distinct keys will do, and where
    fewer than all keys are expected, any of them."""
    keys = list(range(shards.count)) if keys is None else keys
    if not isinstance(results, list) or any(not isinstance(r, tuple) or len(r) != 2
                                            for r in results):
        raise AssertionError(f"{what}: the training loop did not get one batch per step")
    got = [r[0] for r in results]
    if not ordered:
        every = {round(float(shards.item(k).sum(dtype=np.float64)), 3): k
                 for k in range(shards.count)}
        seen = [every.get(round(g, 3)) if isinstance(g, float) else None for g in got]
        if None not in seen and len(set(seen)) == len(seen) == len(keys):
            keys = seen if len(keys) < shards.count or set(seen) == set(keys) else keys
    want = [float(shards.item(k).sum(dtype=np.float64)) for k in keys]
    if len(got) != len(want) or not np.allclose(got, want, rtol=1e-9, atol=0):
        index = {round(w, 3): k for k, w in zip(keys, want)}
        seen = [index.get(round(g, 3), "?") for g in got]
        hint = ("items came out of order: yield them in the order of keys, whichever worker "
                "finished first" if sorted(map(str, seen)) == sorted(map(str, keys)) else
                "every key must be loaded and yielded exactly once")
        raise AssertionError(f"{what}: the loop got the items of keys {seen[:12]}"
                             f"{' ...' if len(seen) > 12 else ''}, expected {keys[:12]}"
                             f"{' ...' if len(keys) > 12 else ''}\n  hint: {hint}")
    for i in random.sample(range(len(keys)), min(sampled, len(keys))):
        out = step.layer(shards.item(keys[i]))
        if not math.isclose(results[i][1], float(out.sum(dtype=np.float64)), rel_tol=1e-3,
                            abs_tol=1e-3):
            raise AssertionError(f"{what}: the training step on item {i} did not compute what "
                                 "it should (was the batch changed after it was yielded?)")


def check_prefetch_order(fn, cases) -> None:
    """Every item exactly once, in the order of keys: cases are (ShardSet, kwargs)."""
    if _deferred(fn):
        return
    target, step = as_target(fn), TrainStep()
    for shards, kwargs in cases:
        what = _call_text(target.name, shards, kwargs)
        results = target.drain([shards, list(range(shards.count))], kwargs, step)
        _verify_epoch(shards, step, what, results)
    print(f"✓ {target.name}: {len(cases)} epochs, every item once and in order")


def check_prefetch_errors(fn, shards: ShardSet, kwargs: dict) -> None:
    """An exception raised by load in a worker thread reaches the training loop."""
    if _deferred(fn):
        return
    target = as_target(fn)
    what = _call_text(target.name, shards, kwargs) + f" (load raises on shard {shards.fail_on})"
    try:
        results = target.drain([shards, list(range(shards.count))], kwargs, TrainStep())
    except StudentError as err:
        if err.is_a(ShardError):
            print(f"✓ {what}: the loop got ShardError: {err.info['message']}")
            return
        raise AssertionError(f"{what} raised {err.info['type']}, expected the ShardError that "
                             f"load raised.\n  message: {err.info['message']}") from None
    except ShardError as err:  # run here, in the student's kernel
        print(f"✓ {what}: the loop got ShardError: {err}")
        return
    raise AssertionError(f"{what}: the loop ended normally after {len(results)} items; the "
                         "ShardError never reached it.\n  hint: hand the exception to the "
                         "consumer (future.result() re-raises it) instead of dropping the item")


def _extra_threads(target, before: set, wait_s: float) -> set:
    """Threads of the worker that were not there before, still running after `wait_s`."""
    deadline = time.monotonic() + wait_s
    while True:
        extra = set(_threads(target.worker.pid)) - before
        if not extra or time.monotonic() > deadline:
            return extra
        time.sleep(0.02)


def check_prefetch_shutdown(fn, shards: ShardSet, kwargs: dict, stop_after: int = 3,
                            wait_s: float = 2.0) -> None:
    """A loop that stops early closes the generator: within `wait_s` no thread it started
    is left (threads counted by the grader in /proc); a full epoch leaves none either."""
    if _deferred(fn):
        return
    target, step = as_target(fn), TrainStep()
    keys = list(range(shards.count))
    what = _call_text(target.name, shards, kwargs)
    target.drain([shards, keys], kwargs, step)                  # warm-up: BLAS, imports
    if not isinstance(target, RemoteFunction):
        results = target.drain([shards, keys], kwargs, step, stop_after)
        _verify_epoch(shards, step, what, results, keys[:stop_after], ordered=False)
        print(f"✓ {what}: stopped after {stop_after} items (threads are counted in grading)")
        return
    for stop in (None, stop_after):
        before = set(_threads(target.worker.pid))
        results = target.drain([shards, keys], kwargs, step, stop)
        _verify_epoch(shards, step, what, results, keys if stop is None else keys[:stop],
                      ordered=False)
        extra = _extra_threads(target, before, wait_s)
        if extra:
            when = "a full epoch" if stop is None else f"the loop stopped after {stop} items"
            raise AssertionError(
                f"{what}: {len(extra)} thread(s) still running {wait_s:g} s after {when} and "
                "the generator was closed.\n  hint: close() raises GeneratorExit at your yield: "
                "catch it with try/finally, cancel what is queued and shut the pool down, so "
                "no worker stays blocked on a full queue")
    print(f"✓ {what}: no thread left after a full epoch or an early stop after {stop_after}")


def check_prefetch_memory(fn, shards: ShardSet, kwargs: dict, pause_s: float = 0.01,
                          slack_mb: int = 8) -> None:
    """With a consumer slower than the loaders, the worker's peak extra memory (read by the
    grader from /proc) stays within (depth + 2 * num_workers + 4) decoded items + slack: the
    queue's bound, not the epoch's size."""
    if _deferred(fn):
        return
    target, step = as_target(fn), TrainStep(pause_s=pause_s)
    depth, workers = kwargs["depth"], kwargs["num_workers"]
    allowed = (depth + 2 * workers + 4) * shards.item_bytes + (slack_mb << 20)
    what = _call_text(target.name, shards, kwargs)
    keys = list(range(shards.count))
    target.drain([shards, keys[:4]], kwargs, step)              # warm-up
    if not isinstance(target, RemoteFunction):
        print(f"  ({what}: memory is measured in grading, by the grader)")
        return
    results, peak = target.drain_peak([shards, keys], kwargs, step)
    _verify_epoch(shards, step, what, results)
    line = (f"{what}: peak {peak / 2**20:.1f} MiB above the start, allowed "
            f"{allowed / 2**20:.1f} MiB (the whole epoch decoded: "
            f"{shards.count * shards.item_bytes / 2**20:.0f} MiB)")
    if peak > allowed:
        raise AssertionError(line + "\n  hint: a queue.Queue(maxsize=depth) (or at most depth "
                             "futures in flight) makes the workers wait for the consumer")
    print("✓ " + line)


def check_prefetch_speedup(fn, shards: ShardSet, kwargs: dict, two_core: float,
                           one_core: float = 0.8) -> None:
    """A training loop over `fn` against the same loop over the trusted sequential loader:
    loading overlaps the step, so with 2 or more cores the epoch is `two_core` times as fast
    (with 1 core only no slowdown is asked for). Every epoch on new shards, its results
    verified; timed from the grader's side."""
    if _deferred(fn):
        return
    target, step = as_target(fn), TrainStep()
    cores = available_cores()
    need = one_core if cores == 1 else two_core
    keys = list(range(shards.count))
    what = _call_text(target.name, shards, kwargs)
    target.drain([shards, keys], kwargs, step)                  # warm-up
    if cores > 1:  # a busy machine is not measured (05's canary), rather than failed
        _wait_for_free_cores(target, 2, what)
    base = _partner(target, sequential_loader)

    def verify(name, results, used):
        _verify_epoch(used[0], step, f"{what} (timed)", results, sampled=1)

    result = timing.compare(base.drain_runner([shards, keys], {}, step, verify),
                            target.drain_runner([shards, keys], kwargs, step, verify), [need])
    print(f"Epoch time of {target.name} against the sequential loader ({cores} cores):")
    print(result.table("sequential_loader (trusted)", target.name))
    print(f"  threshold: ≥ {need:g}x  ({timing.RULE})")
    plots.show_speedup(target.name, result, [(need, f"≥ {need:g}x")],
                       f"{target.name} vs sequential_loader\n{shards.describe()}")
    if not result.meets(need):
        raise AssertionError(
            f"{what}: {result.speedup:.2f}x the sequential loader, below {need:g}x.\n  hint: the "
            "workers must load the next items while the loop runs its step on this one: start "
            "depth loads before the first yield and one more after each")
    print(f"✓ {what}: loading overlapped the training step")
