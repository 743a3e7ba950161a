"""Monte Carlo annual loss: a compound Poisson-lognormal model, vectorised and streamed in chunks of years.

Each simulated year draws its number of events, then one lognormal loss per event, and sums them: the
compound model. (pyfair instead multiplies one event-rate draw by one loss draw per run, which understates
the spread of the yearly total; docs/risk-model.md compares the two.)

Random numbers:

- Each scenario has its own stream, SeedSequence(seed, spawn_key=(a stable key of its name,)), which is what
  SeedSequence.spawn does, keyed by name rather than by position, so adding a scenario changes no other.
- The variants of a scenario (baseline and treatments) share every draw: common random numbers. Events come
  from one Poisson process at the highest rate of any variant, thinned per variant (an event is kept with
  probability rate_variant / rate_max, which leaves exactly a Poisson process at the variant's rate), and the
  k-th event of a year has the same standard normal loss draw in every variant. "Before" and "after" then
  differ only by the treatment.
- Scenarios sharing a correlation group draw their yearly count by inversion from correlated uniforms: a
  one-factor Gaussian copula with the group's rho, the factor having a stream of its own. Otherwise
  scenarios are independent.
- Years are drawn in chunks of CHUNK runs; results depend only on the seed and the run count.
"""

from __future__ import annotations

import os
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from seclo.risk.scenario import Correlation, Scenario, Variant

__all__ = [
    "CHUNK",
    "ScenarioLosses",
    "map_portfolio",
    "scenario_stream",
    "simulate_portfolio",
    "simulate_scenario",
]

Floats = npt.NDArray[np.float64]
T = TypeVar("T")
CHUNK = 1 << 17


def _key(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


def scenario_stream(seed: int, name: str) -> np.random.Generator:
    """The scenario's own random stream."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_key(name),)))


@dataclass(frozen=True, slots=True)
class ScenarioLosses:
    """Simulated annual losses of one scenario's variants.

    Attributes:
        losses: shape (variants, runs): the annual loss of each variant in each simulated year.
        events: shape (variants, runs): the number of events of each variant in each year.
    """

    scenario: Scenario
    losses: Floats
    events: npt.NDArray[np.int64]

    @property
    def baseline(self) -> Floats:
        """The baseline's annual losses."""
        first: Floats = self.losses[0]
        return first


def _chunk_sizes(runs: int) -> Iterator[int]:
    for start in range(0, runs, CHUNK):
        yield min(CHUNK, runs - start)


def _year_counts(
    rng: np.random.Generator,
    peak: Floats | float,
    n: int,
    correlation: Correlation | None,
    factor: Floats | None,
) -> npt.NDArray[np.int64]:
    """Events per year at each year's peak rate: Poisson, or by inversion from copula uniforms."""
    if correlation is None or factor is None:
        counts: npt.NDArray[np.int64] = rng.poisson(peak, n)
        return counts
    from scipy.special import ndtr  # noqa: PLC0415 - scipy loads slowly; only correlated runs need it
    from scipy.stats import poisson  # noqa: PLC0415

    own = rng.standard_normal(n)
    z = np.sqrt(correlation.rho) * factor + np.sqrt(1 - correlation.rho) * own
    inverted: npt.NDArray[np.int64] = poisson.ppf(ndtr(z), peak).astype(np.int64)
    return inverted


def _chunk(
    variants: Sequence[Variant],
    rng: np.random.Generator,
    n: int,
    correlation: Correlation | None,
    factor: Floats | None,
) -> tuple[Floats, npt.NDArray[np.int64]]:
    mixed = any(v.frequency.mixing != "none" for v in variants)
    peak: Floats | float
    if mixed:
        u, zf = rng.random(n), rng.standard_normal(n)
        rates = np.stack([v.frequency.rates(u, zf) for v in variants])
        peak = rates.max(axis=0)
    else:
        rates = np.asarray([v.frequency.rate for v in variants])[:, None]
        peak = float(rates.max())
    if mixed or correlation is not None:
        counts = _year_counts(rng, peak, n, correlation, factor)
        total = int(counts.sum())
        year = np.repeat(np.arange(n), counts)
    else:
        # A Poisson process over n years: Poisson(rate * n) events in all, each in a uniformly chosen year,
        # which gives exactly n independent Poisson(rate) counts without a draw per year.
        total = int(rng.poisson(peak * n))
        year = rng.integers(0, n, total)
        counts = np.bincount(year, minlength=n)
    # Loss draws in single precision: half the time of doubles, and a relative error of 1e-7 per event,
    # far below the Monte Carlo error; the yearly sums are accumulated in double precision.
    z = rng.standard_normal(total, dtype=np.float32)
    if total == 0:
        return np.zeros((len(variants), n)), np.zeros((len(variants), n), dtype=np.int64)
    losses = np.empty((len(variants), n))
    events = np.empty((len(variants), n), dtype=np.int64)
    thinned = bool(np.any(rates != peak))
    keep_draw = rng.random(total, dtype=np.float32) if thinned else None
    for i, variant in enumerate(variants):
        amount = variant.severity.losses(z)
        if keep_draw is not None:
            share = np.divide(rates[i], peak, out=np.zeros(n), where=np.broadcast_to(peak, (n,)) > 0)
            kept = keep_draw < share[year]
            amount *= kept
            events[i] = np.bincount(year, weights=kept, minlength=n).astype(np.int64)
        else:
            events[i] = counts
        losses[i] = np.bincount(year, weights=amount, minlength=n)
    return losses, events


def simulate_scenario(
    scenario: Scenario,
    runs: int,
    seed: int,
    factor: Callable[[int, int], Floats] | None = None,
) -> ScenarioLosses:
    """Simulate `runs` years of every variant of `scenario`.

    Args:
        scenario: the scenario and its treatments.
        runs: simulated years.
        seed: the portfolio's seed; the scenario's own stream is derived from it and its name.
        factor: for a correlated scenario, the group's common factor for the years [start, start + n).
    """
    rng = scenario_stream(seed, scenario.name)
    variants = scenario.variants
    if runs <= CHUNK:
        shared = None if factor is None or scenario.correlation is None else factor(0, runs)
        return ScenarioLosses(scenario, *_chunk(variants, rng, runs, scenario.correlation, shared))
    losses = np.empty((len(variants), runs))
    events = np.empty((len(variants), runs), dtype=np.int64)
    start = 0
    for n in _chunk_sizes(runs):
        shared = None if factor is None or scenario.correlation is None else factor(start, n)
        losses[:, start : start + n], events[:, start : start + n] = _chunk(
            variants, rng, n, scenario.correlation, shared
        )
        start += n
    return ScenarioLosses(scenario, losses, events)


def _group_factor(seed: int, group: str, runs: int) -> Callable[[int, int], Floats]:
    """The correlation group's standard normal factor per year, drawn once and sliced per chunk."""
    draws = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_key(f"group:{group}"),)))
    values = draws.standard_normal(runs)
    return lambda start, n: values[start : start + n]


def map_portfolio(
    scenarios: Sequence[Scenario],
    runs: int,
    seed: int,
    then: Callable[[ScenarioLosses], T],
    workers: int | None = None,
) -> Iterator[T]:
    """Simulate each scenario and yield `then(its losses)`, in scenario order.

    Scenarios run on up to `workers` threads (default: the CPUs, at most 4): numpy releases the GIL in its
    random draws, sorts and ufuncs. Each scenario has its own stream, so results do not depend on the threads.
    At most workers + 1 scenarios are in flight, so memory stays bounded by a few scenarios' arrays; `then`
    runs on the worker thread and should reduce them (to summaries) before they are yielded.
    """
    factors = {
        s.correlation.group: _group_factor(seed, s.correlation.group, runs)
        for s in scenarios
        if s.correlation is not None
    }

    def one(scenario: Scenario) -> T:
        group = scenario.correlation.group if scenario.correlation is not None else None
        return then(simulate_scenario(scenario, runs, seed, factors.get(group) if group else None))

    count = workers or min(4, os.cpu_count() or 1)
    if count <= 1 or len(scenarios) <= 1:
        for scenario in scenarios:
            yield one(scenario)
        return
    with ThreadPoolExecutor(max_workers=count) as pool:
        pending: deque[Future[T]] = deque()
        for scenario in scenarios:
            pending.append(pool.submit(one, scenario))
            if len(pending) > count:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def simulate_portfolio(
    scenarios: Sequence[Scenario], runs: int, seed: int, workers: int | None = None
) -> Iterator[ScenarioLosses]:
    """Simulate each scenario in turn, yielding its losses (a few scenarios' arrays in memory at a time).

    The caller sums `.baseline` per run for the portfolio's annual loss.
    """
    return map_portfolio(scenarios, runs, seed, lambda losses: losses, workers)
