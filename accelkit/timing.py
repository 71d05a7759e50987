"""Interleaved, adaptive timing of a candidate against a baseline.

Both sides are timed the same way: `run(repeat)` returns the seconds for `repeat`
calls. Each round times the two back to back, in alternating order, and yields one
*paired* ratio baseline/candidate: the two share the machine's state at that moment,
so a busy neighbour or a clock change hits both. The reported speedup is the median
of the paired ratios.

The decision rule is fixed: a kernel meets a threshold when at least a quarter of
its paired rounds reach it (the upper quartile of the ratios). Far from a threshold
this is the same verdict as the median; within 25% of one, up to 35 rounds are taken
first, and a kernel just above the line is not failed by a few disturbed rounds.
Thresholds are set 2x away from the reference and from naive kernels, so only
deliberately borderline kernels ever reach the extra rounds.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Callable

Runner = Callable[[int], float]


@dataclass(frozen=True)
class Comparison:
    baseline_s: float     # median seconds per call
    candidate_s: float
    ratios: tuple         # paired per-round speedups
    speedup: float        # median of `ratios`
    upper_quartile: float

    @property
    def rounds(self) -> int:
        return len(self.ratios)

    def meets(self, threshold: float) -> bool:
        return self.upper_quartile >= threshold

    def table(self, baseline_name: str, candidate_name: str) -> str:
        return (f"  {baseline_name:<28} {self.baseline_s * 1e3:10.3f} ms\n"
                f"  {candidate_name:<28} {self.candidate_s * 1e3:10.3f} ms\n"
                f"  speedup {self.speedup:8.2f}x   (median of {self.rounds} interleaved rounds; "
                f"upper quartile {self.upper_quartile:.2f}x)")


def repeats_for(run: Runner, min_sample_s: float) -> int:
    """How many calls make one sample last at least `min_sample_s` (after a warm-up call)."""
    run(1)  # warm-up: JIT compilation and first-touch page faults are not timed
    once = min(run(1) for _ in range(3))
    return max(1, math.ceil(min_sample_s / max(once, 1e-7)))


def _upper_quartile(values: list) -> float:
    return statistics.quantiles(values, n=4, method="inclusive")[2]


def compare(baseline: Runner, candidate: Runner, thresholds=(), *, min_rounds: int = 7,
            max_rounds: int = 35, near: float = 0.25, min_sample_s: float = 0.01) -> Comparison:
    """Measure `candidate` against `baseline`; extra rounds when the ratio is near a threshold."""
    reps_b = repeats_for(baseline, min_sample_s)
    reps_c = repeats_for(candidate, min_sample_s)
    base, cand = [], []

    def one_round(index: int) -> None:
        pair = [(baseline, reps_b, base), (candidate, reps_c, cand)]
        for run, reps, out in (pair if index % 2 == 0 else pair[::-1]):
            out.append(run(reps) / reps)

    def ratios() -> list:
        return [b / c for b, c in zip(base, cand)]

    def near_a_threshold() -> bool:
        values = ratios()
        return any(abs(math.log(v / t)) < math.log1p(near) for t in thresholds
                   for v in (statistics.median(values), _upper_quartile(values)))

    for i in range(min_rounds):
        one_round(i)
    while len(base) < max_rounds and near_a_threshold():
        for _ in range(4):
            one_round(len(base))
    paired = ratios()
    return Comparison(statistics.median(base), statistics.median(cand), tuple(paired),
                      statistics.median(paired), _upper_quartile(paired))
