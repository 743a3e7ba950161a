"""Lognormal fits from quantiles and the frequency models' closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from seclo.risk.distributions import (
    Frequency,
    Lognormal,
    lognormal_from_interval,
    lognormal_from_median,
    rate_from_probability,
)

money = st.floats(min_value=1.0, max_value=1e9)
spread = st.floats(min_value=1.01, max_value=1e4)


@given(low=money, ratio=spread)
def test_interval_fit_reproduces_p05_and_p95(low: float, ratio: float) -> None:
    """A lognormal fitted to (p05, p95) has exactly those quantiles."""
    high = low * ratio
    fitted = Lognormal(*lognormal_from_interval(low, high))
    assert fitted.quantile(0.05) == pytest.approx(low, rel=1e-9)
    assert fitted.quantile(0.95) == pytest.approx(high, rel=1e-9)


@given(median=money, ratio=spread)
def test_median_fit_reproduces_p50_and_p95(median: float, ratio: float) -> None:
    """A lognormal fitted to (p50, p95) has exactly that median and 95th percentile."""
    fitted = Lognormal(*lognormal_from_median(median, median * ratio))
    assert fitted.median == pytest.approx(median, rel=1e-9)
    assert fitted.quantile(0.95) == pytest.approx(median * ratio, rel=1e-9)


@given(p=st.floats(min_value=1e-6, max_value=0.999))
def test_annual_probability_converts_exactly(p: float) -> None:
    """rate = -ln(1 - p), so P(at least one event) = 1 - exp(-rate) gives p back."""
    rate = rate_from_probability(p)
    assert 1 - math.exp(-rate) == pytest.approx(p, rel=1e-9)


def test_iris_median_and_mean() -> None:
    """IRIS 2022's lognormal: a median near $285k and a mean near $31.6M (the heavy tail)."""
    iris = Lognormal(12.55949, 3.068723)
    assert iris.median == pytest.approx(284_785, rel=1e-4)
    assert iris.mean == pytest.approx(math.exp(12.55949 + 3.068723**2 / 2))


def test_cap_limits_each_loss() -> None:
    """A capped severity never returns more than the cap."""
    losses = Lognormal(10, 3, cap=1e6).losses(np.random.default_rng(1).standard_normal(100_000))
    assert losses.max() == 1e6


@pytest.mark.parametrize(
    "frequency", [Frequency(0.7, "gamma", 0.5), Frequency(0.7, "lognormal", 1.2), Frequency(0.7)]
)
def test_mixtures_keep_the_mean_rate_and_their_p_no_event(frequency: Frequency) -> None:
    """Overdispersed rates average to the given rate; P(no event) matches simulated counts."""
    rng = np.random.default_rng(3)
    rates = frequency.rates(rng.random(400_000), rng.standard_normal(400_000))
    counts = rng.poisson(rates)
    assert rates.mean() == pytest.approx(0.7, rel=0.02)
    assert np.mean(counts == 0) == pytest.approx(frequency.p_no_event, abs=0.005)
    assert counts.var() == pytest.approx(frequency.count_variance, rel=0.1)
