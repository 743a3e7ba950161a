"""The vectorised engine against a slow, plain-Python reference on random event and snapshot streams."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seclo.sli.interface import SliKind, SliSeries, Window
from seclo.slo.budget import Budgeting
from seclo.slo.burn_rate import BURN_RATE_WINDOWS
from seclo.slo.evaluation import SloStatus, evaluate_objective

EPOCH = datetime(2024, 6, 1, tzinfo=UTC)


@dataclass
class Case:
    """One random evaluation problem."""

    good: list[float]
    total: list[float]
    step: timedelta
    kind: SliKind
    budgeting: Budgeting
    target: float
    period: timedelta
    at: datetime
    min_events: float


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """Random streams with gaps, random periods and evaluation times inside or past the series."""
    step = draw(st.sampled_from([timedelta(minutes=1), timedelta(minutes=5), timedelta(hours=1)]))
    pairs = draw(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), min_size=1, max_size=150))
    blanks = draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs)))
    good = [0.0 if blank else float(min(a, b)) for (a, b), blank in zip(pairs, blanks, strict=True)]
    total = [0.0 if blank else float(max(a, b)) for (a, b), blank in zip(pairs, blanks, strict=True)]
    at = (
        EPOCH
        + draw(st.integers(0, 160)) * step
        + draw(st.sampled_from([timedelta(0), timedelta(seconds=30)]))
    )
    return Case(
        good=good,
        total=total,
        step=step,
        kind=draw(st.sampled_from(["events", "snapshot"])),
        budgeting=draw(st.sampled_from(["Occurrences", "Timeslices", "RatioTimeslices"])),
        target=draw(st.sampled_from([0.5, 0.9, 0.95, 0.99, 0.999])),
        period=draw(st.integers(1, 200)) * timedelta(minutes=draw(st.sampled_from([1, 7, 60]))),
        at=at,
        min_events=float(draw(st.sampled_from([0, 0, 5, 50]))),
    )


@dataclass
class Reference:
    """What the reference computes."""

    state: str
    attainment: float
    allowed: float
    consumed: float
    rates: dict[str, float]


def filled(case: Case) -> tuple[list[float], list[float]]:
    """Carry each snapshot forward onto the following empty slices; events are left as they are."""
    good, total = list(case.good), list(case.total)
    if case.kind == "snapshot":
        held = (0.0, 0.0)
        for i in range(len(total)):
            if total[i] > 0:
                held = (good[i], total[i])
            good[i], total[i] = held
    return good, total


def weigh(case: Case, g: float, t: float) -> tuple[float, float]:
    """(weight, bad) of one slice under the case's budgeting method, timeSliceTarget 0.9."""
    if t == 0:
        return 0.0, 0.0
    if case.budgeting == "Occurrences":
        return t, t - g
    if case.budgeting == "RatioTimeslices":
        return 1.0, 1.0 - g / t
    return 1.0, 1.0 if g / t < 0.9 else 0.0


def reference(case: Case) -> Reference:
    """Slice by slice in plain Python, straight from the definitions."""
    good, total = filled(case)
    weighed = [weigh(case, g, t) for g, t in zip(good, total, strict=True)]
    weight, bad = [w for w, _ in weighed], [b for _, b in weighed]

    def sums(since: datetime) -> tuple[float, float]:
        w = b = 0.0
        for i in range(len(weight)):
            begins = EPOCH + i * case.step
            if begins >= since and begins + case.step <= case.at:
                w += weight[i]
                b += bad[i]
        return w, b

    w, b = sums(case.at - case.period)
    scale = (
        1.0 if case.budgeting == "Occurrences" and case.kind == "events" else case.step / timedelta(minutes=1)
    )
    attainment = 1 - b / w if w else math.nan
    last = max((i for i in range(len(total)) if EPOCH + (i + 1) * case.step <= case.at), default=-1)
    first = min(
        (i for i in range(len(total)) if EPOCH + i * case.step >= case.at - case.period), default=len(total)
    )
    if case.kind == "events":
        events = sum(case.total[i] for i in range(first, last + 1))
    else:
        events = total[last] if last >= first else 0.0
    if w == 0:
        state = "no_data"
    elif events < case.min_events:
        state = "insufficient_data"
    else:
        state = "breached" if attainment < case.target else "met"
    rates = {}
    for name, window in BURN_RATE_WINDOWS:
        slices = max(1, math.ceil(window / case.step))
        end = case.at - (case.at - EPOCH) % case.step if case.at > EPOCH else EPOCH
        rw, rb = sums(max(end - slices * case.step, EPOCH - case.step))
        rates[name] = (rb / rw) / (1 - case.target) if rw else math.nan
    return Reference(state, attainment, (1 - case.target) * w * scale, b * scale, rates)


def same(a: float, b: float) -> bool:
    """Equal within float tolerance, NaN equal to NaN."""
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def run(case: Case) -> tuple[Reference, SloStatus]:
    """Evaluate a case with the engine and the reference."""
    series = SliSeries(
        Window(EPOCH, EPOCH + len(case.total) * case.step, case.step),
        np.array(case.good),
        np.array(case.total),
        case.kind,
    )
    status = evaluate_objective(
        series,
        target=case.target,
        budgeting=case.budgeting,
        at=case.at,
        period=case.period,
        time_slice_target=0.9,
        min_events=case.min_events,
    )
    return reference(case), status


@settings(max_examples=300, deadline=None)
@given(cases())
def test_engine_matches_reference(case: Case) -> None:
    """State, attainment, budget and every burn rate equal the slow reference's."""
    expected, status = run(case)
    assert status.state == expected.state
    assert same(status.attainment, expected.attainment)
    assert same(status.budget.allowed, expected.allowed)
    assert same(status.budget.consumed, expected.consumed)
    for name, rate in expected.rates.items():
        assert same(status.burn_rate(name), rate), name


@settings(max_examples=200, deadline=None)
@given(cases())
def test_budget_identities(case: Case) -> None:
    """Consumed plus remaining equals allowed, and the period's burn rate is the consumed fraction."""
    _, status = run(case)
    budget = status.budget
    assert budget.consumed + budget.remaining == pytest.approx(budget.allowed)
    if status.state == "no_data":
        assert math.isnan(budget.remaining_fraction)
        assert status.firing == ()
    else:
        error_ratio = 1 - status.attainment
        assert budget.consumed_fraction == pytest.approx(error_ratio / (1 - case.target))
        assert 0 <= status.attainment <= 1
        assert (status.state == "breached") == (
            status.attainment < case.target
        ) or status.state == "insufficient_data"
