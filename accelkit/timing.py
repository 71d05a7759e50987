"""Interleaved, adaptive timing of a candidate against a baseline.

Both sides are timed the same way: `run(repeat)` returns the seconds for
`repeat` calls. Rounds alternate the order (baseline first, then candidate
first) so drift and a busy neighbour hit both. The speedup is the ratio of
medians. When it lands near a grading threshold, more rounds are taken and the
decision is made on all of them with the same fixed rule, so a borderline
kernel gets a considered answer rather than a coin flip.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Callable

Runner = Callable[[int], float]


@dataclass(frozen=True)
class Comparison:
    baseline_s: float   # median seconds per call
    candidate_s: float
    speedup: float      # baseline_s / candidate_s
    rounds: int
    spread: float       # candidate's (max - min) / median over all rounds

    def table(self, baseline_name: str, candidate_name: str) -> str:
        return (f"  {baseline_name:<28} {self.baseline_s * 1e3:10.3f} ms\n"
                f"  {candidate_name:<28} {self.candidate_s * 1e3:10.3f} ms\n"
                f"  speedup {self.speedup:8.2f}x   ({self.rounds} interleaved rounds, "
                f"spread {self.spread:.0%})")


def repeats_for(run: Runner, min_sample_s: float) -> int:
    """How many calls make one sample last at least `min_sample_s` (after a warm-up call)."""
    run(1)  # warm-up: JIT compilation and first-touch page faults are not timed
    once = min(run(1) for _ in range(3))
    return max(1, math.ceil(min_sample_s / max(once, 1e-7)))


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

    def speedup() -> float:
        return statistics.median(base) / statistics.median(cand)

    for i in range(min_rounds):
        one_round(i)
    while len(base) < max_rounds and any(abs(math.log(speedup() / t)) < math.log1p(near)
                                         for t in thresholds):
        for i in range(4):
            one_round(len(base))
    med_c = statistics.median(cand)
    return Comparison(statistics.median(base), med_c, speedup(), len(base),
                      (max(cand) - min(cand)) / med_c)
