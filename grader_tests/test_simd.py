"""The checks of the SIMD and alignment notebooks on their own: real workers, real numba."""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from accelkit.exercises import alignment, simd
from accelkit.grading.cases import build_all
from accelkit.grading.session import GradingSession

SETUP = """\
import math
import numpy as np
import numba
from numba import njit
from accelkit.exercises.alignment import alignment_probe
grading_probe = alignment_probe(globals())
"""


def session(source: str) -> GradingSession:
    return GradingSession([("cell", textwrap.dedent(source))], SETUP, timeout=30)


@pytest.mark.parametrize("name", sorted(simd.KERNELS))
def test_trusted_kernels_vectorize_as_labelled(name):
    """The labels is_simd_vectorized is graded against hold on this machine."""
    args = build_all(simd.kernel_case(name, 513, "float32"))
    report = simd.packed_simd_report(simd.kernel_asm(*args))
    assert report["loops"] > 0
    assert bool(report["packed"]) == simd.KERNELS[name][1], report


def test_array_recipes_give_the_promised_layouts():
    assert simd.Array((3, 4), layout="T").build().flags.f_contiguous
    strided = simd.Array((3, 4), "float64", "strided").build()
    assert strided.shape == (3, 4) and strided.strides == (128, 16)
    assert simd.Array((5,), layout="reversed").build().strides == (-4,)
    assert simd.Array((), "float64").build().shape == ()
    for offset in (0, 4, 64, 4096):
        arr = alignment.Buffer((7,), "float32", offset).build()
        assert alignment.address_of(arr) % 4096 == offset % 4096


def test_simd_speedup_tells_vectorized_from_scalar_in_grading_workers():
    with session("""
        def double(x):
            out = np.empty(x.shape, x.dtype)
            _double(np.ascontiguousarray(x).reshape(-1), out.reshape(-1))
            return out

        @njit
        def _double(x, out):
            for i in range(x.shape[0]):
                out[i] = 2 * x[i]

        def double_checked(x):
            out = np.empty(x.shape, x.dtype)
            _checked(np.ascontiguousarray(x).reshape(-1), out.reshape(-1))
            return out

        @njit
        def _checked(x, out):
            for i in range(x.shape[0]):
                if not math.isfinite(x[i]):
                    raise ValueError("not finite")
                out[i] = 2 * x[i]
    """) as s:
        ns = s._build_namespace()

        def verify(name, result, x, modified=()):
            assert np.array_equal(result, 2 * x.build()) and not modified

        # an in-cache copy-and-scale is bound by loads and stores: about 1.3-1.6x from SIMD here,
        # against 1.0x for the scalar loop; 1.2x lies between them
        inputs = [simd.Array((65536,), "float32", "shifted", seed=1)]
        assert simd.check_simd_speedup(ns["double"], inputs, verify, [(1.2, 1.0)]) == 1.0
        assert simd.check_simd_speedup(ns["double_checked"], inputs, verify, [(1.2, 1.0)]) == 0.0


def test_simd_speedup_refuses_code_that_reads_the_vectorizer_settings():
    """A kernel that slows down on purpose when compiled without SIMD would earn points."""
    with session("""
        def double(x):
            from numba.core import config
            if not config.LOOP_VECTORIZE:
                time.sleep(0.001)
            return 2 * x
    """) as s:
        ns = s._build_namespace()

        def verify(name, result, x, modified=()):
            assert np.array_equal(result, 2 * x.build())

        with pytest.raises(AssertionError, match="reads numba's settings"):
            simd.check_simd_speedup(ns["double"], [simd.Array((64,), seed=1)], verify, [(1.5, 1.0)])


def test_alignment_probe_reads_layouts_in_the_student_worker():
    with session("""
        def good(shape, dtype=np.float32, alignment=64):
            raw = np.empty(int(np.prod(shape)) * np.dtype(dtype).itemsize + alignment, np.uint8)
            return np.ndarray(shape, dtype, raw, (-raw.ctypes.data) % alignment)

        def lucky(shape, dtype=np.float32, alignment=64):
            return np.empty(shape, dtype)
    """) as s:
        ns = s._build_namespace()
        alignment.check_aligned_empty(ns["good"], [(), 0, (3, 5), (300, 300)],
                                      ["float32", "int8"], [16, 4096])
        with pytest.raises(AssertionError, match="not 4096-byte aligned"):
            alignment.check_aligned_empty(ns["lucky"], [(i,) for i in range(1, 9)],
                                          alignments=[4096])


ASM_FIXTURES = sorted((Path(__file__).parent / "fixtures" / "asm").glob("*.s"))


def _labelled(path: Path) -> bool:
    """Whether the trusted kernel a fixture was compiled from vectorizes (its KERNELS label)."""
    _, name, _ = path.stem.split("-")
    return simd.KERNELS[name][1]


@pytest.mark.parametrize("path", ASM_FIXTURES, ids=lambda p: p.stem)
def test_the_structural_simd_check_reads_both_families(path):
    """Real compiler output of the trusted kernels for AArch64 (NEON, Apple's syntax, SVE) and
    x86-64 (AVX2, AVX-512), made by fixtures/asm/make_fixtures.py: the grader's check finds
    loops and finds packed arithmetic exactly in the kernels labelled as vectorizing, so a
    grading server of either family grades is_simd_vectorized against true labels."""
    report = simd.packed_simd_report(path.read_text())
    assert report["loops"] > 0
    assert bool(report["packed"]) == _labelled(path), report
    family = path.stem.split("-")[0]
    widths = {w.split()[-1] for w in report["packed"]}
    assert widths <= {"neon": {"neon"}, "apple": {"neon"}, "sve": {"sve"},
                      "avx2": {"xmm", "ymm"}, "avx512": {"xmm", "ymm", "zmm"}}[family]


def test_the_instructors_detector_reads_both_families():
    """The reference is_simd_vectorized of 03 (its assembly reader) on every fixture: a
    student following it learns a tool that works on their Mac and on the grading server."""
    import nbformat

    from accelkit import course
    nb = nbformat.read(Path(__file__).parents[1] / "source" / course.ASSIGNMENT
                       / "03_vectorized_ops.ipynb", 4)
    namespace: dict = {"numba": __import__("numba")}
    exec(course.solution_sources(nb)["is_simd_vectorized"], namespace)
    wrong = [p.stem for p in ASM_FIXTURES
             if namespace["_packed_in_loop"](p.read_text()) != _labelled(p)]
    assert ASM_FIXTURES and not wrong
