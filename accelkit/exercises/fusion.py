"""Operator fusion (notebook 06): inputs, trusted references, unfused baselines, checks.

* `fast_exp` (from `accelkit.student.tools`) – a vectorizable exp for numba kernels.
* Recipes: `Rows` (2-D inputs, also huge or ``-inf`` values) and `Shared` (a read-only input
  built once per process, so that checking it for modifications costs no memory).
* `*_unfused` – the trusted numpy chains that speed is measured against.
* `*_expected` / `verify_*` – float64 references and error bounds.
* `check_*` – what the notebook's test cells call (see `accelkit.exercises.checks` for the conventions).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from accelkit.grading.cases import build_all, describe, rowwise
from accelkit.exercises.checks import _deferred, _verify_array, check_speedup
from accelkit.grading.targets import RemoteFunction, as_target, local_peak
from accelkit.student.tools import fast_exp

__all__ = ["Rows", "Vector", "Shared", "fast_exp", "bias_gelu_unfused", "layernorm_unfused",
           "softmax_unfused", "attention_unfused", "verify_bias_gelu", "verify_layernorm",
           "verify_softmax", "verify_attention", "check_bias_gelu", "check_layernorm",
           "check_softmax", "check_attention", "check_fused_memory", "check_fused_speed"]


# -- input recipes ---------------------------------------------------------------------
@dataclass(frozen=True)
class Rows:
    """A (rows, cols) array: offset + scale * uniform(-1, 1), in `dtype`.

    special: "" (nothing), "neginf" (every row -inf except one entry, which keeps its value),
    "spikes" (one entry per row replaced by +-scale * 10). layout: "C" or "strided"
    (a view of every 2nd row and 3rd column of a larger array).
    """

    rows: int
    cols: int
    dtype: str = "float32"
    scale: float = 1.0
    offset: float = 0.0
    special: str = ""
    layout: str = "C"
    seed: int = 0

    def build(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        r, c = (2 * self.rows, 3 * self.cols) if self.layout == "strided" else (self.rows, self.cols)
        out = np.empty((r, c), dtype=self.dtype)
        for start in range(0, r, 256):  # in slices: no full-size float64 temporary
            chunk = rng.uniform(-1.0, 1.0, (min(256, r - start), c))
            out[start:start + len(chunk)] = self.offset + self.scale * chunk
        if self.layout == "strided":
            out = out[::2, ::3]
        if self.special:
            keep = rng.integers(0, self.cols, self.rows)
            rows = np.arange(self.rows)
            if self.special == "neginf":
                kept = out[rows, keep].copy()
                out[...] = -np.inf
                out[rows, keep] = kept
            elif self.special == "spikes":
                out[rows, keep] = self.scale * 10 * np.sign(out[rows, keep] + 0.5)
            else:
                raise ValueError(f"unknown special {self.special!r}")
        return out

    def describe(self) -> str:
        text = f"{self.dtype} {self.rows}x{self.cols}"
        if self.offset or self.scale != 1.0:
            text += f" with values {self.offset:g} ± {self.scale:g}"
        if self.special == "neginf":
            text += ", every row -inf except one entry"
        elif self.special == "spikes":
            text += f", one entry per row ±{self.scale * 10:g}"
        return text + (" (strided view)" if self.layout == "strided" else "")


@dataclass(frozen=True)
class Vector:
    """A (size,) array: offset + scale * uniform(-1, 1), in `dtype` (bias, gamma, beta)."""

    size: int
    dtype: str = "float32"
    scale: float = 1.0
    offset: float = 0.0
    seed: int = 0

    def build(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        return (self.offset + self.scale * rng.uniform(-1.0, 1.0, self.size)).astype(self.dtype)

    def describe(self) -> str:
        return f"{self.dtype} ({self.size},)"


_SHARED: dict = {}


@dataclass(frozen=True)
class Shared:
    """`recipe`, built once per process and handed out read-only.

    The worker rebuilds every input after a call to see whether it was modified; for these
    inputs that costs no memory, so a memory measurement sees only what the kernel allocated.
    """

    recipe: object

    def build(self) -> np.ndarray:
        if self.recipe not in _SHARED:
            while len(_SHARED) >= 4:
                _SHARED.pop(next(iter(_SHARED)))
            array = self.recipe.build()
            array.setflags(write=False)
            _SHARED[self.recipe] = array
        return _SHARED[self.recipe]

    def describe(self) -> str:
        return describe(self.recipe)


def _f64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


# -- the unfused numpy chains (trusted baselines) ---------------------------------------
def bias_gelu_unfused(x: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """GELU(x + bias), tanh approximation, one numpy operation at a time."""
    c = x.dtype.type(math.sqrt(2.0 / math.pi))
    y = x + bias
    inner = c * (y + x.dtype.type(0.044715) * (y * y * y))
    return x.dtype.type(0.5) * y * (1 + np.tanh(inner))


def layernorm_unfused(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                      eps: float = 1e-5) -> np.ndarray:
    """Layer norm over the last axis, one numpy operation at a time."""
    mean = x.mean(axis=1, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=1, keepdims=True)
    return centered / np.sqrt(var + x.dtype.type(eps)) * gamma + beta


def softmax_unfused(x: np.ndarray) -> np.ndarray:
    """Row softmax, one numpy operation at a time (stable: the row maximum is subtracted)."""
    shifted = x - x.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def attention_unfused(Q: np.ndarray, K: np.ndarray, V: np.ndarray,
                      causal: bool = False) -> np.ndarray:
    """softmax(Q K^T / sqrt(d)) V with the full (n, m) score matrix, as most code writes it."""
    scores = (Q @ K.T) * Q.dtype.type(1.0 / math.sqrt(Q.shape[1]))
    if causal:
        scores[np.triu_indices(scores.shape[0], 1, scores.shape[1])] = -np.inf
    return softmax_unfused(scores) @ V


# -- references in float64 and error bounds ----------------------------------------------
def _gelu64(y: np.ndarray) -> np.ndarray:
    return 0.5 * y * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (y + 0.044715 * y ** 3)))


@rowwise(0)
def verify_bias_gelu(name: str, result, x, bias, modified=()) -> None:
    """`result` is GELU(x + bias) to within rounding, in x's dtype; inputs untouched."""
    xa, ba = x.build(), bias.build()
    context = f"x = {describe(x)}, bias = {describe(bias)}"
    if modified:
        raise AssertionError(f"{name} modified its input {'x bias'.split()[modified[0]]}: "
                             f"fused kernels write only their output.\n  inputs: {context}")
    dtype = xa.dtype
    y = _f64(xa) + _f64(ba)
    expected = _gelu64(y)
    eps = np.finfo(dtype).eps
    bound = 16 * eps * (np.abs(y) + np.abs(expected)) + 4 * np.finfo(dtype).tiny
    _verify_array(name, result, expected, bound, dtype, context,
                  "GELU(y) = 0.5 y (1 + tanh(sqrt(2/pi) (y + 0.044715 y^3))) with y = x + bias "
                  "(bias added to every row)")


def _layernorm64(x, gamma, beta, eps) -> np.ndarray:
    x = _f64(x)
    mean = x.mean(axis=1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * _f64(gamma) + _f64(beta)


@rowwise(0)
def verify_layernorm(name: str, result, x, gamma, beta, eps=1e-5, modified=()) -> None:
    """`result` is the row-wise layer norm of x; the allowed error grows with |x| / std(row),
    the condition number of centering, so a numerically sound kernel always passes."""
    xa, ga, ba = x.build(), gamma.build(), beta.build()
    context = f"x = {describe(x)}, gamma = {describe(gamma)}, beta = {describe(beta)}, eps={eps:g}"
    if modified:
        raise AssertionError(f"{name} modified an input: fused kernels write only their "
                             f"output.\n  inputs: {context}")
    dtype = xa.dtype
    x64 = _f64(xa)
    expected = _layernorm64(xa, ga, ba, eps)
    std = np.sqrt(x64.var(axis=1, keepdims=True) + eps)
    cond = 1 + np.abs(x64).max(axis=1, keepdims=True) / std
    d = xa.shape[1]
    bound = (32 * np.finfo(dtype).eps * math.sqrt(d) * cond * np.abs(_f64(ga))
             + 8 * np.finfo(dtype).eps * (np.abs(expected) + np.abs(_f64(ba))))
    _verify_array(name, result, expected, bound, dtype, context,
                  "per row: mean, then the variance of (x - mean) (two passes or Welford; "
                  "E[x^2] - E[x]^2 cancels catastrophically when |mean| >> std), then "
                  "(x - mean) / sqrt(var + eps) * gamma + beta")


def _softmax64(x) -> np.ndarray:
    x = _f64(x)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@rowwise(0)
def verify_softmax(name: str, result, x, modified=()) -> None:
    """`result` is the row softmax of x, within a few ulp of each probability."""
    xa = x.build()
    context = f"x = {describe(x)}"
    if modified:
        raise AssertionError(f"{name} modified its input x.\n  inputs: {context}")
    dtype = xa.dtype
    expected = _softmax64(xa)
    eps = np.finfo(dtype).eps
    # exp of a rounded difference: relative error up to |x - max| eps, plus the sum's rounding
    span = np.abs(np.where(np.isfinite(xa), _f64(xa), 0.0)
                  - np.max(np.where(np.isfinite(xa), _f64(xa), -np.inf), axis=1, keepdims=True))
    bound = (4 * (span + 4) + 2 * math.sqrt(xa.shape[1])) * eps * expected + 4 * np.finfo(dtype).tiny
    _verify_array(name, result, expected, bound, dtype, context,
                  "subtract the row maximum before exp (exp(1e4) overflows, exp(-inf) is 0) "
                  "and divide by the row sum")


def _attention64(Q, K, V, causal: bool, chunk: int = 256):
    """float64 reference in row chunks (bounded memory); also returns P @ |V| for the bound."""
    Q, K, V = _f64(Q), _f64(K), _f64(V)
    n, m = Q.shape[0], K.shape[0]
    out = np.empty((n, V.shape[1]))
    weight = np.empty_like(out)
    dot_err = np.empty((n, 1))
    for i0 in range(0, n, chunk):
        s = Q[i0:i0 + chunk] @ K.T / math.sqrt(Q.shape[1])
        size = np.abs(Q[i0:i0 + chunk]) @ np.abs(K.T) / math.sqrt(Q.shape[1])
        if causal:
            rows = np.arange(i0, i0 + s.shape[0])[:, None]
            s[np.arange(m)[None, :] > rows] = -np.inf
        p = np.exp(s - s.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        out[i0:i0 + chunk] = p @ V
        weight[i0:i0 + chunk] = p @ np.abs(V)
        dot_err[i0:i0 + chunk] = size.max(axis=1, keepdims=True)
    return out, weight, dot_err


def verify_attention(name: str, result, Q, K, V, causal=False, modified=()) -> None:
    """`result` is softmax(Q K^T / sqrt(d) [+ causal mask]) V to within rounding."""
    q, k, v = Q.build(), K.build(), V.build()
    context = f"Q = {describe(Q)}, K = {describe(K)}, V = {describe(V)}, causal={causal}"
    if modified:
        raise AssertionError(f"{name} modified its input {'QKV'[modified[0]]}.\n  inputs: {context}")
    dtype = q.dtype
    eps = np.finfo(dtype).eps
    expected, weight, size = _attention64(q, k, v, bool(causal))
    # a score is off by up to d eps |q||k|; that error moves each weight relatively by 2x it
    bound = (4 * q.shape[1] * eps * size + (64 + k.shape[0] / 16) * eps) * weight \
        + 4 * np.finfo(dtype).tiny
    _verify_array(name, result, expected, bound, dtype, context,
                  "scores are Q[i] . K[j] / sqrt(d); with causal=True query i sees keys 0..i only; "
                  "when the running maximum grows, rescale the running sum AND the accumulated "
                  "output by exp(old_max - new_max)")


# -- checks ------------------------------------------------------------------------------
def _run_cases(fn, cases, verify, what: str) -> None:
    target = as_target(fn)
    for specs, kwargs in cases:
        result, modified = target.call(specs, kwargs)
        verify(target.name, result, *specs, *kwargs.values(), modified=modified)
    print(f"✓ {target.name}: {len(cases)} cases correct ({what})")


def _rows_cases(shapes, dtypes, layouts, seed) -> list:
    """(rows, cols, dtype, layout, seed) for every combination."""
    combos = [(s, d, lay) for s in shapes for d in dtypes for lay in layouts]
    return [(r, c, dt, lay, seed + 3 * i) for i, ((r, c), dt, lay) in enumerate(combos)]


def _summary(shapes, dtypes, layouts=("C",)) -> str:
    text = f"shapes {', '.join('x'.join(map(str, s)) for s in shapes)}; dtypes {', '.join(dtypes)}"
    return text + (f"; layouts {', '.join(layouts)}" if tuple(layouts) != ("C",) else "")


def check_bias_gelu(fn, shapes, dtypes=("float32",), layouts=("C",), scale: float = 3.0,
                    seed: int = 0) -> None:
    """`fn(x, bias)` equals GELU(x + bias) for each (rows, d) shape, dtype and layout."""
    if _deferred(fn):
        return
    cases = [([Rows(r, c, dt, scale, layout=lay, seed=s), Vector(c, dt, seed=s + 1)], {})
             for r, c, dt, lay, s in _rows_cases(shapes, dtypes, layouts, seed)]
    _run_cases(fn, cases, verify_bias_gelu, _summary(shapes, dtypes, layouts))


def check_layernorm(fn, shapes, dtypes=("float32",), layouts=("C",), scale: float = 1.0,
                    offset: float = 0.0, eps: float | None = None, seed: int = 0) -> None:
    """`fn(x, gamma, beta[, eps])` equals the row-wise layer norm (values offset ± scale)."""
    if _deferred(fn):
        return
    cases = []
    for r, c, dt, lay, s in _rows_cases(shapes, dtypes, layouts, seed):
        specs = [Rows(r, c, dt, scale, offset, layout=lay, seed=s),
                 Vector(c, dt, 1.0, 1.0, seed=s + 1), Vector(c, dt, seed=s + 2)]
        cases.append((specs, {} if eps is None else {"eps": eps}))
    what = _summary(shapes, dtypes, layouts) + (f"; values {offset:g} ± {scale:g}"
                                                if offset or scale != 1 else "")
    _run_cases(fn, cases, verify_layernorm, what + (f"; eps={eps:g}" if eps is not None else ""))


def check_softmax(fn, shapes, dtypes=("float32",), layouts=("C",), scale: float = 3.0,
                  special: str = "", seed: int = 0) -> None:
    """`fn(x)` equals the row softmax; scale/special make extreme inputs (see `Rows`)."""
    if _deferred(fn):
        return
    cases = [([Rows(r, c, dt, scale, special=special, layout=lay, seed=s)], {})
             for r, c, dt, lay, s in _rows_cases(shapes, dtypes, layouts, seed)]
    what = _summary(shapes, dtypes, layouts) + (f"; values ±{scale:g}" if scale != 3.0 else "")
    _run_cases(fn, cases, verify_softmax,
               what + {"": "", "neginf": "; rows of -inf but one entry",
                       "spikes": f"; one ±{scale * 10:g} per row"}[special])


def check_attention(fn, sizes, dtypes=("float32",), causal=(False,), scale: float = 1.0,
                    seed: int = 0) -> None:
    """`fn(Q, K, V, causal=...)` equals softmax(Q K^T / sqrt(d)) V; sizes are (n, m, d, dv)."""
    if _deferred(fn):
        return
    cases = []
    for i, ((n, m, d, dv), dt, c) in enumerate(
            (s, d, c) for s in sizes for d in dtypes for c in causal):
        s = seed + 3 * i
        cases.append(([Rows(n, d, dt, scale, seed=s), Rows(m, d, dt, scale, seed=s + 1),
                       Rows(m, dv, dt, seed=s + 2)], {"causal": c}))
    what = (f"sizes (n, m, d, dv) {', '.join(str(s) for s in sizes)}; dtypes {', '.join(dtypes)}"
            f"; causal {', '.join(map(str, causal))}" + (f"; |Q|, |K| up to {scale:g}" if scale != 1 else ""))
    _run_cases(fn, cases, verify_attention, what)


def _peak_extra(target, specs: list, kwargs: dict) -> tuple:
    """(result, its inputs, peak extra resident bytes of the call, bytes held since load).

    In grading: the first call at this size in a fresh worker, after compiling on small
    inputs (`RemoteFunction.first_call_peak`), so a buffer kept between calls counts. In the
    student's own kernel: a second call in this process (quick feedback; grading is stricter).
    """
    if isinstance(target, RemoteFunction):
        return target.first_call_peak(specs, kwargs)
    target.call(specs, kwargs)  # warm-up: compilation and allocator growth are not counted
    args = build_all(specs)
    result, extra = local_peak(lambda: target.fn(*args, **kwargs))
    return result, specs, extra, 0


def check_fused_memory(fn, specs: list, verify, kwargs=None, slack_mb: float = 8.0) -> None:
    """During `fn(*inputs)` the process may grow by at most its output plus `slack_mb` MiB.

    Peak resident memory sees every allocation (numpy's and those inside numba kernels), so
    an unfused chain of numpy temporaries or an (n, m) score matrix shows up in full. Memory
    the solution cells took when they were loaded (arrays made at module level, and so kept
    for every call) counts as well.
    """
    if _deferred(fn):
        return
    kwargs = dict(kwargs or {})
    target = as_target(fn)
    shared = [Shared(s) if hasattr(s, "build") else s for s in specs]
    result, modified = target.call(shared, kwargs)
    verify(target.name, result, *specs, *kwargs.values(), modified=modified)
    result, used, peak, held = _peak_extra(target, shared, kwargs)
    verify(target.name, result, *used, *kwargs.values(), modified=())
    output = result.nbytes
    allowed = output + int(slack_mb * 2 ** 20)
    mib = 2 ** 20
    inputs = ", ".join(describe(s) for s in specs if hasattr(s, "build"))
    print(f"Memory of {target.name} on {inputs}:")
    print(f"  output {output / mib:8.1f} MiB\n  peak extra memory during the call "
          f"{peak / mib:8.1f} MiB" + (f"\n  held by your solution cells since they were loaded "
                                     f"{held / mib:8.1f} MiB" if held >= mib else "")
          + f"\n  (allowed in all: output + {slack_mb:g} MiB = {allowed / mib:.1f} MiB)")
    if peak + held > allowed:
        raise AssertionError(
            f"{target.name} used {(peak + held) / mib:.1f} MiB of extra memory at its peak, "
            f"{(peak + held - output) / mib:.1f} MiB more than its own output; allowed: "
            f"{slack_mb:g} MiB more.\n  hint: every numpy expression on a whole array allocates "
            "a temporary as big as the array, and so does np.empty((n, m)) for a score matrix "
            "(kept in a cache or made at module level, it counts too); compute each output "
            "element in one pass (attention: one block of keys at a time)")
    print(f"✓ {target.name} needs little more than its output "
          f"({max(0, peak + held - output) / mib:.1f} MiB more)")


def check_fused_speed(fn, baseline, inputs: list, verify, tiers: list, kwargs=None) -> float:
    """Points for the speedup of `fn` over the trusted unfused numpy chain `baseline`."""
    if _deferred(fn):
        return 0.0
    return check_speedup(fn, baseline, inputs, verify, tiers, kwargs, own_arithmetic=False)
