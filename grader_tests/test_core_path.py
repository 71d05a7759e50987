"""The core path: 6–8 hours of the module an instructor can assign alone. Each instructor
notebook names its core functions (metadata accelkit.core); its header states the core points
and time, its other sections say *optional depth*, and the README's table agrees. That no core
point needs an optional part is shown by grading: the `core_only` example of each notebook
fills in the core solution cells only and must earn every core point
(test_pipeline.test_example_scores_exactly_as_expected)."""
from __future__ import annotations

import re

import nbformat
import pytest

from accelkit import course
from conftest import REPO

NOTEBOOKS = sorted((REPO / "source" / course.ASSIGNMENT).glob("*.ipynb"))


def _graded(nb) -> list:
    return [(c.metadata.nbgrader["grade_id"], c.metadata.nbgrader["points"]) for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade")]


def _core_points(nb) -> tuple:
    names, core = list(course.solution_sources(nb)), course.core_functions(nb)
    graded = _graded(nb)
    return (sum(p for g, p in graded if course.function_of(g, names) in core),
            sum(p for _, p in graded))


def test_the_core_path_takes_six_to_eight_hours():
    minutes = {path.stem: core["minutes"] for path, core in
               zip(NOTEBOOKS, course.core_path(REPO).values())}
    assert set(minutes) == {p.stem for p in NOTEBOOKS}
    assert 6 * 60 <= sum(minutes.values()) <= 8 * 60, minutes


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_states_its_core_path(path):
    nb = nbformat.read(path, 4)
    core = course.core_functions(nb)
    answers = set(course.solution_sources(nb)) | {g for g, _ in _graded(nb)}  # + written ones
    assert core and set(core) <= answers
    header = nb.cells[0].source
    points, total = _core_points(nb)
    stated = re.search(r"\*\*Core path:\*\* .*? – (?:(\d+) of the (\d+) points|every point)",
                       header)
    assert stated, "the first cell states the core path"
    if points < total:
        assert stated.groups() == (str(points), str(total))
    else:
        assert stated.group(1) is None
    assert f"· {total} points" in header


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_sections_with_only_optional_points_say_so(path):
    nb = nbformat.read(path, 4)
    names, core = list(course.solution_sources(nb)), course.core_functions(nb)
    sections = []  # [heading, grade ids under it]
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            sections += [[line, []] for line in cell.source.splitlines()
                         if re.match(r"## \d+ · ", line)]
        if sections and cell.metadata.get("nbgrader", {}).get("grade"):
            sections[-1][1].append(cell.metadata.nbgrader["grade_id"])
    for heading, grade_ids in sections:
        if grade_ids:
            on_path = any(course.function_of(g, names) in core for g in grade_ids)
            assert heading.endswith("*optional depth*") != on_path, heading


def test_release_keeps_the_marks_and_the_readme_lists_the_path():
    readme = (REPO / "README.md").read_text()
    for path in NOTEBOOKS:
        release = nbformat.read(REPO / "release" / course.ASSIGNMENT / path.name, 4)
        assert "**Core path:**" in release.cells[0].source
        nb = nbformat.read(path, 4)
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{path.stem}`"))
        points, total = _core_points(nb)
        assert f"{points}/{total}" in row, (row, points, total)
        if points < total:
            assert all(f"`{name}`" in row for name in course.core_functions(nb))


WITH_DEPTH = [p for p in NOTEBOOKS if _core_points(nbformat.read(p, 4))[0]
              < _core_points(nbformat.read(p, 4))[1]]


@pytest.mark.parametrize("path", WITH_DEPTH, ids=lambda p: p.stem)
def test_every_notebook_with_optional_depth_has_a_core_only_example(path):
    examples = {(e.notebook, e.student): e for e in course.load_examples(REPO / "grader_tests"
                                                                         / "submissions")}
    example = examples[(path.stem, "core_only")]
    assert example.core_only
    points, _ = _core_points(nbformat.read(path, 4))
    assert sum(example.expected.values()) == points
