"""The Monte Carlo engine against closed forms, and its random-number discipline."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from risk_helpers import scenario

from seclo.risk.distributions import Frequency, Lognormal
from seclo.risk.scenario import Correlation, Variant
from seclo.risk.simulate import CHUNK, simulate_portfolio, simulate_scenario
from seclo.risk.summary import analytic_check, summarise


@settings(max_examples=25, deadline=None)
@given(
    rate=st.floats(min_value=0.05, max_value=20),
    meanlog=st.floats(min_value=0, max_value=15),
    sdlog=st.floats(min_value=0.1, max_value=1.5),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_mean_converges_to_the_analytic_mean(rate: float, meanlog: float, sdlog: float, seed: int) -> None:
    """The simulated mean lies within 5 standard errors of rate * exp(mu + sigma^2 / 2)."""
    s = scenario(rate=rate, meanlog=meanlog, sdlog=sdlog)
    result = simulate_scenario(s, 20_000, seed)
    check = analytic_check(s.baseline.frequency, s.baseline.severity, result.baseline, result.events[0])
    assert check.mean == pytest.approx(rate * math.exp(meanlog + sdlog**2 / 2))
    assert check.mean_z is not None
    assert abs(check.mean_z) < 5


@settings(max_examples=25, deadline=None)
@given(rate=st.floats(min_value=0.01, max_value=4), seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_p_no_loss_matches_exp_minus_rate(rate: float, seed: int) -> None:
    """The share of years without loss is exp(-rate) within 5 binomial standard errors."""
    runs = 20_000
    result = simulate_scenario(scenario(rate=rate), runs, seed)
    expected = math.exp(-rate)
    tolerance = 5 * math.sqrt(expected * (1 - expected) / runs) + 1e-9
    assert abs(summarise(result.baseline).p_no_loss - expected) <= tolerance


def test_same_seed_same_result_and_chunks_do_not_matter() -> None:
    """Same seed: identical losses; the first CHUNK years do not depend on how many follow."""
    s = scenario(rate=3)
    first = simulate_scenario(s, CHUNK + 1000, 9).baseline
    again = simulate_scenario(s, CHUNK + 1000, 9).baseline
    shorter = simulate_scenario(s, CHUNK, 9).baseline
    other = simulate_scenario(s, CHUNK, 10).baseline
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first[:CHUNK], shorter)
    assert not np.array_equal(shorter, other)


def test_streams_are_keyed_by_name_so_adding_a_scenario_changes_no_other() -> None:
    """A scenario's losses are the same whether it is simulated alone or after another one."""
    alone = next(iter(simulate_portfolio([scenario("b")], 5000, 4))).baseline
    together = list(simulate_portfolio([scenario("a"), scenario("b")], 5000, 4))[1].baseline
    np.testing.assert_array_equal(alone, together)


def test_scenarios_are_uncorrelated_unless_asked() -> None:
    """Independent scenarios' yearly counts are uncorrelated; a correlation group correlates them."""
    runs = 100_000
    free = list(simulate_portfolio([scenario("a", rate=2), scenario("b", rate=2)], runs, 1))
    assert abs(np.corrcoef(free[0].events[0], free[1].events[0])[0, 1]) < 0.02
    group = Correlation("cloud", 0.6)
    tied = list(
        simulate_portfolio(
            [scenario("a", rate=2, correlation=group), scenario("b", rate=2, correlation=group)], runs, 1
        )
    )
    rho = np.corrcoef(tied[0].events[0], tied[1].events[0])[0, 1]
    assert 0.4 < rho < 0.65
    # The copula keeps each scenario's own Poisson counts.
    assert tied[0].events[0].mean() == pytest.approx(2, rel=0.02)
    assert tied[0].events[0].var() == pytest.approx(2, rel=0.05)


def test_treatments_use_common_random_numbers() -> None:
    """A treatment that halves the rate never loses more than the baseline in any year, and halves the mean."""
    half = Variant("half", Frequency(1.0), Lognormal(10, 1))
    smaller = Variant("smaller", Frequency(2.0), Lognormal(9, 1))
    s = scenario(rate=2, meanlog=10, sdlog=1, treatments=(half, smaller))
    result = simulate_scenario(s, 200_000, 5)
    before, after_half, after_smaller = result.losses
    assert np.all(after_half <= before)
    assert after_half.mean() / before.mean() == pytest.approx(0.5, rel=0.02)
    # Same events, each loss scaled by e^-1: exactly proportional year by year.
    np.testing.assert_allclose(after_smaller, before * math.exp(-1), rtol=1e-5)
    # Thinning keeps a Poisson process: the treated counts have mean and variance 1.
    assert result.events[1].mean() == pytest.approx(1, rel=0.02)
    assert result.events[1].var() == pytest.approx(1, rel=0.03)


def test_zero_rate_never_loses() -> None:
    """A scenario whose rate is 0 has no loss in any year."""
    result = simulate_scenario(scenario(rate=0.0), 1000, 1)
    assert not result.baseline.any()


def test_heavy_tail_warning_for_iris() -> None:
    """IRIS's sdlog of 3.07 at 100,000 runs: the mean's relative error is near 95% and a warning says so."""
    s = scenario(rate=0.138, meanlog=12.55949, sdlog=3.068723)
    result = simulate_scenario(s, 100_000, 1)
    check = analytic_check(s.baseline.frequency, s.baseline.severity, result.baseline, result.events[0])
    assert check.mean_relative_error == pytest.approx(0.95, rel=0.05)
    assert check.warning is not None
    assert "heavy tail" in check.warning
    assert summarise(result.baseline).p_no_loss == pytest.approx(math.exp(-0.138), abs=0.005)
