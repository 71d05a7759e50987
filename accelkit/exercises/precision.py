"""Mixed precision (notebook 07): inputs, trusted references, baselines and checks.

* `Half` – a float16 matrix recipe (values uniform in [low, high)).
* `matmul_fp16_naive` – the trusted baseline: inputs widened to float32, textbook i-j-k loop.
* `matmul_fp16_acc16` – what naive float16 arithmetic gives (every partial sum rounded to
  float16), for the notebook's accuracy comparison.
* `loss_scale_reference` – the dynamic loss-scaling rule, as the notebook specifies it.
* `check_*` – what the notebook's test cells call (conventions: `accelkit.exercises.checks`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from accelkit.grading.cases import describe, rowwise
from accelkit.exercises.checks import (_deferred, _verify_array, call_text, check_no_blas, check_speedup,
                             check_value_errors)
from accelkit.grading.targets import as_target

__all__ = ["Half", "matmul_fp16_naive", "matmul_fp16_acc16", "verify_matmul_fp16",
           "check_matmul_fp16", "check_matmul_fp16_speed", "loss_scale_reference",
           "check_loss_scale", "check_loss_scale_errors", "check_loss_scale_sequence",
           "check_has_overflow"]


@dataclass(frozen=True)
class Half:
    """A (rows, cols) float16 matrix, uniform in [low, high); layout "C" or "T" (a transposed view)."""

    rows: int
    cols: int
    low: float = -1.0
    high: float = 1.0
    layout: str = "C"
    seed: int = 0

    def build(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        if self.layout == "T":
            return rng.uniform(self.low, self.high, (self.cols, self.rows)).astype(np.float16).T
        return rng.uniform(self.low, self.high, (self.rows, self.cols)).astype(np.float16)

    def describe(self) -> str:
        view = " (transposed view)" if self.layout == "T" else ""
        return f"float16 {self.rows}x{self.cols} in [{self.low:g}, {self.high:g}){view}"


# -- trusted baselines ------------------------------------------------------------------
@njit(cache=True)
def _ijk32(A, B, C):
    m, k = A.shape
    n = B.shape[1]
    for i in range(m):
        for j in range(n):
            acc = np.float32(0.0)
            for p in range(k):
                acc += A[i, p] * B[p, j]
            C[i, j] = acc


def matmul_fp16_naive(A16: np.ndarray, B16: np.ndarray) -> np.ndarray:
    """float16 inputs widened to float32, then the textbook i-j-k loop: the speed baseline."""
    A = np.ascontiguousarray(A16, dtype=np.float32)
    B = np.ascontiguousarray(B16, dtype=np.float32)
    C = np.empty((A.shape[0], B.shape[1]), dtype=np.float32)
    _ijk32(A, B, C)
    return C


def matmul_fp16_acc16(A16: np.ndarray, B16: np.ndarray) -> np.ndarray:
    """The product with every partial sum rounded to float16 (naive half-precision arithmetic)."""
    C = np.zeros((A16.shape[0], B16.shape[1]), dtype=np.float16)
    for p in range(A16.shape[1]):
        C += A16[:, p:p + 1] * B16[p:p + 1, :]   # float16 * float16 -> float16, then a float16 add
    return C


# -- correctness of matmul_fp16_acc32 ------------------------------------------------------
@rowwise(0)
def verify_matmul_fp16(name: str, result, A: Half, B: Half, modified=()) -> None:
    """`result` is A @ B in float32, accurate to float32 accumulation: k eps32 (|A| @ |B|)."""
    a, b = A.build(), B.build()
    context = f"A16 = {describe(A)}, B16 = {describe(B)}"
    if modified:
        raise AssertionError(f"{name} modified its input {'AB'[modified[0]]}.\n  inputs: {context}")
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    expected = a64 @ b64
    k = max(a.shape[1], 1)
    bound = k * np.finfo(np.float32).eps * (np.abs(a64) @ np.abs(b64)) + 1e-30
    if isinstance(result, np.ndarray) and result.dtype == np.float16:
        raise AssertionError(f"{name} returned float16; expected a float32 result (the "
                             f"accumulator's precision).\n  inputs: {context}")
    _verify_array(name, result, expected, bound, np.float32, context,
                  "accumulate in float32: convert each float16 value to float32 before the "
                  "multiply-add (a float16 running sum loses the small terms)")


def check_matmul_fp16(fn, shapes, layouts=("C",), ranges=((-1.0, 1.0),), seed: int = 0) -> None:
    """`fn(A16, B16)` is the float32-accurate product for every (m, k, n), layout and value range."""
    if _deferred(fn):
        return
    check_no_blas(fn, quiet=True)
    target = as_target(fn)
    count = 0
    for (m, k, n) in shapes:
        for lay in layouts:
            for lo, hi in ranges:
                A = Half(m, k, lo, hi, lay, seed=seed + 2 * count)
                B = Half(k, n, lo, hi, "C", seed=seed + 2 * count + 1)
                result, modified = target.call([A, B], {})
                verify_matmul_fp16(target.name, result, A, B, modified)
                count += 1
    print(f"✓ {target.name}: {count} float16 products correct to float32 accuracy "
          f"(shapes {', '.join('x'.join(map(str, s)) for s in shapes)})")


def check_matmul_fp16_speed(fn, size: int, tiers: list, seed: int = 0) -> float:
    """Points for the speedup of `fn` over `matmul_fp16_naive` on size x size float16 inputs."""
    if _deferred(fn):
        return 0.0
    inputs = [Half(size, size, seed=seed), Half(size, size, seed=seed + 1)]
    return check_speedup(fn, matmul_fp16_naive, inputs, verify_matmul_fp16, tiers)


# -- dynamic loss scaling ----------------------------------------------------------------
def loss_scale_reference(scale, grads_finite, good_steps, growth_interval=2000, factor=2.0):
    """The rule of the notebook (as in torch.cuda.amp.GradScaler)."""
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise ValueError("scale must be a finite positive number")
    if not factor > 1 or not math.isfinite(factor):
        raise ValueError("factor must be > 1")
    if int(growth_interval) != growth_interval or growth_interval < 1:
        raise ValueError("growth_interval must be a positive integer")
    if int(good_steps) != good_steps or good_steps < 0:
        raise ValueError("good_steps must be a non-negative integer")
    if not grads_finite:
        return scale / factor, 0
    good_steps += 1
    if good_steps >= growth_interval:
        return scale * factor, 0
    return scale, good_steps


def _call(target, args, kwargs):
    result, _ = target.call(list(args), dict(kwargs))
    return result


def _same_state(got, want) -> bool:
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return False
    scale, steps = got
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        return False
    return isinstance(scale, (int, float, np.floating)) and float(scale) == want[0] \
        and int(steps) == want[1]


def check_loss_scale(fn, cases) -> None:
    """`fn(*args, **kwargs)` == (new_scale, new_good_steps) of the rule, for each (args, kwargs)."""
    if _deferred(fn):
        return
    target = as_target(fn)
    for args, kwargs in cases:
        want = loss_scale_reference(*args, **kwargs)
        got = _call(target, args, kwargs)
        if not _same_state(got, want):
            raise AssertionError(f"{call_text(target.name, args, kwargs)} returned {got!r}, "
                                 f"expected {want!r} (new_scale, new_good_steps).\n  hint: "
                                 "overflow: divide by factor and reset the count; otherwise "
                                 "count the good step and grow (and reset) once the count "
                                 "reaches growth_interval")
    print(f"✓ {target.name}: {len(cases)} updates as expected")


check_loss_scale_errors = check_value_errors  # invalid scaler arguments raise ValueError


def check_loss_scale_sequence(fn, steps: int, overflow_every: int, growth_interval: int,
                              factor: float, scale: float = 65536.0) -> None:
    """Run the rule for `steps` steps (an overflow every `overflow_every` steps) and compare the
    whole trajectory with the reference."""
    if _deferred(fn):
        return
    target = as_target(fn)
    state, want = (scale, 0), (scale, 0)
    for step in range(1, steps + 1):
        finite = step % overflow_every != 0
        kwargs = {"growth_interval": growth_interval, "factor": factor}
        want = loss_scale_reference(want[0], finite, want[1], **kwargs)
        state = _call(target, (state[0], finite, state[1]), kwargs)
        if not _same_state(state, want):
            raise AssertionError(f"step {step} (grads_finite={finite}, growth_interval="
                                 f"{growth_interval}, factor={factor}): got {state!r}, expected "
                                 f"{want!r}")
    print(f"✓ {target.name}: {steps} training steps, final scale {want[0]:g} as expected")


# -- overflow detection -----------------------------------------------------------------------
def check_has_overflow(fn, cases) -> None:
    """cases: (list of arrays, expected bool)."""
    if _deferred(fn):
        return
    target = as_target(fn)
    for arrays, expected in cases:
        got = _call(target, (arrays,), {})
        if not isinstance(got, (bool, np.bool_)) or bool(got) != expected:
            what = ", ".join(f"{a.dtype} {a.shape}" for a in arrays) or "no arrays"
            raise AssertionError(f"{target.name}([{what}]) returned {got!r}, expected {expected}."
                                 "\n  hint: inf, -inf and nan all count; integer arrays never "
                                 "overflow this way; return a bool")
    print(f"✓ {target.name}: {len(cases)} cases right")
