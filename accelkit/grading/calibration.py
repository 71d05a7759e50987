"""Calibration: do the speed thresholds fit the machine that grades?

Thresholds are ratios set where the reference solution passes by a margin (2x where the
hardware allows) and a naive kernel fails by one. Both sides depend on the CPU, so
`accelkit calibrate` grades the instructor's solutions and the naive examples (those that
declare ``CALIBRATION = "naive"``) on this machine, reads every speed measurement the
trusted grader kept in the autograded notebooks (`cell.metadata.accelkit.measured`), and
stores, with the machine's fingerprint, each threshold next to what both sides measured.
A guard comparison (`timing.compare(..., guard=True)`: a floor behind the graded one, such as
05's trusted anchor, which serial code passes by design) is checked on its reference side only.

Autograde checks that file (`check`): no calibration for this machine, or one where a
reference misses a threshold or a naive kernel reaches one, is a loud warning in the log –
or a refusal with ``TrustedGrade.calibration = "required"``.
"""
from __future__ import annotations

import hashlib
import json
import platform
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from accelkit import course, student
from accelkit.grading import sandbox

FILE = "calibration.json"
MIN_MARGIN = 2.0  # what a threshold promises on each side where the hardware allows it
COPIED = ("source", "grader_tests/submissions", "nbgrader_config.py")


def fingerprint() -> dict:
    """What decides the measured ratios: the CPU (as LLVM sees it), its caches and cores,
    the compiler and array library that build the kernels, and the SIMD extensions numba
    compiles for (numba on Linux drops AVX where /proc/cpuinfo is hidden, a container's
    doing: the same machine then grades SSE code)."""
    import llvmlite.binding as llvm
    import numba
    import numpy

    model = platform.processor()
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": model or platform.machine(), "llvm_cpu": llvm.get_host_cpu_name(),
            "machine": platform.machine(), "cores": student.cpu_count(),
            "caches": student.cache_sizes(), "simd": student.simd_extensions(),
            "numba": numba.__version__,
            "numpy": numpy.__version__}


def fingerprint_id(facts: dict) -> str:
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:12]


def measured(nb_path: Path) -> dict:
    """{grade_id: [comparison summaries]} of the timed test cells of an autograded notebook:
    the comparisons that decided (an attempt measured again is set aside, `timing.set_aside`)."""
    found = {}
    for cell in nbformat.read(nb_path, 4).cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        runs = [run for run in cell.get("metadata", {}).get("accelkit", {}).get("measured") or ()
                if not run.get("set_aside")]
        if grade_id and runs:
            found[grade_id] = runs
    return found


def assess(root: Path, examples: list) -> list:
    """One row per threshold of every timed check the reference ran: its measurement, the
    fastest naive example's, the margins and a status ("ok", "thin": under MIN_MARGIN on a
    side, "fails": the reference misses it or a naive kernel reaches it)."""
    def graded(example):
        path = root / "autograded" / example.student / course.ASSIGNMENT / f"{example.notebook}.ipynb"
        return measured(path) if path.exists() else {}

    rows = []
    for ref in (e for e in examples if e.role == "reference"):
        naive = [(e.student, graded(e)) for e in examples
                 if e.role == "naive" and e.notebook == ref.notebook]
        for grade_id, runs in graded(ref).items():
            for index, run in enumerate(runs):
                slow = [] if run.get("guard") else [
                    (who, found[grade_id][index]["speedup"]) for who, found in naive
                    if len(found.get(grade_id, ())) > index]
                rows.extend(_row(ref.notebook, grade_id, index, run, t, slow)
                            for t in run["thresholds"])
    return rows


def _row(notebook: str, grade_id: str, index: int, run: dict, threshold: float, slow: list) -> dict:
    fastest = max(slow, key=lambda s: s[1], default=(None, None))
    above = run["speedup"] / threshold
    below = threshold / fastest[1] if fastest[1] else None
    if above < 1 or (below is not None and below <= 1):
        status = "fails"
    elif above < MIN_MARGIN or (below is not None and below < MIN_MARGIN):
        status = "thin"
    else:
        status = "ok"
    return {"notebook": notebook, "cell": grade_id, "check": index, "threshold": threshold,
            "reference": run["speedup"], "naive": fastest[1], "naive_example": fastest[0],
            "margin_above": round(above, 3), "margin_below": below and round(below, 3),
            "status": status}


def record(root: Path, rows: list, seconds: float) -> dict:
    """Write the calibration of this machine into the course root."""
    facts = fingerprint()
    data = {"fingerprint": facts, "fingerprint_id": fingerprint_id(facts),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "grading_seconds": round(seconds),
            "min_margin": MIN_MARGIN, "rows": rows}
    (Path(root) / FILE).write_text(json.dumps(data, indent=1) + "\n")
    return data


def check(root: Path) -> str | None:
    """None when this machine has a calibration whose thresholds all fit; else why not."""
    path = Path(root) / FILE
    if not path.exists():
        return (f"no calibration for this machine ({path} is missing): the speed thresholds "
                "were set on another machine; run `accelkit calibrate` here first")
    try:
        data = json.loads(path.read_text())
        stored = data["fingerprint_id"]
        rows = data["rows"]
    except (ValueError, KeyError, TypeError) as err:
        return f"{path} is unreadable ({err}); run `accelkit calibrate` again"
    here = fingerprint()
    if stored != fingerprint_id(here):
        changed = sorted(k for k in here if data["fingerprint"].get(k) != here[k])
        return (f"the calibration in {path} was made on another machine (differs in "
                f"{', '.join(changed)}); run `accelkit calibrate` here")
    failing = [r for r in rows if r["status"] == "fails"]
    if failing:
        return ("the calibration of this machine found thresholds that do not fit it: "
                + "; ".join(f"{r['notebook']} {r['cell']} {r['threshold']:g}x (reference "
                            f"{r['reference']:.2f}x, naive {r['naive'] or 0:.2f}x)"
                            for r in failing))
    return None


def calibrate(root: Path, notebooks: list | None = None, keep: Path | None = None) -> tuple:
    """Grade the reference and naive examples in a scratch copy of the course; return
    (rows, seconds, the autograde process). `keep`: the scratch folder to use and keep."""
    root = Path(root)
    scratch = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="accelkit-calibrate-"))
    try:
        for name in COPIED:
            src, dest = root / name, scratch / name
            if src.is_dir():
                shutil.copytree(src, dest, dirs_exist_ok=True)
            else:
                shutil.copy(src, dest)
        examples = [e for e in course.load_examples(scratch / "grader_tests" / "submissions")
                    if e.role and (not notebooks or e.notebook in notebooks)]
        if notebooks:
            for nb in (scratch / "source" / course.ASSIGNMENT).glob("*.ipynb"):
                if nb.stem not in notebooks:
                    nb.unlink()
        proc = course.run_nbgrader(scratch, "generate_assignment", course.ASSIGNMENT, "--force")
        if proc.returncode != 0:
            raise RuntimeError(f"nbgrader generate_assignment failed:\n{proc.stderr[-2000:]}")
        course.place_examples(scratch, examples)
        start = time.perf_counter()
        proc = course.run_nbgrader(scratch, "autograde", course.ASSIGNMENT, "--force",
                                   "--TrustedGrade.calibration=off",  # the course's own examples
                                   *sandbox.for_trusted_code())
        seconds = time.perf_counter() - start
        return assess(scratch, examples), seconds, proc
    finally:
        if not keep:
            shutil.rmtree(scratch, ignore_errors=True)
