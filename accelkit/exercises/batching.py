"""05 · Batching: the checks of `fit_latency` and `smallest_batch` (latency = a + b·batch).

A call of a layer costs a fixed overhead `a` (Python, argument checks, starting threads,
launching a kernel) plus `b` per item. Throughput `n / (a + b·n)` grows with the batch `n`
towards `1 / b`; the smallest batch that reaches a throughput target T is the smallest
integer n with n·(1 - b·T) ≥ a·T. The checks hand the student's functions measurements made
up here from hidden (a, b) pairs, with repeats and disturbed outliers as real timings have,
and compare with the float64 oracles below.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from accelkit.exercises.checks import _deferred
from accelkit.grading.isolate import StudentError
from accelkit.grading.targets import as_target

__all__ = ["Sweep", "check_fit_latency", "check_smallest_batch", "fastest_per_batch",
           "latency_fit_expected", "smallest_batch_expected"]


@dataclass(frozen=True)
class Sweep:
    """Made-up timings of a batch-size sweep: `repeats` calls per batch size, each slower than
    a + b·n by a random few percent, and (with 3 repeats or more) one call per size disturbed
    `outlier` times over."""
    a: float
    b: float
    sizes: tuple = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
    repeats: int = 3
    noise: float = 0.03
    outlier: float = 4.0
    seed: int = 0
    as_arrays: bool = False   # numpy arrays instead of lists

    def build(self) -> tuple:
        rng = np.random.default_rng(self.seed)
        sizes, seconds = [], []
        for n in self.sizes:
            exact = self.a + self.b * n
            for r in range(self.repeats):
                slower = 1 + abs(rng.normal(0, self.noise))
                if r == self.repeats - 1 and self.repeats > 2:
                    slower *= self.outlier
                sizes.append(int(n))
                seconds.append(exact * slower)
        order = rng.permutation(len(sizes))  # measured in any order
        sizes, seconds = [sizes[i] for i in order], [seconds[i] for i in order]
        if self.as_arrays:
            return np.array(sizes, np.int64), np.array(seconds, np.float64)
        return sizes, seconds

    def describe(self) -> str:
        kind = "arrays" if self.as_arrays else "lists"
        return (f"{len(self.sizes)} batch sizes {self.sizes[0]}..{self.sizes[-1]} × {self.repeats} "
                f"calls ({kind})")


def fastest_per_batch(batch_sizes, seconds) -> tuple:
    """The distinct batch sizes (sorted) and the fastest time measured for each."""
    best: dict = {}
    for n, t in zip(np.asarray(batch_sizes).tolist(), np.asarray(seconds, np.float64).tolist()):
        best[n] = min(t, best.get(n, math.inf))
    sizes = sorted(best)
    return np.array(sizes, np.float64), np.array([best[n] for n in sizes])


def latency_fit_expected(batch_sizes, seconds) -> tuple:
    """Least-squares (a, b) of seconds = a + b·batch over the fastest time per batch size."""
    x, y = fastest_per_batch(batch_sizes, seconds)
    b, a = np.polyfit(x, y, 1)
    return float(a), float(b)


def smallest_batch_expected(a: float, b: float, target: float):
    """The smallest batch n >= 1 with n / (a + b·n) >= target, and the exact bound a·T/(1-b·T);
    None where the target is not below 1/b (no batch reaches it)."""
    if b <= 0 or b * target >= 1:
        return None, math.inf
    bound = a * target / (1 - b * target)
    return max(1, math.ceil(bound)), bound


def _number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))


def _got_pair(name: str, got, what: str) -> tuple:
    if not isinstance(got, (tuple, list)) or len(got) != 2 or not all(map(_number, got)):
        raise AssertionError(f"{name}({what}) returned {got!r:.100}, expected a pair of numbers "
                             "(a, b): the overhead per call in seconds and the cost per item")
    return float(got[0]), float(got[1])


def check_fit_latency(fn, sweeps) -> None:
    """fn(batch_sizes, seconds) returns the least-squares (a, b) of the fastest time per
    batch size, to 1e-6 of the largest time."""
    if _deferred(fn):
        return
    target = as_target(fn)
    for sweep in sweeps:
        sizes, seconds = sweep.build()
        got = _got_pair(target.name, target.call([sizes, seconds], {})[0], sweep.describe())
        want = latency_fit_expected(sizes, seconds)
        scale = max(seconds)
        if not (math.isclose(got[0], want[0], rel_tol=1e-6, abs_tol=1e-6 * scale)
                and math.isclose(got[1], want[1], rel_tol=1e-6, abs_tol=1e-6 * scale / max(sweep.sizes))):
            naive = np.polyfit(np.asarray(sizes, np.float64), np.asarray(seconds), 1)[::-1]
            hint = ("every call was fitted: keep only the fastest time of each batch size first "
                    "(the slower repeats were disturbed)"
                    if np.allclose(got, naive, rtol=1e-6) else
                    "fit a straight line by least squares (np.polyfit(x, y, 1) returns (b, a))")
            raise AssertionError(
                f"{target.name} on {sweep.describe()}:\n  expected a = {want[0]:.6g} s, "
                f"b = {want[1]:.6g} s/item\n  got      a = {got[0]:.6g} s, b = {got[1]:.6g} s/item"
                f"\n  hint: {hint}")
    print(f"✓ {target.name}: {len(sweeps)} sweeps fitted")


def check_smallest_batch(fn, cases) -> None:
    """fn(batch_sizes, seconds, target) is the smallest batch whose modelled throughput
    reaches `target` items/s, and raises ValueError where no batch reaches it.

    cases: (sweep, target in items/s) pairs."""
    if _deferred(fn):
        return
    target = as_target(fn)
    for sweep, goal in cases:
        sizes, seconds = sweep.build()
        a, b = latency_fit_expected(sizes, seconds)
        want, bound = smallest_batch_expected(a, b, goal)
        what = f"{sweep.describe()}, target={goal:.6g} items/s"
        try:
            got, raised = target.call([sizes, seconds, goal], {})[0], None
        except StudentError as err:
            raised = (err.is_a(ValueError), err.info["type"], err.info["message"])
        except Exception as err:  # noqa: BLE001 - run here, outside a worker
            raised = (isinstance(err, ValueError), type(err).__name__, str(err))
        if raised:
            if want is None and raised[0]:
                print(f"✓ {target.name}: {goal:.6g} items/s is beyond the peak 1/b = {1 / b:.6g}: "
                      f"{raised[1]}: {raised[2]}")
                continue
            raise AssertionError(f"{target.name}({what}) raised {raised[1]}: {raised[2]}"
                                 + ("" if want is None else
                                    f"\n  expected {want} (a·T / (1 - b·T) = {bound:.6g})"))
        if want is None:
            raise AssertionError(
                f"{target.name}({what}) returned {got!r:.60} but the fitted peak throughput "
                f"1/b is {1 / b:.6g} items/s: no batch reaches the target; raise ValueError")
        near = {want} if abs(bound - round(bound)) > 1e-6 * max(1.0, bound) else \
            {max(1, math.floor(bound)), want}   # on the boundary either rounding is right
        if isinstance(got, bool) or not isinstance(got, (int, np.integer)) or int(got) not in near:
            raise AssertionError(
                f"{target.name}({what}):\n  expected {want} (the smallest integer n >= 1 with "
                f"n / (a + b·n) >= target; here a·T / (1 - b·T) = {bound:.6g})\n  got      "
                f"{got!r:.60}\n  hint: fit with your fit_latency and solve for n; return an int")
    print(f"✓ {target.name}: {len(cases)} targets")
