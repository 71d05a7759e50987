"""The roofline (notebook 01): trusted machine measurements, a plot helper and checks.

* `bandwidth_reference` / `peak_gflops_reference` – what the grader itself measures on the
  grading machine; the student's measurements are compared with these, within a wide band.
* `plot_roofline` – draws the ceilings and kernels (for the notebook, not for grading).
* `check_*` – what the notebook's test cells call (conventions: `accelkit.exercises.checks`).
"""
from __future__ import annotations

import math
import time

import numpy as np

from accelkit.exercises.checks import _deferred, _partner, call_text, check_value_errors  # noqa: F401 - re-exported
from accelkit.grading.targets import as_target

__all__ = ["bandwidth_reference", "peak_gflops_reference", "plot_roofline", "check_measurement",
           "check_values", "check_value_errors", "check_answers", "check_answer_form"]


# -- trusted measurements ------------------------------------------------------------------
def bandwidth_reference(megabytes: int = 64, repeat: int = 7) -> float:
    """Sustained copy bandwidth in GB/s: best of `repeat` copies of a `megabytes` MB float64
    array (far beyond any last-level cache); a copy moves 2 bytes per byte copied."""
    n = megabytes * 1_000_000 // 8
    src = np.ones(n)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - start)
    return 2 * src.nbytes / best / 1e9


def peak_gflops_reference(dtype=np.float32, n: int = 768, repeat: int = 5) -> float:
    """One core's achievable GFLOP/s: best of `repeat` n x n BLAS products limited to 1 thread."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    A = rng.standard_normal((n, n)).astype(dtype)
    B = rng.standard_normal((n, n)).astype(dtype)
    best = math.inf
    with threadpool_limits(1):
        A @ B
        for _ in range(repeat):
            start = time.perf_counter()
            A @ B
            best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


# -- plot --------------------------------------------------------------------------------
def plot_roofline(peak_gflops: float, bandwidth_gbs: float, points: dict | None = None,
                  title: str = "Roofline of this machine (one core)"):
    """Log-log roofline: the bandwidth slope, the compute ceiling, and `points`
    ({label: (intensity FLOP/byte, achieved GFLOP/s)}). Returns the figure."""
    import matplotlib.pyplot as plt

    ridge = peak_gflops / bandwidth_gbs
    xs = np.logspace(-2, 3, 200)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(xs, np.minimum(peak_gflops, xs * bandwidth_gbs), color="black", lw=2,
            label=f"roof: {bandwidth_gbs:.1f} GB/s, {peak_gflops:.1f} GFLOP/s")
    ax.axvline(ridge, color="gray", ls=":", label=f"ridge point {ridge:.1f} FLOP/byte")
    for label, (intensity, gflops) in (points or {}).items():
        ax.scatter([intensity], [gflops], s=40, zorder=3)
        ax.annotate(label, (intensity, gflops), textcoords="offset points", xytext=(5, 5))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP / byte)")
    ax.set_ylabel("GFLOP/s")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


# -- checks ------------------------------------------------------------------------------
def _number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def check_measurement(fn, trusted, unit: str, factor: float = 2.5, kwargs=None) -> None:
    """`fn(**kwargs)` agrees with the trusted measurement `trusted(**kwargs)`, taken on the same
    machine right before and after, to within `factor` either way."""
    if _deferred(fn):
        return
    kwargs = dict(kwargs or {})
    target = as_target(fn)
    partner = _partner(target, trusted)
    before, _ = partner.call([], kwargs)
    got, _ = target.call([], kwargs)
    after, _ = partner.call([], kwargs)
    shown = ", ".join(f"{k}={getattr(v, '__name__', v)}" for k, v in kwargs.items())
    what = f"{target.name}({shown})"
    if not _number(got) or not math.isfinite(got):
        raise AssertionError(f"{what} returned {got!r}; expected a number in {unit}")
    low, high = min(before, after) / factor, max(before, after) * factor
    print(f"{what} = {got:.3g} {unit}; the grader measured {before:.3g} and {after:.3g} {unit} "
          f"on this machine (accepted: {low:.3g} .. {high:.3g})")
    if not low <= got <= high:
        raise AssertionError(
            f"{what} = {got:.3g} {unit} is more than {factor:g}x away from the grader's own "
            f"measurement.\n  hint: check the units (1 GB = 1e9 bytes), count the bytes read "
            "and written, use arrays far larger than the caches, take the best of several runs")
    print("✓ within the accepted band")


def _same(got, want, rel: float) -> bool:
    if isinstance(want, str):
        return isinstance(got, str) and got == want
    if isinstance(want, tuple):
        return isinstance(got, (tuple, list)) and len(got) == len(want) and all(
            _same(g, w, rel) for g, w in zip(got, want))
    return _number(got) and math.isclose(float(got), want, rel_tol=rel, abs_tol=1e-12)


def check_values(fn, cases, rel: float = 1e-9, hint: str = "") -> None:
    """cases: (args, kwargs, expected); expected a number, a string or a tuple of those."""
    if _deferred(fn):
        return
    target = as_target(fn)
    for args, kwargs, want in cases:
        got, _ = target.call(list(args), dict(kwargs))
        if not _same(got, want, rel):
            raise AssertionError(f"{call_text(target.name, args, kwargs)} returned {got!r}, expected "
                                 f"{want!r}." + (f"\n  hint: {hint}" if hint else ""))
    print(f"✓ {target.name}: {len(cases)} cases right")


_DEFERRED = object()


def _answer(fn, key: str):
    """`fn()[key]`, from a dict `fn` must return (or _DEFERRED where the grader checks it)."""
    if _deferred(fn):
        return _DEFERRED
    target = as_target(fn)
    answers, _ = target.call([], {})
    if not isinstance(answers, dict) or key not in answers:
        raise AssertionError(f"{target.name}() must return a dict with the key {key!r}; "
                             f"got {answers!r:.200}")
    return answers[key]


def check_answer_form(fn, key: str, kind) -> None:
    """`fn()` returns a dict whose `key` holds an answer of the right form: a number (`kind`
    float) or one of the strings in `kind`. The form only – the hidden tests grade the
    answer, so the visible test cells give nothing away."""
    got = _answer(fn, key)
    if got is _DEFERRED:
        return
    if kind is float and not _number(got):
        raise AssertionError(f"{key} must be a number, got {got!r:.100}")
    if kind is not float and not (isinstance(got, str) and got.strip().lower() in kind):
        raise AssertionError(f"{key} must be one of {', '.join(map(repr, kind))}; got {got!r:.100}")
    print(f"✓ {key} = {got!r} has the right form (the grader checks the answer itself)")


def check_answers(fn, key: str, want, rel: float = 0.01) -> None:
    """`fn()` returns a dict whose `key` is `want` (a number within `rel`, or a string)."""
    got = _answer(fn, key)
    if got is _DEFERRED:
        return
    if isinstance(want, str):
        ok = isinstance(got, str) and got.strip().lower() == want
    else:
        ok = _number(got) and math.isclose(float(got), want, rel_tol=rel)
    if not ok:
        raise AssertionError(f"{key} = {got!r} is not right.")
    print(f"✓ {key} = {got!r}")
