"""What solution cells and the student's worker may use in grading – and nothing else of
the engine.

In a grading worker the setup cell runs with every other name it imports from
``accelkit`` withheld (`accelkit.grading.worker.Withheld`): checks, oracles, references and
answer tables stay in the trusted grader, and the modules that hold them are never
loaded where student code runs. What is here knows no answer:

* `fast_exp` – a vectorizable exp for numba kernels (numba's ``math.exp`` is a scalar
  libm call); 06 and 08 offer it to solution cells.
* `alignment_probe` – the probe 04's setup cell binds as ``grading_probe``: it reports the
  memory layout of arrays where they were made, in the student's worker.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import overload

__all__ = ["fast_exp", "alignment_probe", "address_of", "layout_of", "transpose_into", "PAGE"]

PAGE = 4096


# -- a vectorizable exp ----------------------------------------------------------------
def fast_exp(x):
    """exp(x) to within about 1 ulp; in numba kernels it compiles to SIMD code.

    Any float32/float64 x: -inf gives 0, results below the smallest normal number flush to 0,
    overflow saturates at a huge finite number. Outside numba it is ``np.exp``.
    """
    return np.exp(x)


_EXP_CONSTANTS = {  # clamp low/high, log2(e), ln2 split in two (Cody-Waite), exponent bias/shift
    types.float32: (np.float32, np.int32, -104.0, 88.72, 0.693359375, -2.12194440e-4, 127, 23,
                    [1.0 / math.factorial(k) for k in range(7, -1, -1)]),
    types.float64: (np.float64, np.int64, -746.0, 709.78, 6.93147180369123816490e-01,
                    1.90821492927058770002e-10, 1023, 52,
                    [1.0 / math.factorial(k) for k in range(13, -1, -1)]),
}


@overload(fast_exp, jit_options={"fastmath": {"nsz", "arcp", "contract"}})  # no reassoc
def _fast_exp_numba(x):
    if x not in _EXP_CONSTANTS:
        return None
    f, i, lo, hi, ln2_hi, ln2_lo, bias, shift, coefs = _EXP_CONSTANTS[x]
    LO, HI, LOG2E, H, L, HALF = f(lo), f(hi), f(1.4426950408889634), f(ln2_hi), f(ln2_lo), f(0.5)
    B, C = i(bias), tuple(f(c) for c in coefs)

    def impl(x):
        y = min(max(x, LO), HI)
        k = np.floor(y * LOG2E + HALF)      # exp(y) = 2^k * exp(r), |r| <= ln2 / 2
        r = y - k * H - k * L
        p = C[0]
        for c in C[1:]:                     # Taylor polynomial of exp(r), Horner's rule
            p = p * r + c
        k1 = i(k) >> 1                      # 2^k built from exponent bits, in two halves
        k2 = i(k) - k1                      # so that k down to -150 / -1075 stays in range
        return p * i((k1 + B) << shift).view(f) * i((k2 + B) << shift).view(f)
    return impl



def address_of(arr: np.ndarray) -> int:
    """The address of the first byte of `arr`'s data."""
    return arr.__array_interface__["data"][0]


@njit
def transpose_into(a, out):
    """out = a.T, walking `out` down its columns: every write lands one row stride further."""
    rows, cols = a.shape
    for i in range(rows):
        for j in range(cols):
            out[j, i] = a[i, j]


# -- the probe (runs where the student's functions live) ---------------------------------
def _keeps_alive(arr: np.ndarray) -> bool:
    """Fill `arr`, churn the allocator, and see whether the values survived."""
    if arr.size == 0:
        return True
    value = arr.dtype.type(7)
    arr[...] = value
    churn = 64 if arr.nbytes < (1 << 20) else 4
    others = [np.full((arr.nbytes + 16 * k) // 8 + 1, -1.0) for k in range(churn)]
    survived = bool(np.all(arr == value))
    del others
    return survived


def layout_of(arr) -> dict:
    """Plain-data description of an array's memory layout (and whether it is usable)."""
    if not isinstance(arr, np.ndarray):
        return {"ndarray": False, "type": type(arr).__name__}
    report = {"ndarray": True, "shape": tuple(arr.shape), "dtype": str(arr.dtype),
              "strides": tuple(arr.strides), "address": address_of(arr) % (2 * PAGE),
              "writeable": bool(arr.flags.writeable), "c_contiguous": bool(arr.flags.c_contiguous),
              "referenced": bool(arr.flags.owndata or arr.base is not None)}
    report["alive"] = _keeps_alive(arr) if arr.flags.writeable else True
    return report


def alignment_probe(namespace: dict):
    """The probe the setup cell binds as ``grading_probe``: it finds the student's functions
    in `namespace` (the notebook's globals) and reports on what they return."""
    matrices: dict = {}

    def grading_probe(op: str, name: str, *args, **kwargs):
        fn = namespace[name]
        if op == "layout":
            return layout_of(fn(*args, **kwargs))
        if op == "transpose":
            key = (name, args, tuple(sorted(kwargs.items())))
            if key not in matrices:
                a, out = fn(*args, **kwargs), fn(*args, **kwargs)
                a[...] = np.arange(a.size, dtype=a.dtype).reshape(a.shape)
                matrices[key] = (a, out)
            transpose_into(*matrices[key])
            return None
        raise ValueError(f"unknown probe request {op!r}")
    return grading_probe
