"""Benchmark of the reference kernels (a report, not a test).

Runs the instructor's solution cells of 02_blocked_matmul from source/, then prints
GFLOP/s of matmul_reordered and matmul_blocked (with its default block size, and with the
one the reference `autotune_block_size` picks for that product) next to single-threaded
numpy, and the time nbgrader takes to autograde one complete submission.
"""
from __future__ import annotations

import contextlib
import io
import re
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from accelkit import course
from accelkit.grading import sandbox
from accelkit.exercises.baselines import matmul_naive
from accelkit.student import best_time, machine_summary, matmul_gflops, print_table
from accelkit.grading.preprocessors import SETUP_CELL_IDS


def reference_kernels(root: Path) -> dict:
    """02's namespace as grading builds it: the setup cells, then the instructor's solutions."""
    nb = nbformat.read(root / "source" / course.ASSIGNMENT / "02_blocked_matmul.ipynb", 4)
    setup_ids = course.setting(root, "TrustedGrade", "setup_cell_ids", SETUP_CELL_IDS)
    namespace: dict = {}
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in setup_ids:
            with contextlib.redirect_stdout(io.StringIO()):  # its machine summary: printed below
                exec(cell.source, namespace)
    for source in course.solution_sources(nb).values():
        exec(source, namespace)
    return namespace


def kernel_table(kernels: dict, sizes: list, quick: bool) -> list:
    rows = []
    repeat = 2 if quick else 5
    with threadpool_limits(1):
        for dtype in ("float32", "float64"):
            for n in sizes:
                rng = np.random.default_rng(n)
                A = rng.standard_normal((n, n)).astype(dtype)
                B = rng.standard_normal((n, n)).astype(dtype)
                t_numpy = best_time(np.matmul, A, B, repeat=repeat)
                t_reord = best_time(kernels["matmul_reordered"], A, B, repeat=repeat)
                t_block = best_time(kernels["matmul_blocked"], A, B, repeat=repeat)
                tuned = kernels["autotune_block_size"](n, n, n, dtype=dtype)
                t_tuned = best_time(kernels["matmul_blocked"], A, B, block_size=tuned,
                                    repeat=repeat)
                row = {"dtype": dtype, "n": n,
                       "reordered GF/s": matmul_gflops(n, t_reord),
                       "blocked GF/s": matmul_gflops(n, t_block),
                       "tuned block": tuned,
                       "blocked@tuned GF/s": matmul_gflops(n, t_tuned),
                       "numpy-1t GF/s": matmul_gflops(n, t_numpy),
                       "blocked/numpy": t_numpy / t_block,
                       "tuned/numpy": t_numpy / t_tuned,
                       "reordered/numpy": t_numpy / t_reord}
                if n <= 1024:
                    row["blocked vs naive"] = best_time(matmul_naive, A, B, repeat=1) / t_block
                rows.append(row)
    return rows


def autograde_seconds(root: Path) -> tuple:
    """Wall time of `nbgrader autograde` for the reference submission (all notebooks, the
    instructor's solutions) in a scratch copy, and per notebook what it used of the grading
    time budgets (`budget_use`)."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in ("source", "release"):
            shutil.copytree(root / name, tmp / name)
        shutil.copy(root / "nbgrader_config.py", tmp)
        course.run_nbgrader(tmp, "generate_assignment", course.ASSIGNMENT,
                            "--force").check_returncode()
        course.place_examples(tmp, [
            course.Example(nb.stem, "reference", "", {}, {})
            for nb in sorted((root / "source" / course.ASSIGNMENT).glob("*.ipynb"))])
        start = time.perf_counter()
        proc = course.run_nbgrader(tmp, "autograde", course.ASSIGNMENT, "--force",  # trusted code
                                   *sandbox.for_trusted_code())
        proc.check_returncode()
        return time.perf_counter() - start, budget_use(proc.stderr)


_NOTEBOOK = re.compile(r"(\d\d_\w+)\.ipynb")
_TOOK = {"kernel run s": re.compile(r"The kernel run took ([\d.]+) s"),
         "trusted grading s": re.compile(r"Trusted grading took ([\d.]+) s"),
         "slowest test cell s": re.compile(r"\s(?:ran|failed) \(([\d.]+) s\)")}


def budget_use(log: str) -> list:
    """Rows of (notebook, kernel run s, trusted grading s, slowest test cell s) read from
    nbgrader autograde's log, to set against the budgets of nbgrader_config.py."""
    rows: dict = {}
    notebook = None
    for line in log.splitlines():
        if (found := _NOTEBOOK.search(line)) and "Converting notebook" in line:
            notebook = found.group(1)
        for column, pattern in _TOOK.items():
            if notebook and (m := pattern.search(line)):
                row = rows.setdefault(notebook, {"notebook": notebook})
                row[column] = max(row.get(column, 0.0), float(m.group(1)))
    return list(rows.values())


def main(root: Path, sizes: list, quick: bool = False) -> int:
    print(machine_summary())
    blas = [f"{i['internal_api']} {i.get('version')} ({i.get('architecture')})"
            for i in threadpool_info() if i["user_api"] == "blas"]
    print("numpy BLAS:", ", ".join(blas) or "unknown", "– limited to 1 thread\n")
    kernels = reference_kernels(root)
    rows = kernel_table(kernels, sizes, quick)
    print_table(rows, ["dtype", "n", "reordered GF/s", "blocked GF/s", "tuned block",
                       "blocked@tuned GF/s", "numpy-1t GF/s", "blocked/numpy", "tuned/numpy",
                       "reordered/numpy", "blocked vs naive"])
    seconds, use = autograde_seconds(root)
    print(f"\nautograde of one complete submission (reference): {seconds:.1f} s")
    print("of the grading time budgets (nbgrader_config.py) it used:")
    print_table(use, ["notebook", "kernel run s", "trusted grading s", "slowest test cell s"])
    return 0
