"""The capstone (notebook 08): a transformer block, its naive reference, checks and a profiler.

* `BlockParams` – a recipe for the block's weights (a dict of arrays plus ``n_heads``).
* `block_reference` – the trusted, naive block that speed is measured against: textbook
  i-j-k matmuls (`accelkit.exercises.baselines.matmul_naive`) and unfused numpy chains
  (`accelkit.exercises.fusion`), one head at a time, one thread.
* `block_expected` / `verify_block` – the float64 answer and the error allowed.
* `check_block`, `check_block_speed` – what the notebook's test cells call.
* `profile_calls` – time per operation of any block function (cProfile), for the notebook.
"""
from __future__ import annotations

import cProfile
import math
import pstats
from dataclasses import dataclass

import numpy as np

from accelkit.exercises.baselines import matmul_naive
from accelkit.grading.cases import Matrix, describe
from accelkit.exercises.checks import _deferred, _verify_array, check_speedup
from accelkit.exercises.fusion import _gelu64, _layernorm64, bias_gelu_unfused, layernorm_unfused, softmax_unfused
from accelkit.grading.targets import as_target

__all__ = ["BlockParams", "Matrix", "block_reference", "block_expected", "verify_block",
           "check_block", "check_block_speed", "check_causal_softmax", "causal_softmax_expected",
           "profile_calls"]

WEIGHTS = ("ln1_gamma", "ln1_beta", "W_qkv", "b_qkv", "W_proj", "b_proj",
           "ln2_gamma", "ln2_beta", "W_up", "b_up", "W_down", "b_down")


@dataclass(frozen=True)
class BlockParams:
    """Weights of one pre-norm decoder block with model width `d_model`, `n_heads` heads and
    an MLP of width `d_hidden`, in `dtype`. Matrices are scaled by 1/sqrt(fan-in), so every
    activation stays of order 1 (as after a standard initialisation)."""

    d_model: int
    n_heads: int
    d_hidden: int
    dtype: str = "float32"
    seed: int = 0

    def build(self) -> dict:
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not a multiple of n_heads={self.n_heads}")
        rng = np.random.default_rng(self.seed)
        C, H = self.d_model, self.d_hidden

        def matrix(rows, cols):
            return (rng.uniform(-1, 1, (rows, cols)) * math.sqrt(3.0 / rows)).astype(self.dtype)

        def vector(size, offset=0.0, scale=0.1):
            return (offset + scale * rng.uniform(-1, 1, size)).astype(self.dtype)

        return {"n_heads": self.n_heads,
                "ln1_gamma": vector(C, 1.0), "ln1_beta": vector(C),
                "W_qkv": matrix(C, 3 * C), "b_qkv": vector(3 * C),
                "W_proj": matrix(C, C), "b_proj": vector(C),
                "ln2_gamma": vector(C, 1.0), "ln2_beta": vector(C),
                "W_up": matrix(C, H), "b_up": vector(H),
                "W_down": matrix(H, C), "b_down": vector(C)}

    def describe(self) -> str:
        return (f"{self.dtype} block: d_model={self.d_model}, n_heads={self.n_heads}, "
                f"d_hidden={self.d_hidden}")


# -- the naive reference (trusted baseline) ----------------------------------------------
def block_reference(x: np.ndarray, params: dict) -> np.ndarray:
    """One pre-norm decoder block, written the first way that works.

    x: (T, C) tokens. out = h + MLP(LN2(h)) with h = x + Attention(LN1(x)); causal
    multi-head attention; MLP = W_down GELU(W_up y + b_up) + b_down (tanh GELU).
    """
    T, C = x.shape
    n_heads = params["n_heads"]
    D = C // n_heads
    a = layernorm_unfused(x, params["ln1_gamma"], params["ln1_beta"])        # (T, C)
    qkv = matmul_naive(a, params["W_qkv"]) + params["b_qkv"]                 # (T, 3C)
    heads = []
    for h in range(n_heads):
        q = qkv[:, h * D:(h + 1) * D]                                        # (T, D)
        k = qkv[:, C + h * D:C + (h + 1) * D]
        v = qkv[:, 2 * C + h * D:2 * C + (h + 1) * D]
        scores = matmul_naive(q, k.T) * x.dtype.type(1 / math.sqrt(D))        # (T, T)
        scores[np.triu_indices(T, 1)] = -np.inf                              # causal mask
        heads.append(matmul_naive(softmax_unfused(scores), v))               # (T, D)
    attended = np.concatenate(heads, axis=1)                                 # (T, C)
    h1 = x + matmul_naive(attended, params["W_proj"]) + params["b_proj"]
    y = layernorm_unfused(h1, params["ln2_gamma"], params["ln2_beta"])
    up = bias_gelu_unfused(matmul_naive(y, params["W_up"]), params["b_up"])  # (T, d_hidden)
    return h1 + matmul_naive(up, params["W_down"]) + params["b_down"]


def block_expected(x: np.ndarray, params: dict) -> np.ndarray:
    """The same block in float64 with exact-enough numpy (the oracle)."""
    p = {k: np.asarray(v, np.float64) for k, v in params.items() if k != "n_heads"}
    x = np.asarray(x, np.float64)
    T, C = x.shape
    n_heads = params["n_heads"]
    D = C // n_heads
    qkv = _layernorm64(x, p["ln1_gamma"], p["ln1_beta"], 1e-5) @ p["W_qkv"] + p["b_qkv"]
    q, k, v = (qkv[:, i * C:(i + 1) * C].reshape(T, n_heads, D).transpose(1, 0, 2)
               for i in range(3))                                            # (heads, T, D)
    scores = q @ k.transpose(0, 2, 1) / math.sqrt(D)
    scores = np.where(np.tri(T, dtype=bool), scores, -np.inf)
    weights = np.exp(scores - scores.max(axis=2, keepdims=True))
    weights /= weights.sum(axis=2, keepdims=True)
    attended = (weights @ v).transpose(1, 0, 2).reshape(T, C)
    h1 = x + attended @ p["W_proj"] + p["b_proj"]
    y = _layernorm64(h1, p["ln2_gamma"], p["ln2_beta"], 1e-5)
    return h1 + _gelu64(y @ p["W_up"] + p["b_up"]) @ p["W_down"] + p["b_down"]


# Allowed error relative to (1 + |expected|), in units of the dtype's eps. Measured at
# T = d_model = 128..256 in float32: the reference (naive loops, numpy chains) is within
# 13-24 eps, the instructor solution (fast_exp, reassociated sums) within 4-6 eps; a mistake
# (no causal mask, a wrong scale, a missing residual or bias) is off by more than 1e-2,
# i.e. > 80 000 eps.
TOLERANCE_EPS = 1000


def verify_block(name: str, result, x, params, modified=()) -> None:
    """`result` is the block's output for (x, params) to within rounding, in x's dtype."""
    xa, pa = x.build(), params.build()
    context = f"x = {describe(x)}, params = {describe(params)}"
    if modified:
        raise AssertionError(f"{name} modified its input x: a block returns a new array."
                             f"\n  inputs: {context}")
    expected = block_expected(xa, pa)
    bound = TOLERANCE_EPS * np.finfo(xa.dtype).eps * (1 + np.abs(expected))

    def hint(bad: np.ndarray) -> str:
        if bad.ndim == 2 and not bad[0].any() and bad[1:].any():
            return ("row 0 is right but later rows are not: check the causal mask (token i "
                    "attends to tokens 0..i) and the softmax over each row")
        return ("compare each stage with block_reference on a tiny input: layer norm, the q/k/v "
                "split per head (columns h*D:(h+1)*D of each third of qkv), the 1/sqrt(D) "
                "scale, both residual adds and every bias")

    _verify_array(name, result, expected, bound, xa.dtype, context, hint)


# -- checks ----------------------------------------------------------------------------
def check_block(fn, configs, dtypes=("float32",), seed: int = 0) -> None:
    """`fn(x, params)` equals the float64 block for every (T, d_model, n_heads, d_hidden)."""
    if _deferred(fn):
        return
    target = as_target(fn)
    count = 0
    for i, ((T, C, heads, hidden), dtype) in enumerate(
            (c, d) for c in configs for d in dtypes):
        x = Matrix(T, C, dtype, seed=seed + 2 * i)
        params = BlockParams(C, heads, hidden, dtype, seed=seed + 2 * i + 1)
        result, modified = target.call([x, params], {})
        verify_block(target.name, result, x, params, modified)
        count += 1
    print(f"✓ {target.name}: {count} blocks correct (T, d_model, heads, d_hidden: "
          f"{'; '.join(', '.join(map(str, c)) for c in configs)}; dtypes {', '.join(dtypes)})")


def check_block_speed(fn, T: int, d_model: int, n_heads: int, d_hidden: int, tiers: list,
                      dtype: str = "float32", seed: int = 50) -> float:
    """Points for the end-to-end speedup of `fn` over `block_reference` (own kernels only:
    handing a product to BLAS earns nothing here, as in notebook 02)."""
    inputs = [Matrix(T, d_model, dtype, seed=seed),
              BlockParams(d_model, n_heads, d_hidden, dtype, seed=seed + 1)]
    return check_speedup(fn, block_reference, inputs, verify_block, tiers)


def causal_softmax_expected(s: np.ndarray, scale: float) -> np.ndarray:
    """Row-wise softmax of scale * s over columns 0..i of row i, zeros after, in float64."""
    z = scale * np.asarray(s, np.float64)
    z[np.triu_indices(z.shape[0], 1)] = -np.inf
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def check_causal_softmax(fn, sizes=(1, 4, 37, 128), dtypes=("float32", "float64"),
                         scale: float = 0.25, seed: int = 0) -> None:
    """A student's look at `fn(s, scale)` (in place, returns s) before the block needs it:
    run here, in the notebook; the graded tests check the whole block."""
    rng = np.random.default_rng(seed)
    for T in sizes:
        for dtype in dtypes:
            s = (4 * rng.standard_normal((T, T))).astype(dtype)
            want = causal_softmax_expected(s, scale)
            work = s.copy()
            got = fn(work, scale)
            what = f"{fn.__name__}(s of shape ({T}, {T}), {dtype}, scale={scale})"
            if got is not work:
                raise AssertionError(f"{what} returned {type(got).__name__}, expected s itself: "
                                     "write the softmax into s and return s")
            tol = 50 * np.finfo(dtype).eps
            bad = ~np.isclose(work, want, rtol=tol, atol=tol)
            future = np.triu(bad, 1)  # a wrong mask shows first: report it first
            if bad.any():
                i, j = map(int, np.argwhere(future if future.any() else bad)[0])
                hint = ("row i keeps columns 0..i only; columns after i must be 0 (the causal "
                        "mask), and the softmax runs over the visible columns" if j > i else
                        "each row's visible part must sum to 1: subtract the row's maximum of "
                        "s[i, :i+1], exp of scale * (s - M), divide by the sum")
                raise AssertionError(f"{what}: s[{i}, {j}] expected {want[i, j]:.6g}, got "
                                     f"{work[i, j]:.6g}\n  hint: {hint}")
    print(f"✓ {fn.__name__}: rows of {', '.join(map(str, sizes))} tokens match "
          f"({', '.join(dtypes)})")


# -- profiling (for the notebook) --------------------------------------------------------
def profile_calls(fn, *args, repeat: int = 3, min_share: float = 0.005) -> list:
    """Where `fn(*args)` spends its time, per function it calls directly.

    Runs `fn` once to warm up (JIT compilation), then `repeat` times under cProfile.
    Returns rows {"op", "calls", "ms", "share"} per call, sorted by time; the time spent
    in `fn`'s own lines (array slicing, `+`, numpy ufuncs it calls itself) is the row
    "(own lines)", and calls below `min_share` of the total are summed up as "(other)".
    Times are per call of `fn`.
    """
    fn(*args)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        fn(*args)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # {func: (cc, nc, tottime, cumtime, callers)}
    code = getattr(getattr(fn, "py_func", fn), "__code__", None)
    root = next((f for f in stats if code is not None and f[0] == code.co_filename
                 and f[1] == code.co_firstlineno and f[2] == code.co_name), None)
    if root is None:
        raise ValueError(f"{getattr(fn, '__name__', fn)} did not show up in the profile "
                         "(is it a plain Python function?)")
    total = stats[root][3]
    rows = {"(own lines)": [repeat, stats[root][2]]}
    for func, (_, _, _, _, callers) in stats.items():
        if root in callers:
            calls, _, _, cumulative = callers[root]
            name = func[2].strip("<>{}") if func[0] == "~" else func[2]
            row = rows.setdefault(name, [0, 0.0])
            row[0] += calls
            row[1] += cumulative
    table = sorted(({"op": name, "calls": calls // repeat, "ms": seconds / repeat * 1e3,
                     "share": seconds / total} for name, (calls, seconds) in rows.items()),
                   key=lambda r: -r["ms"])
    small = [r for r in table if r["share"] < min_share and r["op"] != "(own lines)"]
    if len(small) > 1:
        table = [r for r in table if r not in small] + [{
            "op": "(other)", "calls": sum(r["calls"] for r in small),
            "ms": sum(r["ms"] for r in small), "share": sum(r["share"] for r in small)}]
    return table
