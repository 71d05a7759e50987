"""Interleaved, sequential timing of a candidate against a baseline.

Both sides are timed the same way: `run(repeat)` returns the seconds for `repeat`
calls. Each round times the two back to back, in alternating order, and yields one
*paired* ratio r = baseline/candidate: the two share the machine's state at that
moment, so a busy neighbour or a clock change hits both. The reported speedup is the
median of the paired ratios.

The decision rule is a truncated sequential sign test (`decide`). For a threshold t,
count the rounds that reach it (r >= t) and those that do not, in the order they were
taken. The threshold is met as soon as the rounds that reach it lead by `margin`
(5), and missed as soon as those that do not lead by 5. At least `min_rounds` (5)
rounds are taken (but see the exception below), then one more at a time while some
threshold is still open, up to `max_rounds` (41): there an open threshold is decided
by the median of the 41 rounds (met when 21 or more reach it), and the comparison says
it was decided at the limit.
Only the signs of r - t count, so the rule needs no assumption about the noise: how
slow a disturbed round is does not matter, only that it is one round. One exception
bounds the time a hopeless kernel costs: when the first two rounds are both 4x below a
threshold (or both 4x above it) it is decided there. For a kernel right at the threshold
that takes two rounds each 4.6 sigma away at sigma = 0.3 (p < 1e-11), and a kernel 1,000x
slower than naive costs two rounds, not five.

Let p be the chance that one round reaches the threshold (p = 0.5 for a kernel right
at it). The chance of a pass depends on p only; computed exactly (see
grader_tests/test_timing.py, which also simulates it):

    p                 0.1      0.2      0.23     0.3     0.4     0.5
    P(pass)           0.002%   0.10%    0.24%    1.5%    13%     50%
    expected rounds   6.2      8.3      9.2      12.1    18.1    21.7

and symmetrically P(fail) at 1 - p (with several thresholds the rounds go on until the
last one is decided, and each threshold keeps its own verdict). With log-normal noise of sigma = 0.3 per round, a
kernel at 0.8x of the threshold (p = 0.23) passes with probability < 0.25 %, one at
1.25x (p = 0.77) fails with probability < 0.25 %, and one at 1.1x passes 92 % of the
time. A kernel 2x away from a threshold (p = 0.99) is decided in the 5 minimum rounds
95 % of the time, 5.1 rounds on average; with steady timings, exactly 5. Even if one
round in five is disturbed so that the candidate runs 3x slower, a kernel at 1.6x of
the threshold passes 99.65 % of the time. Thresholds are set 2x away from the
reference and from naive kernels, so only deliberately borderline kernels take long.
"""
from __future__ import annotations

import contextlib
import math
import statistics
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

Runner = Callable[[int], float]

MARGIN = 5        # lead of rounds above (below) a threshold that passes (fails) it
FAR = 4.0         # the first FAR_ROUNDS rounds all this far below (above) a threshold: decided
FAR_ROUNDS = 2
MIN_ROUNDS = 5
MAX_ROUNDS = 41   # odd: the median at the limit is one of the rounds
MAX_REPEAT = 1 << 20  # calls per sample at most
RULE = (f"met once {MARGIN} more rounds reach it than not; at {MAX_ROUNDS} rounds the median "
        "decides")  # the rule in a line, for students


@dataclass(frozen=True)
class Verdict:
    """The sign test's verdict on one threshold."""
    passed: Optional[bool]  # None: still open (fewer than max_rounds rounds, no lead of margin)
    rounds: int             # rounds used: where the lead was reached, else all of them
    above: int              # rounds among those that reach the threshold (r >= t) ...
    below: int              # ... and that do not
    at_limit: bool          # decided by the median, not by a clear lead


def decide(ratios: Sequence[float], threshold: float, margin: int = MARGIN,
           max_rounds: int = MAX_ROUNDS, *, final: bool = True) -> Verdict:
    """The verdict on `threshold` from paired ratios, in the order they were taken.

    Decided at once when the first FAR_ROUNDS rounds are all FAR times below (failed) or
    above (passed) the threshold. Else passed when the rounds with ratio >= threshold first
    lead those below by `margin`, failed when those below first lead by `margin`.
    Otherwise, after `max_rounds` rounds (later ones are ignored), the median of the first
    `max_rounds` decides, at the limit.
    With fewer rounds and no lead, the verdict is open (passed None) unless `final`, in
    which case the median of the rounds there are decides, also marked at the limit.
    """
    above = below = 0
    first = ratios[:FAR_ROUNDS]
    if len(first) == FAR_ROUNDS and (all(r < threshold / FAR for r in first)
                                     or all(r >= threshold * FAR for r in first)):
        return Verdict(first[0] >= threshold, FAR_ROUNDS, sum(r >= threshold for r in first),
                       sum(r < threshold for r in first), False)
    for r in ratios[:max_rounds]:
        if r >= threshold:
            above += 1
        else:
            below += 1
        if above - below >= margin or below - above >= margin:
            return Verdict(above > below, above + below, above, below, False)
    n = above + below
    if n >= max_rounds or (final and n):
        return Verdict(statistics.median(ratios[:n]) >= threshold, n, above, below, True)
    return Verdict(None, n, above, below, False)


@dataclass(frozen=True)
class Comparison:
    baseline_s: float     # median seconds per call
    candidate_s: float
    ratios: tuple         # paired per-round speedups, in the order taken
    speedup: float        # median of `ratios`
    thresholds: tuple = ()  # the thresholds the rounds were taken for
    margin: int = MARGIN
    max_rounds: int = MAX_ROUNDS
    guard: bool = False     # a safeguard behind the graded comparison, not the speed graded

    @property
    def rounds(self) -> int:
        return len(self.ratios)

    def verdict(self, threshold: float) -> Verdict:
        """The sign test on the recorded rounds, for any threshold (also one not asked for
        in `compare`: if its rounds stopped short of a clear lead, their median decides)."""
        return decide(self.ratios, threshold, self.margin, self.max_rounds)

    def meets(self, threshold: float) -> bool:
        return bool(self.verdict(threshold).passed)

    def decided_at_limit(self, threshold: float) -> bool:
        """True when `threshold` was too close to call and the median decided it."""
        return self.verdict(threshold).at_limit

    def reaching(self, threshold: float) -> int:
        """How many of the recorded rounds reach `threshold` (ratio >= threshold)."""
        return sum(r >= threshold for r in self.ratios)

    def summary(self) -> dict:
        """The comparison as plain data (kept in the autograded notebook, read by calibration)."""
        return {"speedup": round(self.speedup, 4), "rounds": self.rounds,
                "thresholds": list(self.thresholds),
                "met": [self.meets(t) for t in self.thresholds], "guard": self.guard}

    def table(self, baseline_name: str, candidate_name: str) -> str:
        counts = [f"{self.reaching(t)} of {self.rounds} reach {t:g}x"
                  + (", a close call decided by the median" if self.decided_at_limit(t) else "")
                  for t in self.thresholds]
        return (f"  {baseline_name:<28} {self.baseline_s * 1e3:10.3f} ms\n"
                f"  {candidate_name:<28} {self.candidate_s * 1e3:10.3f} ms\n"
                f"  speedup {self.speedup:8.2f}x   (median of {self.rounds} paired rounds"
                + "".join(f"; {c}" for c in counts) + ")")


_recorders: list = []


@contextlib.contextmanager
def recording():
    """Collects the `Comparison.summary()` of every comparison made inside, in order."""
    found: list = []
    _recorders.append(found)
    try:
        yield found
    finally:
        _recorders.remove(found)


def attempt_marker() -> list:
    """Where every active recording stands now: `set_aside(marker)` then marks what was
    recorded since as an attempt that did not decide (the check measured again)."""
    return [(found, len(found)) for found in _recorders]


def set_aside(marker: list) -> None:
    """Mark the comparisons recorded since `marker` as set aside: a check measured again decides
    on a later attempt, and calibration reads only the comparisons that decided."""
    for found, start in marker:
        for summary in found[start:]:
            summary["set_aside"] = True


def repeats_for(run: Runner, min_sample_s: float) -> int:
    """How many calls make one sample last at least `min_sample_s`: after an untimed warm-up
    call (JIT compilation, first-touch page faults), the count grows until a sample of that
    many calls lasts that long. Measured on whole samples, never extrapolated from one call:
    a request's fixed cost (the round trip to a worker, ~0.3 ms) would pass for the kernel's
    time, give too few calls per sample and pull every ratio towards 1."""
    run(1)
    repeat = 1
    while True:
        seconds = run(repeat)
        if seconds >= min_sample_s or repeat >= MAX_REPEAT:
            return repeat
        grown = math.ceil(repeat * 1.2 * min_sample_s / max(seconds, 1e-9))
        repeat = min(MAX_REPEAT, max(2 * repeat, grown))


def compare(baseline: Runner, candidate: Runner, thresholds=(), *, margin: int = MARGIN,
            min_rounds: int = MIN_ROUNDS, max_rounds: int = MAX_ROUNDS,
            min_sample_s: float = 0.01, guard: bool = False, record: bool = True) -> Comparison:
    """Measure `candidate` against `baseline` in paired rounds, until the sign test (`decide`)
    has a verdict on every threshold or `max_rounds` rounds are taken.

    guard: this comparison only backs up another one (a floor that rules out a trick, not
    the speed that is graded); calibration then checks its reference side only.
    record: False for a trusted measurement of the machine itself, which the student's code
    does not take part in (it is kept out of `recording`)."""
    thresholds = tuple(thresholds)
    min_rounds = min(min_rounds, max_rounds)
    reps_b = repeats_for(baseline, min_sample_s)
    reps_c = repeats_for(candidate, min_sample_s)
    base, cand, paired = [], [], []

    def one_round() -> None:
        pair = [(baseline, reps_b, base), (candidate, reps_c, cand)]
        for run, reps, out in (pair if len(paired) % 2 == 0 else pair[::-1]):
            out.append(run(reps) / reps)
        paired.append(base[-1] / cand[-1])

    def open_tier() -> bool:
        return any(decide(paired, t, margin, max_rounds, final=False).passed is None
                   for t in thresholds)

    while len(paired) < max_rounds and (
            open_tier() or (len(paired) < min_rounds and not thresholds)):
        one_round()
    result = Comparison(statistics.median(base), statistics.median(cand), tuple(paired),
                        statistics.median(paired), thresholds, margin, max_rounds, guard)
    for found in _recorders if record else ():
        found.append(result.summary())
    return result
