"""The checks of 02's per-machine plans and tuning store (accelkit.exercises.dispatch) against
real workers: the grader's store files are written, copied and edited in the student's worker,
and its tuners return values drawn at random, so only reading the file earns the points."""
from __future__ import annotations

import importlib.util
import textwrap

import nbformat

from accelkit import course
from accelkit.grading.session import GradingSession
from conftest import REPO

SETUP = """\
import hashlib, json, os, tempfile
import numpy as np
from accelkit.exercises.dispatch import *
"""
PLAN = 'check_kernel_plan(kernel_plan, ["epyc_zen3", "apple_m2", "riscv_board"], ["float32", "float64"])'
FINGERPRINT = 'check_fingerprint(machine_fingerprint, "graviton3")'
STORE = 'check_tuned_store(tuned_block_size, machine_fingerprint, "epyc_zen3", shape=(8, 9, 10))'


def _solutions() -> dict:
    nb = nbformat.read(REPO / "source" / course.ASSIGNMENT / "02_blocked_matmul.ipynb", 4)
    sources = course.solution_sources(nb)
    return {name: sources[name] for name in ("kernel_plan", "machine_fingerprint",
                                             "tuned_block_size")}


def _example(student: str) -> dict:
    path = REPO / "grader_tests" / "submissions" / "02_blocked_matmul" / f"{student}.py"
    spec = importlib.util.spec_from_file_location(student, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CELLS


def graded(cells: dict) -> list:
    """The error (or "") of each check, run by the trusted grader in one session."""
    blocks = [(name, textwrap.dedent(src)) for name, src in {**_solutions(), **cells}.items()]
    with GradingSession(blocks, SETUP) as session:
        return ["".join(o["evalue"] for o in session.run_cell(cell) if o["output_type"] == "error")
                for cell in (PLAN, FINGERPRINT, STORE)]


def test_the_instructors_functions_pass_in_a_worker():
    assert graded({}) == ["", "", ""]


def test_a_store_kept_in_memory_is_caught_by_the_graders_edited_copy():
    plan, fingerprint, store = graded(_example("wisdom_in_memory"))
    assert plan == fingerprint == ""
    assert "an earlier call" in store and "rather than remember results in memory" in store


def test_a_fingerprint_of_the_whole_repr_is_not_stable():
    plan, fingerprint, store = graded(_example("fingerprint_repr"))
    assert plan == store == ""
    assert "changed with the facts in another order" in fingerprint


def test_an_honest_variant_in_another_style_passes():
    assert graded(_example("dispatch_tables")) == ["", "", ""]
