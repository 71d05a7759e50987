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
import dataclasses
import itertools
import os
import statistics

import numpy as np

from accelkit import analysis, baselines, plots, timing
from accelkit.cases import Matrix, Tensor, describe
from accelkit.isolate import StudentError, on_one_cpu
from accelkit.targets import LocalTarget, RemoteFunction, as_target

__all__ = ["Matrix", "Tensor", "NotMeasured", "check_matmul", "check_conv2d", "check_raises",
           "check_value_errors", "check_no_blas",
           "check_speedup", "check_tiling", "check_autotune", "check_uses", "verify_matmul", "verify_conv2d"]


class NotMeasured(Exception):
    """The machine was too busy to measure fairly: the cell needs a regrade, not a zero."""


IN_TRUSTED_GRADER = False  # set by accelkit.session in the grader's own process


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


def verify_conv2d(name: str, result, x: Tensor, w: Tensor, stride: int = 1, padding: int = 0,
                  modified=()) -> None:
    xa, wa = x.build(), w.build()
    context = f"x = {x.describe()}, w = {w.describe()}, stride={stride}, padding={padding}"
    if modified:
        raise AssertionError(f"{name} modified its input {'xw'[modified[0]]}.\n  inputs: {context}")
    dtype = np.result_type(xa, wa)
    _verify_array(name, result, baselines.conv2d_expected(xa, wa, stride, padding),
                  baselines.conv2d_error_bound(xa, wa, stride, padding, dtype), dtype, context,
                  "output size is (H + 2*padding - KH) // stride + 1; the im2col column order "
                  "(c, kh, kw) must match w.reshape(F, -1)")


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


def check_conv2d(fn, cases, dtypes=("float32",), seed: int = 0) -> None:
    """`fn(x, w, stride, padding)` equals the direct convolution.

    cases: (N, C, H, W, F, KH, KW, stride, padding) tuples.
    """
    if _deferred(fn):
        return
    target = as_target(fn)
    for i, ((N, C, H, W, F, KH, KW, stride, padding), dt) in enumerate(
            itertools.product(cases, dtypes)):
        dx, dw = _pair(dt)
        x = Tensor((N, C, H, W), dx, seed=seed + 2 * i)
        w = Tensor((F, C, KH, KW), dw, seed=seed + 2 * i + 1)
        result, modified = target.call([x, w, stride, padding], {})
        verify_conv2d(target.name, result, x, w, stride, padding, modified)
    print(f"✓ {target.name}: {len(cases) * len(dtypes)} convolutions correct")


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


SCREEN_SIZE = 512   # the quick first look of check_tiling
SCREEN_RATIO = 0.25  # no tiled kernel is 4x slower than the untiled loop there


def check_tiling(fn, inputs: list, verify, min_ratio: float = 1.8,
                 baseline=baselines.matmul_serial) -> None:
    """Tiling pays where the matrices leave the caches: with its default tiles `fn` beats
    the trusted *untiled* i-k-j loop by `min_ratio`. A kernel that is only reordered runs as
    fast as that loop and fails; how the kernel treats tiny tiles plays no part.

    A quick first look at SCREEN_SIZE² decides kernels far slower than the untiled loop
    (a naive loop costs seconds per call at the graded size)."""
    if _deferred(fn):
        return
    check_no_blas(fn, quiet=True)
    target = as_target(fn)
    small = [dataclasses.replace(s, rows=min(s.rows, SCREEN_SIZE), cols=min(s.cols, SCREEN_SIZE))
             if isinstance(s, Matrix) else s for s in inputs]
    screen = _timed_against(target, baseline, small, verify, [SCREEN_RATIO], {}, one_cpu=True,
                            guard=True)
    print(f"First look at {SCREEN_SIZE}²: {screen.speedup:.2f}x the untiled loop (a tiled "
          f"kernel is not below {SCREEN_RATIO:g}x there)")
    if not screen.meets(SCREEN_RATIO):
        raise AssertionError(
            f"{target.name} is only {screen.speedup:.2f}x as fast as the untiled i-k-j loop "
            f"already at {SCREEN_SIZE}²: far from a tiled kernel, so it was not timed at the "
            "graded size.\n  hint: start from the loop order of matmul_reordered, then add tiles")
    result = _timed_against(target, baseline, inputs, verify, [min_ratio], {}, one_cpu=True)
    shape = " @ ".join(describe(s) for s in inputs if hasattr(s, "describe"))
    print(f"Does tiling pay? {target.name} against the untiled i-k-j loop on {shape}:")
    print(result.table(f"{baseline.__name__} (trusted, untiled)", f"{target.name} (default tiles)"))
    plots.show_speedup(target.name, result, [(min_ratio, f"≥ {min_ratio:g}x")],
                       f"{target.name} vs the untiled loop\n{shape}")
    if not result.meets(min_ratio):
        raise AssertionError(
            f"{target.name} is only {result.speedup:.2f}x as fast as the untiled i-k-j loop; a "
            f"tiled kernel is at least {min_ratio:g}x faster at this size.\n"
            "  hint: does your kernel reuse a tile of B for several rows of C while it is in the "
            "cache, and keep partial sums in local variables (registers)?")
    print(f"✓ tiling pays: {result.speedup:.1f}x the untiled loop (needed: {min_ratio:g}x)")


def check_autotune(autotune, kernel, m: int, k: int, n: int, candidates, dtype="float32",
                   tolerance: float = 1.5, rounds: int = 7) -> None:
    """autotune(...) returns one of `candidates`, and its pick runs within `tolerance` of the
    fastest candidate as measured here, on the same kernel."""
    if _deferred(autotune):
        return
    auto = as_target(autotune)
    pick = autotune(m, k, n, candidates=tuple(candidates), dtype=np.dtype(dtype).type)
    if isinstance(pick, (bool, np.bool_)) or not isinstance(pick, (int, np.integer)) \
            or pick not in candidates:
        raise AssertionError(f"{auto.name} returned {pick!r}; expected one of {tuple(candidates)}"
                             " (an int, the candidate that ran fastest)")
    target = as_target(kernel)
    inputs = [Matrix(m, k, dtype, seed=11), Matrix(k, n, dtype, seed=12)]
    runners = {c: target.runner(inputs, {"block_size": int(c)}) for c in candidates}
    repeats = {c: timing.repeats_for(run, 0.01) for c, run in runners.items()}

    def measure() -> dict:
        """Median seconds per call of each candidate: interleaved rounds, each sample >= 10 ms,
        the order rotating per round; after 3 rounds it stops once the pick is the fastest in
        every round so far (more rounds only matter for a close call)."""
        samples = {c: [] for c in candidates}
        for i in range(rounds):
            order = list(candidates)[i % len(candidates):] + list(candidates)[:i % len(candidates)]
            for c in order:
                samples[c].append(runners[c](repeats[c]) / repeats[c])
            if i >= 2 and all(samples[pick][r] <= min(s[r] for s in samples.values())
                              for r in range(i + 1)):
                break
        return {c: statistics.median(s) for c, s in samples.items()}

    for _ in range(2):  # a second chance against a burst of load from other programs
        medians = measure()
        best = min(medians, key=medians.get)
        table = "  ".join(f"{c}: {t * 1e3:.3g} ms" for c, t in medians.items())
        if medians[pick] <= tolerance * medians[best]:
            break
    else:
        raise AssertionError(f"{auto.name} picked block_size={pick}, but here {best} is "
                             f"{medians[pick] / medians[best]:.1f}x faster (measured twice).\n"
                             f"  measured: {table}\n"
                             "  hint: warm up (compile) before timing and take the best of "
                             "several runs per candidate")
    print(f"✓ {auto.name} picked {pick} (fastest here: {best}); measured: {table}")
