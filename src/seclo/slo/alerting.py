"""Multi-window, multi-burn-rate alerts (SRE Workbook, "Alerting on SLOs", table 5-8, plus 1d/2h).

Each alert pairs a long window, which shows that enough budget has been spent to matter, with a short one,
which shows the problem is still going on. It fires when both burn rates exceed its factor.

The factors are derived from the period as sloth derives them: an alert on a long window should fire once
a given share of the whole period's budget has been spent within that window. Spending `share` of the
budget in `long` takes a burn rate of share * period / long. The Workbook's shares are 2% in 1h and 5% in
6h for pages and 10% in 1d and 10% in 3d for tickets, which give 14.4, 6, 3 and 1 for a 30-day period.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

__all__ = [
    "ALL_TIERS",
    "AlertState",
    "AlertWindow",
    "PolicyCondition",
    "Severity",
    "alert_windows",
    "condition_window",
    "evaluate_alerts",
]

Severity = Literal["page", "ticket"]
Operator = Literal["lt", "lte", "gt", "gte"]
ALL_TIERS: frozenset[Severity] = frozenset({"page", "ticket"})

# (name, severity, share of the period's budget, long window, short window)
_WORKBOOK: tuple[tuple[str, Severity, float, timedelta, timedelta], ...] = (
    ("page-quick", "page", 0.02, timedelta(hours=1), timedelta(minutes=5)),
    ("page-slow", "page", 0.05, timedelta(hours=6), timedelta(minutes=30)),
    ("ticket-quick", "ticket", 0.10, timedelta(days=1), timedelta(hours=2)),
    ("ticket-slow", "ticket", 0.10, timedelta(days=3), timedelta(hours=6)),
)


@dataclass(frozen=True, slots=True)
class AlertWindow:
    """One multi-window alert: fires when burn rates over `long` and `short` both exceed `factor`.

    Attributes:
        name: "page-quick", "page-slow", "ticket-quick" or "ticket-slow".
        severity: "page" (wake someone) or "ticket" (handle in working hours).
        budget_share: share of the period's budget the long window spends at exactly `factor`.
        long: the long window.
        short: the short window, 1/12 of the long one.
        factor: the burn-rate threshold, budget_share * period / long.
        policy: for an OpenSLO AlertPolicy condition, the policy's name (None for the Workbook's windows).
        op: how the burn rate compares with `factor` (a Workbook window fires above it).
        alert_after: an AlertPolicy condition fires once it has held this long (alertAfter).
        notify: the policy's notification targets.
    """

    name: str
    severity: str
    budget_share: float
    long: timedelta
    short: timedelta
    factor: float
    policy: str | None = None
    op: Operator = "gt"
    alert_after: timedelta = timedelta(0)
    notify: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PolicyCondition:
    """A burn-rate condition of an OpenSLO AlertPolicy: fires when the burn rate over `lookback` is `op`
    `threshold`, and has been at every slice end for `alert_after`."""

    policy: str
    name: str
    severity: str
    threshold: float
    lookback: timedelta
    op: Operator = "gt"
    alert_after: timedelta = timedelta(0)
    notify: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AlertState:
    """An alert window evaluated at one time: its two burn rates and whether it fires."""

    window: AlertWindow
    long_rate: float
    short_rate: float
    firing: bool


def alert_windows(period: timedelta, tiers: Collection[Severity] = ALL_TIERS) -> tuple[AlertWindow, ...]:
    """The Workbook's alert windows with factors derived from `period`, for the severities in `tiers`.

    A window longer than the period is left out: its factor would be below the share of budget it guards
    (a 3d window on a 1d objective fires at 0.033x), so a met objective would raise a ticket.
    """
    return tuple(
        AlertWindow(name, severity, share, long, short, share * (period / long))
        for name, severity, share, long, short in _WORKBOOK
        if severity in tiers and long <= period
    )


def condition_window(condition: PolicyCondition, period: timedelta) -> AlertWindow:
    """An AlertPolicy condition as a single-window alert (its short window is its lookback window)."""
    return AlertWindow(
        name=f"{condition.policy}/{condition.name}",
        severity=condition.severity,
        budget_share=condition.threshold * (condition.lookback / period),
        long=condition.lookback,
        short=condition.lookback,
        factor=condition.threshold,
        policy=condition.policy,
        op=condition.op,
        alert_after=condition.alert_after,
        notify=condition.notify,
    )


def evaluate_alerts(
    windows: Collection[AlertWindow], rate_over: Callable[[timedelta], float], *, enabled: bool = True
) -> tuple[AlertState, ...]:
    """Evaluate each window with `rate_over(window length)`; nothing fires when `enabled` is False.

    A NaN burn rate (no data in the window) never exceeds a factor, so an empty window never fires.
    """
    states = []
    for window in windows:
        long_rate, short_rate = rate_over(window.long), rate_over(window.short)
        firing = enabled and long_rate > window.factor and short_rate > window.factor
        states.append(AlertState(window, long_rate, short_rate, firing))
    return tuple(states)
