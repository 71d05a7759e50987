"""The checks that notebook test cells call.

Each check takes the student's function as the notebook sees it. In the
student's own kernel that is the live function, and the check runs right there
for quick feedback. During ``nbgrader autograde`` the trusted grader re-runs
the same test cell in its own process, where the name is bound to a
`RemoteFunction` that runs the solution cells in an isolated worker, so nothing
a solution cell does to ``time``, ``numpy`` or this module changes a grade.
Messages are written for students: what was expected, what came back, a hint.
"""
from __future__ import annotations

import contextlib
import itertools
import os

import numpy as np

from accelkit.grading import analysis, plots, timing
from accelkit.exercises import baselines
from accelkit.grading.cases import Matrix, Tensor, describe, rowwise
from accelkit.grading.isolate import StudentError, on_one_cpu
from accelkit.grading.targets import LocalTarget, RemoteFunction, as_target

__all__ = ["Matrix", "Tensor", "NotMeasured", "check_matmul", "check_raises", "check_value_errors",
           "check_no_blas", "check_speedup", "check_uses", "verify_matmul"]


class NotMeasured(Exception):
    """The machine was too busy to measure fairly: the cell needs a regrade, not a zero."""


IN_TRUSTED_GRADER = False  # set by accelkit.grading.session in the grader's own process


def _deferred(fn) -> bool:
    """True in the student's kernel during autograde: the trusted grader runs this test instead."""
    if IN_TRUSTED_GRADER or os.environ.get("NBGRADER_EXECUTION") != "autograde":
        return False
    print("(graded by the trusted grader in a separate process)")
    return True


def _pair(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


# -- verification of one result ----------------------------------------------------
def _verify_array(name: str, result, expected: np.ndarray, bound, dtype, context: str,
                  hint: str) -> None:
    if not isinstance(result, np.ndarray):
        raise AssertionError(f"{name} returned {type(result).__name__} {result!r:.80}, "
                             f"expected a numpy array.\n  inputs: {context}")
    if result.shape != expected.shape:
        raise AssertionError(f"{name} returned shape {result.shape}, expected {expected.shape}."
                             f"\n  inputs: {context}")
    if result.dtype != dtype:
        raise AssertionError(f"{name} returned dtype {result.dtype}, expected {np.dtype(dtype)} "
                             f"(np.result_type of the inputs).\n  inputs: {context}")
    error = np.abs(result.astype(np.float64) - expected)
    bad = ~(error <= bound)  # also catches nan
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        rows = np.flatnonzero(bad.reshape(bad.shape[0], -1).any(axis=1)) if bad.ndim > 1 else []
        raise AssertionError(
            f"{name} is wrong in {int(bad.sum())} of {bad.size} entries.\n"
            f"  inputs: {context}\n"
            f"  first wrong entry {first}: expected {expected[first]:.6g}, got {result[first]:.6g} "
            f"(allowed error {np.broadcast_to(bound, expected.shape)[first]:.2g})\n"
            + (f"  wrong rows: {rows.min()}..{rows.max()} of 0..{bad.shape[0] - 1}\n" if len(rows) else "")
            + f"  hint: {hint(bad) if callable(hint) else hint}")


@rowwise(0)
def verify_matmul(name: str, result, A: Matrix, B: Matrix, modified=()) -> None:
    """Assert that `result` is A @ B to within rounding, in the right dtype; inputs untouched."""
    a, b = A.build(), B.build()
    context = f"A = {A.describe()}, B = {B.describe()}"
    if modified:
        raise AssertionError(f"{name} modified its input {'AB'[modified[0]]}: kernels must "
                             f"leave their inputs unchanged.\n  inputs: {context}")
    dtype = np.result_type(a, b)
    expected = baselines.matmul_expected(a, b)

    def hint(bad: np.ndarray) -> str:
        if bad.all():
            return ("every entry is wrong: check the loop bounds, that C starts at zero and that "
                    "you return the array you filled")
        return ("only some entries are off: check the partial blocks at the bottom/right edges "
                "(a size that is not a multiple of block_size)")

    _verify_array(name, result, expected, baselines.matmul_error_bound(a, b, dtype), dtype,
                  context, hint)


# -- correctness ---------------------------------------------------------------------
def check_no_blas(fn, quiet: bool = False) -> None:
    """Fail when the kernel (or a notebook function it calls) hands the product to a library."""
    if _deferred(fn):
        return
    target = as_target(fn)
    found = analysis.delegations(target.name, target.sources())
    if found:
        raise AssertionError(
            f"{target.name} delegates the multiplication to a library, so it earns no points "
            "here: this exercise is about writing the loops yourself.\n  found: "
            + "; ".join(found[:5]))
    if not quiet:
        print(f"✓ {target.name} does its own arithmetic (no @, np.dot, np.matmul, einsum, linalg)")


def check_uses(fn, helper_name: str) -> None:
    """Fail unless `fn` calls the notebook function `helper_name` (directly or indirectly)."""
    if _deferred(fn):
        return
    target = as_target(fn)
    sources = target.sources()
    reach = analysis.reachable(target.name, sources)
    if helper_name not in reach:
        raise AssertionError(f"{target.name} should be built on your {helper_name}, "
                             f"but it never calls it.")
    print(f"✓ {target.name} is built on {helper_name}")


def check_matmul(fn, shapes, dtypes=("float32",), layouts=("C",), seed: int = 0,
                 **kwargs) -> None:
    """`fn(A, B, **kwargs)` equals A @ B for every combination of shapes, dtypes and layouts.

    shapes: (m, k, n) triples. dtypes/layouts: a value for both inputs or an (A, B) pair;
    layouts are "C", "F", "T" (transposed view) and "strided" (every 2nd row, 3rd column).
    """
    if _deferred(fn):
        return
    check_no_blas(fn, quiet=True)
    target = as_target(fn)
    cases = list(itertools.product(shapes, dtypes, layouts))
    for i, ((m, k, n), dt, lay) in enumerate(cases):
        (da, db), (la, lb) = _pair(dt), _pair(lay)
        A = Matrix(m, k, da, la, seed=seed + 2 * i)
        B = Matrix(k, n, db, lb, seed=seed + 2 * i + 1)
        result, modified = target.call([A, B], kwargs)
        verify_matmul(target.name, result, A, B, modified)
    extra = f" with {kwargs}" if kwargs else ""
    print(f"✓ {target.name}{extra}: {len(cases)} cases correct "
          f"(shapes {', '.join('x'.join(map(str, s)) for s in shapes)}; "
          f"dtypes {', '.join(map(str, dtypes))}; layouts {', '.join(map(str, layouts))})")


def call_text(name: str, args, kwargs) -> str:
    """How a call reads in a message: matmul_blocked(float32 3x4 (C-contiguous), ...)."""
    return f"{name}({', '.join(describe(a) for a in args)}" + "".join(
        f", {k}={v!r}" for k, v in kwargs.items()) + ")"


def check_value_errors(fn, cases) -> None:
    """Each (args, kwargs) in `cases` is invalid input: `fn` must raise ValueError."""
    for args, kwargs in cases:
        check_raises(fn, ValueError, *args, **kwargs)


def check_raises(fn, exc_type: type, *specs, **kwargs) -> None:
    """`fn(*inputs, **kwargs)` raises `exc_type` (built from recipes `specs`)."""
    if _deferred(fn):
        return
    target = as_target(fn)
    what = call_text(target.name, specs, kwargs)
    try:
        result, _ = target.call(list(specs), kwargs)
    except StudentError as err:
        if err.is_a(exc_type):
            print(f"✓ {what} raised {err.info['type']}: {err.info['message']}")
            return
        raise AssertionError(f"{what} raised {err.info['type']}, expected {exc_type.__name__}."
                             f"\n  message: {err.info['message']}") from None
    except exc_type as err:
        print(f"✓ {what} raised {type(err).__name__}: {err}")
        return
    except Exception as err:
        raise AssertionError(f"{what} raised {type(err).__name__}, expected "
                             f"{exc_type.__name__}.\n  message: {err}") from None
    shape = getattr(result, "shape", None)
    raise AssertionError(f"{what} returned {'an array of shape ' + str(shape) if shape else repr(result)}"
                         f" instead of raising {exc_type.__name__}.\n  hint: check the shapes "
                         "before you compute, and raise with a message that says what is wrong")


# -- speed ---------------------------------------------------------------------------
def _partner(target, baseline) -> object:
    """The baseline, run the same way as the candidate: here, or in a trusted worker."""
    if isinstance(target, RemoteFunction):
        return target.baseline(baseline)
    return LocalTarget(baseline)


def _timed_against(target, baseline, inputs: list, verify, thresholds, kwargs: dict,
                   one_cpu: bool = False, guard: bool = False):
    """The common speed measurement: `target` (correct on these inputs first) against the
    trusted `baseline`, every timed call on new inputs, a random sample of them verified.
    one_cpu: both processes on the same CPU while they are timed (`isolate.on_one_cpu`), for
    a one-thread question such as tiling."""
    result, modified = target.call(inputs, kwargs)
    verify(target.name, result, *inputs, modified=modified)
    base = _partner(target, baseline)
    remote = isinstance(target, RemoteFunction)
    with (on_one_cpu([base.worker, target.worker]) if one_cpu and remote
          else contextlib.nullcontext(lambda: False)) as moved:
        result = timing.compare(base.runner(inputs, {}), target.runner(inputs, kwargs, verify),
                                list(thresholds), guard=guard)
        if moved():
            raise AssertionError(
                f"{target.name} moved its threads off the CPU the grader gave it while it was "
                "timed (os.sched_setaffinity): this measurement compares one CPU with one CPU, "
                "so it cannot be made.")
    return result


def check_speedup(fn, baseline, inputs: list, verify, tiers: list, kwargs=None,
                  own_arithmetic: bool = True) -> float:
    """Points earned for the speedup of `fn` over a trusted `baseline` on `inputs`.

    tiers: (minimum speedup, points) pairs; the highest tier reached counts. Only a kernel
    that is correct on these very inputs (checked by `verify`) earns speed points.
    """
    if _deferred(fn):
        return 0.0
    kwargs = dict(kwargs or {})
    if own_arithmetic:
        check_no_blas(fn, quiet=True)
    target = as_target(fn)
    tiers = sorted(tiers, reverse=True)
    result = _timed_against(target, baseline, inputs, verify, [t for t, _ in tiers], kwargs)
    earned = next((pts for t, pts in tiers if result.meets(t)), 0.0)
    shape = " @ ".join(describe(s) for s in inputs if hasattr(s, "describe"))
    print(f"Speed of {target.name} on {shape}:")
    print(result.table(f"{baseline.__name__} (trusted)", target.name))
    print("  thresholds: " + ", ".join(f"≥ {t:g}x → {p:g} pt" for t, p in tiers)
          + f"  ({timing.RULE})")
    print(f"  → {earned:g} of {tiers[0][1]:g} points")
    plots.show_speedup(target.name, result, [(t, f"≥ {t:g}x → {p:g} pt") for t, p in tiers],
                       f"{target.name} vs {baseline.__name__}\n{shape}")
    return float(earned)
