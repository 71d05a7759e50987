"""Trusted checks of the SIMD notebook (03_vectorized_ops): element-wise kernels, a dot
product, and a detector of packed SIMD code.

Two kinds of evidence that a kernel is SIMD code:

* structure: its compiled assembly has packed vector arithmetic (``vmulps ymm``,
  ``vaddpd zmm`` on x86-64, ``fadd v0.4s`` or ``fmla z0.s`` on AArch64...) inside a loop
  (`packed_simd_report`);
* speed: the *same* function, compiled once more with numba's loop and SLP vectorizers
  switched off (its scalar twin, in the same worker process), runs clearly slower on
  arrays that fit in cache (`check_simd_speedup`). A kernel that never vectorized runs
  equally fast both ways. The grader measures this in its own worker process.

``is_simd_vectorized`` (a student function) is graded against the trusted kernels of
this module, some of which vectorize and some of which do not (`KERNELS`).
"""
from __future__ import annotations

import contextlib
import itertools
import re
from dataclasses import dataclass

import numpy as np
from numba import njit

from accelkit.grading import analysis, timing
from accelkit.exercises.checks import _deferred, _verify_array, check_raises
from accelkit.grading.isolate import Worker
from accelkit.grading.targets import RemoteFunction, as_target
from accelkit.grading.worker import NO_SIMD, PREAMBLE

__all__ = ["Array", "Kernel", "KERNELS", "check_relu", "check_axpy", "check_dot",
           "check_raises", "check_simd_speedup", "check_simd_detector", "packed_simd_report",
           "verify_relu", "verify_axpy", "verify_dot"]

ARRAY_LAYOUTS = ("C", "T", "strided", "reversed", "shifted")


# -- input recipes ----------------------------------------------------------------------
@dataclass(frozen=True)
class Array:
    """An array of any shape with values in [-1, 1), laid out as `layout`.

    Layouts: "C" contiguous; "T" a transposed view (axes reversed); "strided" every 2nd
    element along every axis of a larger array; "reversed" negative strides (x[::-1, ::-1]);
    "shifted" contiguous, starting 1-3 KiB into a larger allocation (so that inputs and a
    freshly allocated output do not share their offset within a 4096-byte page, which
    would make loads wait for unrelated stores: "4K aliasing").
    """

    shape: tuple
    dtype: str = "float32"
    layout: str = "C"
    seed: int = 0

    def build(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        shape = tuple(self.shape)
        if self.layout == "C" or not shape:
            return np.asarray(rng.uniform(-1, 1, shape)).astype(self.dtype)
        if self.layout == "T":
            return rng.uniform(-1, 1, shape[::-1]).astype(self.dtype).T
        if self.layout == "strided":
            base = rng.uniform(-1, 1, tuple(2 * s for s in shape)).astype(self.dtype)
            return base[tuple(slice(None, None, 2) for _ in shape)]
        if self.layout == "shifted":  # contiguous, but not at the start of its allocation
            skip = 260 + 130 * (self.seed % 3)
            flat = rng.uniform(-1, 1, int(np.prod(shape)) + skip).astype(self.dtype)
            return flat[skip:].reshape(shape)
        if self.layout == "reversed":
            return rng.uniform(-1, 1, shape).astype(self.dtype)[tuple(slice(None, None, -1)
                                                                       for _ in shape)]
        raise ValueError(f"unknown layout {self.layout!r}, expected one of {ARRAY_LAYOUTS}")

    def describe(self) -> str:
        kind = {"C": "contiguous", "T": "transposed view", "strided": "strided view",
                "reversed": "reversed view", "shifted": "contiguous, shifted"}[self.layout]
        return f"{self.dtype} {'x'.join(map(str, self.shape)) or 'scalar'} ({kind})"


# -- trusted kernels for is_simd_vectorized ----------------------------------------------
@njit
def scale(x, out):
    for i in range(x.shape[0]):
        out[i] = 2.5 * x[i]


@njit
def add(x, y, out):
    for i in range(x.shape[0]):
        out[i] = x[i] + y[i]


@njit
def clip(x, out):
    for i in range(x.shape[0]):
        out[i] = min(max(x[i], -0.5), 0.5)


@njit(fastmath=True)
def sum_fastmath(x):
    s = x.dtype.type(0)
    for i in range(x.shape[0]):
        s += x[i]
    return s


@njit
def update(alpha, x, y):
    for i in range(x.shape[0]):
        y[i] += alpha * x[i]


@njit
def prefix_sum(x, out):
    acc = x.dtype.type(0)
    for i in range(x.shape[0]):
        acc += x[i]           # each step needs the previous one
        out[i] = acc


@njit
def sum_strict(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i]             # strict floating-point order: no reassociation
    return s


@njit
def first_negative(x):
    for i in range(x.shape[0]):
        if x[i] < 0:          # an early exit: the trip count is unknown
            return i
    return -1


@njit
def smooth(x, out):
    prev = x.dtype.type(0)
    for i in range(x.shape[0]):
        prev = 0.5 * prev + x[i]
        out[i] = prev


@njit
def checked_double(x, out):
    for i in range(x.shape[0]):
        if x[i] > 1e30:       # a raise inside the loop: a second exit
            raise ValueError("too large")
        out[i] = 2 * x[i]


# name -> (kernel, vectorizes?, argument kinds: "x" float array, "i" int array, "a" scalar)
KERNELS = {
    "scale": (scale, True, "xo"), "add": (add, True, "xxo"), "clip": (clip, True, "xo"),
    "sum_fastmath": (sum_fastmath, True, "x"), "update": (update, True, "axx"),
    "prefix_sum": (prefix_sum, False, "xo"), "sum_strict": (sum_strict, False, "x"),
    "first_negative": (first_negative, False, "x"), "smooth": (smooth, False, "xo"),
    "checked_double": (checked_double, False, "xo"),
}


@dataclass(frozen=True)
class Kernel:
    """One of the trusted `KERNELS`, by name (built where the student function runs)."""

    name: str

    def build(self):
        return KERNELS[self.name][0]

    def describe(self) -> str:
        return f"accelkit.exercises.simd.{self.name}"


def kernel_case(name: str, n: int = 1000, dtype: str = "float32", seed: int = 0) -> list:
    """[Kernel(name), arguments...] for calling is_simd_vectorized(kernel, *args)."""
    args: list = [Kernel(name)]
    for i, kind in enumerate(KERNELS[name][2]):
        args.append(1.5 if kind == "a" else Array((n,), dtype, seed=seed + i))
    return args


# -- reading the assembly ----------------------------------------------------------------
# Both families numba compiles for: x86-64 (SSE, AVX2, AVX-512: xmm/ymm/zmm registers) and
# AArch64 (NEON: v registers with an arrangement such as v0.4s – or, in Apple's syntax,
# fadd.4s v0 – and SVE: scalable z registers). grader_tests/fixtures/asm holds real AArch64
# output of the trusted kernels below.
_LABEL = re.compile(r"^(\.?[\w$.]+):")
# a jump to a label: x86 j<cc>/jmp; AArch64 b, b.<cc>, cbz/cbnz reg, tbz/tbnz reg, #bit
_JUMP = re.compile(r"^\s+(?:j\w+|b(?:\.\w+)?|cbn?z\s+\w+,|tbn?z\s+\w+,\s*#\d+,)\s+(\.?[\w$.]+)\s*$")
# packed arithmetic: float (…ps/…pd, not the bit-logic and/or/xor) or integer (vp…)
_PACKED = re.compile(r"^\s+(v?(?:add|sub|mul|div|max|min|sqrt|fn?m(?:add|sub)\d*|hadd|cmp\w*)p[sd]"
                     r"|vp(?:add|sub|mull|max|min|cmp)\w*)\s+(.*)$")
# AArch64 arithmetic (float or integer; not moves, loads, conversions or bit selects), whose
# operands are vectors of several lanes: v0.4s / fadd.4s v0 (NEON), z0.s (SVE)
_ARM_ARITHMETIC = re.compile(
    r"^\s+(f?(?:add|sub|mul|div|max|min|maxnm|minnm|sqrt|abs|neg)|fn?ml[as]|fn?m(?:ad|sb)"
    r"|f?cm(?:eq|ge|gt|le|lt|ne)|mla|mls|[su](?:max|min))(\.\d+[bhsd])?\s+(.*)$")
_NEON_LANES = re.compile(r"\bv\d+\.(\d+)[bhsd]\b")
_SVE_VECTOR = re.compile(r"\bz\d+\.[bhsd]\b")


def _packed_instruction(line: str) -> str | None:
    """"mnemonic width" of packed SIMD arithmetic on `line` (e.g. "vmaxps zmm", "fadd neon",
    "fmla sve"), else None."""
    m = _PACKED.match(line)
    if m:
        regs = re.findall(r"\b([xyz])mm\d+", m.group(2))
        return f"{m.group(1)} {max(regs, key='xyz'.index, default='x')}mm"
    m = _ARM_ARITHMETIC.match(line)
    if m:
        op, suffix, operands = m.groups()
        if _SVE_VECTOR.search(operands):
            return f"{op} sve"
        lanes = [int(n) for n in _NEON_LANES.findall(operands)]
        if suffix and re.match(r"v\d+\b", operands):   # Apple's syntax: fadd.4s v0, v1, v2
            lanes.append(int(suffix[1:-1]))
        if lanes and max(lanes) > 1:
            return f"{op} neon"
    return None


def packed_simd_report(asm: str) -> dict:
    """Packed SIMD arithmetic inside the loops of assembly text `asm` (x86-64 or AArch64).

    A loop is a jump back to a label above it. Returns {"loops": count, "packed": sorted
    instruction mnemonics with their widest register (e.g. "vmaxps zmm", "fmla neon")}.
    """
    lines = asm.splitlines()
    labels = {}
    loops = []
    for i, line in enumerate(lines):
        m = _LABEL.match(line)
        if m:
            labels[m.group(1)] = i
        m = _JUMP.match(line)
        if m and m.group(1) in labels and labels[m.group(1)] < i:
            loops.append((labels[m.group(1)], i))
    packed = set()
    for start, end in loops:
        for line in lines[start:end + 1]:
            found = _packed_instruction(line)
            if found:
                packed.add(found)
    return {"loops": len(loops), "packed": sorted(packed)}


def kernel_asm(kernel, *args) -> str:
    """The assembly of numba `kernel` compiled for the types of `args`."""
    from numba import typeof
    signature = tuple(typeof(a) for a in args)
    kernel.compile(signature)
    return kernel.inspect_asm(signature)


# -- verification ------------------------------------------------------------------------
def _context(*specs) -> str:
    return ", ".join(s.describe() if hasattr(s, "describe") else repr(s) for s in specs)


def _no_change(name: str, modified, labels: str, context: str) -> None:
    if modified:
        raise AssertionError(f"{name} modified its input {labels[modified[0]]}: return a new "
                             f"array and leave the inputs unchanged.\n  inputs: {context}")


def verify_relu(name: str, result, x: Array, modified=()) -> None:
    a = x.build()
    context = _context(x)
    _no_change(name, modified, "x", context)
    expected = np.maximum(a.astype(np.float64), 0)
    _verify_array(name, result, expected, 0.0, a.dtype, context,
                  "every output element is max(x, 0) of the element at the same index; "
                  "for a view, read through its strides (or copy it to a contiguous array first)")


def verify_axpy(name: str, result, alpha, x: Array, y: Array, modified=()) -> None:
    a, b = x.build(), y.build()
    context = f"alpha={alpha!r}, x = {x.describe()}, y = {y.describe()}"
    _no_change(name, modified, "xy", context)
    dtype = a.dtype
    expected = alpha * a.astype(np.float64) + b.astype(np.float64)
    # one rounding of alpha (to dtype), of the product and of the sum (fma or not)
    bound = 3 * np.finfo(dtype).eps * (abs(alpha) * np.abs(a.astype(np.float64))
                                       + np.abs(b.astype(np.float64))) + np.finfo(dtype).tiny
    _verify_array(name, result, expected, bound, dtype, context,
                  "each output element is alpha * x + y at the same index, in the dtype of x")


def dot_tolerance(x: np.ndarray, y: np.ndarray) -> float:
    """Allowed error of dot: n·eps·Σ|x_i y_i| (any summation order), eps of the input dtype."""
    n = x.shape[0]
    scale = float(np.abs(x.astype(np.float64)) @ np.abs(y.astype(np.float64)))
    return max(n, 1) * float(np.finfo(x.dtype).eps) * scale + 1e-30


def verify_dot(name: str, result, x: Array, y: Array, modified=()) -> None:
    a, b = x.build(), y.build()
    context = f"x = {x.describe()}, y = {y.describe()}"
    _no_change(name, modified, "xy", context)
    if isinstance(result, (bool, np.bool_)) or not isinstance(result, float):
        raise AssertionError(f"{name} returned {type(result).__name__} {result!r:.60}, expected a "
                             f"Python float.\n  inputs: {context}\n  hint: return float(total)")
    expected = float(a.astype(np.float64) @ b.astype(np.float64))
    tol = dot_tolerance(a, b)
    if not abs(result - expected) <= tol:
        raise AssertionError(f"{name} returned {result!r}, expected {expected!r} (allowed error "
                             f"{tol:.2g}).\n  inputs: {context}\n  hint: sum every product once; "
                             "with several accumulators, add them all up (and the remainder "
                             "elements after the last full group) at the end")


# -- correctness -------------------------------------------------------------------------
def _cases(shapes, dtypes, layouts):
    return list(itertools.product(shapes, dtypes, layouts))


def check_relu(fn, shapes, dtypes=("float32",), layouts=("C",), seed: int = 0) -> None:
    """`fn(x)` equals max(x, 0) element-wise, as a new array of x's dtype."""
    if _deferred(fn):
        return
    target = as_target(fn)
    cases = _cases(shapes, dtypes, layouts)
    for i, (shape, dt, lay) in enumerate(cases):
        x = Array(tuple(shape), dt, lay, seed=seed + i)
        result, modified = target.call([x], {})
        verify_relu(target.name, result, x, modified)
    print(f"✓ {target.name}: {len(cases)} cases correct (dtypes {', '.join(dtypes)}; "
          f"layouts {', '.join(layouts)})")


def check_axpy(fn, shapes, dtypes=("float32",), layouts=("C",), alphas=(2.0,),
               seed: int = 0) -> None:
    """`fn(alpha, x, y)` equals alpha * x + y element-wise, in the dtype of x and y."""
    if _deferred(fn):
        return
    target = as_target(fn)
    cases = list(itertools.product(shapes, dtypes, layouts, alphas))
    for i, (shape, dt, lay, alpha) in enumerate(cases):
        lx, ly = lay if isinstance(lay, tuple) else (lay, lay)
        x = Array(tuple(shape), dt, lx, seed=seed + 2 * i)
        y = Array(tuple(shape), dt, ly, seed=seed + 2 * i + 1)
        result, modified = target.call([alpha, x, y], {})
        verify_axpy(target.name, result, alpha, x, y, modified)
    print(f"✓ {target.name}: {len(cases)} cases correct")


def check_dot(fn, sizes, dtypes=("float32",), layouts=("C",), seed: int = 0) -> None:
    """`fn(x, y)` is the dot product of two 1-D arrays, as a Python float within
    n·eps·Σ|x_i y_i| of the exact value."""
    if _deferred(fn):
        return
    target = as_target(fn)
    cases = _cases(sizes, dtypes, layouts)
    for i, (n, dt, lay) in enumerate(cases):
        x = Array((n,), dt, lay, seed=seed + 2 * i)
        y = Array((n,), dt, lay, seed=seed + 2 * i + 1)
        result, modified = target.call([x, y], {})
        verify_dot(target.name, result, x, y, modified)
    print(f"✓ {target.name}: {len(cases)} cases correct (sizes {', '.join(map(str, sizes))})")


# -- is_simd_vectorized ------------------------------------------------------------------
def check_simd_detector(fn, names, n: int = 1000, dtypes=("float32",)) -> None:
    """`fn(kernel, *args)` says True exactly for the trusted kernels that vectorize."""
    if _deferred(fn):
        return
    target = as_target(fn)
    sources = target.sources()
    for name in analysis.reachable(target.name, sources):
        used = {"packed_simd_report", "kernel_asm"} & set(re.findall(r"\w+", sources[name]))
        if used:
            raise AssertionError(f"{name} uses {', '.join(sorted(used))} from accelkit: write the "
                                 "assembly analysis yourself (those helpers are for checking only)")
    for name, dt in itertools.product(names, dtypes):
        expected = KERNELS[name][1]
        args = kernel_case(name, n, dt)
        what = f"{target.name}({name}, {_context(*args[1:])})"
        result, _ = target.call(args, {})
        if not isinstance(result, (bool, np.bool_)):
            raise AssertionError(f"{what} returned {type(result).__name__} {result!r:.60}; "
                                 "expected True or False")
        if bool(result) != expected:
            raise AssertionError(
                f"{what} returned {bool(result)}, but that kernel's hot loop "
                f"{'does' if expected else 'does not'} use packed SIMD instructions.\n  hint: "
                + ("look for packed arithmetic (…ps / …pd, vpadd…) on xmm/ymm/zmm registers "
                   "inside a loop, i.e. between a label and a jump back to it"
                   if expected else
                   "scalar code uses …ss / …sd instructions; a vmovups or vxorps outside the loop "
                   "(copying a struct, zeroing a register) is not SIMD arithmetic"))
    print(f"✓ {target.name} is right about {len(names) * len(dtypes)} trusted kernels")


# -- SIMD speedup of the student's own kernel --------------------------------------------
@contextlib.contextmanager
def _twins(target):
    """(with SIMD, without SIMD): the student function and its scalar twin – the same solution
    cells compiled once more with numba's vectorizers off – in one worker process.

    In grading that is the student's own worker. Called from the student's kernel, a fresh
    worker is loaded with the function's source. One process for both means one memory
    layout: separate processes place inputs and outputs at different offsets (alignment,
    4K aliasing), which moved the ratio by up to 2x from one process pair to the next.
    """
    if isinstance(target, RemoteFunction):
        worker, sources, timeout, own = target.worker, target.sources(), target.timeout, False
    else:
        sources = analysis.functions_of_live(target.fn)
        blocks = [(f"function {name}", src) for name, src in reversed(list(sources.items()))]
        worker, timeout, own = Worker(("load_source", blocks, PREAMBLE), 4096, label="student"), 60.0, True
    try:
        if own:
            worker.start(timeout)
        names = worker.request("load_scalar_twin", timeout=timeout)
        if NO_SIMD + target.name not in names:
            raise AssertionError(
                f"could not rebuild {target.name} from its source a second time.\n  hint: keep "
                "everything the function needs in functions (no global constants besides the "
                "setup imports)")
        yield (RemoteFunction(worker, target.name, sources, timeout),
               RemoteFunction(worker, NO_SIMD + target.name, sources, timeout))
    finally:
        if own:
            worker.close()


def _local_asm_notes(target) -> list:
    """In the student's kernel only: the packed SIMD instructions of their numba kernels."""
    fn = getattr(target, "fn", None)
    notes = []
    if fn is None:
        return notes
    globs = getattr(getattr(fn, "py_func", fn), "__globals__", {})
    for name in analysis.functions_of_live(fn):
        disp = globs.get(name)
        if hasattr(disp, "inspect_asm") and getattr(disp, "signatures", None):
            for sig in disp.signatures:
                report = packed_simd_report(disp.inspect_asm(sig))
                found = ", ".join(report["packed"][:6]) or "none (scalar code)"
                notes.append(f"  {name}{tuple(str(t) for t in sig)}: packed SIMD in loops: {found}")
    return notes


# What code can use to tell the build it runs in (vectorizers on or off) from the other.
BUILD_TELLTALES = {"config", "LOOP_VECTORIZE", "SLP_VECTORIZE", "__name__", "__module__",
                   "globals", "builtins", "sys", "inspect", "gc", "__import__", "importlib",
                   "getattr", "setattr", "vars"}
CLOCKS = {"time", "perf_counter", "perf_counter_ns", "monotonic", "process_time"}  # in kernels


def _build_telltales(target) -> list:
    """"name (in f, g)" for each name that could tell the kernel's two builds apart: numba's
    settings, the module, state shared between modules (builtins, sys) – in the functions the
    kernel reaches or the cells' top-level code, which runs once per build – and clocks in
    those functions. Such code could run slower on purpose when compiled without SIMD."""
    used = analysis.names_used(target.name, target.sources())
    return [f"{word} (in {', '.join(fns)})" for word, fns in sorted(used.items())
            if word in BUILD_TELLTALES
            or word in CLOCKS and fns != [analysis.MODULE_LEVEL]]


def check_simd_speedup(fn, inputs: list, verify, tiers: list) -> float:
    """Points for how much faster `fn` runs compiled normally than compiled without SIMD
    (loop and SLP vectorizers off), on `inputs` that fit in cache. Both versions run in one
    process on the same input arrays, in paired interleaved rounds (`timing.compare`)."""
    if _deferred(fn):
        return 0.0
    target = as_target(fn)
    peeking = _build_telltales(target)
    if peeking:
        raise AssertionError(
            f"{target.name} uses {', '.join(peeking)}: code that reads numba's settings, its "
            "module or a clock could tell the build with SIMD from the one without, so its SIMD "
            "speedup earns no points.\n  hint: a kernel needs none of these; remove them")
    result, modified = target.call(inputs, {})
    verify(target.name, result, *inputs, modified=modified)
    tiers = sorted(tiers, reverse=True)
    with _twins(target) as (simd, scalar):
        for twin in (simd, scalar):
            result, modified = twin.call(inputs, {})
            verify(target.name, result, *inputs, modified=modified)
        key = simd.prepare(inputs, {})
        cmp = timing.compare(scalar.runner(inputs, {}, verify, key),
                             simd.runner(inputs, {}, verify, key), [t for t, _ in tiers])
    earned = next((pts for t, pts in tiers if cmp.meets(t)), 0.0)
    print(f"SIMD speedup of {target.name} on {_context(*inputs)}:")
    print(cmp.table("vectorizers off", "vectorizers on (as graded)"))
    for note in _local_asm_notes(target):
        print(note)
    print("  thresholds: " + ", ".join(f"≥ {t:g}x → {p:g} pt" for t, p in tiers))
    print(f"  → {earned:g} of {tiers[0][1]:g} points")
    if earned == 0:
        print("  hint: the compiler found nothing to vectorize – a dependency between iterations, "
              "a branch that leaves the loop, strict floating-point order in a sum, or "
              "non-contiguous arrays in the hot loop?")
    return float(earned)


def simd_sweep(fn, make_inputs, sizes, elements: float = 2e7) -> list:
    """The student's own SIMD speedup against array size, for a table and a plot: `fn`
    compiled as usual and without the vectorizers, in one worker on the same inputs
    (`make_inputs(n)` -> specs), best of 3 timings of about `elements` elements each."""
    target = as_target(fn)
    rows = []
    with _twins(target) as (simd, scalar):
        for n in sizes:
            inputs = make_inputs(n)
            nbytes = sum(int(np.prod(a.shape)) * np.dtype(a.dtype).itemsize
                         for a in inputs if isinstance(a, Array))
            key, repeat = simd.prepare(inputs, {}), max(1, int(elements // max(n, 1)))
            best = {}
            for name, twin in (("scalar", scalar), ("simd", simd)):
                run = twin.runner(inputs, {}, None, key)
                run(1)
                best[name] = min(run(repeat) for _ in range(3)) / repeat
            rows.append({"n": n, "inputs KiB": nbytes / 1024,
                         "scalar µs": best["scalar"] * 1e6, "SIMD µs": best["simd"] * 1e6,
                         "SIMD speedup": best["scalar"] / best["simd"]})
    return rows


__all__ += ["kernel_case", "kernel_asm", "dot_tolerance", "ARRAY_LAYOUTS", "simd_sweep"]
