"""Trusted checks of the alignment notebook (04_alignment).

The properties graded here – where an array's data starts, its strides, whether its
buffer stays alive – do not survive the trip from a grading worker back to the grader
(results come back as plain contiguous copies). So they are read *where the array was
made*: the setup cell binds ``grading_probe = alignment_probe(globals())``, and the
checks call that probe by name in the student's worker. It calls the student's function
there and reports the layout of the result as plain data. Timings of the padded and
unpadded layouts are taken by the grader around whole probe requests, as for every
speed check.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from accelkit.grading import plots, timing
from accelkit.exercises.checks import _deferred, check_raises
from accelkit.grading.targets import RemoteFunction
from accelkit.student.tools import PAGE, address_of, alignment_probe, transpose_into

__all__ = ["Buffer", "alignment_probe", "check_aligned_empty", "check_is_aligned",
           "check_aligned_matrix", "check_padding_speed", "check_raises", "PROBE_NAME",
           "transpose_into", "address_of"]

PROBE_NAME = "grading_probe"


@dataclass(frozen=True)
class Buffer:
    """An array whose data starts exactly `offset` bytes after a 4096-byte boundary."""

    shape: tuple
    dtype: str = "float32"
    offset: int = 0
    seed: int = 0

    def build(self) -> np.ndarray:
        dtype = np.dtype(self.dtype)
        nbytes = int(np.prod(self.shape, dtype=np.int64)) * dtype.itemsize
        raw = np.empty(nbytes + self.offset + 2 * PAGE, np.uint8)
        start = (-address_of(raw)) % PAGE + self.offset
        arr = raw[start:start + nbytes].view(dtype).reshape(self.shape)
        arr[...] = np.asarray(np.random.default_rng(self.seed).uniform(-1, 1, self.shape)).astype(dtype)
        return arr

    def describe(self) -> str:
        return (f"{self.dtype} {'x'.join(map(str, self.shape)) or 'scalar'} starting "
                f"{self.offset} bytes after a 4096-byte boundary")


def _probe_of(fn):
    """(probe callable, function name): the student's worker's probe, or a local one."""
    if isinstance(fn, RemoteFunction):
        return RemoteFunction(fn.worker, PROBE_NAME, timeout=fn.timeout), fn.name
    name = getattr(fn, "__name__", "fn")
    return alignment_probe({name: fn}), name


# -- checks --------------------------------------------------------------------------
def _call(fn, what: str, *args, **kwargs) -> dict:
    probe, name = _probe_of(fn)
    report = probe("layout", name, *args, **kwargs)
    if not report["ndarray"]:
        raise AssertionError(f"{what} returned {report['type']}, expected a numpy array")
    return report


def _common(report: dict, what: str, shape: tuple, dtype, alignment: int) -> None:
    if report["shape"] != shape:
        raise AssertionError(f"{what} has shape {report['shape']}, expected {shape}")
    if report["dtype"] != str(np.dtype(dtype)):
        raise AssertionError(f"{what} has dtype {report['dtype']}, expected {np.dtype(dtype)}")
    miss = report["address"] % alignment
    if miss:
        raise AssertionError(
            f"{what}: its data starts {miss} bytes after a multiple of {alignment} (address "
            f"% {alignment} = {miss}), so it is not {alignment}-byte aligned.\n  hint: numpy "
            "only promises alignment to the element size (np.empty is often 16- or 32-byte "
            "aligned, and page-aligned only by luck); over-allocate by `alignment` bytes and "
            "start your array at the first aligned byte of that buffer")
    if not report["writeable"]:
        raise AssertionError(f"{what} is read-only; expected a writeable array")
    if not report["referenced"] or not report["alive"]:
        raise AssertionError(
            f"{what} does not keep its memory alive: values written into it changed after "
            "other arrays were allocated.\n  hint: the array must reference the buffer it "
            "lives in (a slice or view of it does; a pointer taken with .ctypes does not)")


def check_aligned_empty(fn, shapes, dtypes=("float32",), alignments=(64,)) -> None:
    """fn(shape, dtype, alignment) is a writeable C-contiguous array of that shape and dtype
    whose data address is a multiple of `alignment`, and keeps its buffer alive."""
    if _deferred(fn):
        return
    cases = list(itertools.product(shapes, dtypes, alignments))
    for shape, dt, al in cases:
        what = f"aligned_empty({shape!r}, np.{np.dtype(dt).name}, alignment={al})"
        report = _call(fn, what, shape, np.dtype(dt).type, al)
        norm = (shape,) if isinstance(shape, int) else tuple(shape)
        _common(report, what, norm, dt, al)
        if not report["c_contiguous"]:
            raise AssertionError(f"{what} is not C-contiguous (strides {report['strides']})")
    print(f"✓ {getattr(fn, '__name__', 'aligned_empty')}: {len(cases)} arrays aligned, "
          f"writeable and alive (alignments {', '.join(map(str, alignments))})")


def check_is_aligned(fn, cases) -> None:
    """fn(arr, alignment) tells whether arr's data address is a multiple of alignment.
    cases: (shape, dtype, offset from a 4096-byte boundary, alignment)."""
    if _deferred(fn):
        return
    from accelkit.grading.targets import as_target
    target = as_target(fn)
    for i, (shape, dt, offset, al) in enumerate(cases):
        spec = Buffer(tuple(shape), dt, offset, seed=i)
        result, _ = target.call([spec, al], {})
        expected = offset % al == 0
        if not isinstance(result, (bool, np.bool_)) or bool(result) != expected:
            raise AssertionError(
                f"{target.name}(<{spec.describe()}>, alignment={al}) returned {result!r}, "
                f"expected {expected}.\n  hint: compare the data address "
                "(arr.ctypes.data or arr.__array_interface__['data'][0]) with the alignment")
    print(f"✓ {target.name}: {len(cases)} cases right")


def _stride_rule(cols: int, dtype, alignment: int) -> int:
    row = cols * np.dtype(dtype).itemsize
    return -(-row // alignment) * alignment


def check_aligned_matrix(fn, cases) -> None:
    """fn(rows, cols, dtype, alignment, pad) is an aligned (rows, cols) view with element
    stride = itemsize, row stride a multiple of alignment; with pad=False the smallest such
    stride, with pad=True one that is not a multiple of 4096 bytes.
    cases: (rows, cols, dtype, alignment, pad)."""
    if _deferred(fn):
        return
    for rows, cols, dt, al, pad in cases:
        what = (f"aligned_matrix({rows}, {cols}, np.{np.dtype(dt).name}, alignment={al}, "
                f"pad={pad})")
        report = _call(fn, what, rows, cols, np.dtype(dt).type, al, pad)
        _common(report, what, (rows, cols), dt, al)
        row_stride, col_stride = report["strides"]
        item = np.dtype(dt).itemsize
        need = _stride_rule(cols, dt, al)
        if col_stride != item:
            raise AssertionError(f"{what} has strides {report['strides']}: elements of a row "
                                 f"must be adjacent (second stride {item})")
        if row_stride % al or row_stride < cols * item:
            raise AssertionError(f"{what} has a row stride of {row_stride} bytes; expected a "
                                 f"multiple of {al} that holds a whole row ({cols * item} bytes)")
        if not pad and row_stride != need:
            raise AssertionError(f"{what} has a row stride of {row_stride} bytes; without "
                                 f"padding expected the smallest multiple of {al} that holds a "
                                 f"row: {need} bytes")
        if pad and row_stride % PAGE == 0:
            raise AssertionError(
                f"{what} has a row stride of {row_stride} bytes, a multiple of 4096: walking "
                "down a column hits the same cache sets again and again.\n  hint: add "
                "`alignment` bytes to such a stride")
    print(f"✓ {getattr(fn, '__name__', 'aligned_matrix')}: {len(cases)} layouts right")


def check_padding_speed(fn, n: int = 1024, dtype="float32", alignment: int = 64,
                        tiers=((3.0, 2.0),)) -> float:
    """Points for how much faster a trusted transpose runs between two padded matrices from
    fn(n, n, dtype, alignment, pad=True) than between two unpadded ones (pad=False)."""
    if _deferred(fn):
        return 0.0
    check_aligned_matrix(fn, [(n, n, dtype, alignment, False), (n, n, dtype, alignment, True)])
    probe, name = _probe_of(fn)
    tiers = sorted(tiers, reverse=True)
    runners = []
    for pad in (False, True):
        args = ["transpose", name, n, n, np.dtype(dtype).type, alignment, pad]
        if isinstance(probe, RemoteFunction):
            runners.append(probe.runner(args, {}))
        else:
            def run(repeat, args=args):
                import time
                start = time.perf_counter()
                for _ in range(repeat):
                    probe(*args)
                return time.perf_counter() - start
            runners.append(run)
    cmp = timing.compare(runners[0], runners[1], [t for t, _ in tiers])
    earned = next((p for t, p in tiers if cmp.meets(t)), 0.0)
    print(f"Transposing a {n}x{n} {dtype} matrix (trusted kernel) between your matrices:")
    print(cmp.table("pad=False", "pad=True"))
    print("  thresholds: " + ", ".join(f"≥ {t:g}x → {p:g} pt" for t, p in tiers)
          + f"  ({timing.RULE})")
    print(f"  → {earned:g} of {tiers[0][1]:g} points")
    plots.show_speedup("pad=True", cmp, [(t, f"≥ {t:g}x → {p:g} pt") for t, p in tiers],
                       f"transpose {n}x{n} {dtype}: pad=True vs pad=False")
    return float(earned)
