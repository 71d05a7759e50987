"""Input recipes: small, picklable descriptions of test inputs.

A check never ships big arrays between processes. It sends a recipe, and the
process that runs the kernel and the process that checks the result each build
the same arrays from it (same seed, same layout), so non-contiguous views stay
views where the kernel runs.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

LAYOUTS = ("C", "F", "T", "strided")


@dataclass(frozen=True)
class Matrix:
    """A (rows, cols) array of `dtype` with values in [-1, 1), laid out as `layout`.

    Layouts: "C" contiguous, "F" Fortran order, "T" a transposed view,
    "strided" a view taking every 2nd row and 3rd column of a larger array.
    """

    rows: int
    cols: int
    dtype: str = "float32"
    layout: str = "C"
    seed: int = 0

    def build(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        shape = (self.rows, self.cols)
        if self.layout == "C":
            return rng.uniform(-1, 1, shape).astype(self.dtype)
        if self.layout == "F":
            return np.asfortranarray(rng.uniform(-1, 1, shape).astype(self.dtype))
        if self.layout == "T":
            return rng.uniform(-1, 1, shape[::-1]).astype(self.dtype).T
        if self.layout == "strided":
            base = rng.uniform(-1, 1, (2 * self.rows, 3 * self.cols)).astype(self.dtype)
            return base[::2, ::3]
        raise ValueError(f"unknown layout {self.layout!r}, expected one of {LAYOUTS}")

    def describe(self) -> str:
        kind = {"C": "C-contiguous", "F": "Fortran-ordered", "T": "transposed view",
                "strided": "strided view"}[self.layout]
        return f"{self.dtype} {self.rows}x{self.cols} ({kind})"


@dataclass(frozen=True)
class Tensor:
    """An array of any shape with values in [-1, 1), C-contiguous."""

    shape: tuple
    dtype: str = "float32"
    seed: int = 0

    def build(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        return rng.uniform(-1, 1, self.shape).astype(self.dtype)

    def describe(self) -> str:
        return f"{self.dtype} {'x'.join(map(str, self.shape))}"


def build_all(specs) -> list:
    """Build every recipe in `specs`; plain values pass through unchanged."""
    return [s.build() if hasattr(s, "build") else s for s in specs]


def describe(spec) -> str:
    return spec.describe() if hasattr(spec, "describe") else repr(spec)


def reseeded(spec, seed: int):
    """The same recipe with other contents: every `seed` field, of nested recipes too, set
    to `seed`. Plain values and recipes without a seed come back unchanged."""
    if not dataclasses.is_dataclass(spec) or isinstance(spec, type):
        return spec
    changes = {}
    for field in dataclasses.fields(spec):
        value = getattr(spec, field.name)
        if field.name == "seed":
            changes["seed"] = seed
        elif hasattr(value, "build"):
            changes[field.name] = reseeded(value, seed)
    return dataclasses.replace(spec, **changes) if changes else spec


def shrunk(spec, rows: int = 16):
    """The same recipe with at most `rows` rows (nested recipes too): the same types and
    layout, so a kernel compiled on it is compiled for the full-size recipe as well."""
    if not dataclasses.is_dataclass(spec) or isinstance(spec, type):
        return spec
    changes = {}
    for field in dataclasses.fields(spec):
        value = getattr(spec, field.name)
        if field.name == "rows":
            changes["rows"] = min(value, rows)
        elif hasattr(value, "build"):
            changes[field.name] = shrunk(value, rows)
    return dataclasses.replace(spec, **changes) if changes else spec


def rowwise(*inputs: int):
    """Marks a verifier whose result's row i depends only on row i of the inputs at positions
    `inputs` (the others are used whole): a big timed result may then be verified on rows the
    grader draws at random (`targets.verify_timed`)."""
    def mark(verify):
        verify.row_inputs = inputs
        return verify
    return mark


@dataclass(frozen=True, eq=False)
class Picked:
    """Some rows of an array a recipe built, standing in for that recipe in a verifier."""

    array: np.ndarray
    text: str

    def build(self) -> np.ndarray:
        return self.array

    def describe(self) -> str:
        return self.text
