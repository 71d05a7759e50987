"""The speed-check decision rule (accelkit.grading.timing): its error rates, simulated and computed
exactly, and `compare` on fake runners. Pure Python and numpy: nothing here is timed."""
from __future__ import annotations

import math

import numpy as np
import pytest

from accelkit.grading import timing

SIGMA = 0.3      # per-round log-noise of a paired ratio
RUNS = 20_000    # simulated comparisons per case
T = 4.0          # the threshold of the simulations (any value would do)


def Phi(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2))


def exact(p: float, margin: int = timing.MARGIN, min_rounds: int = timing.MIN_ROUNDS,
          max_rounds: int = timing.MAX_ROUNDS):
    """P(pass), P(fail), expected rounds and P(decided at the limit) of the sign test when
    each round reaches the threshold with probability p: dynamic programming over the walk
    of (rounds reaching it) - (rounds not reaching it), absorbed at +-margin; at max_rounds
    (odd) the median passes iff the walk is above 0."""
    walk = {0: 1.0}
    passed = failed = rounds = 0.0
    for n in range(1, max_rounds + 1):
        step = {}
        for s, w in walk.items():
            step[s + 1] = step.get(s + 1, 0.0) + w * p
            step[s - 1] = step.get(s - 1, 0.0) + w * (1 - p)
        walk = {}
        for s, w in step.items():
            if s >= margin:
                passed += w
                rounds += w * max(n, min_rounds)
            elif s <= -margin:
                failed += w
                rounds += w * max(n, min_rounds)
            else:
                walk[s] = w
    at_limit = sum(walk.values())
    passed += sum(w for s, w in walk.items() if s > 0)
    failed += sum(w for s, w in walk.items() if s < 0)
    return passed, failed, rounds + at_limit * max_rounds, at_limit


def p_reach(factor: float, sigma: float = SIGMA) -> float:
    """Chance that one round of a kernel at `factor` x the threshold reaches it."""
    return Phi(math.log(factor) / sigma)


def simulate(ratios: np.ndarray, threshold: float = T):
    """Pass rate, fail rate, mean rounds and limit rate of `decide` over rows of ratios."""
    verdicts = [timing.decide(row, threshold) for row in ratios.tolist()]
    passed = sum(v.passed for v in verdicts) / len(verdicts)
    rounds = sum(max(v.rounds, timing.MIN_ROUNDS) for v in verdicts) / len(verdicts)
    at_limit = sum(v.at_limit for v in verdicts) / len(verdicts)
    return passed, 1 - passed, rounds, at_limit


def lognormal(factor: float, seed: int, runs: int = RUNS) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return factor * T * np.exp(SIGMA * rng.standard_normal((runs, timing.MAX_ROUNDS)))


def close(simulated: float, computed: float, runs: int = RUNS) -> bool:
    """Within 5 standard errors of a binomial rate (plus a little for rates near 0)."""
    return abs(simulated - computed) <= 5 * math.sqrt(computed * (1 - computed) / runs) + 2e-4


# --- error rates ------------------------------------------------------------------------------

def test_a_kernel_at_0_8x_passes_less_than_1_percent():
    p = p_reach(0.8)
    assert p == pytest.approx(0.2285, abs=1e-4)
    passed, failed, rounds, _ = exact(p)
    sim_passed, _, sim_rounds, _ = simulate(lognormal(0.8, seed=1))
    assert passed < 0.0025 and sim_passed < 0.01          # the docstring says < 0.25 %
    assert close(sim_passed, passed)
    assert sim_rounds == pytest.approx(rounds, rel=0.03)   # about 9.2 rounds


def test_a_kernel_at_1_25x_fails_less_than_1_percent():
    p = p_reach(1.25)
    passed, failed, rounds, _ = exact(p)
    _, sim_failed, sim_rounds, _ = simulate(lognormal(1.25, seed=2))
    assert failed < 0.0025 and sim_failed < 0.01
    assert close(sim_failed, failed)
    assert sim_rounds == pytest.approx(rounds, rel=0.03)


def test_the_rule_is_symmetric_and_fair_at_the_threshold():
    for p in (0.1, 0.23, 0.3, 0.4):
        assert exact(p)[0] == pytest.approx(exact(1 - p)[1], abs=1e-12)
    passed, failed, rounds, at_limit = exact(0.5)
    assert passed == pytest.approx(0.5) and failed == pytest.approx(0.5)
    sim_passed, _, sim_rounds, sim_limit = simulate(lognormal(1.0, seed=3, runs=4000))
    assert close(sim_passed, 0.5, 4000) and close(sim_limit, at_limit, 4000)
    assert sim_rounds == pytest.approx(rounds, rel=0.03)   # about 21.7 rounds


def test_the_numbers_in_the_module_docstring():
    table = {0.1: (0.00002, 6.2), 0.2: (0.0010, 8.3), 0.23: (0.0024, 9.2), 0.3: (0.015, 12.1),
             0.4: (0.13, 18.1), 0.5: (0.50, 21.7)}
    for p, (pass_rate, rounds) in table.items():
        passed, _, expected_rounds, _ = exact(p)
        assert passed == pytest.approx(pass_rate, rel=0.05, abs=1e-5)
        assert expected_rounds == pytest.approx(rounds, abs=0.05)
    assert exact(p_reach(0.8))[0] < 0.0025 and exact(p_reach(1.25))[1] < 0.0025
    assert exact(p_reach(1.1))[0] == pytest.approx(0.92, abs=0.005)


def test_a_kernel_2x_from_a_threshold_takes_the_minimum_rounds():
    for factor in (2.0, 0.5):
        p = p_reach(factor)
        passed, failed, rounds, _ = exact(p)
        assert rounds == pytest.approx(5.1, abs=0.05)
        assert (1 - p if factor < 1 else p) ** 5 > 0.94    # decided in 5 rounds 95 % of the time
        assert min(passed, failed) < 1e-9
        sim_passed, _, sim_rounds, _ = simulate(lognormal(factor, seed=4, runs=4000))
        assert sim_passed == (factor > 1) and sim_rounds == pytest.approx(rounds, rel=0.02)


def test_a_busy_neighbour_in_a_fifth_of_the_rounds_does_not_fail_a_fast_kernel():
    """Heavy tails: in 20 % of the rounds the candidate runs 3x slower (its ratio drops 3x).
    The sign test counts such a round once, however slow it was."""
    rng = np.random.default_rng(5)
    ratios = lognormal(1.6, seed=6)
    ratios[rng.random(ratios.shape) < 0.2] /= 3
    p = 0.8 * p_reach(1.6) + 0.2 * p_reach(1.6 / 3)
    passed, _, _, _ = exact(p)
    sim_passed, _, _, _ = simulate(ratios)
    assert passed > 0.996 and sim_passed >= 0.99
    assert close(sim_passed, passed)


# --- decide -----------------------------------------------------------------------------------

def test_decide_is_the_first_lead_of_margin():
    assert timing.decide([5, 5, 5, 5, 5], 4) == timing.Verdict(True, 5, 5, 0, False)
    assert timing.decide([3, 3, 3, 3, 3, 5, 5], 4) == timing.Verdict(False, 5, 0, 5, False)
    # 6 reaching, 1 not: a lead of 5 after 7 rounds; what follows does not matter
    assert timing.decide([5, 3, 5, 5, 5, 5, 5] + [1] * 30, 4).passed is True
    assert timing.decide([4.0] * 5, 4.0).passed is True          # a tie reaches the threshold
    # open without final, decided by the median of what there is with it
    assert timing.decide([5, 3, 5], 4, final=False) == timing.Verdict(None, 3, 2, 1, False)
    assert timing.decide([5, 3, 5], 4) == timing.Verdict(True, 3, 2, 1, True)
    # at max_rounds the median of the first max_rounds decides; later rounds are ignored
    alternating = [5, 3] * 20 + [3] + [5] * 10
    v = timing.decide(alternating, 4)
    assert v == timing.Verdict(False, 41, 20, 21, True)
    assert timing.decide(alternating, 4, margin=3, max_rounds=7).rounds == 7


def test_verdicts_are_monotone_in_the_threshold():
    """A kernel that meets a higher tier meets every lower one (checks pick the highest)."""
    rng = np.random.default_rng(7)
    for row in (2 * np.exp(0.5 * rng.standard_normal((500, 41)))).tolist():
        met = [timing.decide(row, t).passed for t in (1.0, 1.5, 1.8, 2.0, 2.2, 2.5, 3.0)]
        assert met == sorted(met, reverse=True)


# --- compare on fake runners ------------------------------------------------------------------

WARMUPS = 2  # calls of each runner in repeats_for before the rounds (min_sample_s=0)


def fixed(seconds: float):
    return lambda repeat: seconds * repeat


def scripted(per_round: list):
    """A runner whose k-th round takes per_round[k] seconds per call (cycling; the warm-up
    calls take per_round[0])."""
    calls = [0]

    def run(repeat: int) -> float:
        k = max(0, calls[0] - WARMUPS)
        calls[0] += 1
        return per_round[k % len(per_round)] * repeat
    return run


def with_ratios(ratios: list, base: float = 0.010):
    """Baseline and candidate runners whose paired rounds have these ratios (cycling)."""
    return fixed(base), scripted([base / r for r in ratios])


def test_far_from_a_threshold_exactly_the_minimum_rounds():
    fast = timing.compare(fixed(0.010), fixed(0.001), thresholds=[4.0])
    slow = timing.compare(fixed(0.010), fixed(0.0026), thresholds=[4.0])
    assert fast.rounds == slow.rounds == timing.MIN_ROUNDS == 5
    assert fast.speedup == pytest.approx(10.0) and fast.meets(4.0)
    assert slow.speedup == pytest.approx(10 / 2.6) and not slow.meets(4.0)
    assert not fast.decided_at_limit(4.0) and not slow.decided_at_limit(4.0)
    assert fast.baseline_s == pytest.approx(0.010) and fast.candidate_s == pytest.approx(0.001)
    assert fast.ratios == pytest.approx((10.0,) * 5) and isinstance(fast.ratios, tuple)
    assert "speedup    10.00x" in fast.table("a", "b")
    assert "(median of 5 paired rounds; 5 of 5 reach 4x)" in fast.table("a", "b")
    assert "0 of 5 reach 4x)" in slow.table("a", "b")


def test_a_kernel_alternating_around_the_threshold_runs_to_the_limit():
    base, cand = with_ratios([10 / 2.4, 10 / 2.6])   # 4.17x, 3.85x, 4.17x, ...
    result = timing.compare(base, cand, [4.0], min_sample_s=0)
    assert result.rounds == timing.MAX_ROUNDS == 41
    assert result.reaching(4.0) == 21 and result.meets(4.0) and result.decided_at_limit(4.0)
    assert result.speedup == pytest.approx(10 / 2.4)
    assert "21 of 41 reach 4x, a close call decided by the median" in result.table("a", "b")


def test_rounds_alternate_the_order_of_the_two_runners():
    order = []
    base = lambda repeat: order.append("b") or 0.010 * repeat          # noqa: E731
    cand = lambda repeat: order.append("c") or 0.001 * repeat          # noqa: E731
    timing.compare(base, cand, [4.0], min_sample_s=0)
    assert order[2 * WARMUPS:] == list("bc" "cb" "bc" "cb" "bc")


def test_rounds_go_on_while_any_tier_is_open_and_each_tier_gets_its_verdict():
    # ratios 5, 3, 5, 5, 5, 5, 5, ...: 2x and 8x are decided in 5 rounds, 4x after 7
    base, cand = with_ratios([5, 3] + [5] * 50)
    result = timing.compare(base, cand, [8.0, 4.0, 2.0], min_sample_s=0)
    assert result.rounds == 7
    assert [result.meets(t) for t in (8.0, 4.0, 2.0)] == [False, True, True]
    assert [result.verdict(t).rounds for t in (8.0, 4.0, 2.0)] == [5, 7, 5]
    assert not any(result.decided_at_limit(t) for t in (8.0, 4.0, 2.0))
    # one tier too close to call keeps the others' verdicts and runs to the limit
    base, cand = with_ratios([5, 3])
    result = timing.compare(base, cand, [8.0, 4.0, 2.0], min_sample_s=0)
    assert result.rounds == 41
    assert [result.meets(t) for t in (8.0, 4.0, 2.0)] == [False, True, True]
    assert [result.decided_at_limit(t) for t in (8.0, 4.0, 2.0)] == [False, True, False]
    table = result.table("a", "b")
    assert "0 of 41 reach 8x; 21 of 41 reach 4x, a close call" in table
    assert "41 of 41 reach 2x)" in table


def test_meets_a_threshold_that_compare_was_not_given():
    far = timing.compare(fixed(0.010), fixed(0.001), thresholds=[4.0])
    assert far.meets(2.0) and far.meets(9.5) and not far.meets(12.0)
    assert not far.decided_at_limit(12.0)
    # the rounds stopped before 4x had a clear lead: the median of the rounds taken decides
    base, cand = with_ratios([5, 3])
    result = timing.compare(base, cand, [2.0], min_sample_s=0)
    assert result.rounds == 5 and result.meets(2.0)
    assert result.meets(4.0) and result.decided_at_limit(4.0)   # 5, 3, 5, 3, 5: median 5
    assert not result.meets(6.0) and not result.decided_at_limit(6.0)
    # with no thresholds at all, only the minimum rounds are taken
    assert timing.compare(fixed(0.010), fixed(0.001)).rounds == 5


def test_compare_on_noisy_runners_agrees_with_decide():
    """`compare` stops when `decide` has every verdict, and its verdicts are decide's."""
    rng = np.random.default_rng(8)
    for factor in rng.uniform(0.6, 1.6, 200):
        noise = iter(np.exp(SIGMA * rng.standard_normal(200)).tolist())
        base = fixed(0.010)
        cand = lambda repeat, f=factor: 0.010 / (f * T) * next(noise) * repeat  # noqa: E731
        result = timing.compare(base, cand, [T, T / 1.5], min_sample_s=0)
        verdicts = [timing.decide(result.ratios, t) for t in (T, T / 1.5)]
        assert result.rounds == max(5, *(v.rounds for v in verdicts))
        assert all(v.passed is not None for v in verdicts)
        assert [result.meets(t) for t in (T, T / 1.5)] == [v.passed for v in verdicts]


def test_repeats_cover_the_sample_time_despite_a_fixed_cost_per_request():
    """A worker's round trip (0.3 ms here) must not pass for the kernel's time (10 us)."""
    calls = []

    def run(repeat: int) -> float:
        calls.append(repeat)
        return 3e-4 + 1e-5 * repeat
    repeat = timing.repeats_for(run, 0.01)
    assert run(repeat) >= 0.01 and repeat >= 970
    assert len(calls) <= 8    # a few growing samples, not one call at a time
    assert timing.repeats_for(fixed(0.5), 0.01) == 1   # one call already lasts long enough


def test_a_hopeless_or_overwhelming_kernel_is_decided_in_two_rounds():
    """Two rounds both 4x below (or above) a threshold decide it: a kernel 1,000x slower than
    naive costs two rounds, not five. One round that close to the threshold keeps the rule."""
    slow = timing.compare(fixed(0.010), fixed(0.020), thresholds=[4.0])        # 0.5x
    assert slow.rounds == 2 and not slow.meets(4.0) and not slow.decided_at_limit(4.0)
    fast = timing.compare(fixed(0.010), fixed(0.0001), thresholds=[4.0])      # 100x
    assert fast.rounds == 2 and fast.meets(4.0)
    tiers = timing.compare(fixed(0.010), fixed(0.0011), thresholds=[40.0, 2.0])  # 9.1x
    assert tiers.rounds == 2 and not tiers.meets(40.0) and tiers.meets(2.0)
    assert timing.decide([0.9, 0.5, 0.5, 0.5, 0.5], 4.0).rounds == 2       # both < 1
    assert timing.decide([1.1, 0.5, 0.5, 0.5, 0.5], 4.0).rounds == 5       # 1.1 is not
    assert timing.compare(fixed(0.010), fixed(0.020)).rounds == 5           # no threshold


def test_an_attempt_measured_again_is_set_aside_and_calibration_reads_the_one_that_decided(tmp_path):
    """05's parallel checks measure a kernel again after a miss the machine may explain; the
    attempt that did not decide stays in the notebook's record but is set aside, so that
    `accelkit calibrate` judges the thresholds on the measurement that gave the grade."""
    import nbformat

    from accelkit.grading import calibration

    with timing.recording() as found:
        marker = timing.attempt_marker()
        timing.compare(fixed(0.010), fixed(0.010 / (0.9 * T)), [T], min_sample_s=0)  # a miss
        timing.set_aside(marker)
        timing.compare(fixed(0.010), fixed(0.010 / (2 * T)), [T], min_sample_s=0)    # decides
    assert [bool(s.get("set_aside")) for s in found] == [True, False]
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("check_parallel_speedup(...)")
    cell.metadata = {"nbgrader": {"grade_id": "test_x_speed"}, "accelkit": {"measured": found}}
    nb.cells.append(cell)
    nbformat.write(nb, tmp_path / "graded.ipynb")
    decided = calibration.measured(tmp_path / "graded.ipynb")["test_x_speed"]
    assert [run["speedup"] for run in decided] == [pytest.approx(2 * T)]
