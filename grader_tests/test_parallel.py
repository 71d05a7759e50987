"""The checks of notebook 05 (accelkit.exercises.parallel) against real workers: probes travel into the
student's worker by reference, and what they saw there decides the check."""
from __future__ import annotations

import textwrap

import pytest

from accelkit.exercises import parallel
from accelkit.grading.session import GradingSession

SETUP = """\
import os, time
from concurrent.futures import ThreadPoolExecutor, as_completed
import numpy as np
from numba import njit
from threadpoolctl import threadpool_limits
from accelkit.exercises.checks import Matrix, Tensor, verify_matmul
from accelkit.exercises.baselines import matmul_naive
from accelkit.exercises.parallel import *
from accelkit.student import cpu_count
"""

GOOD_MAP = """
def parallel_map(fn, items, num_workers=None):
    items = list(items)
    with ThreadPoolExecutor(max_workers=num_workers or cpu_count()) as pool:
        futures = [pool.submit(fn, x) for x in items]
        return [f.result() for f in futures]
"""


def grade(source: str, cell: str) -> list:
    """Outputs of one test cell run by the trusted grader against `source`."""
    with GradingSession([("cell", textwrap.dedent(source))], SETUP) as session:
        return session.run_cell(cell)


def error_of(outputs: list) -> str:
    errors = [o for o in outputs if o["output_type"] == "error"]
    return errors[0]["evalue"] if errors else ""


def test_required_speedup_scales_with_cores():
    need = [parallel.required_speedup(c, 1.3, 0.35, 8) for c in (1, 2, 3, 4, 8, 16, 64)]
    assert need == pytest.approx([0.8, 1.3, 1.3, 1.4, 2.8, 5.6, 8.0])


def test_probes_run_in_the_worker_and_report_concurrency():
    out = grade(GOOD_MAP, "check_parallel_map(parallel_map)\n"
                          "check_parallel_map_errors(parallel_map)\n"
                          "check_worker_limit(parallel_map, num_workers=3, items=7)")
    assert error_of(out) == ""
    assert "3 calls of fn ran at once" in out[0]["text"]


@pytest.mark.parametrize("source, cell, message", [
    (GOOD_MAP.replace("[f.result() for f in futures]", "[f.result() for f in as_completed(futures)]"),
     "check_parallel_map(parallel_map)", "wrong order"),
    (GOOD_MAP.replace("futures = [pool.submit(fn, x) for x in items]",
                      "futures = [pool.submit(fn, x) for x in items][::-1]"),
     "check_parallel_map(parallel_map)", "wrong order"),
    ("def parallel_map(fn, items, num_workers=None):\n    return tuple(map(fn, items))\n",
     "check_parallel_map(parallel_map)", "expected a list"),
    ("def parallel_map(fn, items, num_workers=None):\n"
     "    with ThreadPoolExecutor(num_workers) as pool:\n"
     "        return [pool.submit(fn, x).result() for x in items]\n",
     "check_worker_limit(parallel_map, num_workers=3, items=6)", "at most 1 call(s)"),
    (GOOD_MAP.replace("max_workers=num_workers or cpu_count()", "max_workers=16"),
     "check_worker_limit(parallel_map, num_workers=3, items=12)", "ran up to"),
    (GOOD_MAP.replace("max_workers=num_workers or cpu_count()", "max_workers=num_workers"),
     f"check_worker_limit(parallel_map, num_workers=None, items={2 * parallel.available_cores() + 6})",
     "ran up to"),  # ThreadPoolExecutor(None) starts cpu_count + 4 threads
    (GOOD_MAP.replace("return [f.result() for f in futures]",
                      "return [f.result() if f.exception() is None else None for f in futures]"),
     "check_parallel_map_errors(parallel_map)", "although fn raised"),
    (GOOD_MAP.replace("return [f.result() for f in futures]",
                      "if any(f.exception() for f in futures):\n"
                      "            raise RuntimeError('a task failed')\n"
                      "        return [f.result() for f in futures]"),
     "check_parallel_map_errors(parallel_map)", "raised RuntimeError"),
])
def test_broken_pools_fail_with_a_useful_message(source, cell, message):
    assert message in error_of(grade(source, cell))


SPLIT_K = """
def matmul_threaded(A, B, num_workers=None):
    n = num_workers or 1
    A = np.ascontiguousarray(A, np.float32); B = np.ascontiguousarray(B, np.float32)
    C = np.zeros((A.shape[0], B.shape[1]), np.float32)
    k = A.shape[1]
    for t in range(n):          # sums over k in num_workers slices: rounding depends on n
        lo, hi = k * t // n, k * (t + 1) // n
        C += _part(A[:, lo:hi].copy(), B[lo:hi].copy())
    return C

@njit
def _part(A, B):
    C = np.zeros((A.shape[0], B.shape[1]), np.float32)
    for i in range(A.shape[0]):
        for p in range(A.shape[1]):
            for j in range(B.shape[1]):
                C[i, j] += A[i, p] * B[p, j]
    return C
"""


def test_a_split_k_kernel_is_correct_but_not_deterministic():
    out = grade(SPLIT_K, "check_deterministic(matmul_threaded, [Matrix(40, 300, seed=1), "
                         "Matrix(300, 30, seed=2)], verify_matmul)")
    assert "different results with num_workers=1 and num_workers=2" in error_of(out)


GIL_KERNEL = """
def matmul_threaded(A, B, num_workers=None):
    A = np.ascontiguousarray(A, np.float32); B = np.ascontiguousarray(B, np.float32)
    C = np.zeros((A.shape[0], B.shape[1]), np.float32)
    n = num_workers or cpu_count()
    m = A.shape[0]
    with ThreadPoolExecutor(n) as pool:
        for f in [pool.submit(_rows, A, B, C, m * i // n, m * (i + 1) // n) for i in range(n)]:
            f.result()
    return C

@njit
def _rows(A, B, C, lo, hi):
    for i in range(lo, hi):
        for p in range(A.shape[1]):
            a = A[i, p]
            for j in range(B.shape[1]):
                C[i, j] += a * B[p, j]
"""


SPEED_CELL = ("check_parallel_speedup(matmul_threaded, [Matrix(384, 384, seed=1), "
              "Matrix(384, 384, seed=2)], verify_matmul, two_core=1.3, efficiency=0.35, cap=8, "
              "cores={cores}, baseline={baseline})")


def test_speed_check_scales_its_goal_with_the_cores():
    cell = SPEED_CELL.replace("{baseline}", "matmul_serial")
    serial = GIL_KERNEL.replace("    n = num_workers or cpu_count()", "    n = 1")
    one = grade(serial, SPEED_CELL.replace("{baseline}", "matmul_naive").format(cores=1))
    # one core: only "no slowdown" is asked (here against the naive loop, which it beats)
    printed = "".join(o.get("text", "") for o in one if o["output_type"] == "stream")
    assert error_of(one) == "" and "no slowdown" in printed  # (a chart sits between the texts)
    two = grade(GIL_KERNEL, cell.format(cores=2))  # the GIL makes the threads take turns
    assert "needed ≥ 1.3x on 2 cores" in error_of(two)


@pytest.mark.skipif(parallel.available_cores() < 2, reason="needs 2 cores to use more than one")
def test_a_speedup_without_parallelism_earns_nothing():
    """Against a slow trusted kernel a serial kernel is "fast", but not against its own
    one-thread run; a kernel fast in both ways whose process keeps one core busy, not two,
    earns nothing either (its one-thread mode is slow on purpose); and a kernel told to use
    one thread must use one."""
    serial = GIL_KERNEL.replace("    n = num_workers or cpu_count()", "    n = 1")
    cell = SPEED_CELL.replace("{baseline}", "matmul_naive").format(cores=2)
    assert "as fast as with num_workers=1; needed ≥ 1.3x" in error_of(grade(serial, cell))
    slowed = serial.replace("    m = A.shape[0]\n",
                            "    m = A.shape[0]\n    if num_workers == 1:\n"
                            "        _rows(A, B, C.copy(), 0, m); _rows(A, B, C.copy(), 0, m)\n")
    message = error_of(grade(slowed, cell))
    assert "cores busy on average" in message, message
    assert float(message.split("kept only ")[1].split()[0]) < parallel.parallelism_floor(2, 8)
    greedy = GIL_KERNEL.replace("    n = num_workers or cpu_count()", "    n = 2").replace(
        "@njit\ndef _rows", "@njit(nogil=True)\ndef _rows")
    cell = SPEED_CELL.replace("{baseline}", "matmul_serial").replace("384", "768").format(cores=2)
    assert "asked for one thread, it must use one" in error_of(grade(greedy, cell))


def test_a_busy_machine_is_not_measured_rather_than_failed():
    """A canary that cannot get its cores makes the check say "not measured", never fail."""
    cell = SPEED_CELL.replace("{baseline}", "matmul_serial").format(
        cores=4 * parallel.available_cores())  # more cores than exist: the canary never gets them
    out = grade(GIL_KERNEL, cell)
    assert [o["ename"] for o in out if o["output_type"] == "error"] == ["NotMeasured"]
    assert "not measured" in error_of(out) and "Regrade" in error_of(out)


def test_batch_forward_must_use_a_pool_and_limit_blas():
    plain = "def batch_forward(X, W, b, num_workers=None):\n    return np.maximum(X @ W + b, 0)\n"
    assert "does not use a thread pool" in error_of(grade(plain, "check_pool_and_blas_limit(batch_forward)"))
    unlimited = ("def batch_forward(X, W, b, num_workers=None):\n"
                 "    with ThreadPoolExecutor(2) as pool:\n"
                 "        return np.vstack(list(pool.map(lambda x: np.maximum(x @ W + b, 0), "
                 "np.array_split(X, 4))))\n")
    out = grade(unlimited, "check_pool_and_blas_limit(batch_forward)\n"
                           "check_dense(batch_forward, shapes=[(9, 4, 3)], dtypes=['float64'])")
    assert "does not limit the BLAS threads" in error_of(out)
    assert error_of(grade(unlimited, "check_dense(batch_forward, shapes=[(9, 4, 3), (20, 5, 6)], "
                                     "dtypes=['float64'])")) == ""


def test_amdahl_check_and_bound():
    assert parallel.amdahl_bound(0.9, 4) == pytest.approx(1 / (0.1 + 0.225))
    wrong = "def amdahl_speedup(p, n):\n    return 1 / ((1 - p) + n / p)\n"
    assert "expected 1.33333" in error_of(grade(wrong, "check_amdahl(amdahl_speedup, [(0.5, 2)])"))


def test_hyperthreads_of_one_core_count_once_in_the_speed_goal(tmp_path):
    """A 2-core machine with 2 hyperthreads per core is asked for a 2-core speedup, not a
    4-core one; where the topology cannot be read every CPU counts."""
    for cpu, core in enumerate([0, 1, 0, 1]):
        folder = tmp_path / f"cpu{cpu}" / "topology"
        folder.mkdir(parents=True)
        (folder / "physical_package_id").write_text("0\n")
        (folder / "core_id").write_text(f"{core}\n")
    assert parallel.physical_cores(range(4), str(tmp_path)) == 2
    assert parallel.physical_cores([0, 2], str(tmp_path)) == 1
    assert parallel.physical_cores(range(6), str(tmp_path)) == 6  # cpu4, cpu5: unreadable


def test_the_speed_goal_counts_physical_cores_but_never_fewer_than_two(monkeypatch):
    monkeypatch.setattr(parallel, "available_cores", lambda: 64)
    monkeypatch.setattr(parallel, "physical_cores", lambda: 32)   # 2 hyperthreads per core
    assert parallel.goal_cores() == 32
    monkeypatch.setattr(parallel, "available_cores", lambda: 2)
    monkeypatch.setattr(parallel, "physical_cores", lambda: 1)    # one core, two hyperthreads
    assert parallel.goal_cores() == 2
    monkeypatch.setattr(parallel, "available_cores", lambda: 1)
    assert parallel.goal_cores() == 1
